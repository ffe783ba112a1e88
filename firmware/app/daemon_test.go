package app

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/mqtt"
)

// testDaemon is a daemon with its loop state and an MQTT client that is
// never started (events wait in its outbox), for driving apply directly.
func testDaemon(t *testing.T, lostAfter int) *daemon {
	t.Helper()
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mq, err := mqtt.New(mqtt.Config{Broker: "tcp://127.0.0.1:1", GatewayID: "gw1", StateDir: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &daemon{
		log: slog.New(slog.DiscardHandler), mq: mq, pol: pol,
		inv:   inventory.New(lostAfter),
		store: &inventory.Store{Path: filepath.Join(dir, "inventory.json")},
	}
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

	d.apply(ctx, update{slot: slotNetwork, ids: []identity.Identity{axis, hik}, complete: true, at: t0})
	if d.inv.Len() != 2 {
		t.Fatalf("%d devices after the first sweep, want 2", d.inv.Len())
	}
	// The table is read (Axis still in it), then a sweep begins and no
	// longer sees Axis; the read arrives last.
	stale := update{slot: slotNetwork, ids: []identity.Identity{axis, hik}, at: t0.Add(time.Second)}
	d.apply(ctx, update{slot: slotNetwork, ids: []identity.Identity{hik}, complete: true, at: t0.Add(2 * time.Second)})
	if d.inv.Len() != 1 {
		t.Fatalf("%d devices after the sweep without Axis, want 1 (lost_after 1)", d.inv.Len())
	}
	d.apply(ctx, stale)
	if d.inv.Len() != 1 {
		t.Errorf("a read older than the sweep brought Axis back: %d devices", d.inv.Len())
	}
	// A read taken after the sweep began counts: Axis is back on the LAN.
	d.apply(ctx, update{slot: slotNetwork, ids: []identity.Identity{axis, hik}, at: t0.Add(3 * time.Second)})
	if d.inv.Len() != 2 {
		t.Errorf("a fresh read did not find Axis again: %d devices", d.inv.Len())
	}
}

// TestHeardNewBringsSweepForward: an announcement from an address the
// inventory does not hold asks for a sweep, once the first sweep is done,
// and at most once per heardRescanGap; a known address asks nothing.
func TestHeardNewBringsSweepForward(t *testing.T) {
	d := testDaemon(t, 3)
	d.rescan = make(chan struct{}, 1)
	asked := func() bool {
		select {
		case <-d.rescan:
			return true
		default:
			return false
		}
	}
	known := neighbour("58:50:ed:1f:e3:85", "10.99.0.11")
	d.apply(t.Context(), update{slot: slotNetwork, ids: []identity.Identity{known}, complete: true, at: time.Now()})
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
	d.apply(ctx, update{slot: slotNetwork, ids: []identity.Identity{lorex}, at: t0})
	if d.inv.Len() != 0 {
		t.Fatalf("%d devices from a neighbour read before the first sweep, want 0", d.inv.Len())
	}
	dhip := identity.Identity{Source: identity.SourceDHIP, Addr: lorex.Addr}
	dhip.Add(identity.FieldProtocol, "dhip-notifydevinfo")
	d.apply(ctx, update{slot: slotNetwork, ids: []identity.Identity{lorex, dhip}, complete: true, at: t0})
	if devs := d.inv.Devices(); len(devs) != 1 || devs[0].Verdict != identity.Restricted {
		t.Fatalf("after the first sweep: %+v", devs)
	}
	// After it, a read adds what it sees.
	axis := neighbour("ac:cc:8e:27:0a:d8", "10.99.0.14")
	d.apply(ctx, update{slot: slotNetwork, ids: []identity.Identity{lorex, axis}, at: t0.Add(time.Second)})
	if d.inv.Len() != 2 {
		t.Errorf("%d devices after a later read, want 2", d.inv.Len())
	}
}
