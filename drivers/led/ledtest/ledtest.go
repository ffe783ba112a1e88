// Package ledtest provides what tests of LED users need without hardware: a
// temporary LED-class directory shaped like /sys/class/leds/NAME, and a
// Recorder output that keeps every change with its time (virtual time under
// testing/synctest).
package ledtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/led"
)

// Triggers is the trigger file of a Raspberry Pi's ACT LED, with mmc0
// current, as the kernel prints it.
const Triggers = "none rc-feedback kbd-scrolllock kbd-numlock kbd-capslock kbd-kanalock kbd-shiftlock " +
	"kbd-altgrlock kbd-ctrllock kbd-altlock kbd-shiftllock kbd-shiftrlock kbd-ctrlllock kbd-ctrlrlock " +
	"timer oneshot heartbeat backlight gpio cpu cpu0 cpu1 cpu2 cpu3 default-on input panic actpwr " +
	"mmc1 [mmc0] rfkill-any rfkill-none rfkill0 rfkill1\n"

// ClassDir creates an LED-class directory called name under a temporary
// directory: brightness "0", max_brightness max and trigger triggers (use
// Triggers for a Pi's ACT LED). It returns the directory's path.
func ClassDir(t testing.TB, name string, max int, triggers string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "leds", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"brightness": "0\n", "max_brightness": strconv.Itoa(max) + "\n", "trigger": triggers} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Attr returns an attribute file of an LED-class directory, trimmed.
func Attr(t testing.TB, dir, attr string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, attr))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// Change is one write to a Recorder.
type Change struct {
	At     time.Time
	Colour led.Colour
}

// Recorder is an Output that records every colour it is set to, and
// whether it was halted. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	changes []Change
	halted  bool
}

var _ led.Output = (*Recorder)(nil)

// Set implements led.Output.
func (r *Recorder) Set(c led.Colour) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, Change{time.Now(), c})
	r.halted = false
	return nil
}

// Halt implements conn.Resource: it records Dark and marks the recorder
// halted.
func (r *Recorder) Halt() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, Change{time.Now(), led.Dark})
	r.halted = true
	return nil
}

// String implements conn.Resource.
func (r *Recorder) String() string { return "recorder" }

// Changes returns a copy of the writes so far.
func (r *Recorder) Changes() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Change(nil), r.changes...)
}

// Now returns the colour last written, Dark before any.
func (r *Recorder) Now() led.Colour {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.changes) == 0 {
		return led.Dark
	}
	return r.changes[len(r.changes)-1].Colour
}

// Halted reports whether Halt was the last call.
func (r *Recorder) Halted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halted
}
