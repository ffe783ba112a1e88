package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/firmware/report/reporttest"
	"github.com/nvrguard/nvrguard/mqtt"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// TestIntegrationRegisterTwoGateways: two gateways on one camera LAN and
// one broker. A restricted camera is unplugged: on both gateways it shows
// as removed, with its removal time, in the retained register topics, in
// the CSV report (parsed back) and in the HTML report as a real headless
// Chromium renders it.
func TestIntegrationRegisterTwoGateways(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	chrome := reporttest.Chromium(t)
	prefix := fmt.Sprintf("nvw%d", os.Getpid()%100000)
	spec := camLAN(t, prefix, []string{
		prefix + "-c0,hikvision,58:50:ed:1f:e3:85,10.99.0.11",
		prefix + "-c1,axis,ac:cc:8e:27:0a:d8,10.99.0.14",
	})
	gw2 := prefix + "-gw2"
	for _, args := range [][]string{
		{"netns", "add", gw2},
		{"link", "add", "gw0", "netns", gw2, "type", "veth", "peer", "name", "gw2", "netns", prefix + "-lan"},
		{"-n", prefix + "-lan", "link", "set", "gw2", "master", "br0", "up"},
		{"-n", gw2, "addr", "add", "10.99.0.2/16", "dev", "gw0"},
		{"-n", gw2, "link", "set", "gw0", "up"},
		{"-n", gw2, "link", "set", "lo", "up"},
	} {
		if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, b)
		}
	}
	for _, ns := range []string{prefix + "-gw", gw2} {
		// The loss is a matter of the daemons' sweeps, not of the kernel's
		// neighbour timers (as in TestIntegrationDaemon).
		if b, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
			"net.ipv4.neigh.gw0.base_reachable_time_ms=2000", "net.ipv4.neigh.gw0.delay_first_probe_time=1").CombinedOutput(); err != nil {
			t.Fatalf("neighbour timers: %v\n%s", err, b)
		}
	}
	// The broker runs in the first gateway's namespace: both gateways reach
	// it over the LAN, the test over the uplink.
	uplink(t, prefix)
	_, upGW := uplinkAddrs(prefix)
	port := fmt.Sprint(20000 + os.Getpid()%20000)
	testBroker := runMosquitto(t, prefix+"-gw", "0.0.0.0:"+port, upGW)
	lanBroker := "tcp://10.99.0.1:" + port
	rec := mqtttest.Subscribe(t, testBroker, mqtttest.RecorderOptions{ClientID: "register-watch"}, "nvrguard/#")
	defer rec.Close()
	startCameras(t, camsimBin, spec)

	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("log_level: debug\nscan:\n  interval: 10s\n  lost_after: 1\n  neighbour_watch: 2s\n  listen: false\nusb:\n  enabled: false\n"), 0o644)
	var ds []*daemonProc
	for _, g := range []struct{ ns, id string }{{prefix + "-gw", "gwa"}, {gw2, "gwb"}} {
		ds = append(ds, startDaemon(t, g.ns, nvrguard, "--config", cfg, "--broker", lanBroker, "--gateway-id", g.id,
			"--iface", "gw0", "--led", "console", "--state-dir", t.TempDir()))
	}
	defer func() {
		if t.Failed() {
			for i, d := range ds {
				t.Logf("daemon %d log:\n%s", i, d.logs())
			}
		}
	}()
	const hik = "mac-5850ed1fe385"
	entry := func(gw string) (mqtt.RegisterEntry, bool) {
		m, ok := rec.Last("nvrguard/" + gw + "/register/" + hik)
		if !ok || len(m.Payload) == 0 {
			return mqtt.RegisterEntry{}, false
		}
		var e mqtt.RegisterEntry
		return e, json.Unmarshal(m.Payload, &e) == nil
	}
	rec.WaitFor(60*time.Second, "the Hikvision camera present in both registers", func([]mqtttest.Msg) bool {
		a, okA := entry("gwa")
		b, okB := entry("gwb")
		return okA && okB && a.Status == mqtt.Present && b.Status == mqtt.Present
	})

	// Unplug it.
	if b, err := exec.Command("ip", "-n", prefix+"-lan", "link", "del", "c1").CombinedOutput(); err != nil {
		t.Fatalf("unplug: %v\n%s", err, b)
	}
	unplugged := time.Now()
	for _, gw := range []string{"gwa", "gwb"} {
		rec.Publish(t, "nvrguard/"+gw+"/cmd/scan", false, "")
	}
	rec.WaitFor(90*time.Second, "the Hikvision camera removed in both registers", func([]mqtttest.Msg) bool {
		a, okA := entry("gwa")
		b, okB := entry("gwb")
		return okA && okB && a.Status == mqtt.Removed && b.Status == mqtt.Removed
	})
	removedAt := map[string]time.Time{}
	for _, gw := range []string{"gwa", "gwb"} {
		e, _ := entry(gw)
		if e.RemovedAt.IsZero() || e.RemovedAt.Before(unplugged.Add(-time.Second)) || e.Device.Verdict != "restricted" {
			t.Errorf("%s: register entry %+v", gw, e)
			continue
		}
		removedAt[gw] = e.RemovedAt
	}

	// The CSV report over the broker, parsed back.
	report := func(format, out string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, nvrguard, "report", "--broker", testBroker, "--format", format, "--output", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("report --format %s: %v\n%s", format, err, b)
		}
	}
	dir := reporttest.ArtifactDir(t)
	csvFile := filepath.Join(dir, "two-gateways.csv")
	report("csv", csvFile)
	f, err := os.Open(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 3 {
		t.Fatalf("CSV: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"gateway", "ip", "mac", "manufacturer", "model", "verdict", "entity", "status", "first_seen", "last_seen", "removed_at"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("CSV has no %q column: %v", h, rows[0])
		}
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if r[col["mac"]] != "58:50:ed:1f:e3:85" {
			continue
		}
		gw := r[col["gateway"]]
		seen[gw] = true
		at, err := time.Parse(time.RFC3339, r[col["removed_at"]])
		if r[col["status"]] != "removed" || err != nil || !at.Equal(removedAt[gw].Truncate(time.Second)) && !at.Equal(removedAt[gw]) {
			t.Errorf("CSV row of %s: status %q removed_at %q (register %v)", gw, r[col["status"]], r[col["removed_at"]], removedAt[gw])
		}
	}
	if !seen["gwa"] || !seen["gwb"] {
		t.Errorf("CSV rows of the camera for %v, want gwa and gwb", seen)
	}

	// The HTML report, as Chromium renders it.
	page := filepath.Join(dir, "two-gateways.html")
	report("html", page)
	dom := reporttest.Run(t, chrome, "--dump-dom", "file://"+page)
	reporttest.Run(t, chrome, "--window-size=1280,2400", "--screenshot="+filepath.Join(dir, "two-gateways.png"), "file://"+page)
	for _, want := range []string{"gwa", "gwb", "58:50:ed:1f:e3:85", "Hikvision", "emoved"} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("the rendered report does not name %q", want)
		}
	}
	t.Logf("removed in both registers %v after the unplug; report and screenshot in %s", time.Since(unplugged).Round(time.Second), dir)
}
