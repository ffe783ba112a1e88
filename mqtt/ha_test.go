package mqtt

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// The payload rules of Home Assistant's MQTT discovery documentation
// (home-assistant.io/integrations/mqtt, "Discovery messages"), checked on
// every discovery message nvrguard sends:
//   - the topic is <discovery_prefix>/<component>/[<node_id>/]<object_id>/config,
//     node_id and object_id of [a-zA-Z0-9_-];
//   - the payload is a JSON dictionary; an empty payload removes the entity;
//   - unique_id is set (and unique), so that the entity can be edited and
//     belongs to its device; the device mapping has identifiers or connections;
//   - default_entity_id is <component>.<object id>, the object id of
//     lower-case letters, digits and '_' (entity id rules); object_id,
//     deprecated since 2025.10 and ignored from 2026.4, is never sent;
//   - the origin mapping has a name (sw_version and support_url optional);
//   - a binary_sensor or sensor has a state_topic (no wildcards) and its
//     entity name does not start with the device name.
var (
	haTopicRule    = regexp.MustCompile(`^homeassistant/(binary_sensor|sensor)/([a-zA-Z0-9_-]+/)?[a-zA-Z0-9_-]+/config$`)
	haEntityIDRule = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// checkHADiscovery checks one non-empty discovery payload against the
// rules and returns its unique_id and default_entity_id.
func checkHADiscovery(t *testing.T, topic string, payload []byte) (uid, eid string) {
	t.Helper()
	m := haTopicRule.FindStringSubmatch(topic)
	if m == nil {
		t.Errorf("discovery topic %q breaks <prefix>/<component>/[<node_id>/]<object_id>/config", topic)
		return "", ""
	}
	component := m[1]
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Errorf("%s: payload is not a JSON dictionary: %v", topic, err)
		return "", ""
	}
	for _, k := range []string{"object_id", "obj_id"} {
		if _, ok := raw[k]; ok {
			t.Errorf("%s: payload carries the deprecated %q: %s", topic, k, payload)
		}
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	uid = str("unique_id")
	if uid == "" {
		t.Errorf("%s: no unique_id", topic)
	}
	eid = str("default_entity_id")
	domain, obj, ok := strings.Cut(eid, ".")
	if !ok || domain != component || !haEntityIDRule.MatchString(obj) {
		t.Errorf("%s: default_entity_id %q is not %s.<[a-z0-9_]+>", topic, eid, component)
	}
	origin, _ := raw["origin"].(map[string]any)
	if name, _ := origin["name"].(string); name == "" {
		t.Errorf("%s: origin mapping without a name: %s", topic, payload)
	}
	dev, _ := raw["device"].(map[string]any)
	ids, _ := dev["identifiers"].([]any)
	conns, _ := dev["connections"].([]any)
	if len(ids) == 0 && len(conns) == 0 {
		t.Errorf("%s: device mapping without identifiers or connections", topic)
	}
	st := str("state_topic")
	if st == "" || strings.ContainsAny(st, "+#") {
		t.Errorf("%s: state_topic %q", topic, st)
	}
	if name, devName := str("name"), dev["name"].(string); name == "" || strings.HasPrefix(name, devName) {
		t.Errorf("%s: entity name %q is empty or starts with the device name %q", topic, name, devName)
	}
	return uid, eid
}

// checkAllHA checks every discovery message of ms (topics under
// homeassistant/) that is not a removal, and that unique ids and entity
// ids are not shared between topics.
func checkAllHA(t *testing.T, ms []mqtttest.Msg) {
	t.Helper()
	uids, eids := map[string]string{}, map[string]string{}
	for _, m := range ms {
		if len(m.Payload) == 0 || !strings.HasPrefix(m.Topic, "homeassistant/") {
			continue
		}
		uid, eid := checkHADiscovery(t, m.Topic, m.Payload)
		if o, ok := uids[uid]; ok && o != m.Topic {
			t.Errorf("unique_id %q on %s and %s", uid, o, m.Topic)
		}
		if o, ok := eids[eid]; ok && o != m.Topic {
			t.Errorf("default_entity_id %q on %s and %s", eid, o, m.Topic)
		}
		uids[uid], eids[eid] = m.Topic, m.Topic
	}
}

// TestHADiscoveryPayloadRules checks the gateway's and a device's
// discovery messages as built, without a broker.
func TestHADiscoveryPayloadRules(t *testing.T) {
	tp := newTopics("nvrguard", "gw1", "homeassistant")
	gd := GatewayDescription{Model: "Raspberry Pi 4 Model B", SWVersion: "1.2.3", MAC: "dc:a6:32:01:02:03"}
	msgs, err := haDiscovery(tp, "gw1", gd)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := haDeviceDiscovery(tp, "gw1", gd, "mac-bcad28123456")
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, dm)
	var rec []mqtttest.Msg
	for _, m := range msgs {
		rec = append(rec, mqtttest.Msg{Topic: m.topic, Payload: m.payload, Retained: true})
		if strings.Contains(string(m.payload), `"object_id"`) {
			t.Errorf("%s carries object_id", m.topic)
		}
	}
	checkAllHA(t, rec)
	if dm.topic != "homeassistant/binary_sensor/nvrguard-gw1/device-mac-bcad28123456/config" {
		t.Errorf("per-device topic %s", dm.topic)
	}
	var e struct {
		DefaultEntityID, StateTopic, JSONAttributesTopic, ValueTemplate, DeviceClass string
		Origin                                                                       haOrigin
	}
	if err := json.Unmarshal(dm.payload, &struct {
		DefaultEntityID     *string   `json:"default_entity_id"`
		StateTopic          *string   `json:"state_topic"`
		JSONAttributesTopic *string   `json:"json_attributes_topic"`
		ValueTemplate       *string   `json:"value_template"`
		DeviceClass         *string   `json:"device_class"`
		Origin              *haOrigin `json:"origin"`
	}{&e.DefaultEntityID, &e.StateTopic, &e.JSONAttributesTopic, &e.ValueTemplate, &e.DeviceClass, &e.Origin}); err != nil {
		t.Fatal(err)
	}
	if e.DefaultEntityID != "binary_sensor.nvrguard_gw1_device_mac_bcad28123456" || e.StateTopic != "nvrguard/gw1/devices/mac-bcad28123456" ||
		e.JSONAttributesTopic != e.StateTopic || e.DeviceClass != "problem" || !strings.Contains(e.ValueTemplate, "value_json.verdict == 'restricted'") ||
		e.Origin != (haOrigin{Name: "nvrguard", SWVersion: "1.2.3", SupportURL: SupportURL}) {
		t.Errorf("per-device config %s", dm.payload)
	}
	if id := tp.haDeviceID(dm.topic); id != "mac-bcad28123456" {
		t.Errorf("haDeviceID(%s) = %q", dm.topic, id)
	}
	for _, topic := range []string{
		"homeassistant/binary_sensor/nvrguard-gw1/restricted-present/config",
		"homeassistant/binary_sensor/nvrguard-gw2/device-mac-bcad28123456/config",
		"homeassistant/sensor/nvrguard-gw1/device-mac-bcad28123456/config",
		"homeassistant/binary_sensor/nvrguard-gw1/device-Bad_ID/config",
	} {
		if id := tp.haDeviceID(topic); id != "" {
			t.Errorf("haDeviceID(%s) = %q, want none", topic, id)
		}
	}
}

// TestIntegrationHomeAssistantPerDevice: with per_device, each restricted
// device gets a binary_sensor; it is removed (empty retained config,
// before the record is cleared) when the device goes or stops being
// restricted, and a restart clears the ones of devices gone meanwhile.
func TestIntegrationHomeAssistantPerDevice(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b mqtttest.Broker) {
		rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "homeassistant/#", "nvrguard/gw1/devices/+")
		state := t.TempDir()
		cfg := Config{HomeAssistant: HomeAssistant{Enabled: true, PerDevice: true}, StateDir: state,
			Gateway: GatewayDescription{SWVersion: "1.2.3"}}
		c, _ := newClient(t, b.URL(), cfg)
		r1, r2, clear := testDevice(1, identity.Restricted), testDevice(2, identity.Restricted), testDevice(3, identity.Clear)
		if err := c.Replace(t.Context(), []identity.Device{r1, r2, clear}); err != nil {
			t.Fatal(err)
		}
		flush(t, c)
		cfgTopic := func(d identity.Device) string {
			return "homeassistant/binary_sensor/nvrguard-gw1/device-" + d.ID + "/config"
		}
		rec.WaitFor(10*time.Second, "two per-device configs", func([]mqtttest.Msg) bool {
			return len(rec.On(cfgTopic(r1))) > 0 && len(rec.On(cfgTopic(r2))) > 0
		})
		if ms := rec.On(cfgTopic(clear)); len(ms) != 0 {
			t.Errorf("a clear device got an entity: %s", ms[0].Payload)
		}
		// r1 goes: its entity is removed before its record is cleared.
		if err := c.RemoveDevice(t.Context(), r1.ID); err != nil {
			t.Fatal(err)
		}
		// r2 is no longer restricted: its entity goes, its record stays.
		r2.Verdict = identity.Clear
		if err := c.PublishDevice(t.Context(), r2); err != nil {
			t.Fatal(err)
		}
		flush(t, c)
		rec.WaitFor(10*time.Second, "removals", func([]mqtttest.Msg) bool {
			m1, ok1 := rec.Last(cfgTopic(r1))
			m2, ok2 := rec.Last(cfgTopic(r2))
			d1, ok3 := rec.Last("nvrguard/gw1/devices/" + r1.ID)
			return ok1 && ok2 && ok3 && len(m1.Payload) == 0 && len(m2.Payload) == 0 && len(d1.Payload) == 0
		})
		removed, cleared := -1, -1
		for i, m := range rec.Messages() {
			switch {
			case m.Topic == cfgTopic(r1) && len(m.Payload) == 0 && removed < 0:
				removed = i
			case m.Topic == "nvrguard/gw1/devices/"+r1.ID && len(m.Payload) == 0 && cleared < 0:
				cleared = i
			}
		}
		if removed < 0 || cleared < 0 || removed > cleared {
			t.Errorf("entity removed at message %d, record cleared at %d: want the entity first", removed, cleared)
		}
		checkAllHA(t, rec.Messages())

		// A restart with per_device: r3 was restricted and retained, and
		// is gone when the gateway comes back.
		r3 := testDevice(4, identity.Restricted)
		if err := c.PublishDevice(t.Context(), r3); err != nil {
			t.Fatal(err)
		}
		flush(t, c)
		rec.WaitFor(10*time.Second, "r3's entity", func([]mqtttest.Msg) bool { return len(rec.On(cfgTopic(r3))) > 0 })
		c.Close(t.Context())
		cfg.StateDir = t.TempDir()
		c2, _ := newClient(t, b.URL(), cfg)
		if err := c2.Replace(t.Context(), []identity.Device{r2}); err != nil {
			t.Fatal(err)
		}
		flush(t, c2)
		rec.WaitFor(10*time.Second, "r3's entity cleared after the restart", func([]mqtttest.Msg) bool {
			m, ok := rec.Last(cfgTopic(r3))
			return ok && len(m.Payload) == 0
		})
		// A fresh subscriber sees no per-device entity left.
		late := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "homeassistant/binary_sensor/nvrguard-gw1/+/config")
		late.WaitFor(10*time.Second, "the retained gateway entity", func(ms []mqtttest.Msg) bool {
			_, ok := late.Last("homeassistant/binary_sensor/nvrguard-gw1/restricted-present/config")
			return ok
		})
		time.Sleep(200 * time.Millisecond)
		for _, m := range late.Messages() {
			if !m.Retained {
				t.Errorf("%s: discovery config not retained", m.Topic)
			}
			if strings.Contains(m.Topic, "/device-") && len(m.Payload) > 0 {
				t.Errorf("retained per-device entity left: %s", m.Topic)
			}
		}
		checkAllHA(t, late.Messages())
	})
}

// TestIntegrationHomeAssistantNoObjectID: no discovery message the client
// publishes, gateway-level or per-device, carries object_id.
func TestIntegrationHomeAssistantNoObjectID(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Kinds[len(mqtttest.Kinds)-1])
	rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "homeassistant/#")
	c, _ := newClient(t, b.URL(), Config{HomeAssistant: HomeAssistant{Enabled: true, PerDevice: true}})
	for i := range 3 {
		if err := c.PublishDevice(t.Context(), testDevice(i, identity.Restricted)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, c)
	rec.WaitFor(10*time.Second, "5 gateway and 3 device configs", func(ms []mqtttest.Msg) bool { return len(ms) >= 8 })
	for _, m := range rec.Messages() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(m.Payload, &raw); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		if _, ok := raw["object_id"]; ok {
			t.Errorf("%s carries object_id: %s", m.Topic, m.Payload)
		}
		if _, ok := raw["default_entity_id"]; !ok {
			t.Errorf("%s lacks default_entity_id: %s", m.Topic, m.Payload)
		}
	}
}

// TestIntegrationHoldOneState: the changes of one observation made under
// Hold (an event, a removal, the other records, the state) go out in one
// pass: one state message, with the new counts and last scan, and each
// record once. Without Hold the event alone publishes a state first.
func TestIntegrationHoldOneState(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Kinds[len(mqtttest.Kinds)-1])
	c, _ := newClient(t, b.URL(), Config{})
	d1, d2 := testDevice(1, identity.Restricted), testDevice(2, identity.Clear)
	if err := c.Replace(t.Context(), []identity.Device{d1, d2}); err != nil {
		t.Fatal(err)
	}
	flush(t, c)
	rec := mqtttest.Subscribe(t, b.URL(), mqtttest.RecorderOptions{}, "nvrguard/gw1/state", "nvrguard/gw1/devices/+", "nvrguard/gw1/events")
	rec.WaitFor(10*time.Second, "the retained state", func(ms []mqtttest.Msg) bool { return len(rec.On("nvrguard/gw1/state")) > 0 })
	rec.WaitFor(10*time.Second, "the retained record", func(ms []mqtttest.Msg) bool { return len(rec.On("nvrguard/gw1/devices/"+d2.ID)) > 0 })
	before := len(rec.On("nvrguard/gw1/state"))
	recBefore := len(rec.On("nvrguard/gw1/devices/" + d2.ID))
	scan := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

	release := c.Hold()
	if _, err := c.Event(t.Context(), DeviceLost, d1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // what the daemon's inventory save takes, at worst
	if err := c.RemoveDevice(t.Context(), d1.ID); err != nil {
		t.Fatal(err)
	}
	d2.LastSeen = scan
	if err := c.PublishDevice(t.Context(), d2); err != nil {
		t.Fatal(err)
	}
	if err := c.PublishState(t.Context(), State{LastScan: scan, LED: "clear"}); err != nil {
		t.Fatal(err)
	}
	release()
	release() // a second call does nothing
	flush(t, c)
	rec.WaitFor(10*time.Second, "the new state", func([]mqtttest.Msg) bool {
		m, ok := rec.Last("nvrguard/gw1/state")
		return ok && strings.Contains(string(m.Payload), `"last_scan":"2026-12-01T10:00:00Z"`)
	})
	time.Sleep(300 * time.Millisecond)
	states := rec.On("nvrguard/gw1/state")[before:]
	if len(states) != 1 {
		for _, m := range states {
			t.Logf("state %s", m.Payload)
		}
		t.Fatalf("%d state messages for one change, want 1", len(states))
	}
	var sum Summary
	if err := json.Unmarshal(states[0].Payload, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Counts.Restricted != 0 || sum.Counts.Clear != 1 || sum.Devices != 1 {
		t.Errorf("state after the loss: %s", states[0].Payload)
	}
	if n := len(rec.On("nvrguard/gw1/devices/"+d2.ID)) - recBefore; n != 1 {
		t.Errorf("d2's record published %d times, want once", n)
	}
}
