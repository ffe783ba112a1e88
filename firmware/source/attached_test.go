package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/pelco"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/drivers/usb/usbtest"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/firmware/source"
)

const corpus = "../testdata/classify-serial"

type sample struct {
	file, maker string
	restricted  bool
	// expect is the verdict the log alone can give when it is not the
	// truth (a boot ROM shared with innocent boards): INDEX.tsv's column 7.
	expect identity.Verdict
}

// consoleSamples lists the console logs of the corpus with their truth.
func consoleSamples(t *testing.T) []sample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, "INDEX.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, "\t")
		if strings.HasPrefix(f[1], "uart_") {
			s := sample{file: f[0], maker: f[2], restricted: f[3] == "yes"}
			if len(f) > 6 {
				s.expect = identity.Verdict(strings.TrimSpace(f[6]))
			}
			out = append(out, s)
		}
	}
	if len(out) < 7 {
		t.Fatalf("%d console samples", len(out))
	}
	return out
}

func mustPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// opts are the attached sources of a scan, as the flags give them.
type opts struct {
	Root  string
	Open  serial.Opener
	NoUSB bool
	Ports []config.SerialPort
}

type stats struct{ USBDevices, SerialPorts int }

// attached runs the scan's USB and serial sources once, as `nvrguard
// scan` does (the network rows are left out: no test probes the machine's
// own interfaces).
func attached(ctx context.Context, o opts) ([]identity.Identity, stats, error) {
	cfg := config.Default()
	cfg.USB.Enabled = !o.NoUSB
	cfg.Serial.Ports = o.Ports
	env := source.Env{Config: func() config.Config { return cfg }, Root: o.Root, OpenSerial: o.Open, Scan: true}
	all, err := source.Build(env)
	if err != nil {
		return nil, stats{}, err
	}
	var ins []source.Instance
	var st stats
	for _, in := range all {
		switch {
		case in.Slot == source.SlotUSB:
			ins = append(ins, in)
		case strings.HasPrefix(in.Slot, "serial:"):
			st.SerialPorts++
			ins = append(ins, in)
		}
	}
	rs := source.Once(ctx, ins)
	for _, r := range rs {
		if r.Name == "usb" {
			st.USBDevices = len(r.Reading.IDs)
		}
		if r.Err != nil && ctx.Err() == nil {
			return nil, st, r.Err
		}
	}
	return source.IDs(rs), st, nil
}

// machine builds a temporary machine with USB-serial adapters and the
// corpus webcams, its console on ttyS9.
func machine(t *testing.T) string {
	root := t.TempDir()
	usbtest.WriteSysfs(t, root,
		usb.Device{BusPath: "1-1", VID: "2bdf", PID: "0281", Manufacturer: "SN0002", Product: "HIK 2K USB CAMERA", Serial: "SN0002",
			Class: "ef", Interfaces: []string{"0e", "01"}, Video: []string{"HIK 2K USB CAMERA: HIK 2K USB"}},
		usb.Device{BusPath: "1-2", VID: "0403", PID: "6001", Manufacturer: "FTDI", Product: "FT232R USB UART", Serial: "A50285BI"},
		usb.Device{BusPath: "1-3", VID: "046d", PID: "0825", Product: "Webcam C270", Interfaces: []string{"0e"}},
		usb.Device{BusPath: "usb1", VID: "1d6b", PID: "0002", Class: "09"},
	)
	tty := "sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0"
	usbtest.File(t, root, tty+"/dev", "188:0\n")
	usbtest.Link(t, root, tty+"/device", filepath.Dir(filepath.Dir(tty)))
	usbtest.Link(t, root, "sys/class/tty/ttyUSB0", tty)
	usbtest.File(t, root, "dev/ttyUSB0", "")
	usbtest.Link(t, root, "dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", "dev/ttyUSB0")
	usbtest.File(t, root, "sys/class/tty/console/active", "ttyS9\n")
	usbtest.File(t, root, "dev/ttyS9", "")
	return root
}

// TestAttachedOpensNoPortUnlessNamed: a scan without --serial reads the USB
// devices and opens no port, though adapters are present.
func TestAttachedOpensNoPortUnlessNamed(t *testing.T) {
	root := machine(t)
	var opened atomic.Int32
	open := func(path string, m serial.Mode) (serial.Port, error) {
		opened.Add(1)
		return nil, errors.New("must not be opened")
	}
	ids, st, err := attached(t.Context(), opts{Root: root, Open: open})
	if err != nil || opened.Load() != 0 || st.SerialPorts != 0 {
		t.Fatalf("opened %d ports, stats %+v, err %v", opened.Load(), st, err)
	}
	want := map[string]identity.Verdict{"usb-1-1-2bdf-0281": identity.Restricted, "usb-1-2-0403-6001": identity.Unknown, "usb-1-3-046d-0825": identity.Unknown}
	devs := inventory.Records(ids, mustPolicy(t))
	if len(devs) != len(want) || st.USBDevices != len(want) {
		t.Fatalf("%d devices (stats %d), want %d (the hub left out): %+v", len(devs), st.USBDevices, len(want), devs)
	}
	for _, d := range devs {
		if v, ok := want[d.ID]; !ok || d.Verdict != v || d.LastSeen.IsZero() {
			t.Errorf("%s: %s (seen %v), want %s", d.ID, d.Verdict, d.LastSeen, want[d.ID])
		}
	}
	ids, _, err = attached(t.Context(), opts{Root: root, Open: open, NoUSB: true})
	if err != nil || len(ids) != 0 || opened.Load() != 0 {
		t.Errorf("--no-usb: %d identities, %d opened, %v", len(ids), opened.Load(), err)
	}
}

// TestAttachedRefusesConsole: naming the gateway's console is an error
// before any port is opened.
func TestAttachedRefusesConsole(t *testing.T) {
	root := machine(t)
	var opened atomic.Int32
	open := func(string, serial.Mode) (serial.Port, error) { opened.Add(1); return nil, errors.New("no") }
	_, _, err := attached(t.Context(), opts{Root: root, Open: open, NoUSB: true,
		Ports: []config.SerialPort{{Path: "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"}, {Path: "/dev/ttyS9"}}})
	if !errors.Is(err, serial.ErrRefused) || !strings.Contains(err.Error(), "console") || opened.Load() != 0 {
		t.Errorf("err %v, %d opened", err, opened.Load())
	}
}

// TestAttachedWaitsForMissingPort: a port that is not there is waited for
// until the scan ends, without error, and the scan ends on time.
func TestAttachedWaitsForMissingPort(t *testing.T) {
	serialtest.NoLeak(t)
	ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	ids, _, err := attached(ctx, opts{NoUSB: true, Ports: []config.SerialPort{{Path: filepath.Join(t.TempDir(), "ttyUSB7")}}})
	if err != nil || len(ids) != 0 {
		t.Errorf("%v, %v", ids, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %v", d)
	}
}

// TestAttachedPelcoQueryOptIn: a port configured to query Pelco addresses
// (not reachable from the command line) asks a silent bus and reports the
// part number; the console side stays silent.
func TestAttachedPelcoQueryOptIn(t *testing.T) {
	reply := append([]byte{0xFF, 2}, []byte("SD6AL245XA     ")...)
	var s byte
	for _, c := range reply[1:] {
		s += c
	}
	reply = append(reply, s)
	port := &serialtest.Playback{Ops: []serialtest.IO{{W: pelco.QueryD(2), R: reply}}, Wait: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	ids, _, err := attached(ctx, opts{NoUSB: true, Root: t.TempDir(), Open: port.Open,
		Ports: []config.SerialPort{{Path: "/dev/ttyUSB1", Baud: 9600, Kind: "pelco", Query: true, PelcoAddresses: []int{2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := port.Done(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0].Get(identity.FieldModel) != "SD6AL245XA" || ids[0].Port != "/dev/ttyUSB1 pelco-d address 2" {
		t.Errorf("identities %+v", ids)
	}
}
