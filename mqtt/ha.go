package mqtt

import (
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// haDevice is the device registry entry of the gateway in Home Assistant.
type haDevice struct {
	Identifiers  []string    `json:"identifiers"`
	Connections  [][2]string `json:"connections,omitempty"`
	Name         string      `json:"name"`
	Manufacturer string      `json:"manufacturer"`
	Model        string      `json:"model,omitempty"`
	SWVersion    string      `json:"sw_version,omitempty"`
}

// haEntity is one discovery config payload.
type haEntity struct {
	Name                string    `json:"name"`
	UniqueID            string    `json:"unique_id"`
	ObjectID            string    `json:"object_id"`
	StateTopic          string    `json:"state_topic"`
	ValueTemplate       string    `json:"value_template"`
	DeviceClass         string    `json:"device_class,omitempty"`
	StateClass          string    `json:"state_class,omitempty"`
	UnitOfMeasurement   string    `json:"unit_of_measurement,omitempty"`
	Icon                string    `json:"icon,omitempty"`
	AvailabilityTopic   string    `json:"availability_topic"`
	PayloadAvailable    string    `json:"payload_available"`
	PayloadNotAvailable string    `json:"payload_not_available"`
	Device              *haDevice `json:"device"`
}

// haDiscovery builds the Home Assistant discovery messages of a gateway:
// a binary_sensor "restricted hardware present" and one sensor per
// verdict count, all reading <base>/state, available while <base>/status
// is online.
func haDiscovery(t topics, gateway string, gd GatewayDescription) ([]message, error) {
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
	ent := func(name, object, template string) haEntity {
		return haEntity{
			Name:                name,
			UniqueID:            t.haNode + "-" + object,
			ObjectID:            t.haNode + "-" + object,
			StateTopic:          t.state,
			ValueTemplate:       template,
			AvailabilityTopic:   t.status,
			PayloadAvailable:    "online",
			PayloadNotAvailable: "offline",
			Device:              dev,
		}
	}
	present := ent("Restricted hardware present", "restricted-present",
		"{{ 'ON' if value_json.counts.restricted | int > 0 else 'OFF' }}")
	present.DeviceClass = "problem"
	out := []struct {
		component, object string
		e                 haEntity
	}{{"binary_sensor", "restricted-present", present}}
	for _, v := range []identity.Verdict{identity.Restricted, identity.Suspect, identity.Clear, identity.Unknown} {
		e := ent("Devices "+string(v), "count-"+string(v), "{{ value_json.counts."+string(v)+" }}")
		e.StateClass, e.UnitOfMeasurement, e.Icon = "measurement", "devices", "mdi:cctv"
		out = append(out, struct {
			component, object string
			e                 haEntity
		}{"sensor", "count-" + string(v), e})
	}
	var msgs []message
	for _, o := range out {
		p, err := marshal(o.e)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, message{topic: t.haPrefix + "/" + o.component + "/" + t.haNode + "/" + o.object + "/config", payload: p})
	}
	return msgs, nil
}
