package mqtt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// lastState decodes the last state summary rec holds.
func lastState(t *testing.T, rec *mqtttest.Recorder) (Summary, bool) {
	t.Helper()
	m, ok := rec.Last("nvrguard/gw1/state")
	if !ok {
		return Summary{}, false
	}
	var s Summary
	if err := json.Unmarshal(m.Payload, &s); err != nil {
		t.Fatalf("state %q: %v", m.Payload, err)
	}
	return s, true
}

// receivedIDs returns the device ids of the device_found events received.
func receivedIDs(t *testing.T, rec *mqtttest.Recorder) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range decodeEvents(t, rec.On("nvrguard/gw1/events")) {
		if e.Type == DeviceFound {
			out[e.Device.ID] = true
		}
	}
	return out
}

// TestIntegrationOutboxFlood is the flood with the broker down:
// five real devices are found (three restricted), then 500 devices of no
// known verdict flood an outbox of 50. When the broker is back every real
// device_found arrives; the drops are counted in Health and in state, and
// are the MQTT fault.
func TestIntegrationOutboxFlood(t *testing.T) {
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{Persistence: true})
	rec := mqtttest.Subscribe(t, m.URL(), mqtttest.RecorderOptions{ClientID: "control-room", Persistent: true}, "nvrguard/gw1/events", "nvrguard/gw1/state")
	c, _ := newClient(t, m.URL(), Config{Outbox: OutboxConfig{MaxEvents: 50}})
	flush(t, c)
	m.Stop()
	ctx := t.Context()
	real := []identity.Device{testDevice(1, identity.Restricted), testDevice(2, identity.Restricted), testDevice(3, identity.Clear),
		testDevice(4, identity.Suspect), testDevice(5, identity.Restricted)}
	for _, d := range real {
		if _, err := c.Event(ctx, DeviceFound, d); err != nil {
			t.Fatal(err)
		}
	}
	refused := 0
	for i := range 500 {
		d := testDevice(1000+i, identity.Unknown)
		d.Manufacturer, d.Model, d.Entity, d.Reasons = "", "", "", nil
		_, err := c.Event(ctx, DeviceFound, d)
		switch {
		case errors.Is(err, ErrEventDropped):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	h := c.Health()
	if h.Outbox.Queued != 50 || h.Outbox.Dropped != 455 || h.Outbox.DroppedRestricted != 0 || refused != 455 || !h.OutboxFault(time.Now()) {
		t.Fatalf("outbox %+v (fault %v), %d refused; want 50 queued, 455 dropped, none restricted", h.Outbox, h.OutboxFault(time.Now()), refused)
	}
	if h.OutboxFault(time.Now().Add(DropFaultFor + time.Minute)) {
		t.Error("the drop fault does not end")
	}
	m.Start()
	flush(t, c)
	rec.WaitFor(30*time.Second, "50 events", func([]mqtttest.Msg) bool {
		seqs, _ := distinctSeqs(decodeEvents(t, rec.On("nvrguard/gw1/events")))
		return len(seqs) >= 50
	})
	got := receivedIDs(t, rec)
	for _, d := range real {
		if !got[d.ID] {
			t.Errorf("device_found of %s (%s) never arrived", d.ID, d.Verdict)
		}
	}
	rec.WaitFor(10*time.Second, "state reporting the drops", func([]mqtttest.Msg) bool {
		s, ok := lastState(t, rec)
		return ok && s.Outbox.Queued == 0 && s.Outbox.Dropped == 455 && !s.Outbox.LastDrop.IsZero()
	})
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips
// when that is not allowed (fails under NVRGUARD_CI=1).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("NVRGUARD_CI") == "1" {
			t.Fatalf("mount a tmpfs (the disk-full test needs root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file in dir until its file system is full and
// returns the file's path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestIntegrationDiskFull: the state directory is a small tmpfs that
// fills up. Events are held in memory (ErrEventHeld); Health and the
// state topic say the disk is full and Health says it is the MQTT fault.
// Once space is back every event is delivered, in order, and the fault
// clears.
func TestIntegrationDiskFull(t *testing.T) {
	state := mountTmpfs(t, 128<<10)
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{})
	rec := mqtttest.Subscribe(t, m.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/events", "nvrguard/gw1/state")
	c, _ := newClient(t, m.URL(), Config{StateDir: state})
	ctx := t.Context()
	if _, err := c.Event(ctx, DeviceFound, testDevice(1, identity.Clear)); err != nil {
		t.Fatal(err)
	}
	flush(t, c)
	filler := fillDisk(t, state)
	var ids []string
	held := 0
	for i := 0; held < 5; i++ {
		if i > 200 {
			t.Fatal("200 events on a full disk and none held")
		}
		d := testDevice(10+i, identity.Restricted)
		ids = append(ids, d.ID)
		_, err := c.Event(ctx, DeviceFound, d)
		switch {
		case errors.Is(err, ErrEventHeld) && errors.Is(err, syscall.ENOSPC):
			held++
		case err != nil && held == 0 && i == 0:
			t.Fatalf("event on a full disk: %v", err)
		case err != nil:
			t.Fatalf("event %d: %v, want ErrEventHeld", i, err)
		case held > 0:
			t.Fatalf("event %d written after one was held: out of order", i)
		}
	}
	h := c.Health()
	if !h.Outbox.DiskFull || h.Outbox.WriteError == "" || h.Outbox.Held != 5 || h.Outbox.WriteErrorSince.IsZero() || !h.OutboxFault(time.Now()) {
		t.Fatalf("health on a full disk: %+v", h.Outbox)
	}
	rec.WaitFor(10*time.Second, "state saying the disk is full", func([]mqtttest.Msg) bool {
		s, ok := lastState(t, rec)
		return ok && s.Outbox.DiskFull && s.Outbox.Held == 5 && s.Outbox.WriteError != ""
	})
	if err := c.WriteHeld(ctx); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteHeld on a full disk: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// The client retries by itself (every retryEvery).
	rec.WaitFor(20*time.Second, "every event", func([]mqtttest.Msg) bool {
		got := receivedIDs(t, rec)
		for _, id := range ids {
			if !got[id] {
				return false
			}
		}
		return true
	})
	rec.WaitFor(10*time.Second, "state with the fault gone", func([]mqtttest.Msg) bool {
		s, ok := lastState(t, rec)
		return ok && !s.Outbox.DiskFull && s.Outbox.Held == 0 && s.Outbox.WriteError == "" && s.Outbox.WriteErrors > 0
	})
	if h := c.Health(); h.OutboxFault(time.Now()) {
		t.Errorf("fault after space came back: %+v", h.Outbox)
	}
	seqs, _ := distinctSeqs(decodeEvents(t, rec.On("nvrguard/gw1/events")))
	for i, s := range seqs {
		if s != seqs[0]+uint64(i) {
			t.Fatalf("seqs %v: not in order, or a gap", seqs)
		}
	}
	if err := c.WriteHeld(ctx); err != nil {
		t.Fatalf("WriteHeld with nothing held: %v", err)
	}
}

// TestIntegrationOutboxDestroyed: the outbox directory is lost between
// two runs while the rest of the state survives: the sequence numbers go
// on above the last one issued, so a subscriber that drops the numbers it
// has seen keeps the new events.
func TestIntegrationOutboxDestroyed(t *testing.T) {
	b := mqtttest.StartMochi(t, brokerConfig())
	rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/events")
	state := t.TempDir()
	c, _ := newClient(t, b.URL(), Config{StateDir: state})
	var last uint64
	for i := range 3 {
		seq, err := c.Event(t.Context(), DeviceFound, testDevice(i, identity.Clear))
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	flush(t, c)
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(state, "mqtt-outbox")); err != nil {
		t.Fatal(err)
	}
	c2, _ := newClient(t, b.URL(), Config{StateDir: state})
	seq, err := c2.Event(t.Context(), DeviceFound, testDevice(9, identity.Restricted))
	if err != nil || seq <= last {
		t.Fatalf("after the outbox was lost: seq %d, %v; want above %d", seq, err, last)
	}
	flush(t, c2)
	rec.WaitFor(10*time.Second, "four events", func(ms []mqtttest.Msg) bool { return len(ms) >= 4 })
	seen := map[uint64]bool{}
	kept := 0
	for _, e := range decodeEvents(t, rec.On("nvrguard/gw1/events")) {
		if !seen[e.Seq] { // the README's rule for subscribers
			seen[e.Seq] = true
			kept++
		}
	}
	if kept != 4 {
		t.Fatalf("a subscriber dropping seen seqs keeps %d of 4 events", kept)
	}
}

// TestEventPriority: the ranks the outbox drops by.
func TestEventPriority(t *testing.T) {
	order := []struct {
		typ EventType
		v   identity.Verdict
	}{
		{DeviceLost, identity.Clear}, {DeviceFound, identity.Unknown}, {DeviceLost, identity.Suspect},
		{VerdictChanged, identity.Suspect}, {DeviceLost, identity.Restricted}, {DeviceFound, identity.Restricted},
	}
	for i := 1; i < len(order); i++ {
		a, b := eventPriority(order[i-1].typ, order[i-1].v), eventPriority(order[i].typ, order[i].v)
		if a >= b {
			t.Errorf("%s of %s (%d) is not below %s of %s (%d)", order[i-1].typ, order[i-1].v, a, order[i].typ, order[i].v, b)
		}
	}
	if eventPriority(VerdictChanged, identity.Restricted) != eventPriority(DeviceFound, identity.Restricted) ||
		eventPriority(DeviceFound, identity.Clear) != eventPriority(DeviceFound, identity.Unknown) {
		t.Error("found and verdict_changed of one verdict rank differently, or clear and unknown do")
	}
}
