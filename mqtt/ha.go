package mqtt

import (
	"maps"
	"slices"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// SupportURL is where Home Assistant's "origin" of the discovery messages
// points.
const SupportURL = "https://github.com/nvrguard/nvrguard"

// haDevice is the device registry entry of the gateway in Home Assistant.
type haDevice struct {
	Identifiers  []string    `json:"identifiers"`
	Connections  [][2]string `json:"connections,omitempty"`
	Name         string      `json:"name"`
	Manufacturer string      `json:"manufacturer"`
	Model        string      `json:"model,omitempty"`
	SWVersion    string      `json:"sw_version,omitempty"`
}

// haOrigin says which application published a discovery message (Home
// Assistant's "origin" mapping: name required, the rest optional).
type haOrigin struct {
	Name       string `json:"name"`
	SWVersion  string `json:"sw_version,omitempty"`
	SupportURL string `json:"support_url,omitempty"`
}

// haEntity is one discovery config payload. It sets default_entity_id
// (<component>.<object id>), which replaced the deprecated object_id in
// Home Assistant 2025.10; object_id is never sent.
type haEntity struct {
	Name                string    `json:"name"`
	UniqueID            string    `json:"unique_id"`
	DefaultEntityID     string    `json:"default_entity_id"`
	StateTopic          string    `json:"state_topic"`
	ValueTemplate       string    `json:"value_template"`
	JSONAttributesTopic string    `json:"json_attributes_topic,omitempty"`
	DeviceClass         string    `json:"device_class,omitempty"`
	StateClass          string    `json:"state_class,omitempty"`
	UnitOfMeasurement   string    `json:"unit_of_measurement,omitempty"`
	Icon                string    `json:"icon,omitempty"`
	AvailabilityTopic   string    `json:"availability_topic"`
	PayloadAvailable    string    `json:"payload_available"`
	PayloadNotAvailable string    `json:"payload_not_available"`
	Device              *haDevice `json:"device"`
	Origin              haOrigin  `json:"origin"`
}

// haEntitySlug makes an entity id's object part: lower-case letters,
// digits and '_' only (Home Assistant's entity id rule), from ids that
// are already [a-z0-9-].
func haEntitySlug(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// haGateway is the device entry and origin shared by every entity.
func haGateway(t topics, gateway string, gd GatewayDescription) (*haDevice, haOrigin) {
	dev := &haDevice{
		Identifiers:  []string{t.haNode},
		Name:         "nvrguard " + gateway,
		Manufacturer: "nvrguard",
		Model:        gd.Model,
		SWVersion:    gd.SWVersion,
	}
	if mac := identity.NormalizeMAC(gd.MAC); mac != "" {
		dev.Connections = [][2]string{{"mac", mac}}
	}
	return dev, haOrigin{Name: "nvrguard", SWVersion: gd.SWVersion, SupportURL: SupportURL}
}

// haEntityFor is an entity of the gateway's device: its unique id, its
// default entity id and its discovery topic all derive from the object
// id (topic-safe: [a-z0-9-]).
func haEntityFor(t topics, dev *haDevice, origin haOrigin, component, object, name, stateTopic, template string) (haEntity, string) {
	uid := t.haNode + "-" + object
	return haEntity{
		Name:                name,
		UniqueID:            uid,
		DefaultEntityID:     component + "." + haEntitySlug(uid),
		StateTopic:          stateTopic,
		ValueTemplate:       template,
		AvailabilityTopic:   t.status,
		PayloadAvailable:    "online",
		PayloadNotAvailable: "offline",
		Device:              dev,
		Origin:              origin,
	}, t.haConfig(component, object)
}

// haDiscovery builds the Home Assistant discovery messages of a gateway:
// a binary_sensor "restricted hardware present" and one sensor per
// verdict count, all reading <base>/state, available while <base>/status
// is online.
func haDiscovery(t topics, gateway string, gd GatewayDescription) ([]message, error) {
	dev, origin := haGateway(t, gateway, gd)
	present, topic := haEntityFor(t, dev, origin, "binary_sensor", "restricted-present", "Restricted hardware present", t.state,
		"{{ 'ON' if value_json.counts.restricted | int > 0 else 'OFF' }}")
	present.DeviceClass = "problem"
	var msgs []message
	add := func(e haEntity, topic string) error {
		p, err := marshal(e)
		if err != nil {
			return err
		}
		msgs = append(msgs, message{topic: topic, payload: p, kind: msgHA})
		return nil
	}
	if err := add(present, topic); err != nil {
		return nil, err
	}
	for _, v := range []identity.Verdict{identity.Restricted, identity.Suspect, identity.Clear, identity.Unknown} {
		e, topic := haEntityFor(t, dev, origin, "sensor", "count-"+string(v), "Devices "+string(v), t.state,
			"{{ value_json.counts."+string(v)+" }}")
		e.StateClass, e.UnitOfMeasurement, e.Icon = "measurement", "devices", "mdi:cctv"
		if err := add(e, topic); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// haDeviceObject is the object id of a restricted device's binary_sensor.
const haDeviceObject = "device-"

// haDeviceDiscovery builds the discovery message of one restricted
// device's binary_sensor (home_assistant.per_device): ON while its
// retained record says restricted, the record's fields as attributes.
// id is a SafeID; the name holds only the id, never a device string.
func haDeviceDiscovery(t topics, gateway string, gd GatewayDescription, id string) (message, error) {
	dev, origin := haGateway(t, gateway, gd)
	e, topic := haEntityFor(t, dev, origin, "binary_sensor", haDeviceObject+id, "Restricted device "+id, t.device(id),
		"{{ 'ON' if value_json.verdict == 'restricted' else 'OFF' }}")
	e.DeviceClass = "problem"
	e.JSONAttributesTopic = t.device(id)
	p, err := marshal(e)
	if err != nil {
		return message{}, err
	}
	return message{topic: topic, payload: p, kind: msgHADevice, id: id}, nil
}

// haDeviceRemoval clears a device's binary_sensor: an empty retained
// config removes the entity from Home Assistant.
func haDeviceRemoval(t topics, id string) message {
	return message{topic: t.haConfig("binary_sensor", haDeviceObject+id), kind: msgHADevice, id: id}
}

// takeHADevicesLocked appends the per-device discovery changes: a config
// for every restricted device not yet published (all of them when all is
// set, after a reconnect or Home Assistant's birth), a removal for every
// one published that is gone or no longer restricted, and, once Replace
// gave the full device set, for every one the broker retained that the
// client does not want. With per_device off, every one is removed. c.mu
// is held.
func (c *Client) takeHADevicesLocked(msgs []message, all bool) ([]message, error) {
	ha := c.cfg.HomeAssistant
	if !ha.Enabled {
		return msgs, nil
	}
	want := map[string]bool{}
	if ha.PerDevice {
		for id, d := range c.devices {
			if d.verdict == identity.Restricted {
				want[id] = true
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if c.haDevices[id] && !all {
			continue
		}
		m, err := haDeviceDiscovery(c.t, c.cfg.GatewayID, c.cfg.Gateway, id)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
		c.haDevices[id] = true
		delete(c.haOnBroker, id)
	}
	for _, id := range slices.Sorted(maps.Keys(c.haDevices)) {
		if !want[id] {
			msgs = append(msgs, haDeviceRemoval(c.t, id))
			delete(c.haDevices, id)
		}
	}
	if c.synced {
		for _, id := range slices.Sorted(maps.Keys(c.haOnBroker)) {
			if !want[id] {
				msgs = append(msgs, haDeviceRemoval(c.t, id))
			}
		}
		clear(c.haOnBroker)
	}
	return msgs, nil
}

// haDeviceID returns the device id of a per-device discovery config
// topic, or "" when topic is not one.
func (t topics) haDeviceID(topic string) string {
	pre := t.haConfigPrefix("binary_sensor") + haDeviceObject
	if !strings.HasPrefix(topic, pre) || !strings.HasSuffix(topic, "/config") {
		return ""
	}
	id := topic[len(pre) : len(topic)-len("/config")]
	if !ValidID(id) {
		return ""
	}
	return id
}
