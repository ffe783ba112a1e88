package mqtt

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

func testEntry(n int, st RegisterStatus) RegisterEntry {
	d := testDevice(n, identity.Restricted)
	e := RegisterEntry{ID: d.ID, Status: st, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Device: d,
		Presence: []Interval{{From: d.FirstSeen}}}
	if st == Removed {
		e.RemovedAt = d.LastSeen.Add(time.Hour)
		e.Presence[0].To = e.RemovedAt
	}
	return e
}

// TestIntegrationRegister publishes register entries and checks that
// they are retained at <base>/register/<id>, that an update replaces the
// retained one, that a hostile id never becomes a topic level, that a
// broker that lost everything gets them again on reconnect, and that
// Snapshot reads them back with the device records and the state.
func TestIntegrationRegister(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		c, _ := newClient(t, b.URL(), Config{})
		ctx := t.Context()
		present, removed := testEntry(1, Present), testEntry(2, Removed)
		hostile := testEntry(3, Present)
		hostile.ID, hostile.Device.ID = "mac-1/#/+", "mac-1/#/+"
		for _, e := range []RegisterEntry{present, removed, hostile} {
			if err := c.PublishRegister(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		c.PublishDevice(ctx, present.Device)
		c.PublishState(ctx, State{LED: "fast-blink", LastScan: time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)})
		flush(t, c)
		rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/register/+")
		rec.WaitFor(10*time.Second, "3 retained register entries", func(ms []mqtttest.Msg) bool { return len(ms) >= 3 })
		topics := map[string]RegisterEntry{}
		for _, m := range rec.Messages() {
			var e RegisterEntry
			if err := json.Unmarshal(m.Payload, &e); err != nil || !m.Retained || m.QoS != 1 {
				t.Fatalf("%s: retained=%v qos=%d %q (%v)", m.Topic, m.Retained, m.QoS, m.Payload, err)
			}
			topics[m.Topic] = e
		}
		if e := topics["nvrguard/gw1/register/"+removed.ID]; e.Status != Removed || !e.RemovedAt.Equal(removed.RemovedAt) ||
			len(e.Presence) != 1 || !e.Presence[0].To.Equal(removed.RemovedAt) || e.Device.Model != "DS-2CD2143G0-I" {
			t.Errorf("removed entry %+v", e)
		}
		for topic, e := range topics {
			level := strings.TrimPrefix(topic, "nvrguard/gw1/register/")
			if !ValidID(level) || e.ID != level || e.Device.ID != SafeID(e.Device.ID) {
				t.Errorf("topic %s carries id %q (device %q)", topic, e.ID, e.Device.ID)
			}
		}
		// An update replaces the retained entry.
		present.Status, present.RemovedAt, present.Presence[0].To = Removed, present.LastSeen.Add(2*time.Hour), present.LastSeen.Add(2*time.Hour)
		c.PublishRegister(ctx, present)
		flush(t, c)
		snap, err := Snapshot(ctx, Config{Broker: b.URL(), GatewayID: "report"}, SnapshotOptions{Settle: 300 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := snap["gw1"]
		if g == nil || len(snap) != 1 {
			t.Fatalf("snapshot %v", snap)
		}
		if len(g.Register) != 3 || g.Register[present.ID].Status != Removed || g.Status != "online" || g.State == nil ||
			g.State.LED != "fast-blink" || len(g.Devices) != 1 {
			t.Errorf("snapshot of gw1: status %q state %v devices %d register %+v", g.Status, g.State, len(g.Devices), g.Register)
		}
		// A broker that lost its retained store (restarted without
		// persistence) gets every entry again when the client reconnects.
		b.Stop()
		b.Start()
		late := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/register/+")
		late.WaitFor(20*time.Second, "3 register entries republished", func(ms []mqtttest.Msg) bool {
			seen := map[string]bool{}
			for _, m := range ms {
				seen[m.Topic] = true
			}
			return len(seen) == 3
		})
		// RemoveRegister clears the retained entry.
		c.RemoveRegister(ctx, removed.ID)
		flush(t, c)
		late.WaitLast(10*time.Second, "nvrguard/gw1/register/"+removed.ID, "")
	})
}

func TestDecodeRegister(t *testing.T) {
	good, _ := json.Marshal(testEntry(1, Removed))
	id := testEntry(1, Removed).ID
	gw, e, gone, ok, err := DecodeRegister("nvrguard", "nvrguard/gw1/register/"+id, good)
	if err != nil || !ok || gone || gw != "gw1" || e.Status != Removed || e.Device.Model != "DS-2CD2143G0-I" {
		t.Fatalf("good entry: %q %+v %v %v %v", gw, e, gone, ok, err)
	}
	if _, e, gone, ok, err := DecodeRegister("nvrguard", "nvrguard/gw1/register/"+id, nil); err != nil || !ok || !gone || e.ID != id {
		t.Errorf("cleared entry: %+v %v %v %v", e, gone, ok, err)
	}
	if _, _, _, ok, err := DecodeRegister("nvrguard", "nvrguard/gw1/devices/"+id, good); ok || err != nil {
		t.Errorf("a device topic: ok=%v err=%v", ok, err)
	}
	for name, tc := range map[string]struct{ topic, payload string }{
		"bad gateway": {"nvrguard/GW 1/register/" + id, string(good)},
		"bad id":      {"nvrguard/gw1/register/Mac-1", string(good)},
		"other id":    {"nvrguard/gw1/register/mac-2", string(good)},
		"torn":        {"nvrguard/gw1/register/" + id, string(good[:40])},
		"two objects": {"nvrguard/gw1/register/" + id, string(good) + string(good)},
		"status":      {"nvrguard/gw1/register/" + id, strings.Replace(string(good), `"removed"`, `"gone\u001b[2J"`, 1)},
	} {
		_, _, _, ok, err := DecodeRegister("nvrguard", tc.topic, []byte(tc.payload))
		if !ok || err == nil || strings.ContainsAny(err.Error(), "\n\x1b") {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
}

// FuzzDecodeRegister: any topic and payload decode to an entry whose id
// is topic-safe and matches the topic, or to a one-line error.
func FuzzDecodeRegister(f *testing.F) {
	good, _ := json.Marshal(testEntry(1, Removed))
	f.Add("nvrguard/gw1/register/"+testEntry(1, Removed).ID, good)
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		gw, e, gone, ok, err := DecodeRegister("nvrguard", topic, payload)
		if err != nil {
			if !ok || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("ok=%v err=%q", ok, err)
			}
			return
		}
		if !ok {
			return
		}
		if !ValidID(gw) || !ValidID(e.ID) || !strings.HasSuffix(topic, "/register/"+e.ID) {
			t.Fatalf("gateway %q id %q from %q", gw, e.ID, topic)
		}
		if !gone && e.Status != Present && e.Status != Removed {
			t.Fatalf("status %q", e.Status)
		}
	})
}

// TestIntegrationSnapshotBusy: a gateway that keeps publishing (every
// 50ms, faster than Settle) does not keep Snapshot from settling: only
// the retained messages count.
func TestIntegrationSnapshotBusy(t *testing.T) {
	b := mqtttest.Start(t, "mosquitto")
	c, _ := newClient(t, b.URL(), Config{})
	ctx := t.Context()
	c.PublishRegister(ctx, testEntry(1, Present))
	d := testDevice(1, identity.Restricted)
	c.PublishDevice(ctx, d)
	flush(t, c)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			d.LastSeen = d.LastSeen.Add(time.Second)
			c.PublishDevice(ctx, d)
		}
	}()
	defer func() { close(stop); <-done }()
	snap, err := Snapshot(ctx, Config{Broker: b.URL(), GatewayID: "report"}, SnapshotOptions{Settle: 300 * time.Millisecond, MaxWait: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := snap["gw1"]; g == nil || len(g.Register) != 1 || len(g.Devices) != 1 {
		t.Errorf("snapshot %+v", snap)
	}
}
