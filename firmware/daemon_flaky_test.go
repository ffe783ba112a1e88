package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/camsim"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// TestIntegrationDaemonFlakyLAN: half the cameras ignore discovery probes
// in alternate windows (UDP loses packets, busy cameras drop them), and the
// daemon is killed with -9 and restarted in the middle. Over six sweeps the
// record must not flicker: no verdict_changed, no device_lost, no second
// device_found, one retained record per address, every verdict right.
func TestIntegrationDaemonFlakyLAN(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	prefix := fmt.Sprintf("nvf%d", os.Getpid()%100000)
	profiles := camsim.Profiles()
	cams := []struct {
		profile, mac, ip string
		flaky            bool
	}{
		{"hikvision", "58:50:ed:1f:e3:85", "10.99.0.11", false},
		{"dahua", "4c:11:bf:c2:0b:9d", "10.99.0.12", true},
		{"lorex", "00:1f:54:a9:2e:58", "10.99.0.13", false},
		{"axis", "ac:cc:8e:27:0a:d8", "10.99.0.14", true},
	}
	var spec []string
	for i, c := range cams {
		line := fmt.Sprintf("%s-c%d,%s,%s,%s", prefix, i, c.profile, c.mac, c.ip)
		if c.flaky {
			line += ",flaky=2s"
		}
		spec = append(spec, line)
	}
	specFile := camLAN(t, prefix, spec)
	broker := startMosquittoOn(t, uplink(t, prefix))
	base := "nvrguard/gwf"
	rec := mqtttest.Subscribe(t, broker, mqtttest.RecorderOptions{ClientID: "flaky-watch"}, "nvrguard/#")
	defer rec.Close()
	startCameras(t, camsimBin, specFile)

	stateDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("log_level: debug\nscan:\n  interval: 10s\n  timeout: 4s\n  lost_after: 1\n  neighbour_watch: 2s\n  listen: false\nusb:\n  enabled: false\n"), 0o644)
	args := []string{"--config", cfg, "--broker", broker, "--gateway-id", "gwf", "--iface", "gw0", "--led", "console", "--state-dir", stateDir}
	d := startDaemon(t, prefix+"-gw", nvrguard, args...)
	var d2 *daemonProc
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs())
			if d2 != nil {
				t.Logf("restarted daemon log:\n%s", d2.logs())
			}
		}
	}()
	sweeps := func(p *daemonProc) int { return strings.Count(p.logs(), `msg="sweep done"`) }
	waitSweeps := func(p *daemonProc, n int) {
		t.Helper()
		for end := time.Now().Add(90 * time.Second); sweeps(p) < n; time.Sleep(200 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%d sweeps after 90 s, want %d", sweeps(p), n)
			}
		}
	}
	waitSweeps(d, 3)
	d.cmd.Process.Kill()
	d.cmd.Wait()
	d2 = startDaemon(t, prefix+"-gw", nvrguard, args...)
	waitSweeps(d2, 3)
	time.Sleep(time.Second) // the last sweep's messages

	// The flaky cameras did miss probes: some sweeps heard fewer replies.
	replies := regexp.MustCompile(`msg="sweep done".* replies=(\d+)`)
	var counts []int
	for _, m := range replies.FindAllStringSubmatch(d.logs()+d2.logs(), -1) {
		n, _ := strconv.Atoi(m[1])
		counts = append(counts, n)
	}
	lo, hi := counts[0], counts[0]
	for _, n := range counts {
		lo, hi = min(lo, n), max(hi, n)
	}
	t.Logf("discovery replies per sweep: %v", counts)
	if lo == hi {
		t.Fatalf("every sweep heard %d replies: the flaky cameras never missed a probe, the test proves nothing", lo)
	}

	found := map[string]int{}
	for _, e := range events(rec, base) {
		switch e.Type {
		case "device_found":
			found[e.Device.ID]++
		default:
			t.Errorf("%s of %s (%s) while nothing at the site changed", e.Type, e.Device.ID, e.Device.Verdict)
		}
	}
	for id, n := range found {
		if n != 1 {
			t.Errorf("%s found %d times, want once", id, n)
		}
	}
	perIP := map[string][]string{}
	for _, m := range rec.Messages() {
		if !strings.HasPrefix(m.Topic, base+"/devices/") {
			continue
		}
		last, _ := rec.Last(m.Topic)
		var dev identity.Device
		if len(last.Payload) == 0 || json.Unmarshal(last.Payload, &dev) != nil {
			continue
		}
		if !slices.Contains(perIP[dev.IP], dev.ID) {
			perIP[dev.IP] = append(perIP[dev.IP], dev.ID)
		}
	}
	for _, c := range cams {
		ids := perIP[c.ip]
		if len(ids) != 1 {
			t.Errorf("%s (%s): %d retained records %v, want one", c.ip, c.profile, len(ids), ids)
			continue
		}
		m, _ := rec.Last(base + "/devices/" + ids[0])
		var dev identity.Device
		json.Unmarshal(m.Payload, &dev)
		if want := profiles[c.profile].Want; string(dev.Verdict) != want.Verdict || dev.Manufacturer != want.Manufacturer {
			t.Errorf("%s (%s): %s by %q at the end, want %s by %q", c.ip, c.profile, dev.Verdict, dev.Manufacturer, want.Verdict, want.Manufacturer)
		}
	}
}
