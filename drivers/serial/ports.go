package serial

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// System is where the port checks look: the root under which /sys, /proc,
// /dev, /run, /etc and /var are found. The zero System is the running
// machine ("/"); tests point Root at a temporary tree.
type System struct {
	Root string
}

// Candidate is one serial port of the machine, as sysfs describes it.
type Candidate struct {
	// Path is the stable name to give --serial: the /dev/serial/by-id link
	// when there is one, else /dev/<Name>.
	Path string
	// Name is the kernel's name for the tty (ttyUSB0, ttyACM0, ttyAMA0).
	Name string
	// Driver is the kernel driver of the port (ftdi_sio, cp210x, cdc_acm,
	// pl011, ...), "" when unknown.
	Driver string
	// USB is "vvvv:pppp" for a port on a USB device, else "".
	USB string
	// OnBoard is true for a UART of the board itself (ttyAMA, ttyS, ...):
	// it is opened only when configured by name.
	OnBoard bool
	// Refused says why the port must never be opened ("the gateway's
	// console", "a modem (driver option)", ...); "" when it may be.
	Refused string
}

// modemDrivers are the kernel drivers of mobile-broadband modem ports.
var modemDrivers = []string{"option", "option1", "qcserial", "qcaux", "sierra", "usb_wwan", "hso", "nozomi"}

// modemVendors are USB vendor ids whose serial ports are modems (Huawei
// and ZTE dongles, SERIAL.md section 8).
var modemVendors = []string{"12d1", "19d2"}

func (s System) path(p string) string {
	root := s.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}

// Candidates lists the serial ports of the machine: USB-serial adapters
// and on-board UARTs, with the reason each refused one must never be
// opened. It opens no port. Virtual consoles, pseudo-terminals and UARTs
// that the kernel found no hardware for are left out.
func (s System) Candidates() ([]Candidate, error) {
	ents, err := os.ReadDir(s.path("sys/class/tty"))
	if err != nil {
		return nil, fmt.Errorf("serial: list ports: %w", err)
	}
	byID := s.byID()
	var out []Candidate
	for _, e := range ents {
		name := e.Name()
		if !validName(name) {
			continue
		}
		c, ok := s.describe(name)
		if !ok {
			continue
		}
		if p, ok := byID[name]; ok {
			c.Path = p
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Candidate) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Check tells whether the port at path (a /dev node or a link to one) may
// be opened. It returns the port's description, and an error wrapping
// ErrRefused when it must not be opened, or ErrNoDevice when it does not
// exist. A device the sysfs does not list (a pseudo-terminal, for one) is
// allowed: it was named on purpose.
func (s System) Check(path string) (Candidate, error) {
	c := Candidate{Path: path}
	real, err := filepath.EvalSymlinks(s.path(path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return c, fmt.Errorf("%w: %s", ErrNoDevice, path)
		}
		return c, fmt.Errorf("serial: %s: %w", path, err)
	}
	c.Name = filepath.Base(real)
	if d, ok := s.describe(c.Name); ok && validName(c.Name) {
		d.Path = path
		c = d
	} else if why := s.refusal(c.Name, ""); why != "" {
		c.Refused = why
	}
	if c.Refused != "" {
		return c, fmt.Errorf("%w %s: it is %s", ErrRefused, path, c.Refused)
	}
	return c, nil
}

// validName accepts kernel tty names only: no path, no dots.
func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// describe reads what sysfs says of /sys/class/tty/<name>; ok is false for
// a tty without hardware behind it.
func (s System) describe(name string) (Candidate, bool) {
	c := Candidate{Name: name, Path: "/dev/" + name}
	cls := s.path("sys/class/tty/" + name)
	dev, err := filepath.EvalSymlinks(filepath.Join(cls, "device"))
	if err != nil {
		return c, false // virtual consoles, ptmx, console, ptys
	}
	if t, err := readAttr(filepath.Join(cls, "type")); err == nil && t == "0" {
		return c, false // a legacy UART slot with no UART (PORT_UNKNOWN)
	}
	if drv, err := filepath.EvalSymlinks(filepath.Join(dev, "driver")); err == nil {
		c.Driver = filepath.Base(drv)
	}
	// The USB device is the nearest ancestor with an idVendor: one level
	// up for cdc_acm (the interface), two for usb-serial (port, interface).
	for d, i := dev, 0; i < 4 && len(d) > len(s.path("sys")); d, i = filepath.Dir(d), i+1 {
		vid, err := readAttr(filepath.Join(d, "idVendor"))
		if err != nil {
			continue
		}
		pid, _ := readAttr(filepath.Join(d, "idProduct"))
		c.USB = strings.ToLower(vid) + ":" + strings.ToLower(pid)
		break
	}
	c.OnBoard = c.USB == ""
	c.Refused = s.refusal(name, c.Driver)
	if c.Refused == "" && c.USB != "" && slices.Contains(modemVendors, c.USB[:min(4, len(c.USB))]) {
		c.Refused = "a modem (USB vendor " + c.USB[:4] + ")"
	}
	return c, true
}

// refusal says why the tty must never be opened, or "".
func (s System) refusal(name, driver string) string {
	switch {
	case slices.Contains(s.consoles(), name):
		return "the gateway's own console"
	case s.getty(name):
		return "a login console (serial-getty@" + name + ")"
	case strings.HasPrefix(name, "rfcomm") || driver == "hci_uart":
		return "a Bluetooth link"
	case slices.Contains(modemDrivers, driver):
		return "a modem (driver " + driver + ")"
	}
	if pid := s.lockOwner(name); pid != "" {
		return "locked by process " + pid
	}
	return ""
}

// consoles lists the ttys the kernel uses as its console.
func (s System) consoles() []string {
	var out []string
	if a, err := readAttr(s.path("sys/class/tty/console/active")); err == nil {
		out = append(out, strings.Fields(a)...)
	}
	if b, err := os.ReadFile(s.path("proc/cmdline")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			v, ok := strings.CutPrefix(f, "console=")
			if !ok {
				continue
			}
			v, _, _ = strings.Cut(v, ",")
			if !validName(v) {
				continue
			}
			out = append(out, v)
			// console=serial0 names a udev alias (Raspberry Pi OS).
			if real, err := filepath.EvalSymlinks(s.path("dev/" + v)); err == nil {
				out = append(out, filepath.Base(real))
			}
		}
	}
	return out
}

// getty reports whether a serial login prompt runs, or is enabled, on name.
func (s System) getty(name string) bool {
	unit := "serial-getty@" + name + ".service"
	for _, p := range []string{
		"etc/systemd/system/getty.target.wants/" + unit,
		"run/systemd/units/invocation:" + unit,
		"sys/fs/cgroup/system.slice/system-serial\\x2dgetty.slice/" + unit,
	} {
		if _, err := os.Lstat(s.path(p)); err == nil {
			return true
		}
	}
	return false
}

// lockOwner returns the pid in a UUCP lock file (/var/lock/LCK..name or
// /run/lock/LCK..name) whose process is alive, else "".
func (s System) lockOwner(name string) string {
	for _, dir := range []string{"run/lock", "var/lock"} {
		b, err := os.ReadFile(s.path(dir + "/LCK.." + name))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return "unknown"
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 {
			return "unknown"
		}
		if _, err := os.Stat(s.path("proc/" + strconv.Itoa(pid))); err == nil {
			return strconv.Itoa(pid)
		}
	}
	return ""
}

// byID maps tty names to their /dev/serial/by-id links.
func (s System) byID() map[string]string {
	out := map[string]string{}
	dir := s.path("dev/serial/by-id")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		real, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		name := filepath.Base(real)
		if _, dup := out[name]; !dup {
			out[name] = "/dev/serial/by-id/" + e.Name()
		}
	}
	return out
}

// readAttr reads a small sysfs attribute, trimmed.
func readAttr(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, 256)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return "", err
	}
	return strings.TrimSpace(string(b[:n])), nil
}
