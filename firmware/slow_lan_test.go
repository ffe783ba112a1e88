package main

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// TestIntegrationSlowHosts: two hosts answer SSDP and WS-Discovery and then
// trickle their LOCATION and XAddr (one byte per 500 ms). Every other
// host's banners are read within the deadline: the Hikvision camera, known
// by its HTTP, RTSP and TLS answers as well, stays restricted with them.
func TestIntegrationSlowHosts(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	prefix := fmt.Sprintf("nvqs%d", os.Getpid()%100000)
	spec := []string{
		prefix + "-c0,hikvision,58:50:ed:1f:e3:85,10.99.0.11",
		prefix + "-c1,dahua,4c:11:bf:c2:0b:9d,10.99.0.12",
		prefix + "-c2,axis,ac:cc:8e:27:0a:d8,10.99.0.14",
		prefix + "-s0,slow,02:5e:00:00:00:21,10.99.0.21,slow=500ms",
		prefix + "-s1,slow,02:5e:00:00:00:22,10.99.0.22,slow=500ms",
	}
	specFile := camLAN(t, prefix, spec)
	startCameras(t, camsimBin, specFile)
	const timeout = 8 * time.Second
	devs, _, took, _, _ := scanRun(t, nvrguard, prefix+"-gw", "--timeout", timeout.String())
	t.Logf("scan beside two slow hosts: %d devices, %v", len(devs), took)
	if took > timeout+time.Second {
		t.Errorf("scan with --timeout %v took %v (want <= timeout + 1 s)", timeout, took)
	}
	byIP := map[string]identity.Device{}
	for _, d := range devs {
		byIP[d.IP] = d
	}
	for ip, want := range map[string][]string{
		"10.99.0.11": {identity.SourceHTTP, identity.SourceRTSP, identity.SourceTLS},
		"10.99.0.12": {identity.SourceRTSP},
		"10.99.0.14": {identity.SourceHTTP, identity.SourceUPnP},
	} {
		d, ok := byIP[ip]
		if !ok {
			t.Errorf("%s not found", ip)
			continue
		}
		for _, s := range want {
			if !slices.Contains(d.Sources, s) {
				t.Errorf("%s: no %s evidence beside the slow hosts (sources %v)", ip, s, d.Sources)
			}
		}
	}
	if d := byIP["10.99.0.11"]; d.Verdict != identity.Restricted {
		t.Errorf("the Hikvision camera is %s beside the slow hosts, want restricted", d.Verdict)
	}
	for _, ip := range []string{"10.99.0.21", "10.99.0.22"} {
		if _, ok := byIP[ip]; !ok {
			t.Errorf("slow host %s not found (its discovery answers stay evidence)", ip)
		}
	}
}
