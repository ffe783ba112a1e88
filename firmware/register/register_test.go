package register

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func dev(id string, v identity.Verdict, first, last time.Time) identity.Device {
	return identity.Device{ID: id, IP: "192.168.1.64", MAC: "bc:ad:28:12:34:56", Manufacturer: "Hikvision", Model: "DS-2CD2143G0-I",
		Sources: []string{"sadp"}, Verdict: v, Entity: "Hikvision",
		Reasons:   []identity.Reason{{Source: "sadp", Field: "model", Value: "DS-2CD2143G0-I", Rule: "model/hikvision-ds"}},
		FirstSeen: first, LastSeen: last}
}

func open(t *testing.T, path string) *Register {
	t.Helper()
	r, err := Open(path, "gw-a")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func observe(t *testing.T, r *Register, now time.Time, devs, lost []identity.Device) Change {
	t.Helper()
	ch, err := r.Observe(now, devs, lost)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func ids(es []Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.ID+":"+string(e.Status))
	}
	return strings.Join(s, " ")
}

// TestFoundRemovedReturned follows a restricted camera that is found,
// unplugged and plugged in again, across reopenings of the file: it is
// removed with its removal time and its record at the last sighting, and
// back as present with both presence intervals. A clear device never
// enters the register.
func TestFoundRemovedReturned(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	r := open(t, path)
	cam := dev("mac-bcad28123456", identity.Restricted, t0, t0)
	clear := dev("mac-00408c000001", identity.Clear, t0, t0)
	if ch := observe(t, r, t0, []identity.Device{cam, clear}, nil); ids(ch.Entries) != "mac-bcad28123456:present" {
		t.Fatalf("found: %s", ids(ch.Entries))
	}
	// Sweeps that only move the last sighting a little change nothing.
	cam.LastSeen = t0.Add(5 * time.Minute)
	st, _ := os.Stat(path)
	if ch := observe(t, r, t0.Add(5*time.Minute), []identity.Device{cam, clear}, nil); len(ch.Entries) != 0 {
		t.Errorf("a 5-minute sighting changed %s", ids(ch.Entries))
	}
	if st2, _ := os.Stat(path); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the file was rewritten for nothing")
	}
	cam.LastSeen = t0.Add(20 * time.Minute)
	cam.Firmware = "V5.5.0 build 170725"
	if ch := observe(t, r, t0.Add(20*time.Minute), []identity.Device{cam, clear}, nil); len(ch.Entries) != 1 || ch.Entries[0].Device.Firmware == "" {
		t.Errorf("a new firmware: %+v", ch.Entries)
	}
	// Unplugged: the inventory reports it lost.
	removedAt := t0.Add(time.Hour)
	cam.LastSeen = t0.Add(40 * time.Minute)
	r = open(t, path)
	ch := observe(t, r, removedAt, []identity.Device{clear}, []identity.Device{cam})
	if len(ch.Entries) != 1 {
		t.Fatalf("removed: %s", ids(ch.Entries))
	}
	e := ch.Entries[0]
	if e.Status != mqtt.Removed || !e.RemovedAt.Equal(removedAt) || !e.LastSeen.Equal(cam.LastSeen) || !e.FirstSeen.Equal(t0) ||
		len(e.Presence) != 1 || !e.Presence[0].To.Equal(removedAt) || e.Device.Firmware != "V5.5.0 build 170725" {
		t.Errorf("removed entry %+v", e)
	}
	// Still gone: nothing changes.
	if ch := observe(t, r, removedAt.Add(time.Hour), []identity.Device{clear}, nil); len(ch.Entries) != 0 {
		t.Errorf("still gone: %s", ids(ch.Entries))
	}
	// Back a day later, as a new inventory record.
	back := t0.Add(24 * time.Hour)
	r = open(t, path)
	cam = dev("mac-bcad28123456", identity.Restricted, back, back)
	ch = observe(t, r, back, []identity.Device{cam, clear}, nil)
	if len(ch.Entries) != 1 {
		t.Fatalf("back: %s", ids(ch.Entries))
	}
	e = ch.Entries[0]
	if e.Status != mqtt.Present || !e.RemovedAt.IsZero() || !e.FirstSeen.Equal(t0) || len(e.Presence) != 2 ||
		!e.Presence[0].To.Equal(removedAt) || !e.Presence[1].From.Equal(back) || !e.Presence[1].To.IsZero() {
		t.Errorf("returned entry %+v", e)
	}
	if all := open(t, path).Entries(); ids(all) != "mac-bcad28123456:present" {
		t.Errorf("reopened: %s", ids(all))
	}
	snap, err := Read(path)
	if err != nil || snap.Gateway != "gw-a" || len(snap.Entries) != 1 || len(snap.Entries[0].Presence) != 2 {
		t.Errorf("Read: %+v %v", snap, err)
	}
}

// TestOnlyLossRemoves: a device missing from the inventory's devices
// (an inventory that started empty and has not found it again yet) stays
// present; the inventory's loss removes it, and so does Sync with the
// whole inventory (a register a crash left behind).
func TestOnlyLossRemoves(t *testing.T) {
	r := open(t, filepath.Join(t.TempDir(), FileName))
	a := dev("mac-bcad28000001", identity.Restricted, t0, t0)
	b := dev("mac-bcad28000002", identity.Restricted, t0, t0)
	observe(t, r, t0, []identity.Device{a, b}, nil)
	if ch := observe(t, r, t0.Add(time.Hour), []identity.Device{a}, nil); len(ch.Entries) != 0 {
		t.Fatalf("missing without a loss: %s", ids(ch.Entries))
	}
	ch, err := r.Sync(t0.Add(2*time.Hour), []identity.Device{a})
	if err != nil || ids(ch.Entries) != "mac-bcad28000002:removed" || !ch.Entries[0].RemovedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("Sync: %s %v", ids(ch.Entries), err)
	}
	if ch := observe(t, r, t0.Add(3*time.Hour), nil, []identity.Device{a}); ids(ch.Entries) != "mac-bcad28000001:removed" {
		t.Errorf("lost: %s", ids(ch.Entries))
	}
}

// TestSuspectThenRestricted: a suspect device enters the register as
// suspect; when the policy makes it restricted, the entry follows and
// the acknowledgement is cleared (a new alarm). Reclassified clear, it
// stays in the register as present.
func TestSuspectThenRestricted(t *testing.T) {
	r := open(t, filepath.Join(t.TempDir(), FileName))
	s := dev("mac-bcad28000001", identity.Suspect, t0, t0)
	x := dev("mac-bcad28000002", identity.Restricted, t0, t0)
	observe(t, r, t0, []identity.Device{s, x}, nil)
	if got, err := r.Ack(t0.Add(time.Minute), "night shift"); err != nil || ids(got) != "mac-bcad28000001:present mac-bcad28000002:present" {
		t.Fatalf("Ack: %s %v", ids(got), err)
	}
	if _, by, ok := r.Acked(); !ok || by != "night shift" {
		t.Fatalf("Acked: %q %v", by, ok)
	}
	s.Verdict = identity.Restricted
	ch := observe(t, r, t0.Add(2*time.Minute), []identity.Device{s, x}, nil)
	if len(ch.Entries) != 1 || ch.Entries[0].Device.Verdict != identity.Restricted || !ch.Entries[0].AckedAt.IsZero() {
		t.Fatalf("upgraded: %+v", ch.Entries)
	}
	if _, _, ok := r.Acked(); ok {
		t.Error("an upgrade to restricted kept the acknowledgement")
	}
	s.Verdict = identity.Clear
	ch = observe(t, r, t0.Add(3*time.Minute), []identity.Device{s, x}, nil)
	if len(ch.Entries) != 1 || ch.Entries[0].Status != mqtt.Present || ch.Entries[0].Device.Verdict != identity.Clear {
		t.Errorf("reclassified clear: %+v", ch.Entries)
	}
}

// TestAckSurvivesReopen: the acknowledgement (at, by) is in the file, so
// a restarted daemon stays acknowledged; a new restricted device clears
// it, and that is in the file too. Ack with nothing restricted does
// nothing.
func TestAckSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	r := open(t, path)
	if got, err := r.Ack(t0, "x"); got != nil || err != nil {
		t.Errorf("Ack with nothing restricted: %v %v", got, err)
	}
	if _, _, ok := r.Acked(); ok {
		t.Error("acknowledged with nothing restricted")
	}
	a := dev("mac-bcad28000001", identity.Restricted, t0, t0)
	observe(t, r, t0, []identity.Device{a}, nil)
	at := t0.Add(90 * time.Second)
	if _, err := r.Ack(at, "ops \x1b[2Jdesk"); err != nil {
		t.Fatal(err)
	}
	r = open(t, path)
	gotAt, by, ok := r.Acked()
	if !ok || !gotAt.Equal(at) || strings.ContainsRune(by, 0x1b) || !strings.HasPrefix(by, "ops") || !strings.HasSuffix(by, "desk") {
		t.Fatalf("after reopen: %v %q %v", gotAt, by, ok)
	}
	if e := r.Entries()[0]; !e.AckedAt.Equal(at) || e.AckedBy != by {
		t.Errorf("entry ack %v %q", e.AckedAt, e.AckedBy)
	}
	// A second ack changes nothing.
	if got, _ := r.Ack(at.Add(time.Hour), "someone else"); got != nil {
		t.Errorf("second ack: %s", ids(got))
	}
	// A new restricted device: a new alarm, in the file.
	b := dev("mac-bcad28000002", identity.Restricted, t0.Add(time.Hour), t0.Add(time.Hour))
	observe(t, r, t0.Add(time.Hour), []identity.Device{a, b}, nil)
	if _, _, ok := open(t, path).Acked(); ok {
		t.Error("a new restricted device kept the acknowledgement across a reopen")
	}
	// A new suspect device does not.
	r = open(t, path)
	r.Ack(t0.Add(2*time.Hour), "ops")
	c := dev("mac-bcad28000003", identity.Suspect, t0.Add(3*time.Hour), t0.Add(3*time.Hour))
	observe(t, r, t0.Add(3*time.Hour), []identity.Device{a, b, c}, nil)
	if _, _, ok := open(t, path).Acked(); !ok {
		t.Error("a new suspect device cleared the acknowledgement")
	}
}

// TestDamagedFile: a file that does not parse is never silently emptied:
// Open says so, naming the copy it kept, and the copy holds the bytes.
func TestDamagedFile(t *testing.T) {
	for name, body := range map[string]string{
		"torn":      `{"version":1,"entries":[{"id":"mac-`,
		"version":   `{"version":7,"entries":[]}`,
		"unknown":   `{"version":1,"entries":[],"extra":1}`,
		"bad id":    `{"version":1,"entries":[{"id":"../x","status":"present","first_seen":"2026-11-27T10:00:00Z","last_seen":"2026-11-27T10:00:00Z","presence":[],"device":{"id":"x","sources":[],"verdict":"restricted","reasons":[]}}]}`,
		"status":    `{"version":1,"entries":[{"id":"mac-1","status":"maybe","first_seen":"2026-11-27T10:00:00Z","last_seen":"2026-11-27T10:00:00Z","presence":[],"device":{"id":"mac-1","sources":[],"verdict":"restricted","reasons":[]}}]}`,
		"two":       `{"version":1,"entries":[]}{}`,
		"not json":  "\x00\x01garbage",
		"duplicate": `{"version":1,"entries":[{"id":"mac-1","status":"present","first_seen":"2026-11-27T10:00:00Z","last_seen":"2026-11-27T10:00:00Z","presence":[],"device":{"id":"mac-1","sources":[],"verdict":"restricted","reasons":[]}},{"id":"mac-1","status":"present","first_seen":"2026-11-27T10:00:00Z","last_seen":"2026-11-27T10:00:00Z","presence":[],"device":{"id":"mac-1","sources":[],"verdict":"restricted","reasons":[]}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			os.WriteFile(path, []byte(body), 0o640)
			if _, err := Read(path); !errors.Is(err, ErrDamaged) {
				t.Errorf("Read: %v", err)
			}
			r, err := Open(path, "gw-a")
			if !errors.Is(err, ErrDamaged) || r == nil || strings.ContainsAny(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open: %v, %v", r, err)
			}
			backups, _ := filepath.Glob(path + ".damaged-*")
			if len(backups) != 1 || !strings.Contains(err.Error(), backups[0]) {
				t.Fatalf("backups %v, error %v", backups, err)
			}
			if b, _ := os.ReadFile(backups[0]); string(b) != body {
				t.Errorf("the backup holds %q", b)
			}
			// The empty register works and does not touch the backup.
			observe(t, r, t0, []identity.Device{dev("mac-bcad28000001", identity.Restricted, t0, t0)}, nil)
			if n := len(open(t, path).Entries()); n != 1 {
				t.Errorf("%d entries after a fresh start", n)
			}
			if b, _ := os.ReadFile(backups[0]); string(b) != body {
				t.Error("the backup changed")
			}
		})
	}
}

// TestTrim: past MaxEntries the entries removed longest ago go first;
// present ones stay.
func TestTrim(t *testing.T) {
	r := open(t, filepath.Join(t.TempDir(), FileName))
	var devs []identity.Device
	for i := range MaxEntries + 10 {
		devs = append(devs, dev(fmt.Sprintf("mac-%012d", i), identity.Suspect, t0, t0))
	}
	observe(t, r, t0, devs, nil)
	// The first 20 go away, one minute apart: the first 10 are dropped
	// as they go (the register is over MaxEntries), the next 10 kept.
	var dropped []string
	for i := range 20 {
		dropped = append(dropped, observe(t, r, t0.Add(time.Duration(i+1)*time.Minute), devs[i+1:], devs[i:i+1]).Dropped...)
	}
	if len(dropped) != 10 || dropped[0] != "mac-000000000000" || dropped[9] != "mac-000000000009" || len(r.Entries()) != MaxEntries {
		t.Fatalf("dropped %v, %d entries", dropped, len(r.Entries()))
	}
	// A new device pushes out the one removed longest ago.
	ch := observe(t, r, t0.Add(time.Hour), append(devs[20:], dev("mac-new", identity.Suspect, t0, t0)), nil)
	if len(ch.Dropped) != 1 || ch.Dropped[0] != "mac-000000000010" || len(r.Entries()) != MaxEntries {
		t.Errorf("dropped %v, %d entries", ch.Dropped, len(r.Entries()))
	}
	for _, e := range ch.Entries {
		if e.ID == ch.Dropped[0] {
			t.Error("a dropped entry is also to publish")
		}
	}
}

// TestPowerCutDuringWrites kills a process that keeps changing the
// register (devices found and removed, acknowledged) as fast as it can,
// 60 times at random instants; the file must open every time, without a
// backup, with a plausible content.
func TestPowerCutDuringWrites(t *testing.T) {
	if os.Getenv("NVRGUARD_REGISTER_WRITER") != "" {
		return
	}
	path := filepath.Join(t.TempDir(), FileName)
	for i := range 60 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRegisterWriter$")
		cmd.Env = append(os.Environ(), "NVRGUARD_REGISTER_WRITER="+path)
		if err := cmd.Start(); err != nil {
			if errors.Is(err, syscall.ENOEXEC) {
				t.Skip("cannot run the test binary as a child here (an ARM binary under qemu-user): this test runs natively in make test")
			}
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rand.IntN(40)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue // killed before its first rename
		}
		r, err := Open(path, "gw-a")
		if err != nil {
			t.Fatalf("kill %d: the register does not open: %v", i, err)
		}
		if n := len(r.Entries()); n < 1 || n > 30 {
			t.Fatalf("kill %d: %d entries", i, n)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+FileName+".tmp*")); len(left) > 0 {
		t.Errorf("Open left %d temporary files of killed writers", len(left))
	}
	if backups, _ := filepath.Glob(path + ".damaged-*"); len(backups) > 0 {
		t.Errorf("a power cut damaged the file: %v", backups)
	}
}

// TestRegisterWriter is the child of TestPowerCutDuringWrites.
func TestRegisterWriter(t *testing.T) {
	path := os.Getenv("NVRGUARD_REGISTER_WRITER")
	if path == "" {
		t.Skip("the child process of TestPowerCutDuringWrites")
	}
	r, err := Open(path, "gw-a")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		now := t0.Add(time.Duration(i) * time.Minute)
		var devs []identity.Device
		for j := 0; j <= i%30; j++ {
			d := dev(fmt.Sprintf("mac-%012d", j), identity.Restricted, t0, now)
			d.Firmware = strconv.Itoa(i)
			devs = append(devs, d)
		}
		if _, err := r.Observe(now, devs, nil); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			if _, err := r.Ack(now, "writer"); err != nil {
				t.Fatal(err)
			}
		}
	}
}
