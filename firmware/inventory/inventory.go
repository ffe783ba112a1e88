package inventory

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/policy"
)

// EventType names a change of the inventory (DESIGN.md, MQTT events).
type EventType = identity.EventType

// The changes the daemon reports.
const (
	DeviceFound    = identity.DeviceFound
	DeviceLost     = identity.DeviceLost
	VerdictChanged = identity.VerdictChanged
)

// Event is one change: the device record as it is now (as it was last
// seen, for a lost device).
type Event struct {
	Type   EventType       `json:"type"`
	Time   time.Time       `json:"time"`
	Device identity.Device `json:"device"`
	// Previous is the verdict before a verdict_changed.
	Previous identity.Verdict `json:"previous,omitempty"`
}

// Observation is one reading of one source: the identities it saw.
type Observation struct {
	// Slot names the source that made it (its row in the source table:
	// "network", "usb", "serial:/dev/ttyUSB0"). Evidence is kept per slot
	// and source: a reading replaces only what its own slot saw before.
	Slot string
	IDs  []identity.Identity
	// Complete means the slot saw every device it can see now: a device
	// with evidence from this slot that it did not see counts a miss.
	Complete bool
	// At is when the reading began. A partial reading that began before
	// the slot's last complete one is out of date and ignored.
	At time.Time
}

// MaxEvidence bounds the identities kept for one device: a host that
// answers with ever new payloads cannot grow its record without end.
const MaxEvidence = 64

// Evidence is one identity a device was seen with, and the slot that saw it.
type Evidence struct {
	Slot     string            `json:"slot"`
	Identity identity.Identity `json:"identity"`
}

// Entry is one device the inventory holds, as it is persisted.
type Entry struct {
	// Key is how observations find the device: "link:<mac>" (the
	// neighbour table's MAC of an on-link address), "addr:<ip>" (an
	// address no neighbour entry names), "via:<nvr>/<channel>", or
	// "port:<source>:<port>" for attached devices.
	Key      string          `json:"key"`
	LinkMAC  string          `json:"link_mac,omitempty"`
	Addr     netip.Addr      `json:"addr,omitzero"`
	Evidence []Evidence      `json:"evidence"`
	Device   identity.Device `json:"device"`
	// Missed counts the complete readings in a row, by a slot that saw
	// this device before, that did not see it.
	Missed int `json:"missed"`
}

// Inventory is the daemon's memory of devices: the evidence every source
// saw of each, kept until the device is lost (LostAfter complete readings
// in a row missed it) or contradicted (another MAC answers at its
// address), and the record and verdict derived from all of it. A reading
// that misses one reply therefore changes nothing. It is not safe for
// concurrent use: one goroutine owns it.
type Inventory struct {
	LostAfter int
	devices   map[string]*Entry // by key
	ids       map[string]*Entry // by record id
	complete  map[string]time.Time
}

// New returns an empty inventory; lostAfter < 1 counts as 1.
func New(lostAfter int) *Inventory {
	return &Inventory{LostAfter: max(lostAfter, 1), devices: map[string]*Entry{}, ids: map[string]*Entry{}, complete: map[string]time.Time{}}
}

// Apply takes one reading, classifies every device it touched with p and
// returns the events, in a stable order: found, then verdict changes,
// then lost, each by id.
func (inv *Inventory) Apply(o Observation, p *policy.Policy, now time.Time) []Event {
	if !o.Complete && !o.At.IsZero() && o.At.Before(inv.complete[o.Slot]) {
		return nil
	}
	r := inv.newResolver(o.IDs)
	var events []Event
	for _, e := range r.contradicted() {
		events = append(events, inv.remove(e, now))
	}
	for _, id := range r.ordered() {
		if id.Seen.IsZero() {
			id.Seen = now
		}
		r.add(id)
	}
	touched, order := r.pending, r.order
	for _, e := range order {
		e.addEvidence(o.Slot, touched[e])
		e.Missed = 0
	}
	if o.Complete {
		if o.At.After(inv.complete[o.Slot]) {
			inv.complete[o.Slot] = o.At
		}
		for _, key := range slices.Sorted(maps.Keys(inv.devices)) {
			e := inv.devices[key]
			if _, ok := touched[e]; ok || !e.hasSlot(o.Slot) {
				continue
			}
			e.Missed++
			if e.Missed >= inv.LostAfter {
				events = append(events, inv.remove(e, now))
			}
		}
	}
	// Records: the devices others point at (recorders) first.
	slices.SortStableFunc(order, func(a, b *Entry) int { return cmp.Compare(boolInt(a.via()), boolInt(b.via())) })
	for _, e := range order {
		if ev, ok := inv.reclassify(e, p, now); ok {
			events = append(events, ev)
		}
	}
	sortEvents(events)
	return events
}

// Reclassify derives every record again with p (a new policy): a verdict
// that p judges otherwise is a verdict_changed.
func (inv *Inventory) Reclassify(p *policy.Policy, now time.Time) []Event {
	var events []Event
	for _, key := range slices.Sorted(maps.Keys(inv.devices)) {
		if ev, ok := inv.reclassify(inv.devices[key], p, now); ok {
			events = append(events, ev)
		}
	}
	sortEvents(events)
	return events
}

func sortEvents(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int {
		return cmp.Or(cmp.Compare(eventRank(a.Type), eventRank(b.Type)), cmp.Compare(a.Device.ID, b.Device.ID))
	})
}

func eventRank(t EventType) int {
	switch t {
	case DeviceFound:
		return 0
	case VerdictChanged:
		return 1
	}
	return 2
}

// reclassify builds e's record from its evidence; it reports the event
// the change makes, if any.
func (inv *Inventory) reclassify(e *Entry, p *policy.Policy, now time.Time) (Event, bool) {
	if len(e.Evidence) == 0 {
		return Event{}, false // restored from an old state file: the record stands until evidence comes
	}
	prev := e.Device
	d := record(e, p)
	if e.Device.ID == "" {
		e.Device.ID = inv.uniqueID(e, inv.candidateID(e, d))
		inv.ids[e.Device.ID] = e
	}
	d.ID = e.Device.ID
	if d.Via != nil {
		d.Via.NVR = inv.recorderID(d.Via.NVR)
	}
	d.FirstSeen = prev.FirstSeen
	if d.FirstSeen.IsZero() {
		d.FirstSeen = cmp.Or(firstSeen(e), now)
	}
	if d.LastSeen.Before(prev.LastSeen) {
		d.LastSeen = prev.LastSeen
	}
	if d.LastSeen.IsZero() {
		d.LastSeen = now
	}
	e.Device = d
	switch {
	case prev.Verdict == "":
		return Event{Type: DeviceFound, Time: now, Device: d}, true
	case prev.Verdict != d.Verdict:
		return Event{Type: VerdictChanged, Time: now, Device: d, Previous: prev.Verdict}, true
	}
	return Event{}, false
}

func firstSeen(e *Entry) time.Time {
	var t time.Time
	for _, ev := range e.Evidence {
		if s := ev.Identity.Seen; !s.IsZero() && (t.IsZero() || s.Before(t)) {
			t = s
		}
	}
	return t
}

// remove forgets e and returns its device_lost event.
func (inv *Inventory) remove(e *Entry, now time.Time) Event {
	delete(inv.devices, e.Key)
	if inv.ids[e.Device.ID] == e {
		delete(inv.ids, e.Device.ID)
	}
	return Event{Type: DeviceLost, Time: now, Device: e.Device}
}

// rekey moves e under a new key (an address whose neighbour entry came).
func (inv *Inventory) rekey(e *Entry, key string) {
	delete(inv.devices, e.Key)
	e.Key = key
	inv.devices[key] = e
}

// addEvidence replaces, for each source in ids, what slot saw of e before.
func (e *Entry) addEvidence(slot string, ids []identity.Identity) {
	present := map[string]bool{}
	for _, id := range ids {
		present[id.Source] = true
	}
	e.Evidence = slices.DeleteFunc(e.Evidence, func(ev Evidence) bool { return ev.Slot == slot && present[ev.Identity.Source] })
	for _, id := range ids {
		e.Evidence = append(e.Evidence, Evidence{Slot: slot, Identity: id})
		if id.Source == identity.SourceARP && id.Addr.IsValid() {
			e.Addr = id.Addr
		}
	}
	if !e.Addr.IsValid() {
		for _, id := range ids {
			if id.Addr.IsValid() {
				e.Addr = id.Addr
				break
			}
		}
	}
	if n := len(e.Evidence) - MaxEvidence; n > 0 {
		// The oldest go first; slices.SortStableFunc keeps arrival order among equals.
		slices.SortStableFunc(e.Evidence, func(a, b Evidence) int { return a.Identity.Seen.Compare(b.Identity.Seen) })
		e.Evidence = slices.Delete(e.Evidence, 0, n)
	}
}

func (e *Entry) hasSlot(slot string) bool {
	for _, ev := range e.Evidence {
		if ev.Slot == slot {
			return true
		}
	}
	// A device restored from an old state file has no evidence yet.
	return len(e.Evidence) == 0
}

func (e *Entry) via() bool { return len(e.Key) > 4 && e.Key[:4] == "via:" }

// Devices lists the devices held, restricted first, then by id.
func (inv *Inventory) Devices() []identity.Device {
	out := make([]identity.Device, 0, len(inv.devices))
	for _, e := range inv.devices {
		if e.Device.ID != "" {
			out = append(out, e.Device)
		}
	}
	slices.SortStableFunc(out, func(a, b identity.Device) int {
		return cmp.Or(cmp.Compare(a.Verdict.Rank(), b.Verdict.Rank()), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Len is the number of devices held.
func (inv *Inventory) Len() int { return len(inv.devices) }

// Counts returns the number of devices per verdict.
func (inv *Inventory) Counts() map[identity.Verdict]int {
	out := map[identity.Verdict]int{identity.Restricted: 0, identity.Suspect: 0, identity.Clear: 0, identity.Unknown: 0}
	for _, e := range inv.devices {
		out[e.Device.Verdict]++
	}
	return out
}

// Entries returns a copy of the entries, for persisting, by key.
func (inv *Inventory) Entries() []Entry {
	out := make([]Entry, 0, len(inv.devices))
	for _, key := range slices.Sorted(maps.Keys(inv.devices)) {
		e := *inv.devices[key]
		e.Evidence = slices.Clone(e.Evidence)
		out = append(out, e)
	}
	return out
}

// Restore replaces the inventory's contents with persisted entries: after
// a restart the devices and their evidence are known again, so an
// unchanged network gives no event.
func (inv *Inventory) Restore(entries []Entry) {
	inv.devices = make(map[string]*Entry, len(entries))
	inv.ids = make(map[string]*Entry, len(entries))
	for _, e := range entries {
		if e.Key == "" || e.Device.ID == "" || inv.ids[e.Device.ID] != nil {
			continue
		}
		e := e
		inv.devices[e.Key] = &e
		inv.ids[e.Device.ID] = &e
	}
}

// Records classifies one scan's identities: every device they show, with
// the same resolution the daemon uses, sorted restricted first, then by
// IP and id.
func Records(ids []identity.Identity, p *policy.Policy) []identity.Device {
	inv := New(1)
	now := time.Now().UTC()
	inv.Apply(Observation{Slot: "scan", IDs: ids, Complete: true, At: now}, p, now)
	out := inv.Devices()
	slices.SortStableFunc(out, func(a, b identity.Device) int {
		return cmp.Or(cmp.Compare(a.Verdict.Rank(), b.Verdict.Rank()), compareIP(a.IP, b.IP), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func compareIP(a, b string) int {
	x, errx := netip.ParseAddr(a)
	y, erry := netip.ParseAddr(b)
	if errx != nil || erry != nil {
		return cmp.Compare(a, b)
	}
	return x.Compare(y)
}

// Touch sets Seen on identities that lack it.
func Touch(ids []identity.Identity, now time.Time) {
	for i := range ids {
		if ids[i].Seen.IsZero() {
			ids[i].Seen = now
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
