package inventory

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
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

// Kind groups sources by how they observe: a network sweep sees every
// network device at once, a USB read every USB device, a serial port the
// one device behind it.
type Kind string

// The kinds of source.
const (
	KindNetwork Kind = "network"
	KindUSB     Kind = "usb"
	KindSerial  Kind = "serial"
)

// KindOf is the kind of a source name.
func KindOf(source string) Kind {
	switch source {
	case identity.SourceUSB:
		return KindUSB
	case identity.SourceConsole, identity.SourcePelco:
		return KindSerial
	}
	return KindNetwork
}

// Entry is one device the inventory holds.
type Entry struct {
	Device identity.Device `json:"device"`
	// Missed counts the complete observations in a row, by a kind of
	// source that saw this device before, that did not see it.
	Missed int `json:"missed"`
}

// Inventory is the daemon's memory of devices across sweeps: first and
// last seen, expiry after LostAfter missed observations, and the events
// these changes make. It is not safe for concurrent use: one goroutine
// owns it.
type Inventory struct {
	LostAfter int
	entries   map[string]*Entry
}

// New returns an empty inventory; lostAfter < 1 counts as 1.
func New(lostAfter int) *Inventory {
	return &Inventory{LostAfter: max(lostAfter, 1), entries: map[string]*Entry{}}
}

// Apply takes the current records (the merged, classified view of every
// source's latest observations) and which kinds of source have just
// completed a full observation, and returns the events, in a stable order.
// A device absent from records is lost once LostAfter complete
// observations by a kind that saw it have missed it; a device a
// non-complete kind still holds is left alone.
func (inv *Inventory) Apply(records []identity.Device, complete map[Kind]bool, now time.Time) []Event {
	var events []Event
	seen := map[string]bool{}
	for _, d := range records {
		seen[d.ID] = true
		e, ok := inv.entries[d.ID]
		if !ok {
			if d.FirstSeen.IsZero() {
				d.FirstSeen = now
			}
			if d.LastSeen.IsZero() {
				d.LastSeen = now
			}
			inv.entries[d.ID] = &Entry{Device: d}
			events = append(events, Event{Type: DeviceFound, Time: now, Device: d})
			continue
		}
		prev := e.Device
		d.FirstSeen = prev.FirstSeen
		if d.LastSeen.IsZero() {
			d.LastSeen = now
		}
		if d.LastSeen.Before(prev.LastSeen) {
			d.LastSeen = prev.LastSeen
		}
		e.Device, e.Missed = d, 0
		if d.Verdict != prev.Verdict {
			events = append(events, Event{Type: VerdictChanged, Time: now, Device: d, Previous: prev.Verdict})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(inv.entries)) {
		if seen[id] {
			continue
		}
		e := inv.entries[id]
		if !observedBy(e.Device, complete) {
			continue
		}
		e.Missed++
		if e.Missed >= inv.LostAfter {
			delete(inv.entries, id)
			events = append(events, Event{Type: DeviceLost, Time: now, Device: e.Device})
		}
	}
	slices.SortStableFunc(events, func(a, b Event) int {
		return cmp.Or(cmp.Compare(eventRank(a.Type), eventRank(b.Type)), cmp.Compare(a.Device.ID, b.Device.ID))
	})
	return events
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

// observedBy reports whether one of the kinds that saw d has completed.
func observedBy(d identity.Device, complete map[Kind]bool) bool {
	for _, s := range d.Sources {
		if s == identity.SourceOUI {
			continue
		}
		if complete[KindOf(s)] {
			return true
		}
	}
	return false
}

// Devices lists the devices held, restricted first, then by id.
func (inv *Inventory) Devices() []identity.Device {
	out := make([]identity.Device, 0, len(inv.entries))
	for _, e := range inv.entries {
		out = append(out, e.Device)
	}
	slices.SortStableFunc(out, func(a, b identity.Device) int {
		return cmp.Or(cmp.Compare(a.Verdict.Rank(), b.Verdict.Rank()), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Len is the number of devices held.
func (inv *Inventory) Len() int { return len(inv.entries) }

// Counts returns the number of devices per verdict.
func (inv *Inventory) Counts() map[identity.Verdict]int {
	out := map[identity.Verdict]int{identity.Restricted: 0, identity.Suspect: 0, identity.Clear: 0, identity.Unknown: 0}
	for _, e := range inv.entries {
		out[e.Device.Verdict]++
	}
	return out
}

// Entries returns a copy of the entries, for persisting.
func (inv *Inventory) Entries() []Entry {
	out := make([]Entry, 0, len(inv.entries))
	for _, id := range slices.Sorted(maps.Keys(inv.entries)) {
		out = append(out, *inv.entries[id])
	}
	return out
}

// Restore replaces the inventory's contents with persisted entries: after
// a restart the devices are known again, so they are not "found" twice.
func (inv *Inventory) Restore(entries []Entry) {
	inv.entries = make(map[string]*Entry, len(entries))
	for _, e := range entries {
		if e.Device.ID == "" {
			continue
		}
		e := e
		inv.entries[e.Device.ID] = &e
	}
}
