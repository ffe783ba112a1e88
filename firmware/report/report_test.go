package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
)

func TestBuild(t *testing.T) {
	rep := Build(fixture(t))
	want := Counts{Gateways: 2, GatewaysOffline: 1, RestrictedPresent: 2, RestrictedRemoved: 2, SuspectPresent: 1, Devices: 4, FailedSources: 1}
	if rep.Totals != want {
		t.Errorf("totals %+v, want %+v", rep.Totals, want)
	}
	a := rep.Gateways[0]
	if a.ID != "gw-a" || a.Counts.RestrictedPresent != 2 || a.Counts.RestrictedRemoved != 1 || a.Counts.SuspectPresent != 1 {
		t.Errorf("gw-a %+v", a.Counts)
	}
	// Restricted first, present before removed.
	var order []string
	for _, r := range a.Devices {
		order = append(order, string(r.Device.Verdict)+"/"+r.Status)
	}
	if got := strings.Join(order, " "); got != "restricted/present restricted/present restricted/removed suspect/present" {
		t.Errorf("order %s", got)
	}
	removed := a.Devices[2]
	if removed.Device.Model != "DHI-NVR4108HS" || !removed.Removed.Equal(t0.Add(48*time.Hour)) || removed.AckedBy != "Facilities: J. Smith" {
		t.Errorf("removed row %+v", removed)
	}
	// Progress: 3 restricted at t0 on gw-a, +1 on gw-b at 2h, -1 at 26h,
	// -1 at 48h, and the last point at the report's time.
	var steps []string
	for _, p := range rep.Progress {
		steps = append(steps, p.Time.Sub(t0).String()+"="+string(rune('0'+p.Present))+"/"+string(rune('0'+p.Removed)))
	}
	if got := strings.Join(steps, " "); got != "0s=3/0 2h0m0s=4/0 26h0m0s=3/1 48h0m0s=2/2 72h5m0s=2/2" {
		t.Errorf("progress %s", got)
	}
}

func TestProgressReturn(t *testing.T) {
	d := identity.Device{ID: "mac-1", Verdict: identity.Restricted}
	rep := Build(Input{Generated: t0.Add(10 * time.Hour), Gateways: []Gateway{{ID: "g", Register: []mqtt.RegisterEntry{{
		ID: "mac-1", Status: mqtt.Present, Device: d,
		Presence: []mqtt.Interval{{From: t0, To: t0.Add(time.Hour)}, {From: t0.Add(3 * time.Hour)}},
	}}}}})
	var got []Point
	for _, p := range rep.Progress {
		got = append(got, Point{Present: p.Present, Removed: p.Removed})
	}
	want := []Point{{Present: 1}, {Removed: 1}, {Present: 1}, {Present: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("progress %+v, want %+v", got, want)
	}
}

// TestCSV parses the CSV back: one row per device and gateway, the
// columns DESIGN.md and the issue name, times in RFC 3339, and no cell a
// spreadsheet would run as a formula.
func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := CSV(&b, Build(fixture(t))); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, want := range []string{"gateway", "ip", "mac", "manufacturer", "model", "verdict", "entity", "status", "first_seen", "last_seen", "removed_at"} {
		if _, ok := col[want]; !ok {
			t.Errorf("no column %s in %v", want, rows[0])
		}
	}
	if len(rows) != 1+4+2 {
		t.Fatalf("%d rows, want a header and 6 devices:\n%s", len(rows), b.String())
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		key := r[col["gateway"]] + " " + r[col["id"]]
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("%s: cell %s = %q would be a formula", key, rows[0][i], c)
			}
		}
		removed := r[col["status"]] == "removed"
		if _, err := time.Parse(time.RFC3339, r[col["removed_at"]]); removed != (err == nil) {
			t.Errorf("%s: status %s, removed_at %q", key, r[col["status"]], r[col["removed_at"]])
		}
		if _, err := time.Parse(time.RFC3339, r[col["first_seen"]]); err != nil {
			t.Errorf("%s: first_seen %q", key, r[col["first_seen"]])
		}
	}
	for _, want := range []string{"gw-b mac-bcad28654321", "gw-a mac-3ce36b000010", "gw-b mac-00408c000040"} {
		if !seen[want] {
			t.Errorf("no row for %s", want)
		}
	}
	for _, r := range rows[1:] {
		if r[col["id"]] == "mac-c056e3000030" && r[col["model"]] != `'=HYPERLINK("http://evil.example/","click")` {
			t.Errorf("the formula model is %q", r[col["model"]])
		}
		if r[col["id"]] == "mac-bcad28654321" && (r[col["status"]] != "removed" || r[col["removed_at"]] != "2026-11-21T11:00:00Z" || r[col["verdict"]] != "restricted") {
			t.Errorf("gw-b's removed camera: %v", r)
		}
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\t=1": "' =1", " =1": "' =1",
		"\r=1": "' =1", "a=b": "a=b", "": "", "line\nbreak": "line break", "DS-2CD": "DS-2CD",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHTML: one self-contained page (nothing fetched: no src, href or
// url() out of the page, no script), device strings escaped, the
// numbers and the names that matter in it.
func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, Build(fixture(t))); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script", "src=", "url(", "@import", `href="http`, "<b>bold"} {
		if strings.Contains(s, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "DS-2CD2143G0-I", "DHI-NVR4108HS", "DS-2CD2T47G2-L", "gw-a", "gw-b",
		"2 restricted devices are still on the network at 1 of 2 gateways. 2 removed so far. 1 suspect device to review.",
		"21 Nov 2026 11:00 UTC", "login refused: the account is locked", "Facilities: J. Smith", "<svg", "@media print",
		"Hikvision&#39;s discovery protocol (SADP) gave the model number “DS-2CD2143G0-I”: the policy rule model/hikvision-ds, which points to Hikvision."} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestHTMLEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, Build(Input{Generated: t0, Source: "state directory /tmp/x", Gateways: []Gateway{{ID: "gw-a"}}})); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No restricted device has been found.", "no progress to chart", "not known"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestJSON(t *testing.T) {
	rep := Build(fixture(t))
	var b bytes.Buffer
	if err := JSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Totals != rep.Totals || len(back.Gateways) != 2 || len(back.Gateways[0].Devices) != 4 ||
		back.Gateways[0].Devices[2].Removed.IsZero() || len(back.Progress) != len(rep.Progress) {
		t.Errorf("JSON round trip: %+v", back.Totals)
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		r      identity.Reason
		entity string
		want   string
	}{
		{ouiHik, "Hikvision", "The maker code in its network address gave the network (MAC) address “bc:ad:28:12:34:56”: a network-address block registered to Hikvision."},
		{dhipVend, "Dahua", "Dahua's discovery protocol (DHIP) gave the vendor “General”: a maker name on the restricted list."},
		{identity.Reason{Source: "usb", Field: "usb-vid", Value: "2ca3", Rule: "usb/2ca3"}, "", "Its USB identity gave the USB vendor id “2ca3”: a USB vendor id (2ca3) on the restricted list."},
		{identity.Reason{Source: "new\x1b[2J", Field: "odd", Value: "v", Rule: ""}, "", "The new [2J reading gave the odd “v”: no named rule."},
	} {
		if got := Explain(tc.r, tc.entity); got != tc.want {
			t.Errorf("Explain(%+v) = %q\nwant %q", tc.r, got, tc.want)
		}
	}
}

// TestFleetCountsACameraOnce: a camera two gateways see (one global id) is
// one camera in the fleet's numbers and chart: present while either sees
// it, removed only when both lost it; gateway-local ids stay apart.
func TestFleetCountsACameraOnce(t *testing.T) {
	hik := device("mac-bcad28123456", "192.168.1.64", "Hikvision", "DS-2CD2143G0-I", identity.Restricted, "Hikvision", sadpModel)
	usb := device("usb-1-1-2bdf-0281", "", "Hikvision", "HIK 2K USB CAMERA", identity.Restricted, "Hikvision", sadpModel)
	entry := func(d identity.Device, removed time.Time) mqtt.RegisterEntry {
		e := mqtt.RegisterEntry{ID: d.ID, Status: mqtt.Present, FirstSeen: t0, LastSeen: t0.Add(time.Hour), Device: d,
			Presence: []mqtt.Interval{{From: t0}}}
		if !removed.IsZero() {
			e.Status, e.RemovedAt, e.Presence[0].To = mqtt.Removed, removed, removed
		}
		return e
	}
	now := t0.Add(3 * time.Hour)
	for _, c := range []struct {
		name             string
		a, b             time.Time // removal on each gateway (zero: present)
		present, removed int
	}{
		{"removed on both", t0.Add(time.Hour), t0.Add(90 * time.Minute), 0, 1},
		{"still seen by one", t0.Add(time.Hour), time.Time{}, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Generated: now, Gateways: []Gateway{
				{ID: "gw-a", Register: []mqtt.RegisterEntry{entry(hik, c.a), entry(usb, time.Time{})}},
				{ID: "gw-b", Register: []mqtt.RegisterEntry{entry(hik, c.b), entry(usb, time.Time{})}},
			}}
			rep := Build(in)
			// The USB cameras are each gateway's own: two.
			if got := rep.Totals; got.RestrictedPresent != c.present+2 || got.RestrictedRemoved != c.removed {
				t.Errorf("totals %+v, want %d present and %d removed", got, c.present+2, c.removed)
			}
			last := rep.Progress[len(rep.Progress)-1]
			if last.Present != c.present+2 || last.Removed != c.removed {
				t.Errorf("chart ends at %+v", last)
			}
			if c.removed == 1 && !rep.Progress[len(rep.Progress)-2].Time.Equal(t0.Add(90*time.Minute)) {
				t.Errorf("the camera counts as removed before both gateways lost it: %+v", rep.Progress)
			}
		})
	}
}
