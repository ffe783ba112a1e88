package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// logSink collects a client's log lines.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newClient starts a client for gateway gw1 on url with a fresh state
// directory unless cfg has one; it is closed when the test ends.
func newClient(t *testing.T, url string, cfg Config) (*Client, *logSink) {
	t.Helper()
	cfg.Broker = url
	if cfg.GatewayID == "" {
		cfg.GatewayID = "gw1"
	}
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 50*time.Millisecond, 300*time.Millisecond
	}
	sink := &logSink{}
	c, err := New(cfg, slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
		if t.Failed() {
			t.Logf("client log (tail):\n%s", tail(sink.String(), 4000))
		}
	})
	return c, sink
}

func flush(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (health %+v)", err, c.Health())
	}
}

// forEachBroker runs f against mosquitto and the embedded broker.
func forEachBroker(t *testing.T, f func(t *testing.T, b mqtttest.Broker)) {
	for _, kind := range mqtttest.Kinds {
		t.Run(kind, func(t *testing.T) { f(t, mqtttest.Start(t, kind)) })
	}
}

func decodeEvents(t *testing.T, ms []mqtttest.Msg) []EventMessage {
	t.Helper()
	var out []EventMessage
	for _, m := range ms {
		var e EventMessage
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatalf("event payload %q: %v", m.Payload, err)
		}
		out = append(out, e)
	}
	return out
}

// distinctSeqs returns the sequence numbers in first-arrival order,
// duplicates (QoS 1 redeliveries) removed, and how many were duplicates.
func distinctSeqs(evs []EventMessage) (seqs []uint64, dups int) {
	seen := map[uint64]bool{}
	for _, e := range evs {
		if seen[e.Seq] {
			dups++
			continue
		}
		seen[e.Seq] = true
		seqs = append(seqs, e.Seq)
	}
	return seqs, dups
}

func TestIntegrationPublish(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/#")
		started := time.Now()
		c, _ := newClient(t, b.URL(), Config{})
		ctx := t.Context()
		if err := c.PublishState(ctx, State{PolicyVersion: "2026.11.1", LED: "fast-blink", LastScan: time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		c.PublishDevice(ctx, testDevice(1, identity.Restricted))
		c.PublishDevice(ctx, testDevice(2, identity.Clear))
		c.PublishDevice(ctx, testDevice(3, identity.Unknown))
		seq, err := c.Event(ctx, DeviceFound, testDevice(1, identity.Restricted))
		if err != nil || seq <= uint64(started.UnixMicro()) {
			t.Fatalf("Event = %d, %v; want above the clock (a fresh gateway, so that a reinstalled one goes on above its old numbers)", seq, err)
		}
		flush(t, c)
		rec.WaitLast(10*time.Second, "nvrguard/gw1/status", "online")
		rec.WaitFor(10*time.Second, "state with 3 devices", func([]mqtttest.Msg) bool {
			m, ok := rec.Last("nvrguard/gw1/state")
			return ok && bytes.Contains(m.Payload, []byte(`"devices":3`))
		})
		m, _ := rec.Last("nvrguard/gw1/state")
		var s Summary
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			t.Fatal(err)
		}
		if s.Counts != (Counts{Restricted: 1, Clear: 1, Unknown: 1}) || s.PolicyVersion != "2026.11.1" || s.LED != "fast-blink" ||
			s.LastScan == nil || !s.LastScan.Equal(time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)) || s.Gateway != "gw1" {
			t.Errorf("state summary %s", m.Payload)
		}
		for _, key := range []string{`"counts":{"restricted":1,"suspect":0,"clear":1,"unknown":1}`, `"outbox":{"queued":`, `"dropped":0`, `"policy_version":"2026.11.1"`, `"led":"fast-blink"`, `"last_scan":"2026-11-27T10:05:00Z"`} {
			if !bytes.Contains(m.Payload, []byte(key)) {
				t.Errorf("state lacks %s: %s", key, m.Payload)
			}
		}
		d1 := testDevice(1, identity.Restricted)
		dm, ok := rec.Last("nvrguard/gw1/devices/" + d1.ID)
		if !ok {
			t.Fatal("no device record")
		}
		want, _ := json.Marshal(d1)
		var got identity.Device
		json.Unmarshal(dm.Payload, &got)
		gotJSON, _ := json.Marshal(got)
		if !bytes.Equal(want, gotJSON) || dm.QoS != 1 {
			t.Errorf("device record %s (qos %d), want %s", dm.Payload, dm.QoS, want)
		}
		rec.WaitFor(10*time.Second, "one event", func(ms []mqtttest.Msg) bool { return len(rec.On("nvrguard/gw1/events")) == 1 })
		ev := decodeEvents(t, rec.On("nvrguard/gw1/events"))[0]
		if ev.Seq != seq || ev.Type != DeviceFound || ev.Device.ID != d1.ID || ev.Time.IsZero() {
			t.Errorf("event %+v", ev)
		}
		for _, m := range rec.On("nvrguard/gw1/events") {
			if m.Retained {
				t.Error("events must not be retained")
			}
		}
		if h := c.Health(); !h.Connected || h.Outbox.Queued != 0 {
			t.Errorf("health %+v", h)
		}
		// A late subscriber sees the retained state: status, state, devices.
		late := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/#")
		late.WaitFor(10*time.Second, "retained state", func(ms []mqtttest.Msg) bool {
			n := 0
			for _, m := range ms {
				if m.Retained {
					n++
				}
			}
			return n == 5 // status, state, 3 devices
		})
	})
}

// TestIntegrationRetainedConvergence checks that a subscriber connecting
// after a device went away does not see it: removed live, removed while
// the broker was away, and removed across a restart of the gateway.
func TestIntegrationRetainedConvergence(t *testing.T) {
	devicesOf := func(t *testing.T, url string, want int) []string {
		t.Helper()
		r := mqtttest.Subscribe(t, url, mqtttest.RecorderOptions{}, "nvrguard/gw1/devices/+")
		r.WaitFor(10*time.Second, fmt.Sprintf("%d retained devices", want), func(ms []mqtttest.Msg) bool { return len(ms) >= want })
		time.Sleep(300 * time.Millisecond) // anything more would arrive now
		var ids []string
		for _, m := range r.Messages() {
			if !m.Retained {
				t.Errorf("late subscriber got a live message on %s", m.Topic)
			}
			ids = append(ids, strings.TrimPrefix(m.Topic, "nvrguard/gw1/devices/"))
		}
		r.Close()
		return ids
	}
	a, bdev, cdev := testDevice(1, identity.Restricted), testDevice(2, identity.Suspect), testDevice(3, identity.Clear)
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		ctx := t.Context()
		state := t.TempDir()
		c, _ := newClient(t, b.URL(), Config{StateDir: state})
		for _, d := range []identity.Device{a, bdev, cdev} {
			c.PublishDevice(ctx, d)
		}
		flush(t, c)
		c.RemoveDevice(ctx, bdev.ID)
		flush(t, c)
		if ids := devicesOf(t, b.URL(), 2); strings.Join(ids, ",") != a.ID+","+cdev.ID && strings.Join(ids, ",") != cdev.ID+","+a.ID {
			t.Fatalf("after a live removal a late subscriber sees %v", ids)
		}

		// The gateway restarts and finds only a: its first full snapshot
		// clears c, which the broker still holds.
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c.Close(cctx)
		cancel()
		c2, _ := newClient(t, b.URL(), Config{StateDir: state})
		if err := c2.Replace(ctx, []identity.Device{a}); err != nil {
			t.Fatal(err)
		}
		flush(t, c2)
		// The stale record is cleared once the broker's copy has come back
		// on the sync subscription: wait for the late subscriber to agree.
		deadline := time.Now().Add(10 * time.Second)
		for {
			ids := devicesOf(t, b.URL(), 1)
			if len(ids) == 1 && ids[0] == a.ID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after a restart with only %s a late subscriber sees %v", a.ID, ids)
			}
			flush(t, c2)
		}
	})
}

// TestIntegrationRemovedDuringOutage removes a device while mosquitto (with
// persistence, so it keeps the stale record) is down.
func TestIntegrationRemovedDuringOutage(t *testing.T) {
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{Persistence: true})
	ctx := t.Context()
	c, _ := newClient(t, m.URL(), Config{})
	a, bdev := testDevice(1, identity.Restricted), testDevice(2, identity.Restricted)
	c.PublishDevice(ctx, a)
	c.PublishDevice(ctx, bdev)
	flush(t, c)
	m.Stop()
	c.RemoveDevice(ctx, bdev.ID)
	m.Start()
	flush(t, c)
	r := mqtttest.Subscribe(t, m.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/devices/+")
	r.WaitFor(10*time.Second, "device a", func(ms []mqtttest.Msg) bool { return len(ms) >= 1 })
	time.Sleep(300 * time.Millisecond)
	for _, msg := range r.Messages() {
		if msg.Topic != "nvrguard/gw1/devices/"+a.ID {
			t.Errorf("late subscriber sees %s after it was removed during the outage", msg.Topic)
		}
	}
}

// TestIntegrationTopicInjection publishes devices whose strings hold
// topic syntax, NUL and 10 kB: each lands under its sanitised id only, with
// its strings intact as data.
func TestIntegrationTopicInjection(t *testing.T) {
	nasty := []string{"a/b", "+", "#", "..", "../../etc/passwd", "x\x00y", "$SYS/broker", "/", strings.Repeat("Z", 10240), "%s%n%x", "\x1b[31mred"}
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "#")
		c, _ := newClient(t, b.URL(), Config{})
		ctx := t.Context()
		var devs []identity.Device
		for i, s := range nasty {
			d := testDevice(100+i, identity.Restricted)
			d.Model, d.Brand, d.Serial, d.Firmware, d.Manufacturer = s, s, s, s, s
			d.Reasons = []identity.Reason{{Source: "sadp", Field: "name", Value: s, Rule: "r"}}
			devs = append(devs, d)
			// And a device whose very id is hostile (the inventory never
			// makes one; the client must not trust it either).
			bad := testDevice(200+i, identity.Suspect)
			bad.ID, bad.Model = s, s
			devs = append(devs, bad)
		}
		for _, d := range devs {
			if err := c.PublishDevice(ctx, d); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Event(ctx, VerdictChanged, d); err != nil {
				t.Fatal(err)
			}
		}
		flush(t, c)
		rec.WaitFor(20*time.Second, "all events and records", func(ms []mqtttest.Msg) bool {
			topics := map[string]bool{}
			for _, m := range ms {
				topics[m.Topic] = true
			}
			for _, d := range devs {
				if !topics["nvrguard/gw1/devices/"+SafeID(d.ID)] {
					return false
				}
			}
			return len(rec.On("nvrguard/gw1/events")) >= len(devs)
		})
		okTopic := regexp.MustCompile(`^nvrguard/gw1/(status|state|events|devices/[a-z0-9-]{1,64})$`)
		byID := map[string][]byte{}
		for _, m := range rec.Messages() {
			if !okTopic.MatchString(m.Topic) {
				t.Errorf("message on topic %q", m.Topic)
			}
			if id, ok := strings.CutPrefix(m.Topic, "nvrguard/gw1/devices/"); ok {
				byID[id] = m.Payload
			}
		}
		for i, s := range nasty {
			d := devs[2*i]
			p, ok := byID[d.ID]
			if !ok {
				t.Errorf("device %s with %q missing", d.ID, trunc(s))
				continue
			}
			var got identity.Device
			if err := json.Unmarshal(p, &got); err != nil {
				t.Fatal(err)
			}
			if got.Model != s || got.Brand != s || got.Reasons[0].Value != s {
				t.Errorf("device %s: strings changed in transit: model %q", d.ID, trunc(got.Model))
			}
			safe := SafeID(s)
			p, ok = byID[safe]
			if !ok {
				t.Errorf("hostile id %q: nothing under its sanitised id %q", trunc(s), safe)
				continue
			}
			json.Unmarshal(p, &got)
			if got.ID != safe {
				t.Errorf("hostile id %q: record says id %q, topic %q", trunc(s), got.ID, safe)
			}
		}
		for _, e := range decodeEvents(t, rec.On("nvrguard/gw1/events")) {
			if !ValidID(e.Device.ID) {
				t.Errorf("event %d carries id %q", e.Seq, trunc(e.Device.ID))
			}
		}
	})
}

func TestIntegrationCommands(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		pub := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/cmd/ack")
		// A retained command would act again on every reconnect: the
		// client ignores one delivered from the retained store.
		pub.Publish(t, "nvrguard/gw1/cmd/ack", true, `{"by":"retained"}`)
		// mochi acknowledges before it forwards: wait for the forward, or
		// the client could get the command live as well.
		pub.WaitFor(5*time.Second, "the retained command back", func(ms []mqtttest.Msg) bool { return len(ms) == 1 })
		t.Cleanup(func() { pub.Publish(t, "nvrguard/gw1/cmd/ack", true, "") })
		c, sink := newClient(t, b.URL(), Config{})
		flush(t, c)
		pub.Publish(t, "nvrguard/gw1/cmd/scan", false, "")
		pub.Publish(t, "nvrguard/gw1/cmd/ack", false, "{") // malformed: refused, counted
		pub.Publish(t, "nvrguard/gw1/cmd/ack", false, `{"by":"operator 7","request_id":"r-1"}`)
		want := []Command{{Name: CmdScan}, {Name: CmdAck, By: "operator 7", RequestID: "r-1"}}
		for _, w := range want {
			select {
			case got := <-c.Commands():
				if got.Name != w.Name || got.By != w.By || got.RequestID != w.RequestID || got.Received.IsZero() {
					t.Errorf("command %+v, want %+v", got, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s command", w.Name)
			}
		}
		select {
		case got := <-c.Commands():
			t.Errorf("unexpected command %+v", got)
		case <-time.After(300 * time.Millisecond):
		}
		if h := c.Health(); h.BadCommands != 1 {
			t.Errorf("bad commands %d, want 1", h.BadCommands)
		}
		for _, line := range []string{"refused a command", "ignoring a retained command"} {
			if !strings.Contains(sink.String(), line) {
				t.Errorf("no log line %q", line)
			}
		}
	})
}

// TestIntegrationCommandWhileAway: the session is persistent, so an ack
// sent while the gateway is down reaches it when it is back.
func TestIntegrationCommandWhileAway(t *testing.T) {
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{})
	state := t.TempDir()
	c, _ := newClient(t, m.URL(), Config{StateDir: state})
	flush(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	c.Close(ctx)
	cancel()
	pub := mqtttest.Subscribe(t, m.URL(), mqtttest.RecorderOptions{}, "unused/#")
	pub.Publish(t, "nvrguard/gw1/cmd/ack", false, `{"by":"night shift"}`)
	c2, _ := newClient(t, m.URL(), Config{StateDir: state})
	select {
	case got := <-c2.Commands():
		if got.Name != CmdAck || got.By != "night shift" {
			t.Errorf("command %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the ack sent while the gateway was away never arrived")
	}
}

func TestIntegrationHomeAssistant(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "homeassistant/+/+/+/config")
		c, _ := newClient(t, b.URL(), Config{
			HomeAssistant: HomeAssistant{Enabled: true},
			Gateway:       GatewayDescription{Model: "Raspberry Pi 4 Model B", SWVersion: "1.2.3", MAC: "DC:A6:32:01:02:03"},
		})
		c.PublishDevice(t.Context(), testDevice(1, identity.Restricted))
		flush(t, c)
		bin := "homeassistant/binary_sensor/nvrguard-gw1/restricted-present/config"
		rec.WaitFor(10*time.Second, "5 discovery configs", func(ms []mqtttest.Msg) bool { return len(ms) >= 5 })
		m, ok := rec.Last(bin)
		if !ok {
			t.Fatalf("no %s", bin)
		}
		var e struct {
			Name              string `json:"name"`
			StateTopic        string `json:"state_topic"`
			DeviceClass       string `json:"device_class"`
			AvailabilityTopic string `json:"availability_topic"`
			Device            struct {
				Identifiers  []string   `json:"identifiers"`
				Connections  [][]string `json:"connections"`
				Manufacturer string     `json:"manufacturer"`
				Model        string     `json:"model"`
				SWVersion    string     `json:"sw_version"`
			} `json:"device"`
		}
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Name != "Restricted hardware present" || e.DeviceClass != "problem" || e.StateTopic != "nvrguard/gw1/state" ||
			e.AvailabilityTopic != "nvrguard/gw1/status" ||
			len(e.Device.Identifiers) != 1 || e.Device.Identifiers[0] != "nvrguard-gw1" || e.Device.Manufacturer != "nvrguard" ||
			e.Device.Model != "Raspberry Pi 4 Model B" || e.Device.SWVersion != "1.2.3" ||
			len(e.Device.Connections) != 1 || e.Device.Connections[0][0] != "mac" || e.Device.Connections[0][1] != "dc:a6:32:01:02:03" {
			t.Errorf("binary_sensor config %s", m.Payload)
		}
		for _, v := range []string{"restricted", "suspect", "clear", "unknown"} {
			topic := "homeassistant/sensor/nvrguard-gw1/count-" + v + "/config"
			m, ok := rec.Last(topic)
			if !ok || !strings.Contains(string(m.Payload), `"value_template":"{{ value_json.counts.`+v+` }}"`) {
				t.Errorf("%s: %s", topic, m.Payload)
			}
		}
		before := len(rec.On(bin))
		// Home Assistant restarts: its birth message makes the gateway
		// send the discovery again.
		rec.Publish(t, "homeassistant/status", false, "online")
		rec.WaitFor(10*time.Second, "discovery re-sent", func([]mqtttest.Msg) bool { return len(rec.On(bin)) > before })
	})
}

func TestIntegrationTLS(t *testing.T) {
	mqtttest.NeedMosquitto(t)
	ca := mqtttest.NewCA(t, "test-ca")
	srvCert, srvKey := ca.Issue("broker", true, "127.0.0.1", "localhost")
	cliCert, cliKey := ca.Issue("gw1", false)
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{TLS: &mqtttest.TLSFiles{CAFile: ca.File, CertFile: srvCert, KeyFile: srvKey, RequireClientCert: true}})
	other := mqtttest.NewCA(t, "other-ca")
	good := TLSConfig{CAFile: ca.File, CertFile: cliCert, KeyFile: cliKey}

	t.Run("ok", func(t *testing.T) {
		c, _ := newClient(t, m.URL(), Config{TLS: good})
		c.PublishDevice(t.Context(), testDevice(1, identity.Restricted))
		flush(t, c)
		if h := c.Health(); !h.Connected {
			t.Fatalf("not connected: %+v", h)
		}
	})
	t.Run("localhost name", func(t *testing.T) {
		c, _ := newClient(t, strings.Replace(m.URL(), "127.0.0.1", "localhost", 1), Config{TLS: good})
		flush(t, c)
	})
	fails := []struct {
		name string
		tls  TLSConfig
		want string
	}{
		{"wrong server name", TLSConfig{CAFile: ca.File, CertFile: cliCert, KeyFile: cliKey, ServerName: "broker.example"}, "certificate"},
		{"unknown CA", TLSConfig{CAFile: other.File, CertFile: cliCert, KeyFile: cliKey}, "certificate"},
		{"no client certificate", TLSConfig{CAFile: ca.File}, ""},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			c, _ := newClient(t, m.URL(), Config{TLS: f.tls})
			deadline := time.Now().Add(10 * time.Second)
			for c.Health().LastError == "" && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			h := c.Health()
			if h.Connected || h.LastError == "" || !strings.Contains(h.LastError, f.want) {
				t.Fatalf("health %+v, want a failure mentioning %q", h, f.want)
			}
			if strings.Contains(h.LastError, "\n") {
				t.Errorf("error is not one line: %q", h.LastError)
			}
		})
	}
	t.Run("insecure skip verify", func(t *testing.T) {
		c, _ := newClient(t, m.URL(), Config{TLS: TLSConfig{CertFile: cliCert, KeyFile: cliKey, InsecureSkipVerify: true}})
		flush(t, c)
	})
}

func TestIntegrationPassword(t *testing.T) {
	secret := "s3cret-Pa55"
	pwFile := func(t *testing.T, s string) string {
		p := t.TempDir() + "/pw"
		if err := writeFile(p, s+"\n"); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{Users: map[string]string{"gw1": secret}})
	for _, tc := range []struct {
		name, url string
	}{{"mosquitto", m.URL()}} {
		t.Run(tc.name+"/ok", func(t *testing.T) {
			c, sink := newClient(t, tc.url, Config{Username: "gw1", PasswordFile: pwFile(t, secret)})
			flush(t, c)
			if strings.Contains(sink.String(), secret) {
				t.Error("the password is in the log")
			}
		})
		t.Run(tc.name+"/wrong", func(t *testing.T) {
			c, sink := newClient(t, tc.url, Config{Username: "gw1", PasswordFile: pwFile(t, "nope")})
			deadline := time.Now().Add(10 * time.Second)
			for c.Health().LastError == "" && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if h := c.Health(); h.Connected || !strings.Contains(strings.ToLower(h.LastError), "not authorized") {
				t.Errorf("health %+v", h)
			}
			if strings.Contains(sink.String(), "nope") {
				t.Error("the password is in the log")
			}
		})
	}
	t.Run("missing password file", func(t *testing.T) {
		c, err := New(Config{Broker: m.URL(), GatewayID: "gw1", StateDir: t.TempDir(), Username: "gw1", PasswordFile: "/nonexistent/pw"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), "password_file") {
			t.Fatalf("Start: %v", err)
		}
	})
}

// TestIntegrationBrokerDown: a broker that is not there is reported in
// Health, events wait in the outbox, and Close does not hang.
func TestIntegrationBrokerDown(t *testing.T) {
	m := mqtttest.StartMosquitto(t, mqtttest.MosquittoOptions{})
	m.Kill()
	c, sink := newClient(t, m.URL(), Config{})
	if _, err := c.Event(t.Context(), DeviceFound, testDevice(1, identity.Restricted)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Health().LastError == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h := c.Health()
	if h.Connected || !strings.Contains(h.LastError, "connection refused") || h.Outbox.Queued != 1 {
		t.Fatalf("health %+v", h)
	}
	// Health is set before the warning is logged: wait for the line, then
	// let the client retry for a second (50-300 ms backoff: several
	// attempts) and count again.
	for !strings.Contains(sink.String(), "unreachable") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := strings.Count(sink.String(), "unreachable"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1 (rate limited)", n)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with the broker down", d)
	}
}

// TestIntegrationCorruptOutbox: a damaged outbox file costs the damaged
// records, never the start.
func TestIntegrationCorruptOutbox(t *testing.T) {
	b := mqtttest.StartMochi(t, brokerConfig())
	state := t.TempDir()
	if err := mkdirAll(state + "/mqtt-outbox"); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(state+"/mqtt-outbox/outbox.log", strings.Repeat("NVO1 not a record ", 500)); err != nil {
		t.Fatal(err)
	}
	rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/events")
	c, sink := newClient(t, b.URL(), Config{StateDir: state})
	if _, err := c.Event(t.Context(), DeviceLost, testDevice(1, identity.Clear)); err != nil {
		t.Fatal(err)
	}
	flush(t, c)
	rec.WaitFor(10*time.Second, "the event", func(ms []mqtttest.Msg) bool { return len(ms) == 1 })
	if !strings.Contains(sink.String(), "outbox") {
		t.Errorf("no log line about the damaged outbox:\n%s", sink.String())
	}
	if h := c.Health(); h.Outbox.Damaged == 0 {
		t.Errorf("the damage is not counted: %+v", h.Outbox)
	}
}
