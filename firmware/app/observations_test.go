package app

import (
	"github.com/nvrguard/nvrguard/firmware/config"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/led"
)

// TestFaultHeldByAnySource: one source clearing a fault does not clear
// another source's.
func TestFaultHeldByAnySource(t *testing.T) {
	var f faultSet
	f.set(led.FaultSerial, "/dev/ttyUSB0", true)
	f.set(led.FaultSerial, "usb", false) // the USB poll is fine
	if s := f.states(); len(s) != 1 || s[0] != led.Fault(led.FaultSerial) {
		t.Fatalf("states = %v, want fault 3 held by the serial port", s)
	}
	f.set(led.FaultNetwork, "network", true)
	f.set(led.FaultSerial, "/dev/ttyUSB0", false)
	if s := f.states(); len(s) != 1 || s[0] != led.Fault(led.FaultNetwork) {
		t.Fatalf("states = %v, want only fault 1", s)
	}
}

// TestSweepReadsNoAttachedDevice: the network sweep never reads USB or
// lists serial ports (the USB loop does, honouring usb.enabled), and it
// reads the neighbour table under the daemon's root.
func TestSweepReadsNoAttachedDevice(t *testing.T) {
	d := testDaemon(t, 3)
	d.o.Root = t.TempDir()
	o := d.sweepOptions(config.Default().Scan, nil)
	if !o.NoAttached || !o.NoUSB || o.SysRoot != d.o.Root || o.ARPPath != d.o.Root+"/proc/net/arp" {
		t.Errorf("sweep options: NoAttached %v NoUSB %v SysRoot %q ARPPath %q", o.NoAttached, o.NoUSB, o.SysRoot, o.ARPPath)
	}
}
