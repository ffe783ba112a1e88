package inventory

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// The cameras of these tests, as their sources see them.
var (
	t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

	// A Dahua-platform OEM camera: the DHIP answer is the proof, the OUI
	// (Lorex's) alone would give less.
	dahuaARP  = ident("arp", "10.0.0.21", "9c:8e:cd:0a:0b:0c")
	dahuaDHIP = ident("dhip", "10.0.0.21", "9c:8e:cd:0a:0b:0c", identity.FieldProtocol, "dhip-notifydevinfo",
		identity.FieldModel, "IPC-HDW2431T", identity.FieldSerial, "7J0ABCD1234567")
	// A Sony camera: clear only by its WS-Discovery scopes.
	sonyARP = ident("arp", "10.0.0.30", "00:1d:ba:11:22:33")
	sonyWSD = ident("wsd", "10.0.0.30", "", identity.FieldManufacturer, "Sony", identity.FieldModel, "SNC-VB770")
)

func sweep(at time.Time, ids ...identity.Identity) Observation {
	return Observation{Slot: "network", IDs: ids, Complete: true, At: at}
}

func verdicts(inv *Inventory) map[string]identity.Verdict {
	out := map[string]identity.Verdict{}
	for _, d := range inv.Devices() {
		out[d.ID] = d.Verdict
	}
	return out
}

// A sweep that misses the discovery replies (UDP loses packets) while the
// neighbour table still has the cameras keeps their verdicts and evidence:
// no event at all.
func TestMissedReplyKeepsVerdictAndEvidence(t *testing.T) {
	p := loadPolicy(t)
	inv := New(3)
	evs := inv.Apply(sweep(t0, dahuaARP, dahuaDHIP, sonyARP, sonyWSD), p, t0)
	if types(evs) != "device_found:mac-001dba112233 device_found:mac-9c8ecd0a0b0c" {
		t.Fatalf("first sweep: %s", types(evs))
	}
	want := verdicts(inv)
	if want["mac-9c8ecd0a0b0c"] != identity.Restricted || want["mac-001dba112233"] != identity.Clear {
		t.Fatalf("verdicts %v", want)
	}
	for i := 1; i <= 6; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		o := sweep(at, dahuaARP, sonyARP) // every other sweep: no discovery reply
		if i%2 == 0 {
			o = sweep(at, dahuaARP, dahuaDHIP, sonyARP, sonyWSD)
		}
		if evs := inv.Apply(o, p, at); len(evs) != 0 {
			t.Fatalf("sweep %d: %s", i, types(evs))
		}
		for id, v := range verdicts(inv) {
			if v != want[id] {
				t.Fatalf("sweep %d: %s is %s, want %s", i, id, v, want[id])
			}
		}
	}
	d := inv.Devices()[0]
	if d.Model != "IPC-HDW2431T" || len(d.Sources) < 3 {
		t.Errorf("evidence not kept: %+v", d)
	}
	// The neighbour table between sweeps (a partial reading) adds nothing
	// and takes nothing.
	if evs := inv.Apply(Observation{Slot: "network", IDs: []identity.Identity{sonyARP}, At: t0.Add(7 * time.Minute)}, p, t0.Add(7*time.Minute)); len(evs) != 0 {
		t.Fatalf("neighbour read: %s", types(evs))
	}
}

// A restart restores the evidence: the first neighbour-table read after it
// (no discovery evidence) emits nothing, and neither does the next sweep.
func TestRestartRestoresEvidence(t *testing.T) {
	p := loadPolicy(t)
	inv := New(3)
	inv.Apply(sweep(t0, dahuaARP, dahuaDHIP, sonyARP, sonyWSD), p, t0)
	store := &Store{Path: filepath.Join(t.TempDir(), "inventory.json")}
	if _, err := store.Save(inv.Entries()); err != nil {
		t.Fatal(err)
	}
	st, err := (&Store{Path: store.Path}).Load()
	if err != nil {
		t.Fatal(err)
	}
	again := New(3)
	again.Restore(st.Entries)
	t1 := t0.Add(time.Minute)
	if evs := again.Apply(Observation{Slot: "network", IDs: []identity.Identity{dahuaARP, sonyARP}, At: t1}, p, t1); len(evs) != 0 {
		t.Fatalf("first neighbour read after the restart: %s", types(evs))
	}
	if evs := again.Apply(sweep(t1, dahuaARP, sonyARP), p, t1); len(evs) != 0 {
		t.Fatalf("first sweep after the restart: %s", types(evs))
	}
	if got := verdicts(again); got["mac-9c8ecd0a0b0c"] != identity.Restricted || got["mac-001dba112233"] != identity.Clear {
		t.Errorf("after the restart: %v", got)
	}
	if d := again.Devices()[0]; !d.FirstSeen.Equal(t0) {
		t.Errorf("first_seen %v, want %v", d.FirstSeen, t0)
	}
}

// A camera whose payload reports another MAC than the neighbour table has
// for its address is one record, with the reported MAC kept.
func TestReportedMACIsOneRecord(t *testing.T) {
	p := loadPolicy(t)
	arp := ident("arp", "10.0.0.40", "00:1f:54:a9:2e:58")
	sadp := ident("sadp", "10.0.0.40", "44:19:b6:01:02:03", identity.FieldProtocol, "sadp-probematch", identity.FieldModel, "LNB8005")
	wsd := ident("wsd", "10.0.0.40", "", identity.FieldMAC, "4419b6010203", identity.FieldScope, "onvif://www.onvif.org/name/LOREX")
	recs := Records([]identity.Identity{arp, sadp, wsd}, p)
	if len(recs) != 1 {
		t.Fatalf("%d records for one address: %+v", len(recs), recs)
	}
	d := recs[0]
	if d.ID != "mac-001f54a92e58" || d.MAC != "00:1f:54:a9:2e:58" || d.ReportedMAC != "44:19:b6:01:02:03" || d.Verdict != identity.Restricted {
		t.Errorf("record %+v", d)
	}
}

// Hosts with different link-layer MACs stay apart, whatever their payloads
// share: a cloned UUID, a placeholder serial, one reported MAC.
func TestClonedIdentitiesStayApart(t *testing.T) {
	p := loadPolicy(t)
	var ids []identity.Identity
	for i, a := range []string{"10.0.0.51", "10.0.0.52", "10.0.0.53"} {
		ids = append(ids,
			ident("arp", a, []string{"02:00:00:00:00:51", "02:00:00:00:00:52", "02:00:00:00:00:53"}[i]),
			ident("ssdp", a, "", identity.FieldUUID, "uuid:2f402f80-da50-11e1-9b23-001234567890"),
			ident("upnp", a, "", identity.FieldSerial, "000000000000", identity.FieldMAC, "00:12:34:56:78:90", identity.FieldModel, "IPC"))
	}
	// A console that prints the placeholder serial joins none of them.
	ids = append(ids, identity.Identity{Source: identity.SourceConsole, Port: "/dev/ttyUSB0", Facts: []identity.Fact{{Field: identity.FieldSerial, Value: "000000000000"}}})
	recs := Records(ids, p)
	if len(recs) != 4 {
		for _, r := range recs {
			t.Logf("%s %s", r.ID, r.IP)
		}
		t.Fatalf("%d records, want 4 (three hosts and a console)", len(recs))
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] {
			t.Errorf("id %s twice", r.ID)
		}
		seen[r.ID] = true
	}
}

// Serials that differ only in what an id drops never give one id.
func TestSerialIDsNeverCollide(t *testing.T) {
	p := loadPolicy(t)
	a := identity.Identity{Source: identity.SourceConsole, Port: "/dev/ttyUSB0", Facts: []identity.Fact{{Field: identity.FieldSerial, Value: "AB/CD1234"}}}
	b := identity.Identity{Source: identity.SourceConsole, Port: "/dev/ttyUSB1", Facts: []identity.Fact{{Field: identity.FieldSerial, Value: "ab cd1234"}}}
	recs := Records([]identity.Identity{a, b}, p)
	if len(recs) != 2 || recs[0].ID == recs[1].ID {
		t.Fatalf("records %+v", recs)
	}
	if identity.SerialID("AB/CD1234") == identity.SerialID("ab cd1234") {
		t.Errorf("SerialID collides")
	}
	// An upper-case serial keeps its plain id.
	if got := identity.SerialID("DS2CD2143G0I20200414AAWRE33842150"); got != "sn-ds2cd2143g0i20200414aawre33842150" {
		t.Errorf("SerialID = %q", got)
	}
	// Two devices whose candidate id is the same still get two ids.
	inv := New(1)
	c1 := identity.Identity{Source: identity.SourceNVR, Via: &identity.Via{NVR: "10.0.0.20", Channel: 1}, Facts: []identity.Fact{{Field: identity.FieldSerial, Value: "DS-2CD2386G2-IU20230101AAWRJ00000001"}}}
	c2 := c1
	c2.Via = &identity.Via{NVR: "10.0.0.20", Channel: 2}
	inv.Apply(Observation{Slot: "nvr", IDs: []identity.Identity{c1, c2}, Complete: true, At: t0}, p, t0)
	if devs := inv.Devices(); len(devs) != 2 || devs[0].ID == devs[1].ID {
		t.Errorf("channel cameras with one serial: %+v", devs)
	}
}

// A camera replaced by another at the same address: the old one is lost,
// the new one found, in the same reading.
func TestReplacedCameraIsLostAndFound(t *testing.T) {
	p := loadPolicy(t)
	inv := New(3)
	inv.Apply(sweep(t0, dahuaARP, dahuaDHIP), p, t0)
	axisARP := ident("arp", "10.0.0.21", "ac:cc:8e:27:0a:d8")
	axisWSD := ident("wsd", "10.0.0.21", "", identity.FieldManufacturer, "AXIS", identity.FieldModel, "P3245-LV")
	t1 := t0.Add(time.Minute)
	evs := inv.Apply(sweep(t1, axisARP, axisWSD), p, t1)
	if types(evs) != "device_found:mac-accc8e270ad8 device_lost:mac-9c8ecd0a0b0c" {
		t.Fatalf("replacement: %s", types(evs))
	}
	if d := inv.Devices(); len(d) != 1 || d[0].Verdict != identity.Clear || d[0].Model != "P3245-LV" {
		t.Errorf("after the replacement: %+v", d)
	}
}

// A device no reading sees for lost_after complete readings is lost; a
// reading of another slot does not count against it.
func TestLostAfterCompleteReadings(t *testing.T) {
	p := loadPolicy(t)
	inv := New(2)
	usbCam := identity.Identity{Source: identity.SourceUSB, Port: "1-1.2", Facts: []identity.Fact{{Field: identity.FieldUSBVendorID, Value: "2bdf"}, {Field: identity.FieldUSBProductID, Value: "0281"}}}
	inv.Apply(sweep(t0, dahuaARP, dahuaDHIP), p, t0)
	inv.Apply(Observation{Slot: "usb", IDs: []identity.Identity{usbCam}, Complete: true, At: t0}, p, t0)
	for i := 1; i <= 3; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		if evs := inv.Apply(Observation{Slot: "usb", IDs: []identity.Identity{usbCam}, Complete: true, At: at}, p, at); len(evs) != 0 {
			t.Fatalf("usb poll %d: %s", i, types(evs))
		}
	}
	t1 := t0.Add(time.Minute)
	if evs := inv.Apply(sweep(t1), p, t1); len(evs) != 0 {
		t.Fatalf("one missed sweep: %s", types(evs))
	}
	t2 := t1.Add(time.Minute)
	if evs := inv.Apply(sweep(t2), p, t2); types(evs) != "device_lost:mac-9c8ecd0a0b0c" {
		t.Fatalf("second missed sweep: %s", types(evs))
	}
	// A neighbour read that began before the last complete sweep is out of
	// date: it does not bring the camera back.
	if evs := inv.Apply(Observation{Slot: "network", IDs: []identity.Identity{dahuaARP}, At: t1}, p, t2.Add(time.Second)); len(evs) != 0 {
		t.Fatalf("stale neighbour read: %s", types(evs))
	}
	t3 := t2.Add(time.Minute)
	if evs := inv.Apply(sweep(t3, dahuaARP, dahuaDHIP), p, t3); types(evs) != "device_found:mac-9c8ecd0a0b0c" {
		t.Fatalf("back: %s", types(evs))
	}
}

// A camera known first without a neighbour entry keeps its id when the
// entry comes: one record, no event.
func TestNeighbourEntryArrivesLater(t *testing.T) {
	p := loadPolicy(t)
	inv := New(3)
	inv.Apply(sweep(t0, dahuaDHIP), p, t0)
	before := inv.Devices()
	t1 := t0.Add(time.Minute)
	if evs := inv.Apply(sweep(t1, dahuaARP, dahuaDHIP), p, t1); len(evs) != 0 {
		t.Fatalf("neighbour entry: %s", types(evs))
	}
	after := inv.Devices()
	if len(after) != 1 || after[0].ID != before[0].ID || after[0].MAC != "9c:8e:cd:0a:0b:0c" {
		t.Errorf("before %+v after %+v", before, after)
	}
}
