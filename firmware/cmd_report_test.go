package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/register"
	"github.com/nvrguard/nvrguard/mqtt"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// csvRows parses a CSV report into maps by column name.
func csvRows(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("CSV: %v\n%s", err, b)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestReportStateDir reports on one gateway from its state directory,
// written the way the daemon writes it: the register and the inventory.
func TestReportStateDir(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	cam := watchDevice("mac-bcad28000001", identity.Restricted, "DS-2CD2143G0-I")
	gone := watchDevice("mac-bcad28000002", identity.Restricted, "DS-7608NI-K2")
	axis := watchDevice("mac-00408c000003", identity.Clear, "P3245")
	reg, err := register.Open(filepath.Join(dir, register.FileName), "site-7")
	if err != nil {
		t.Fatal(err)
	}
	reg.Observe(t0, []identity.Device{cam, gone, axis}, nil)
	reg.Ack(t0.Add(time.Minute), "j.smith")
	reg.Observe(t0.Add(time.Hour), []identity.Device{cam, axis}, []identity.Device{gone})
	store := &inventory.Store{Path: filepath.Join(dir, "inventory.json")}
	if _, err := store.Save([]inventory.Entry{{Key: "link:1", Device: cam}, {Key: "link:3", Device: axis}}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"report", "--state-dir", dir, "--format", "csv"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	rows := csvRows(t, out.Bytes())
	if len(rows) != 3 {
		t.Fatalf("%d rows:\n%s", len(rows), out.String())
	}
	byID := map[string]map[string]string{}
	for _, r := range rows {
		byID[r["id"]] = r
		if r["gateway"] != "site-7" {
			t.Errorf("gateway %q", r["gateway"])
		}
	}
	if r := byID[gone.ID]; r["status"] != "removed" || r["removed_at"] != "2026-11-27T11:00:00Z" || r["acked_by"] != "j.smith" {
		t.Errorf("removed row %v", r)
	}
	if r := byID[axis.ID]; r["status"] != "present" || r["verdict"] != "clear" {
		t.Errorf("clear row %v", r)
	}
	// HTML to a file; the files of the state directory are untouched.
	before, _ := os.ReadDir(dir)
	page := filepath.Join(t.TempDir(), "site-7.html")
	if code := run([]string{"report", "--state-dir", dir, "--output", page}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(b, []byte("DS-7608NI-K2")) || !bytes.Contains(b, []byte("27 Nov 2026 11:00 UTC")) || !bytes.Contains(b, []byte("site-7")) ||
		!bytes.Contains(b, []byte("a device was last seen 27 Nov 2026 10:00 UTC")) {
		t.Errorf("HTML report (%v):\n%.2000s", err, b)
	}
	if after, _ := os.ReadDir(dir); len(after) != len(before) {
		t.Errorf("the report changed the state directory: %v -> %v", before, after)
	}
	// JSON with the gateway id given.
	out.Reset()
	if code := run([]string{"report", "--state-dir", dir, "--format", "json", "--gateway-id", "lobby"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Totals   struct{ RestrictedPresent, RestrictedRemoved int } `json:"totals"`
		Gateways []struct{ ID string }                              `json:"gateways"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Gateways) != 1 || rep.Gateways[0].ID != "lobby" {
		t.Errorf("JSON %v: %s", err, out.String())
	}
}

func TestReportErrors(t *testing.T) {
	empty := t.TempDir()
	damaged := t.TempDir()
	os.WriteFile(filepath.Join(damaged, register.FileName), []byte(`{"version":1,"entries":[`), 0o640)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "either --state-dir"},
		{[]string{"--state-dir", empty, "--broker", "tcp://127.0.0.1:1"}, exitUsage, "either --state-dir"},
		{[]string{"--state-dir", empty, "--format", "pdf"}, exitUsage, "--format"},
		{[]string{"--state-dir", empty}, exitError, "neither register.json nor inventory.json"},
		{[]string{"--state-dir", damaged}, exitError, "damaged"},
		{[]string{"--state-dir", damaged, "--gateway-id", "A/B"}, exitError, "damaged"},
		{[]string{"--broker", "tcp://127.0.0.1:1"}, exitError, "report"},
		{[]string{"--broker", "http://x"}, exitUsage, "scheme"},
		{[]string{"--state-dir", empty, "extra"}, exitUsage, "unexpected argument"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"report"}, tc.args...), nil, &out, &errb)
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != tc.code || !strings.Contains(first, tc.want) {
			t.Errorf("report %v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
	// The damaged register is left as it was: the report only reads.
	if b, _ := os.ReadFile(filepath.Join(damaged, register.FileName)); string(b) != `{"version":1,"entries":[` {
		t.Errorf("the damaged register became %q", b)
	}
}

// TestIntegrationReportTwoGateways: two gateways on one broker see the
// same restricted camera; it is unplugged. Each gateway's register (the
// calls the daemon makes: Observe, then PublishRegister for what
// changed) marks it removed, the register topics say so, and `report
// --broker` lists it as removed, with its removal time, on both, in the
// CSV and the HTML.
func TestIntegrationReportTwoGateways(t *testing.T) {
	b := mqtttest.Start(t, "mosquitto")
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	cam := watchDevice("mac-bcad28000001", identity.Restricted, "DS-2CD2143G0-I")
	axis := watchDevice("mac-00408c000003", identity.Clear, "P3245")
	removedAt := map[string]time.Time{"gw-a": t0.Add(time.Hour), "gw-b": t0.Add(90 * time.Minute)}
	for _, id := range []string{"gw-a", "gw-b"} {
		c := gateway(t, b.URL(), id, cam, axis)
		reg, err := register.Open(filepath.Join(t.TempDir(), register.FileName), id)
		if err != nil {
			t.Fatal(err)
		}
		publish := func(ch register.Change, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ch.Entries {
				if err := c.PublishRegister(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
		}
		publish(reg.Observe(t0, []identity.Device{cam, axis}, nil))
		// Unplugged: lost from the inventory, its record cleared.
		publish(reg.Observe(removedAt[id], []identity.Device{axis}, []identity.Device{cam}))
		c.Replace(t.Context(), []identity.Device{axis})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/+/register/+")
	rec.WaitFor(10*time.Second, "both register entries", func(ms []mqtttest.Msg) bool { return len(ms) >= 2 })
	for _, m := range rec.Messages() {
		gw, e, _, ok, err := mqtt.DecodeRegister("nvrguard", m.Topic, m.Payload)
		if !ok || err != nil || e.Status != mqtt.Removed || !e.RemovedAt.Equal(removedAt[gw]) || !m.Retained {
			t.Errorf("%s: %+v %v", m.Topic, e, err)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"report", "--broker", b.URL(), "--format", "csv", "--settle", "300ms"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	n := 0
	for _, r := range csvRows(t, out.Bytes()) {
		if r["id"] != cam.ID {
			continue
		}
		n++
		if r["status"] != "removed" || r["removed_at"] != removedAt[r["gateway"]].Format(time.RFC3339) || r["model"] != "DS-2CD2143G0-I" {
			t.Errorf("camera on %s: %v", r["gateway"], r)
		}
	}
	if n != 2 {
		t.Errorf("the camera is in %d rows, want one per gateway:\n%s", n, out.String())
	}
	out.Reset()
	if code := run([]string{"report", "--broker", b.URL(), "--settle", "300ms"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"gw-a", "gw-b", "27 Nov 2026 11:00 UTC", "27 Nov 2026 11:30 UTC", "The restricted device found has been removed."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
}
