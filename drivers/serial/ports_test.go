package serial

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tree builds a temporary machine: sysfs, procfs, devfs and lock files.
type tree struct {
	t    *testing.T
	root string
}

func (tr tree) file(p, content string) {
	tr.t.Helper()
	full := filepath.Join(tr.root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr tree) dir(p string) {
	tr.t.Helper()
	if err := os.MkdirAll(filepath.Join(tr.root, p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
}

// link makes p a symbolic link to target, relative to p's directory when
// target is relative (as sysfs and udev links are).
func (tr tree) link(p, target string) {
	tr.t.Helper()
	full := filepath.Join(tr.root, p)
	tr.dir(filepath.Dir(p))
	if err := os.Symlink(target, full); err != nil {
		tr.t.Fatal(err)
	}
}

// rel is the relative link from the directory of p to q (both in the tree).
func rel(p, q string) string {
	r, err := filepath.Rel(filepath.Dir(p), q)
	if err != nil {
		panic(err)
	}
	return r
}

// usbSerial adds a USB-serial adapter (vid:pid) whose interface is bound to
// driver, with the tty name; acm says the tty hangs off the interface
// (cdc_acm) rather than a usb-serial port.
func (tr tree) usbSerial(busPath, vid, pid, driver, name string, acm bool) {
	dev := "sys/devices/platform/soc/usb/usb1/" + busPath
	tr.file(dev+"/idVendor", vid+"\n")
	tr.file(dev+"/idProduct", pid+"\n")
	intf := dev + "/" + busPath + ":1.0"
	tr.dir("sys/bus/usb/drivers/" + driver)
	tr.link(intf+"/driver", rel(intf+"/driver", "sys/bus/usb/drivers/"+driver))
	parent := intf
	if !acm {
		parent = intf + "/" + name
		tr.dir("sys/bus/usb-serial/drivers/" + driver)
		tr.link(parent+"/driver", rel(parent+"/driver", "sys/bus/usb-serial/drivers/"+driver))
	}
	cls := parent + "/tty/" + name
	tr.file(cls+"/dev", "188:0\n")
	tr.link(cls+"/device", rel(cls+"/device", parent))
	tr.link("sys/class/tty/"+name, rel("sys/class/tty/"+name, cls))
	tr.file("dev/"+name, "")
}

// onBoard adds a UART of the board bound to driver.
func (tr tree) onBoard(name, driver, typ string) {
	dev := "sys/devices/platform/soc/" + name + ".serial"
	tr.dir("sys/bus/amba/drivers/" + driver)
	tr.link(dev+"/driver", rel(dev+"/driver", "sys/bus/amba/drivers/"+driver))
	cls := dev + "/tty/" + name
	tr.file(cls+"/type", typ+"\n")
	tr.link(cls+"/device", rel(cls+"/device", dev))
	tr.link("sys/class/tty/"+name, rel("sys/class/tty/"+name, cls))
	tr.file("dev/"+name, "")
}

func newMachine(t *testing.T) tree {
	tr := tree{t: t, root: t.TempDir()}
	tr.onBoard("ttyAMA0", "uart-pl011", "91") // the Pi's console, through serial0
	tr.onBoard("ttyS0", "dw-apb-uart", "4")   // a login prompt runs on it
	tr.onBoard("ttyS1", "serial8250", "0")    // a legacy slot with no UART
	tr.onBoard("ttyAMA1", "uart-pl011", "91") // a spare UART: allowed when named
	tr.usbSerial("1-1.3", "0403", "6001", "ftdi_sio", "ttyUSB0", false)
	tr.usbSerial("1-1.4", "12d1", "1506", "option", "ttyUSB1", false) // a Huawei dongle
	tr.usbSerial("1-1.5", "1a86", "7523", "ch341", "ttyUSB2", false)  // held by minicom
	tr.usbSerial("1-1.6", "2341", "0043", "cdc_acm", "ttyACM0", true)
	tr.usbSerial("1-1.7", "19d2", "0117", "cdc_acm", "ttyACM1", true) // a ZTE modem on cdc_acm
	tr.link("dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", "../../ttyUSB0")
	tr.link("dev/serial0", "ttyAMA0")
	tr.dir("sys/devices/virtual/tty/tty0")
	tr.link("sys/class/tty/tty0", "../../devices/virtual/tty/tty0")
	tr.file("sys/class/tty/console/active", "tty1\n")
	tr.file("proc/cmdline", "coherent_pool=1M console=serial0,115200 console=tty1 root=PARTUUID=abc rootwait\n")
	tr.file("etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service", "")
	pid := strconv.Itoa(os.Getpid())
	tr.file("var/lock/LCK..ttyUSB2", "      "+pid+"\n")
	tr.dir("proc/" + pid)
	tr.file("var/lock/LCK..ttyACM0", "999999999\n") // stale: its process is gone
	return tr
}

func TestCandidates(t *testing.T) {
	tr := newMachine(t)
	got, err := System{Root: tr.root}.Candidates()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Candidate{
		"ttyUSB0": {Path: "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", Name: "ttyUSB0", Driver: "ftdi_sio", USB: "0403:6001"},
		"ttyUSB1": {Path: "/dev/ttyUSB1", Name: "ttyUSB1", Driver: "option", USB: "12d1:1506", Refused: "a modem (driver option)"},
		"ttyUSB2": {Path: "/dev/ttyUSB2", Name: "ttyUSB2", Driver: "ch341", USB: "1a86:7523", Refused: "locked by process " + strconv.Itoa(os.Getpid())},
		"ttyACM0": {Path: "/dev/ttyACM0", Name: "ttyACM0", Driver: "cdc_acm", USB: "2341:0043"},
		"ttyACM1": {Path: "/dev/ttyACM1", Name: "ttyACM1", Driver: "cdc_acm", USB: "19d2:0117", Refused: "a modem (USB vendor 19d2)"},
		"ttyAMA0": {Path: "/dev/ttyAMA0", Name: "ttyAMA0", Driver: "uart-pl011", OnBoard: true, Refused: "the gateway's own console"},
		"ttyAMA1": {Path: "/dev/ttyAMA1", Name: "ttyAMA1", Driver: "uart-pl011", OnBoard: true},
		"ttyS0":   {Path: "/dev/ttyS0", Name: "ttyS0", Driver: "dw-apb-uart", OnBoard: true, Refused: "a login console (serial-getty@ttyS0)"},
	}
	if len(got) != len(want) {
		t.Errorf("%d candidates, want %d: %+v", len(got), len(want), got)
	}
	for _, c := range got {
		if w, ok := want[c.Name]; !ok || c != w {
			t.Errorf("candidate %+v\n           want %+v", c, w)
		}
	}
}

func TestCheck(t *testing.T) {
	tr := newMachine(t)
	s := System{Root: tr.root}
	for path, refused := range map[string]string{
		"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0": "",
		"/dev/ttyACM0":        "",
		"/dev/ttyAMA1":        "",
		"/dev/serial0":        "console",
		"/dev/ttyAMA0":        "console",
		"/dev/ttyS0":          "login console",
		"/dev/ttyUSB1":        "modem",
		"/dev/ttyACM1":        "modem",
		"/dev/ttyUSB2":        "locked by process",
		"/dev/ttyUSB9":        "no such port",
		"/dev/../dev/ttyUSB0": "",
	} {
		c, err := s.Check(path)
		switch {
		case refused == "" && err != nil:
			t.Errorf("Check(%s) = %v, want allowed", path, err)
		case refused == "no such port" && !errors.Is(err, ErrNoDevice):
			t.Errorf("Check(%s) = %v, want ErrNoDevice", path, err)
		case refused != "" && refused != "no such port" && (!errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), refused)):
			t.Errorf("Check(%s) = %+v, %v; want refused as %s", path, c, err, refused)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Check(%s): multi-line error %q", path, err)
		}
	}
}

// TestCheckThisMachine: the console this machine boots with is refused.
func TestCheckThisMachine(t *testing.T) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Skip("no /proc/cmdline")
	}
	for _, f := range strings.Fields(string(b)) {
		name, ok := strings.CutPrefix(f, "console=")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ",")
		if _, err := os.Stat("/dev/" + name); err != nil {
			continue
		}
		if _, err := (System{}).Check("/dev/" + name); !errors.Is(err, ErrRefused) {
			t.Errorf("Check(/dev/%s), this machine's console: %v, want refused", name, err)
		}
		return
	}
	t.Skip("this machine names no console device on its command line")
}
