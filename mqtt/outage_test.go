package mqtt

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/mqtt/broker"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
func mkdirAll(path string) error     { return os.MkdirAll(path, 0o700) }
func brokerConfig() broker.Config    { return broker.Config{} }

// TestIntegrationOutageKill9 is the outage of the issue: stop mosquitto,
// produce 500 events, kill -9 the publishing process, start it again,
// start mosquitto: the subscriber receives all 500, in order, each once by
// seq. A second kill -9 in the middle of the replay changes nothing.
func TestIntegrationOutageKill9(t *testing.T) {
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{Persistence: true})
	rec := mqtttest.Subscribe(t, m.URL(), mqtttest.RecorderOptions{ClientID: "control-room", Persistent: true},
		"nvrguard/gw1/events", "nvrguard/gw1/status")
	state := t.TempDir()

	p1 := startPub(t, m.URL(), "gw1", state)
	rec.WaitLast(10*time.Second, "nvrguard/gw1/status", "online")
	m.Stop()
	last, err := strconv.ParseUint(strings.TrimPrefix(p1.do("events 500"), "ok "), 10, 64)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	p1.kill9()

	p2 := startPub(t, m.URL(), "gw1", state)
	m.Start()
	rec.WaitFor(30*time.Second, "some events", func([]mqtttest.Msg) bool { return len(rec.On("nvrguard/gw1/events")) >= 50 })
	p2.kill9() // maybe in the middle of the replay
	startPub(t, m.URL(), "gw1", state)

	rec.WaitFor(60*time.Second, "500 distinct events", func([]mqtttest.Msg) bool {
		seqs, _ := distinctSeqs(decodeEvents(t, rec.On("nvrguard/gw1/events")))
		return len(seqs) >= 500
	})
	seqs, dups := distinctSeqs(decodeEvents(t, rec.On("nvrguard/gw1/events")))
	for i, s := range seqs {
		if s != last-499+uint64(i) {
			t.Fatalf("event %d has seq %d, want %d: not in order or not complete (%v…)", i, s, last-499+uint64(i), seqs[:min(len(seqs), i+3)])
		}
	}
	if len(seqs) != 500 {
		t.Fatalf("%d distinct events, want 500", len(seqs))
	}
	t.Logf("500 events in order; %d duplicate deliveries (QoS 1) dropped by seq", dups)
	rec.WaitLast(10*time.Second, "nvrguard/gw1/status", "online")
}

// TestIntegrationLastWill: kill -9 the publisher and the subscriber sees
// "offline", live and retained.
func TestIntegrationLastWill(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/+/status")
		p := startPub(t, b.URL(), "gw-will", t.TempDir())
		rec.WaitLast(10*time.Second, "nvrguard/gw-will/status", "online")
		p.kill9()
		rec.WaitLast(10*time.Second, "nvrguard/gw-will/status", "offline")
		late := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/+/status")
		late.WaitLast(10*time.Second, "nvrguard/gw-will/status", "offline")

		// A clean stop says offline too (the will is not sent then).
		p = startPub(t, b.URL(), "gw-will", t.TempDir())
		rec.WaitLast(10*time.Second, "nvrguard/gw-will/status", "online")
		p.do("close")
		rec.WaitLast(10*time.Second, "nvrguard/gw-will/status", "offline")
	})
}

// TestIntegrationOutageInProcess: the broker goes away and comes back
// while the client runs; events produced meanwhile arrive in order.
func TestIntegrationOutageInProcess(t *testing.T) {
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{Persistence: true})
	rec := mqtttest.Subscribe(t, m.URL(), mqtttest.RecorderOptions{ClientID: "control-room", Persistent: true}, "nvrguard/gw1/events")
	c, _ := newClient(t, m.URL(), Config{})
	ctx := t.Context()
	for i := range 10 {
		c.Event(ctx, DeviceFound, testDevice(i, "restricted"))
	}
	flush(t, c)
	for round := range 3 {
		m.Stop()
		for i := range 20 {
			if _, err := c.Event(ctx, DeviceLost, testDevice(i, "restricted")); err != nil {
				t.Fatal(err)
			}
		}
		m.Start()
		flush(t, c)
		want := 10 + 20*(round+1)
		rec.WaitFor(30*time.Second, strconv.Itoa(want)+" events", func([]mqtttest.Msg) bool {
			seqs, _ := distinctSeqs(decodeEvents(t, rec.On("nvrguard/gw1/events")))
			return len(seqs) >= want
		})
	}
	seqs, _ := distinctSeqs(decodeEvents(t, rec.On("nvrguard/gw1/events")))
	for i, s := range seqs {
		if s != seqs[0]+uint64(i) {
			t.Fatalf("seq %d at %d, after %d first", s, i, seqs[0])
		}
	}
}
