package led

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ClassRoot is where the kernel lists LED-class devices.
const ClassRoot = "/sys/class/leds"

// maxAttr bounds what is read from an LED-class attribute; a trigger list is
// a few hundred bytes, a page at most on older kernels.
const maxAttr = 64 << 10

// Class is an LED-class device of the kernel (/sys/class/leds/NAME): it
// writes brightness, and borrows the LED from its trigger while it runs.
type Class struct {
	dir    string
	invert bool
	max    int

	mu     sync.Mutex
	saved  string // the trigger found by OpenClass
	halted bool
}

var _ Output = (*Class)(nil)

// OpenClass takes over the LED-class device in dir: it reads max_brightness
// and the current trigger, then sets the trigger to "none" so that the
// kernel leaves the LED alone. Halt restores the trigger. With invert, a
// brightness of 0 means lit (for kernels where the LED's polarity is wrong,
// as on some Pi Zero kernels).
func OpenClass(dir string, invert bool) (*Class, error) {
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("led: sysfs: %s: no such LED (see ls %s; older kernels name the Pi's ACT LED led0)", dir, ClassRoot)
		}
		return nil, fmt.Errorf("led: sysfs: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("led: sysfs: %s is not an LED-class directory", dir)
	}
	b, err := readAttr(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return nil, err
	}
	maxB, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || maxB < 1 {
		return nil, fmt.Errorf("led: sysfs: %s: max_brightness %q is not a positive number", dir, clip(string(b)))
	}
	b, err = readAttr(filepath.Join(dir, "trigger"))
	if err != nil {
		return nil, err
	}
	saved, err := ParseTrigger(string(b))
	if err != nil {
		return nil, fmt.Errorf("led: sysfs: %s: %w", filepath.Join(dir, "trigger"), err)
	}
	c := &Class{dir: dir, invert: invert, max: maxB, saved: saved}
	if err := c.write("trigger", "none"); err != nil {
		return nil, err
	}
	return c, nil
}

// Trigger returns the trigger that was active when the LED was opened, which
// Halt restores.
func (c *Class) Trigger() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saved
}

// RestoreTo sets the trigger Halt restores. A daemon that was killed
// (SIGKILL, a power cut) left the trigger at "none"; the next start finds
// "none" and, without this, would restore "none": the daemon remembers the
// original trigger in its state directory and hands it back here.
func (c *Class) RestoreTo(trigger string) error {
	if !validTrigger(trigger) {
		return fmt.Errorf("led: sysfs: %q is not a trigger name", clip(trigger))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saved = trigger
	return nil
}

// Set implements Output: any colour but Dark lights the LED at full
// brightness.
func (c *Class) Set(col Colour) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted {
		return fmt.Errorf("led: sysfs: %s: halted", c.dir)
	}
	return c.brightness(col != Dark)
}

func (c *Class) brightness(on bool) error {
	v := 0
	if on != c.invert {
		v = c.max
	}
	return c.write("brightness", strconv.Itoa(v))
}

// Halt implements conn.Resource: the LED goes dark, then its trigger is
// restored. Only the first Halt does anything: writing brightness again
// after the trigger is back would switch the trigger off.
func (c *Class) Halt() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted {
		return nil
	}
	c.halted = true
	return errors.Join(c.brightness(false), c.write("trigger", c.saved))
}

// String implements conn.Resource: the --led SPEC of the output.
func (c *Class) String() string {
	if c.invert {
		return "sysfs:" + c.dir + ",invert"
	}
	return "sysfs:" + c.dir
}

func (c *Class) write(attr, value string) error {
	p := filepath.Join(c.dir, attr)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("led: sysfs: %s: permission denied (the service user needs write access: see the README's udev rule)", p)
		}
		return fmt.Errorf("led: sysfs: %w", err)
	}
	_, err = f.WriteString(value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("led: sysfs: write %q to %s: %w", value, p, err)
	}
	return nil
}

func readAttr(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("led: sysfs: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAttr+1))
	if err != nil {
		return nil, fmt.Errorf("led: sysfs: read %s: %w", p, err)
	}
	if len(b) > maxAttr {
		return nil, fmt.Errorf("led: sysfs: %s is larger than %d bytes", p, maxAttr)
	}
	return b, nil
}

// ParseTrigger returns the current trigger in the contents of an LED-class
// trigger file: the entry in [brackets] of the list the kernel prints, e.g.
// "mmc0" in "none timer [mmc0] heartbeat". A file holding one bare entry
// (what a plain file shows after "none" was written to it) gives that entry.
func ParseTrigger(s string) (string, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return "", errors.New("empty trigger list")
	}
	cur := ""
	for _, f := range fields {
		name, ok := strings.CutPrefix(f, "[")
		if !ok {
			continue
		}
		name, ok = strings.CutSuffix(name, "]")
		if !ok || cur != "" {
			return "", fmt.Errorf("malformed trigger list near %q", clip(f))
		}
		cur = name
	}
	if cur == "" && len(fields) == 1 {
		cur = fields[0]
	}
	if cur == "" {
		return "", errors.New("no current trigger in [brackets]")
	}
	if !validTrigger(cur) {
		return "", fmt.Errorf("malformed trigger name %q", clip(cur))
	}
	return cur, nil
}

// validTrigger accepts the names the kernel uses: printable ASCII without
// brackets, e.g. "mmc0", "default-on", "r8169-400:00:link".
func validTrigger(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || r == '[' || r == ']' {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
