package inventory

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
)

func dev(id string, v identity.Verdict, sources ...string) identity.Device {
	return identity.Device{ID: id, Verdict: v, Sources: sources}
}

func types(evs []Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Type)+":"+e.Device.ID)
	}
	return strings.Join(s, " ")
}

func TestApplyFoundChangedLost(t *testing.T) {
	inv := New(2)
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	net := map[Kind]bool{KindNetwork: true}
	cam := dev("mac-5850ed1fe385", identity.Suspect, "arp", "http")
	usb := dev("usb-1-1-2bdf-0281", identity.Restricted, "usb")

	evs := inv.Apply([]identity.Device{cam, usb}, map[Kind]bool{KindNetwork: true, KindUSB: true}, t0)
	if got := types(evs); got != "device_found:mac-5850ed1fe385 device_found:usb-1-1-2bdf-0281" {
		t.Fatalf("first apply: %s", got)
	}
	// Seen again with a stronger verdict: one verdict_changed, first_seen kept.
	cam.Verdict = identity.Restricted
	evs = inv.Apply([]identity.Device{cam, usb}, net, t0.Add(time.Minute))
	if got := types(evs); got != "verdict_changed:mac-5850ed1fe385" || evs[0].Previous != identity.Suspect {
		t.Fatalf("second apply: %s %+v", got, evs)
	}
	if d := inv.Devices()[0]; !d.FirstSeen.Equal(t0) {
		t.Errorf("first_seen = %v, want %v", d.FirstSeen, t0)
	}
	// Missing from one sweep: nothing yet (lost after 2).
	if evs = inv.Apply([]identity.Device{usb}, net, t0.Add(2*time.Minute)); len(evs) != 0 {
		t.Fatalf("one missed sweep: %s", types(evs))
	}
	// A USB poll does not count against a network device.
	if evs = inv.Apply([]identity.Device{usb}, map[Kind]bool{KindUSB: true}, t0.Add(150*time.Second)); len(evs) != 0 {
		t.Fatalf("usb poll: %s", types(evs))
	}
	evs = inv.Apply([]identity.Device{usb}, net, t0.Add(3*time.Minute))
	if got := types(evs); got != "device_lost:mac-5850ed1fe385" {
		t.Fatalf("second missed sweep: %s", got)
	}
	// Seen again after being lost: found again.
	if evs = inv.Apply([]identity.Device{cam, usb}, net, t0.Add(4*time.Minute)); types(evs) != "device_found:mac-5850ed1fe385" {
		t.Fatalf("back: %s", types(evs))
	}
	// A reappearance resets the missed count.
	inv.Apply([]identity.Device{usb}, net, t0.Add(5*time.Minute))
	inv.Apply([]identity.Device{cam, usb}, net, t0.Add(6*time.Minute))
	if evs = inv.Apply([]identity.Device{usb}, net, t0.Add(7*time.Minute)); len(evs) != 0 {
		t.Fatalf("missed count not reset: %s", types(evs))
	}
	c := inv.Counts()
	if c[identity.Restricted] != 2 || inv.Len() != 2 {
		t.Errorf("counts %v len %d", c, inv.Len())
	}
}

func TestRestoreFindsNothingTwice(t *testing.T) {
	inv := New(3)
	now := time.Now()
	recs := []identity.Device{dev("mac-a", identity.Restricted, "sadp"), dev("mac-b", identity.Clear, "wsd")}
	inv.Apply(recs, map[Kind]bool{KindNetwork: true}, now)
	store := &Store{Path: filepath.Join(t.TempDir(), "state.json")}
	if wrote, err := store.Save(inv.Entries()); err != nil || !wrote {
		t.Fatalf("Save = %v, %v", wrote, err)
	}
	// The same content again: no write (SD cards wear).
	if wrote, err := store.Save(inv.Entries()); err != nil || wrote {
		t.Fatalf("second Save = %v, %v; want no write", wrote, err)
	}
	again := &Store{Path: store.Path}
	st, err := again.Load()
	if err != nil {
		t.Fatal(err)
	}
	inv2 := New(3)
	inv2.Restore(st.Entries)
	if evs := inv2.Apply(recs, map[Kind]bool{KindNetwork: true}, now.Add(time.Minute)); len(evs) != 0 {
		t.Errorf("after a restart: %s", types(evs))
	}
	if wrote, _ := again.Save(inv2.Entries()); wrote {
		// last_seen moved: a write is expected only if content changed.
		t.Log("state rewritten after last_seen moved")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Path: filepath.Join(dir, "state.json")}
	if _, err := s.Load(); err != ErrNoState {
		t.Errorf("missing file: %v", err)
	}
	for name, body := range map[string]string{
		"torn":    `{"version":1,"devices":[{"device":{"id":"mac-`,
		"version": `{"version":9,"devices":[]}`,
		"unknown": `{"version":1,"devices":[],"extra":true}`,
	} {
		os.WriteFile(s.Path, []byte(body), 0o644)
		if _, err := s.Load(); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: Load error = %v", name, err)
		}
	}
}

// TestPowerCutDuringWrites kills a process that rewrites the state file as
// fast as it can, 100 times at random instants; the file must load every
// time, with one of the contents that was written.
func TestPowerCutDuringWrites(t *testing.T) {
	if os.Getenv("NVRGUARD_STATE_WRITER") != "" {
		return
	}
	path := filepath.Join(t.TempDir(), "state.json")
	for i := 0; i < 100; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStateWriter$")
		cmd.Env = append(os.Environ(), "NVRGUARD_STATE_WRITER="+path)
		if err := cmd.Start(); err != nil {
			if errors.Is(err, syscall.ENOEXEC) {
				t.Skip("cannot run the test binary as a child here (an ARM binary under qemu-user): this test runs natively in make test")
			}
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5+rand.IntN(40)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		st, err := (&Store{Path: path}).Load()
		if err == ErrNoState {
			continue // killed before its first rename
		}
		if err != nil {
			t.Fatalf("kill %d: the state file does not load: %v", i, err)
		}
		if n := len(st.Entries); n < 1 || n > 50 {
			t.Fatalf("kill %d: %d devices", i, n)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.json.tmp*")); len(leftovers) > 0 {
		t.Errorf("Load left %d temporary files of killed writers", len(leftovers))
	}
}

// TestStateWriter is the child of TestPowerCutDuringWrites.
func TestStateWriter(t *testing.T) {
	path := os.Getenv("NVRGUARD_STATE_WRITER")
	if path == "" {
		t.Skip("the child process of TestPowerCutDuringWrites")
	}
	s := &Store{Path: path}
	for i := 0; ; i++ {
		var entries []Entry
		for j := 0; j <= i%50; j++ {
			entries = append(entries, Entry{Device: dev(fmt.Sprintf("mac-%012d", j), identity.Restricted, "sadp")})
			entries[j].Device.Model = strconv.Itoa(i)
		}
		if _, err := s.Save(entries); err != nil {
			t.Fatal(err)
		}
	}
}
