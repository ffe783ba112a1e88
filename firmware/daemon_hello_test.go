package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIntegrationDaemonHearsHello: a camera that comes up between sweeps
// announces itself (a real Dahua WS-Discovery Hello); the daemon, whose
// next sweep is ten minutes away, hears it, sweeps at once and reports the
// camera restricted within seconds.
func TestIntegrationDaemonHearsHello(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	prefix := fmt.Sprintf("nvh%d", os.Getpid()%100000)
	early := fmt.Sprintf("%s-c0,hikvision,58:50:ed:1f:e3:85,10.99.0.11", prefix)
	late := fmt.Sprintf("%s-c1,dahua,4c:11:bf:c2:0b:9d,10.99.0.12", prefix)
	camLAN(t, prefix, []string{early, late})
	dir := t.TempDir()
	earlySpec, lateSpec := filepath.Join(dir, "early"), filepath.Join(dir, "late")
	for f, l := range map[string]string{earlySpec: early, lateSpec: late} {
		if err := os.WriteFile(f, []byte(l+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startCameras(t, camsimBin, earlySpec)

	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("log_level: debug\nscan:\n  interval: 10m\nusb:\n  enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, prefix+"-gw", nvrguard, "--config", cfg, "--gateway-id", "gw1", "--iface", "gw0",
		"--led", "console", "--state-dir", filepath.Join(dir, "state"))
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs())
		}
	}()
	if !d.waitLog(t, "the first sweep", `msg="sweep done"`, 30*time.Second) {
		return
	}
	if strings.Contains(d.logs(), "ip=10.99.0.12") {
		t.Fatal("the late camera was seen before it came up")
	}

	up := time.Now()
	startCameras(t, camsimBin, lateSpec)
	if d.waitLog(t, "the late Dahua camera, restricted", `event=device_found id=mac-4c11bfc20b9d verdict=restricted ip=10.99.0.12`, 30*time.Second) {
		t.Logf("a camera that came up between sweeps (next one in 10 min) was reported restricted %v later", time.Since(up).Round(time.Millisecond))
	}
	if !strings.Contains(d.logs(), `msg="a new device announced itself; sweeping now" addr=10.99.0.12 source=wsd`) {
		t.Error("no log line for the announcement that brought the sweep forward")
	}
	if strings.Contains(d.logs(), "id=ip-10-99-0-12") {
		t.Error("the Hello alone made a second, MAC-less record of the camera")
	}
	if n := strings.Count(d.logs(), `msg="sweep done"`); n != 2 {
		t.Errorf("%d sweeps, want 2 (the first and the one the Hello brought forward)", n)
	}
}
