package app

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/firmware/register"
	"github.com/nvrguard/nvrguard/firmware/source"
	"github.com/nvrguard/nvrguard/mqtt"
)

// recorder is a publisher that records what the daemon publishes.
type recorder struct {
	events   []mqtt.EventType
	devices  map[string]identity.Device
	states   []mqtt.State
	register map[string]mqtt.RegisterEntry
	held     error // WriteHeld's answer; Event's error while set
}

func (r *recorder) Event(_ context.Context, typ mqtt.EventType, d identity.Device) (uint64, error) {
	r.events = append(r.events, typ)
	if r.held != nil {
		return 0, r.held
	}
	return uint64(len(r.events)), nil
}

func (r *recorder) PublishDevice(_ context.Context, d identity.Device) error {
	if r.devices == nil {
		r.devices = map[string]identity.Device{}
	}
	r.devices[d.ID] = d
	return nil
}

func (r *recorder) RemoveDevice(_ context.Context, id string) error {
	delete(r.devices, id)
	return nil
}

func (r *recorder) Replace(ctx context.Context, devs []identity.Device) error {
	r.devices = nil
	for _, d := range devs {
		_ = r.PublishDevice(ctx, d)
	}
	return nil
}

func (r *recorder) PublishState(_ context.Context, st mqtt.State) error {
	r.states = append(r.states, st)
	return nil
}

func (r *recorder) PublishRegister(_ context.Context, e mqtt.RegisterEntry) error {
	if r.register == nil {
		r.register = map[string]mqtt.RegisterEntry{}
	}
	r.register[e.ID] = e
	return nil
}

func (r *recorder) RemoveRegister(_ context.Context, id string) error {
	delete(r.register, id)
	return nil
}

func (r *recorder) Hold() func() { return func() {} }

func (r *recorder) Health() mqtt.Health             { return mqtt.Health{Connected: true} }
func (r *recorder) Commands() <-chan mqtt.Command   { return nil }
func (r *recorder) WriteHeld(context.Context) error { return r.held }

// testDaemon is a daemon with its loop state and a recording publisher,
// for driving apply directly.
func testDaemon(t *testing.T, lostAfter int) *daemon {
	t.Helper()
	d, _ := testDaemonRec(t, lostAfter)
	return d
}

func testDaemonRec(t *testing.T, lostAfter int) (*daemon, *recorder) {
	t.Helper()
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	dir := t.TempDir()
	reg, err := register.Open(filepath.Join(dir, register.FileName), "gw1")
	if err != nil {
		t.Fatal(err)
	}
	return &daemon{
		log: slog.New(slog.DiscardHandler), mq: rec, pol: pol, reg: reg,
		inv:   inventory.New(lostAfter),
		store: &inventory.Store{Path: filepath.Join(dir, "inventory.json")},
	}, rec
}

var networkSource = &source.Instance{Name: "network", Slot: source.SlotNetwork}

// sweep is a reading of the network slot: a sweep when complete, a
// neighbour read otherwise.
func sweep(ids []identity.Identity, complete bool, at time.Time) update {
	return update{in: networkSource, Reading: source.Reading{IDs: ids, Complete: complete, At: at}}
}

func neighbour(mac, addr string) identity.Identity {
	return identity.Identity{Source: identity.SourceARP, Addr: netip.MustParseAddr(addr), MAC: mac}
}

// TestNeighbourReadOlderThanSweepIgnored: a neighbour-table read taken
// before a sweep began, delivered after it, must not keep alive a camera
// the sweep (which read the table itself, later) no longer saw.
func TestNeighbourReadOlderThanSweepIgnored(t *testing.T) {
	ctx := t.Context()
	d := testDaemon(t, 1)
	axis := neighbour("ac:cc:8e:27:0a:d8", "10.99.0.14")
	hik := neighbour("58:50:ed:1f:e3:85", "10.99.0.11")
	t0 := time.Now()

	d.apply(ctx, sweep([]identity.Identity{axis, hik}, true, t0))
	if d.inv.Len() != 2 {
		t.Fatalf("%d devices after the first sweep, want 2", d.inv.Len())
	}
	// The table is read (Axis still in it), then a sweep begins and no
	// longer sees Axis; the read arrives last.
	stale := sweep([]identity.Identity{axis, hik}, false, t0.Add(time.Second))
	d.apply(ctx, sweep([]identity.Identity{hik}, true, t0.Add(2*time.Second)))
	if d.inv.Len() != 1 {
		t.Fatalf("%d devices after the sweep without Axis, want 1 (lost_after 1)", d.inv.Len())
	}
	d.apply(ctx, stale)
	if d.inv.Len() != 1 {
		t.Errorf("a read older than the sweep brought Axis back: %d devices", d.inv.Len())
	}
	// A read taken after the sweep began counts: Axis is back on the LAN.
	d.apply(ctx, sweep([]identity.Identity{axis, hik}, false, t0.Add(3*time.Second)))
	if d.inv.Len() != 2 {
		t.Errorf("a fresh read did not find Axis again: %d devices", d.inv.Len())
	}
}

// TestHeardNewBringsSweepForward: an announcement from an address the
// inventory does not hold asks for a sweep, once the first sweep is done,
// and at most once per heardRescanGap; a known address asks nothing.
func TestHeardNewBringsSweepForward(t *testing.T) {
	d := testDaemon(t, 3)
	kicks := 0
	d.scanNow = func() { kicks++ }
	asked := func() bool {
		k := kicks
		kicks = 0
		return k > 0
	}
	known := neighbour("58:50:ed:1f:e3:85", "10.99.0.11")
	d.apply(t.Context(), sweep([]identity.Identity{known}, true, time.Now()))
	fresh := identity.Identity{Source: identity.SourceWSD, Addr: netip.MustParseAddr("10.99.0.12")}
	t0 := time.Now()

	d.swept = false
	if d.heardNew([]identity.Identity{fresh}, t0); asked() {
		t.Error("a sweep was asked for before the first one ended")
	}
	d.swept = true
	if d.heardNew([]identity.Identity{{Source: identity.SourceWSD, Addr: known.Addr}}, t0); asked() {
		t.Error("a known address asked for a sweep")
	}
	if d.heardNew([]identity.Identity{fresh}, t0); !asked() {
		t.Error("a new address did not ask for a sweep")
	}
	if d.heardNew([]identity.Identity{fresh}, t0.Add(heardRescanGap-time.Second)); asked() {
		t.Error("a second sweep within the gap")
	}
	if d.heardNew([]identity.Identity{fresh}, t0.Add(heardRescanGap)); !asked() {
		t.Error("no sweep after the gap")
	}
	if d.inv.Len() != 1 {
		t.Errorf("an announcement changed the inventory: %d devices", d.inv.Len())
	}
}

// TestNeighbourReadBeforeFirstSweepIgnored: before the first sweep is in,
// a neighbour read would make a Lorex known by its OUI alone (suspect) and
// the sweep would then change its verdict: the read is left to the sweep.
func TestNeighbourReadBeforeFirstSweepIgnored(t *testing.T) {
	ctx := t.Context()
	d := testDaemon(t, 3)
	lorex := neighbour("00:1f:54:a9:2e:58", "10.99.0.13")
	t0 := time.Now()
	d.apply(ctx, sweep([]identity.Identity{lorex}, false, t0))
	if d.inv.Len() != 0 {
		t.Fatalf("%d devices from a neighbour read before the first sweep, want 0", d.inv.Len())
	}
	dhip := identity.Identity{Source: identity.SourceDHIP, Addr: lorex.Addr}
	dhip.Add(identity.FieldProtocol, "dhip-notifydevinfo")
	d.apply(ctx, sweep([]identity.Identity{lorex, dhip}, true, t0))
	if devs := d.inv.Devices(); len(devs) != 1 || devs[0].Verdict != identity.Restricted {
		t.Fatalf("after the first sweep: %+v", devs)
	}
	// After it, a read adds what it sees.
	axis := neighbour("ac:cc:8e:27:0a:d8", "10.99.0.14")
	d.apply(ctx, sweep([]identity.Identity{lorex, axis}, false, t0.Add(time.Second)))
	if d.inv.Len() != 2 {
		t.Errorf("%d devices after a later read, want 2", d.inv.Len())
	}
}
