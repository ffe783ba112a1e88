package app

import (
	"fmt"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/firmware/inventory"
)

func ids(source string, models ...string) []identity.Identity {
	var out []identity.Identity
	for _, m := range models {
		id := identity.Identity{Source: source}
		id.Add(identity.FieldModel, m)
		out = append(out, id)
	}
	return out
}

func models(all []identity.Identity) []string {
	var out []string
	for _, id := range all {
		out = append(out, id.Get(identity.FieldModel))
	}
	return out
}

// TestObservationsKeepEachSlot: the neighbour table read between sweeps
// adds to the sweep's evidence and never replaces it; each slot is replaced
// only by its own source.
func TestObservationsKeepEachSlot(t *testing.T) {
	o := observations{}
	o.set(inventory.KindNetwork, "", ids("sadp", "DS-2CD2385G1-I"))
	o.set(inventory.KindNetwork, "neighbours", ids("arp", "neighbour"))
	o.set(inventory.KindSerial, "/dev/ttyUSB1", ids("console", "port1"))
	o.set(inventory.KindSerial, "/dev/ttyUSB0", ids("console", "port0"))
	o.set(inventory.KindUSB, "", ids("usb", "HIK 2K Camera"))
	want := "[DS-2CD2385G1-I neighbour port0 port1 HIK 2K Camera]"
	if got := models(o.all()); fmt.Sprint(got) != want {
		t.Fatalf("all = %v, want %s (kind, then key order)", got, want)
	}
	o.set(inventory.KindNetwork, "neighbours", ids("arp", "neighbour 2"))
	o.set(inventory.KindSerial, "/dev/ttyUSB1", nil)
	want = "[DS-2CD2385G1-I neighbour 2 port0 HIK 2K Camera]"
	if got := models(o.all()); fmt.Sprint(got) != want {
		t.Fatalf("after updates: %v, want %s", got, want)
	}
}

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
