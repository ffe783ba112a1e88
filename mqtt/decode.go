package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// UpdateKind says what an Update carries.
type UpdateKind int

// The kinds of update Watch delivers.
const (
	UpdateStatus     UpdateKind = iota + 1 // Status: "online" or "offline"
	UpdateState                            // State: the summary
	UpdateDevice                           // Device: a device record
	UpdateDeviceGone                       // DeviceID: the record was cleared
	UpdateEvent                            // Event: an event
	UpdateSettled                          // the retained messages have arrived (Watch only)
)

// Update is one decoded message of a gateway. Strings in it came from the
// network: print them through identity.Clean.
type Update struct {
	Kind     UpdateKind
	Gateway  string // a valid id
	DeviceID string // a valid id, for device updates
	Retained bool   // delivered from the broker's retained store
	Status   string
	State    *Summary
	Device   *identity.Device
	Event    *EventMessage
}

// Payload limits of the decoder.
const (
	maxStatePayload  = 64 << 10
	maxDevicePayload = 1 << 20
)

// ErrNotFinding is returned by DecodeMessage for a topic under the prefix
// that carries no finding (commands, Home Assistant, unknown levels).
var ErrNotFinding = errors.New("not a finding")

// DecodeMessage decodes one message received under prefix: the topic must
// be <prefix>/<gateway>/status|state|events|devices/<id> with topic-safe
// ids, and the payload what DESIGN.md says for it. Anything else is an
// error; nothing is guessed.
func DecodeMessage(prefix, topic string, payload []byte, retained bool) (Update, error) {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	if !ok {
		return Update{}, fmt.Errorf("topic is not under %s/", prefix)
	}
	gw, rest, _ := strings.Cut(rest, "/")
	if !ValidID(gw) {
		return Update{}, fmt.Errorf("gateway level %q is not a topic-safe id", trunc(gw))
	}
	u := Update{Gateway: gw, Retained: retained}
	switch {
	case rest == "status":
		u.Kind = UpdateStatus
		switch s := string(payload); s {
		case "online", "offline":
			u.Status = s
		default:
			return Update{}, fmt.Errorf("%s/status: payload %q is neither online nor offline", gw, trunc(s))
		}
	case rest == "state":
		u.Kind = UpdateState
		if len(payload) > maxStatePayload {
			return Update{}, fmt.Errorf("%s/state: payload of %d bytes is too large", gw, len(payload))
		}
		var s Summary
		if err := decodeJSON(payload, &s); err != nil {
			return Update{}, fmt.Errorf("%s/state: %w", gw, err)
		}
		u.State = &s
	case rest == "events":
		u.Kind = UpdateEvent
		if len(payload) > maxDevicePayload {
			return Update{}, fmt.Errorf("%s/events: payload of %d bytes is too large", gw, len(payload))
		}
		var e EventMessage
		if err := decodeJSON(payload, &e); err != nil {
			return Update{}, fmt.Errorf("%s/events: %w", gw, err)
		}
		if !validEvent(e.Type) {
			return Update{}, fmt.Errorf("%s/events: unknown event type %q", gw, trunc(string(e.Type)))
		}
		if e.Seq == 0 {
			return Update{}, fmt.Errorf("%s/events: event without seq", gw)
		}
		if !ValidID(e.Device.ID) {
			return Update{}, fmt.Errorf("%s/events: device id %q is not topic-safe", gw, trunc(e.Device.ID))
		}
		u.Event, u.DeviceID = &e, e.Device.ID
	case strings.HasPrefix(rest, "devices/"):
		id := rest[len("devices/"):]
		if !ValidID(id) {
			return Update{}, fmt.Errorf("%s: device level %q is not a topic-safe id", gw, trunc(id))
		}
		u.DeviceID = id
		if len(payload) == 0 {
			u.Kind = UpdateDeviceGone
			return u, nil
		}
		if len(payload) > maxDevicePayload {
			return Update{}, fmt.Errorf("%s/devices/%s: payload of %d bytes is too large", gw, id, len(payload))
		}
		var d identity.Device
		if err := decodeJSON(payload, &d); err != nil {
			return Update{}, fmt.Errorf("%s/devices/%s: %w", gw, id, err)
		}
		if d.ID != id {
			return Update{}, fmt.Errorf("%s/devices/%s: record has id %q", gw, id, trunc(d.ID))
		}
		u.Kind, u.Device = UpdateDevice, &d
	default:
		return Update{}, ErrNotFinding
	}
	return u, nil
}

// decodeJSON decodes exactly one JSON object.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// trunc shortens a network string quoted in an error.
func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
