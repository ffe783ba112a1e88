// Package register keeps a gateway's removal register (DESIGN.md,
// "Register and report"): every device that was ever restricted or
// suspect, present or removed, when it was first and last seen, when it
// was removed, who acknowledged its alarm and when, and its record at its
// last sighting. A device that returns is present again with its history
// kept as a list of presence intervals.
//
// The register lives in one JSON file in the state directory, written
// atomically (inventory.WriteFileAtomic) and only when it changes: a kill
// -9 or a power cut at any instant leaves the old file or the new one.
// The acknowledgement of the alarm is kept there too, so that it survives
// restarts until a new restricted device appears.
package register

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/mqtt"
)

// Entry is one device of the register; the same type is the payload of
// <base>/register/<id>.
type Entry = mqtt.RegisterEntry

// FileName is the register's file in the state directory.
const FileName = "register.json"

// fileVersion is the format version of the register file.
const fileVersion = 1

// LastSeenStep is how far a present device's last sighting must move
// before the register is written for that alone: a sweep every few
// minutes must not rewrite the file every time (SD cards wear). A removal
// records the exact last sighting.
const LastSeenStep = 15 * time.Minute

// MaxEntries bounds the register. Past it the entries removed longest ago
// are dropped (Change.Dropped); present devices are never dropped.
const MaxEntries = 2000

// ErrDamaged is wrapped by the error of Open and Read when the register
// file does not parse. Open moves the damaged file aside (the error names
// where) and returns an empty register, so that nothing is lost silently.
var ErrDamaged = errors.New("register: damaged file")

// file is the register file's content.
type file struct {
	Version int     `json:"version"`
	Gateway string  `json:"gateway,omitempty"`
	Ack     *ack    `json:"ack,omitempty"`
	Entries []Entry `json:"entries"`
}

// ack is the acknowledgement of the current alarm.
type ack struct {
	At time.Time `json:"at"`
	By string    `json:"by,omitempty"`
}

// Snapshot is what a register file holds, as Read returns it.
type Snapshot struct {
	Gateway string
	AckedAt time.Time // zero when the alarm is not acknowledged
	AckedBy string
	Entries []Entry // by id
}

// Register is a gateway's removal register. Its methods are safe for
// concurrent use.
type Register struct {
	mu      sync.Mutex
	path    string
	gateway string
	ack     *ack
	entries map[string]*Entry
	last    []byte // the file's content as last read or written
}

// Change is what one Observe changed: the entries to publish again and
// the ids of entries dropped past MaxEntries (their retained topics can be
// cleared).
type Change struct {
	Entries []Entry
	Dropped []string
}

// Open reads the register at path (a missing file is an empty register)
// and records gateway as the id of the gateway it belongs to. A damaged
// file is renamed to <path>.damaged-<UTC time> and Open returns an empty,
// usable register together with an error wrapping ErrDamaged that names
// the copy; any other error returns a nil register.
func Open(path, gateway string) (*Register, error) {
	// Temporary files of writes that a power cut interrupted.
	if stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")); err == nil {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	r := &Register{path: path, gateway: gateway, entries: map[string]*Entry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	f, err := decode(path, b)
	if err != nil {
		backup := path + ".damaged-" + time.Now().UTC().Format("20060102T150405.000000000Z")
		if rerr := os.Rename(path, backup); rerr != nil {
			return nil, fmt.Errorf("%w (and it could not be kept aside: %v)", err, rerr)
		}
		return r, fmt.Errorf("%w; kept as %s, starting an empty register", err, backup)
	}
	r.ack = f.Ack
	for i := range f.Entries {
		e := f.Entries[i]
		r.entries[e.ID] = &e
	}
	r.last = b
	return r, nil
}

// Read reads a register file without changing anything: for the report.
// A missing file is an error wrapping fs.ErrNotExist.
func Read(path string) (Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("register: %w", err)
	}
	f, err := decode(path, b)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Gateway: f.Gateway, Entries: f.Entries}
	if f.Ack != nil {
		s.AckedAt, s.AckedBy = f.Ack.At, f.Ack.By
	}
	slices.SortFunc(s.Entries, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return s, nil
}

// decode parses and checks a register file.
func decode(path string, b []byte) (file, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return file{}, fmt.Errorf("%w %s: %v", ErrDamaged, path, err)
	}
	if dec.More() {
		return file{}, fmt.Errorf("%w %s: data after the JSON object", ErrDamaged, path)
	}
	if f.Version != fileVersion {
		return file{}, fmt.Errorf("%w %s: version %d, want %d", ErrDamaged, path, f.Version, fileVersion)
	}
	seen := map[string]bool{}
	for _, e := range f.Entries {
		switch {
		case !mqtt.ValidID(e.ID):
			return file{}, fmt.Errorf("%w %s: entry id %q is not a topic-safe id", ErrDamaged, path, identity.Clean(e.ID))
		case seen[e.ID]:
			return file{}, fmt.Errorf("%w %s: entry %s twice", ErrDamaged, path, e.ID)
		case e.Status != mqtt.Present && e.Status != mqtt.Removed:
			return file{}, fmt.Errorf("%w %s: entry %s has status %q", ErrDamaged, path, e.ID, identity.Clean(string(e.Status)))
		}
		seen[e.ID] = true
	}
	return f, nil
}

// tracked reports whether a verdict puts a device in the register.
func tracked(v identity.Verdict) bool { return v == identity.Restricted || v == identity.Suspect }

// Observe brings the register up to date after a change of the
// inventory: devs are the inventory's devices now (every verdict), lost
// those it has just reported lost (device_lost, with their records at the
// last sighting). A restricted or suspect device not in the register is
// added; a removed one that is back is present again, with a new presence
// interval; a present one in lost is removed at now. A present entry
// merely missing from devs stays present: only the inventory's loss (or
// Sync) removes a device, so that an inventory that starts empty never
// makes the register claim removals. A device that becomes restricted
// (new, back, or a suspect upgraded) clears the acknowledgement. The file
// is written when anything changed.
func (r *Register) Observe(now time.Time, devs, lost []identity.Device) (Change, error) {
	return r.observe(now, devs, lost, false)
}

// Sync is Observe with devs known to be the whole inventory (a state file
// that loaded at start): every present entry missing from devs is removed
// at now too. It mends a register that a crash left behind the inventory
// (killed between the two writes).
func (r *Register) Sync(now time.Time, devs []identity.Device) (Change, error) {
	return r.observe(now, devs, nil, true)
}

func (r *Register) observe(now time.Time, devs, lost []identity.Device, whole bool) (Change, error) {
	now = now.UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	lostBy := make(map[string]identity.Device, len(lost))
	for _, d := range lost {
		lostBy[d.ID] = d
	}
	seen := make(map[string]bool, len(devs))
	changed := map[string]bool{}
	alarm := false
	for _, d := range devs {
		if d.ID == "" {
			continue
		}
		seen[d.ID] = true
		e, known := r.entries[d.ID]
		switch {
		case !known && !tracked(d.Verdict):
		case !known:
			first := orNow(d.FirstSeen, now)
			e = &Entry{ID: d.ID, Status: mqtt.Present, FirstSeen: first, LastSeen: orNow(d.LastSeen, now),
				Presence: []mqtt.Interval{{From: first}}, Device: d}
			r.entries[d.ID] = e
			changed[d.ID] = true
			alarm = alarm || d.Verdict == identity.Restricted
		case e.Status == mqtt.Removed:
			from := d.FirstSeen
			if n := len(e.Presence); from.IsZero() || n > 0 && from.Before(e.Presence[n-1].To) || from.After(now) {
				from = now
			}
			e.Status, e.RemovedAt, e.AckedAt, e.AckedBy = mqtt.Present, time.Time{}, time.Time{}, ""
			e.Presence = append(e.Presence, mqtt.Interval{From: from})
			e.Device, e.LastSeen = d, later(e.LastSeen, orNow(d.LastSeen, now))
			changed[d.ID] = true
			alarm = alarm || d.Verdict == identity.Restricted
		default:
			upgraded := d.Verdict == identity.Restricted && e.Device.Verdict != identity.Restricted
			ls := orNow(d.LastSeen, now)
			if upgraded || !sameRecord(e.Device, d) || ls.Sub(e.LastSeen) >= LastSeenStep {
				e.Device, e.LastSeen = d, later(e.LastSeen, ls)
				changed[d.ID] = true
			}
			if upgraded {
				e.AckedAt, e.AckedBy = time.Time{}, ""
				alarm = true
			}
		}
	}
	for id, e := range r.entries {
		if e.Status != mqtt.Present || seen[id] {
			continue
		}
		d, ok := lostBy[id]
		if !ok && !whole {
			continue
		}
		if ok {
			e.Device = d
			e.LastSeen = later(e.LastSeen, d.LastSeen)
		}
		e.Status, e.RemovedAt = mqtt.Removed, now
		if n := len(e.Presence); n > 0 && e.Presence[n-1].To.IsZero() {
			e.Presence[n-1].To = now
		}
		changed[id] = true
	}
	var ch Change
	if alarm && r.ack != nil {
		r.ack = nil
		changed[""] = true // the file changes; no entry to publish
	}
	ch.Dropped = r.trimLocked()
	delete(changed, "")
	for _, id := range ch.Dropped {
		delete(changed, id)
	}
	for id := range changed {
		ch.Entries = append(ch.Entries, copyEntry(r.entries[id]))
	}
	slices.SortFunc(ch.Entries, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return ch, r.saveLocked()
}

// trimLocked drops the entries removed longest ago past MaxEntries and
// returns their ids.
func (r *Register) trimLocked() []string {
	if len(r.entries) <= MaxEntries {
		return nil
	}
	var removed []*Entry
	for _, e := range r.entries {
		if e.Status == mqtt.Removed {
			removed = append(removed, e)
		}
	}
	slices.SortFunc(removed, func(a, b *Entry) int {
		if c := a.RemovedAt.Compare(b.RemovedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var ids []string
	for _, e := range removed {
		if len(r.entries) <= MaxEntries {
			break
		}
		delete(r.entries, e.ID)
		ids = append(ids, e.ID)
	}
	return ids
}

// Ack acknowledges the alarm at now, by whom ("" when the command did not
// say). It does nothing and returns no entries when no restricted device
// is present or the alarm is already acknowledged; otherwise every
// present restricted or suspect entry not yet acknowledged records it,
// and those entries are returned for publishing. The acknowledgement is
// written to the file.
func (r *Register) Ack(now time.Time, by string) ([]Entry, error) {
	now = now.UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ack != nil || !r.restrictedLocked() {
		return nil, nil
	}
	by = identity.Clean(by)
	r.ack = &ack{At: now, By: by}
	var out []Entry
	for _, e := range r.sortedLocked() {
		if e.Status == mqtt.Present && tracked(e.Device.Verdict) && e.AckedAt.IsZero() {
			e.AckedAt, e.AckedBy = now, by
			out = append(out, copyEntry(e))
		}
	}
	return out, r.saveLocked()
}

// Acked returns the acknowledgement of the current alarm; ok is false
// when there is none.
func (r *Register) Acked() (at time.Time, by string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ack == nil {
		return time.Time{}, "", false
	}
	return r.ack.At, r.ack.By, true
}

// Restricted reports whether a restricted device is present.
func (r *Register) Restricted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restrictedLocked()
}

func (r *Register) restrictedLocked() bool {
	for _, e := range r.entries {
		if e.Status == mqtt.Present && e.Device.Verdict == identity.Restricted {
			return true
		}
	}
	return false
}

// Entries returns every entry, by id: to publish them all at a start.
func (r *Register) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	for _, e := range r.sortedLocked() {
		out = append(out, copyEntry(e))
	}
	return out
}

// Path is the register file's path.
func (r *Register) Path() string { return r.path }

func (r *Register) sortedLocked() []*Entry {
	out := make([]*Entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// saveLocked writes the file when its content changed.
func (r *Register) saveLocked() error {
	f := file{Version: fileVersion, Gateway: r.gateway, Ack: r.ack, Entries: []Entry{}}
	for _, e := range r.sortedLocked() {
		f.Entries = append(f.Entries, *e)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	b = append(b, '\n')
	if bytes.Equal(b, r.last) {
		return nil
	}
	if err := inventory.WriteFileAtomic(r.path, b, 0o640); err != nil {
		return fmt.Errorf("register: save: %w", err)
	}
	r.last = b
	return nil
}

// Save writes the register if it changed since it was read or last
// written (Open with a new gateway id, or a failed write to retry).
func (r *Register) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saveLocked()
}

// sameRecord compares two records of a device but for their last
// sighting.
func sameRecord(a, b identity.Device) bool {
	a.LastSeen, b.LastSeen = time.Time{}, time.Time{}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func copyEntry(e *Entry) Entry {
	c := *e
	c.Presence = slices.Clone(e.Presence)
	return c
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b.UTC()
	}
	return a
}
