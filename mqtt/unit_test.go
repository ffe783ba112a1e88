package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

func TestValidAndSafeID(t *testing.T) {
	for _, ok := range []string{"mac-bcad28123456", "gw-1", "a", strings.Repeat("a", 64)} {
		if SafeID(ok) != ok {
			t.Errorf("SafeID(%q) = %q, want it unchanged", ok, SafeID(ok))
		}
	}
	seen := map[string]string{}
	for _, tc := range []struct{ in, prefix string }{
		{"", "id-"}, {"a/b/+/#", "id-a-b-"}, {"..", "id-"}, {"+", "id-"}, {"#", "id-"}, {"/", "id-"},
		{"x\x00y", "id-x-y-"}, {"MAC-BCAD", "id-mac-bcad-"}, {strings.Repeat("a", 65), "id-aaaa"}, {"$SYS/broker", "id-sys-broker-"},
		{strings.Repeat("Z", 10240), "id-zzzz"},
	} {
		got := SafeID(tc.in)
		if !ValidID(got) || !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("SafeID(%q) = %q, want a valid id starting %q", trunc(tc.in), got, tc.prefix)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("SafeID(%q) = SafeID(%q) = %q", trunc(tc.in), trunc(other), got)
		}
		seen[got] = tc.in
		if SafeID(tc.in) != got {
			t.Errorf("SafeID(%q) is not stable", trunc(tc.in))
		}
	}
	for _, bad := range []string{"", "A", "a/b", "a+", "a#", "a b", "é", strings.Repeat("a", 65)} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestHostID(t *testing.T) {
	for in, want := range map[string]string{
		"raspberrypi":           "raspberrypi",
		"Gateway_07.site.lan":   "gateway-07-site-lan",
		"--x--":                 "x",
		"":                      "gateway",
		"÷÷÷":                   "gateway",
		strings.Repeat("h", 80): strings.Repeat("h", 64),
	} {
		if got := HostID(in); got != want || !ValidID(got) {
			t.Errorf("HostID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigNormalize(t *testing.T) {
	c, err := Config{StateDir: "/x"}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "nvrguard" || c.HomeAssistant.Prefix != "homeassistant" || !ValidID(c.GatewayID) || *c.QoS != 1 ||
		c.KeepAlive != 30*time.Second || c.Outbox.MaxEvents != 10000 || c.Embedded.Listen != "127.0.0.1:1883" ||
		c.URL() != "tcp://127.0.0.1:1883" || !c.UsesEmbedded() || c.TLS.InsecureSkipVerify {
		t.Errorf("defaults: %+v", c)
	}
	two := byte(3)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Prefix: "a/+"}, "prefix"},
		{Config{Prefix: "a//b"}, "empty level"},
		{Config{Prefix: "$SYS"}, "prefix"},
		{Config{GatewayID: "Gate/1"}, "gateway_id"},
		{Config{KeepAlive: time.Millisecond}, "keepalive"},
		{Config{QoS: &two}, "qos"},
		{Config{Broker: "http://x:1"}, "scheme"},
		{Config{Broker: "tcp://:1883"}, "no host"},
		{Config{Broker: "tcp://host"}, "no port"},
		{Config{Broker: "tcp://u:secret@host:1883"}, "credentials"},
		{Config{TLS: TLSConfig{CertFile: "c.pem"}}, "key_file"},
		{Config{ReconnectMin: time.Minute, ReconnectMax: time.Second}, "reconnect_max"},
		{Config{Outbox: OutboxConfig{MaxEvents: -1}}, "outbox"},
		{Config{HomeAssistant: HomeAssistant{Prefix: "home assistant"}}, "home_assistant.prefix"},
	} {
		_, err := tc.cfg.Normalize()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New without a state directory")
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := time.Second, time.Minute
	for n := range 12 {
		want := min(lo<<n, hi)
		for range 50 {
			d := backoff(n, lo, hi)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := backoff(1000, lo, hi); d > hi {
		t.Errorf("backoff(1000) = %v", d)
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    Command
		err     string
	}{
		{"", Command{Name: CmdAck}, ""},
		{" \n", Command{Name: CmdAck}, ""},
		{"{}", Command{Name: CmdAck}, ""},
		{`{"by":"operator 7","request_id":"r-1"}`, Command{Name: CmdAck, By: "operator 7", RequestID: "r-1"}, ""},
		{`{"by":"a\u001b[31mb"}`, Command{Name: CmdAck, By: "a [31mb"}, ""},
		{"{", Command{}, "JSON object"},
		{"ack", Command{}, "JSON object"},
		{`{"by":1}`, Command{}, "JSON object"},
		{`{"extra":true}`, Command{}, "unknown field"},
		{`{} {}`, Command{}, "after the JSON object"},
		{`[]`, Command{}, "JSON object"},
		{`{"by":"` + strings.Repeat("x", 65) + `"}`, Command{}, "longer than 64"},
		{"\xff\xfe", Command{}, "UTF-8"},
		{strings.Repeat(" ", MaxCommandPayload+1), Command{}, "over"},
	} {
		got, err := ParseCommand(CmdAck, []byte(tc.payload))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: err %v, want one line about %q", tc.payload, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.payload, got, err, tc.want)
		}
	}
	if _, err := ParseCommand("reboot", nil); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestDecodeMessage(t *testing.T) {
	d := testDevice(1, identity.Restricted)
	rec, _ := json.Marshal(d)
	ev, _ := json.Marshal(EventMessage{Seq: 7, Type: DeviceLost, Time: time.Now(), Device: d})
	st, _ := json.Marshal(Summary{Gateway: "gw1", Counts: Counts{Restricted: 2}})
	for _, tc := range []struct {
		topic, payload string
		kind           UpdateKind
		err            string
	}{
		{"nvrguard/gw1/status", "online", UpdateStatus, ""},
		{"nvrguard/gw1/status", "offline", UpdateStatus, ""},
		{"nvrguard/gw1/status", "maybe", 0, "neither"},
		{"nvrguard/gw1/state", string(st), UpdateState, ""},
		{"nvrguard/gw1/state", "{", 0, "bad JSON"},
		{"nvrguard/gw1/devices/" + d.ID, string(rec), UpdateDevice, ""},
		{"nvrguard/gw1/devices/" + d.ID, "", UpdateDeviceGone, ""},
		{"nvrguard/gw1/devices/mac-000000000000", string(rec), 0, "record has id"},
		{"nvrguard/gw1/devices/Bad+Id", string(rec), 0, "not a topic-safe id"},
		{"nvrguard/gw1/devices/" + d.ID, string(rec) + "{}", 0, "after the JSON"},
		{"nvrguard/gw1/events", string(ev), UpdateEvent, ""},
		{"nvrguard/gw1/events", `{"seq":0,"type":"device_lost","device":{"id":"x"}}`, 0, "without seq"},
		{"nvrguard/gw1/events", `{"seq":3,"type":"reboot","device":{"id":"x"}}`, 0, "unknown event type"},
		{"nvrguard/gw1/events", `{"seq":3,"type":"device_lost","device":{"id":"../x"}}`, 0, "not topic-safe"},
		{"nvrguard/GW/status", "online", 0, "gateway level"},
		{"other/gw1/status", "online", 0, "not under"},
		{"nvrguard/gw1/cmd/scan", "", 0, "not a finding"},
	} {
		u, err := DecodeMessage("nvrguard", tc.topic, []byte(tc.payload), true)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %q: err %v, want %q", tc.topic, trunc(tc.payload), err, tc.err)
			}
			continue
		}
		if err != nil || u.Kind != tc.kind || u.Gateway != "gw1" || !u.Retained {
			t.Errorf("%s: %+v, %v", tc.topic, u, err)
		}
	}
	if _, err := DecodeMessage("nvrguard", "nvrguard/gw1/state", make([]byte, maxStatePayload+1), false); err == nil {
		t.Error("oversized state accepted")
	}
}

func TestHADiscoveryTopicsAreSafe(t *testing.T) {
	tp := newTopics("site/nvrguard", "gw-7", "homeassistant")
	msgs, err := haDiscovery(tp, "gw-7", GatewayDescription{Model: "a/b+#", MAC: "not a mac"})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 5 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, m := range msgs {
		if strings.ContainsAny(m.topic, "+# ") || !strings.HasPrefix(m.topic, "homeassistant/") || !strings.HasSuffix(m.topic, "/config") {
			t.Errorf("topic %q", m.topic)
		}
		if strings.Contains(string(m.payload), "connections") {
			t.Errorf("an invalid MAC became a connection: %s", m.payload)
		}
	}
}

func TestCallsBeforeStartAndAfterClose(t *testing.T) {
	c, err := New(Config{GatewayID: "gw1", StateDir: t.TempDir(), Broker: "tcp://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Event(ctx, DeviceFound, testDevice(1, identity.Clear)); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Event before Start: %v", err)
	}
	if _, err := c.Event(ctx, "rebooted", testDevice(1, identity.Clear)); err == nil {
		t.Error("unknown event type accepted")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err == nil {
		t.Error("second Start accepted")
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishDevice(ctx, testDevice(1, identity.Clear)); !errors.Is(err, ErrClosed) {
		t.Errorf("PublishDevice after Close: %v", err)
	}
	if _, err := c.Event(ctx, DeviceFound, testDevice(1, identity.Clear)); err == nil {
		t.Error("Event after Close accepted")
	}
	if err := c.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}
