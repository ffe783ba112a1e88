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

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Path: filepath.Join(dir, "state.json")}
	if _, err := s.Load(); err != ErrNoState {
		t.Errorf("missing file: %v", err)
	}
	for name, body := range map[string]string{
		"torn":       `{"version":2,"devices":[{"device":{"id":"mac-`,
		"version":    `{"version":9,"devices":[]}`,
		"unknown":    `{"version":2,"devices":[],"extra":true}`,
		"v1-unknown": `{"version":1,"devices":[],"extra":true}`,
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
			entries = append(entries, Entry{Key: fmt.Sprintf("link:%d", j), Device: dev(fmt.Sprintf("mac-%012d", j), identity.Restricted, "sadp")})
			entries[j].Device.Model = strconv.Itoa(i)
		}
		if _, err := s.Save(entries); err != nil {
			t.Fatal(err)
		}
	}
}
