package register

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
)

// FuzzOpen: any register file opens, or gives a one-line error wrapping
// ErrDamaged with the bytes kept aside; a register that opened works:
// Observe and Ack on it never panic, and what it writes opens again.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"version":1,"gateway":"gw-a","ack":{"at":"2026-11-27T10:01:00Z","by":"ops"},"entries":[{"id":"mac-bcad28123456","status":"removed","first_seen":"2026-11-27T10:00:00Z","last_seen":"2026-11-27T10:40:00Z","removed_at":"2026-11-27T11:00:00Z","presence":[{"from":"2026-11-27T10:00:00Z","to":"2026-11-27T11:00:00Z"}],"device":{"id":"mac-bcad28123456","sources":["sadp"],"verdict":"restricted","reasons":[]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path, "gw-a")
		if err != nil {
			if r == nil || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("Open: %v, %q", r, err)
			}
			kept, _ := filepath.Glob(path + ".damaged-*")
			if len(kept) != 1 {
				t.Fatalf("damaged file not kept: %v", kept)
			}
			return
		}
		now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		d := identity.Device{ID: "mac-bcad28000001", Sources: []string{}, Verdict: identity.Restricted, Reasons: []identity.Reason{}}
		if _, err := r.Observe(now, []identity.Device{d}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Ack(now, "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Sync(now.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		snap, err := Read(path)
		if err != nil {
			t.Fatalf("what the register wrote does not read back: %v", err)
		}
		for _, e := range snap.Entries {
			if !mqtt.ValidID(e.ID) || e.Status != mqtt.Removed {
				t.Fatalf("entry %+v after everything was lost", e)
			}
		}
	})
}
