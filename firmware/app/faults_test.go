package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/source"
	"github.com/nvrguard/nvrguard/mqtt"
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

// TestSourceHealthIsFaultAndState: a failing source holds its LED fault
// and shows in the state summary's "sources" with why and when it is
// tried again; recovering clears both.
func TestSourceHealthIsFaultAndState(t *testing.T) {
	d, rec := testDaemonRec(t, 3)
	boom := errors.New("nvr: http://10.0.0.5: login: the recorder refused the account")
	d.sup = &source.Supervisor{
		Instances: []source.Instance{{Name: "nvr:http://10.0.0.5", Slot: "nvr:http://10.0.0.5", Kind: source.Poll, Fault: led.FaultNVR, Run: true,
			Interval: func(config.Config) time.Duration { return time.Hour },
			Source: source.Func(func(ctx context.Context, emit source.Emit) error {
				return &source.Held{Err: boom, Until: time.Now().Add(6 * time.Hour)}
			})}},
		Config: config.Default, Emit: d.send, Changed: d.healthChanged,
	}
	d.healthCh = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { d.sup.Run(ctx); close(done) }()
	select {
	case <-d.healthCh:
	case <-time.After(5 * time.Second):
		t.Fatal("no health change")
	}
	cancel()
	<-done
	if s := d.faults.states(); len(s) != 1 || s[0] != led.Fault(led.FaultNVR) {
		t.Errorf("faults %v, want fault 5", s)
	}
	d.refresh(t.Context())
	st := rec.states[len(rec.states)-1]
	h, ok := st.Sources["nvr:http://10.0.0.5"]
	if !ok || h.Status != "error" || h.Error != boom.Error() || h.RetryAt == nil || time.Until(*h.RetryAt) < 5*time.Hour {
		t.Errorf("state sources %+v", st.Sources)
	}
	if st.LED != led.Fault(led.FaultNVR).String() {
		t.Errorf("LED %s", st.LED)
	}
	d.healthChanged(&d.sup.Instances[0], source.Health{Status: "ok"})
	if s := d.faults.states(); len(s) != 0 {
		t.Errorf("faults %v after recovery", s)
	}
}

// TestHeldEventsKeepInventoryUnsaved: while the outbox cannot write an
// event (a full disk), the inventory is not saved: a restart then finds
// the device again instead of losing its event; once written, it is saved.
func TestHeldEventsKeepInventoryUnsaved(t *testing.T) {
	d, rec := testDaemonRec(t, 3)
	rec.held = mqtt.ErrEventHeld
	hik := neighbour("58:50:ed:1f:e3:85", "10.99.0.11")
	d.apply(t.Context(), sweep([]identity.Identity{hik}, true, time.Now()))
	if len(rec.events) != 1 {
		t.Fatalf("events %v", rec.events)
	}
	if _, err := d.store.Load(); !errors.Is(err, inventory.ErrNoState) {
		t.Fatalf("the inventory was saved while its event was held: %v", err)
	}
	rec.held = nil
	d.save(t.Context())
	st, err := d.store.Load()
	if err != nil || len(st.Entries) != 1 {
		t.Fatalf("after the event was written: %v, %d entries", err, len(st.Entries))
	}
}

// TestAckSurvivesRestart: an acknowledgement (with who gave it) is kept in
// the register: a restarted daemon shows the alarm acknowledged, until a
// new restricted device appears; the register entries are published.
func TestAckSurvivesRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	start := func() (*daemon, *recorder) {
		d, rec := testDaemonRec(t, 3)
		d.cfg.StateDir = dir
		d.store.Path = filepath.Join(dir, "inventory.json")
		if st, err := d.store.Load(); err == nil {
			d.inv.Restore(st.Entries)
		}
		d.restored = true
		if err := d.openRegister(ctx, "gw1"); err != nil {
			t.Fatal(err)
		}
		return d, rec
	}
	d, rec := start()
	hik := neighbour("58:50:ed:1f:e3:85", "10.99.0.11")
	d.apply(ctx, sweep([]identity.Identity{hik}, true, time.Now()))
	if d.acked || len(rec.register) != 1 {
		t.Fatalf("acked %v, register %v", d.acked, rec.register)
	}
	d.acknowledge(ctx, "alice")
	if !d.acked || d.ledState() != led.Acked {
		t.Fatalf("after the ack: acked %v, LED %v", d.acked, d.ledState())
	}
	d, rec = start()
	if !d.acked || d.ledState() != led.Acked {
		t.Errorf("after a restart: acked %v, LED %v", d.acked, d.ledState())
	}
	for _, e := range rec.register {
		if e.AckedBy != "alice" {
			t.Errorf("register entry after restart: %+v", e)
		}
	}
	dahua := neighbour("4c:11:bf:c2:0b:9d", "10.99.0.12")
	d.apply(ctx, sweep([]identity.Identity{hik, dahua}, true, time.Now()))
	if d.acked {
		t.Error("a new restricted device left the alarm acknowledged")
	}
}
