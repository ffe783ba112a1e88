package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// EventType is the "type" of an event message.
type EventType = identity.EventType

// The event types of DESIGN.md.
const (
	DeviceFound    = identity.DeviceFound
	DeviceLost     = identity.DeviceLost
	VerdictChanged = identity.VerdictChanged
)

func validEvent(t EventType) bool {
	return t == DeviceFound || t == DeviceLost || t == VerdictChanged
}

// EventMessage is the payload of <base>/events. Seq increases by one for
// every event a gateway ever produced, across restarts; a subscriber
// drops a message whose seq it has already seen (QoS 1 may deliver twice).
type EventMessage struct {
	Seq    uint64          `json:"seq"`
	Type   EventType       `json:"type"`
	Time   time.Time       `json:"time"`
	Device identity.Device `json:"device"`
}

// State is what the daemon reports in <base>/state beyond what the client
// knows itself (the device counts and the outbox).
type State struct {
	LastScan      time.Time // end of the last complete sweep; zero before the first
	PolicyVersion string
	LED           string // the LED pattern's name, e.g. "fast-blink"
	Acknowledged  bool   // the alarm was acknowledged (cmd/ack)
	// Sources is each source's health, by source name ("sadp", "usb",
	// "serial:/dev/ttyUSB0", "nvr:192.168.1.20").
	Sources map[string]SourceHealth
}

func (s State) equal(o State) bool {
	return s.LastScan.Equal(o.LastScan) && s.PolicyVersion == o.PolicyVersion && s.LED == o.LED &&
		s.Acknowledged == o.Acknowledged && maps.EqualFunc(s.Sources, o.Sources, SourceHealth.equal)
}

func (h SourceHealth) equal(o SourceHealth) bool {
	same := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	return h.Status == o.Status && h.Error == o.Error && same(h.LastRun, o.LastRun) && same(h.LastOK, o.LastOK) && same(h.RetryAt, o.RetryAt)
}

// SourceHealth is one source's health in the state summary: "ok", or why
// not and when it is tried again.
type SourceHealth struct {
	Status  string     `json:"status"`          // "ok", "error", "waiting" (not run yet)
	Error   string     `json:"error,omitempty"` // why not, one line
	LastRun *time.Time `json:"last_run,omitempty"`
	LastOK  *time.Time `json:"last_ok,omitempty"`
	RetryAt *time.Time `json:"retry_at,omitempty"` // when it is tried again, after an error
}

// Counts are the devices per verdict.
type Counts struct {
	Restricted int `json:"restricted"`
	Suspect    int `json:"suspect"`
	Clear      int `json:"clear"`
	Unknown    int `json:"unknown"`
}

func (c *Counts) add(v identity.Verdict, n int) {
	switch v {
	case identity.Restricted:
		c.Restricted += n
	case identity.Suspect:
		c.Suspect += n
	case identity.Clear:
		c.Clear += n
	default:
		c.Unknown += n
	}
}

// OutboxState is the outbox part of the state summary (and of Health).
type OutboxState struct {
	Queued int `json:"queued"` // events written to the outbox, waiting for the broker
	// Dropped counts events dropped because the outbox was full, ever;
	// DroppedRestricted those of them about restricted devices (dropped
	// only when nothing of lower priority was left); LastDrop is the last
	// drop since the start.
	Dropped           uint64    `json:"dropped"`
	DroppedRestricted uint64    `json:"dropped_restricted"`
	LastDrop          time.Time `json:"last_drop,omitzero"`
	// Held counts events that could not be written (disk full or failing)
	// and wait in memory; they are written and published once writes
	// succeed again, and lost if the daemon stops first.
	Held int `json:"held"`
	// WriteError is why the last outbox write failed, since
	// WriteErrorSince; "" once a write succeeds again. DiskFull says the
	// disk (or quota) is full. WriteErrors counts failed writes, ever.
	WriteError      string    `json:"write_error,omitempty"`
	WriteErrorSince time.Time `json:"write_error_since,omitzero"`
	DiskFull        bool      `json:"disk_full"`
	WriteErrors     uint64    `json:"write_errors"`
	// Damaged counts damaged outbox records (and sequence files) found at
	// starts, ever: the events in them are lost.
	Damaged uint64 `json:"damaged"`
}

// Summary is the payload of <base>/state.
type Summary struct {
	Gateway       string      `json:"gateway"`
	Counts        Counts      `json:"counts"`
	Devices       int         `json:"devices"`
	LastScan      *time.Time  `json:"last_scan"` // null before the first sweep
	PolicyVersion string      `json:"policy_version"`
	LED           string      `json:"led"`
	Acknowledged  bool        `json:"acknowledged"`
	Outbox        OutboxState `json:"outbox"`
	// Sources is each source's health (DESIGN.md: "sources").
	Sources map[string]SourceHealth `json:"sources"`
	Time    time.Time               `json:"time"`
}

// marshal encodes v as compact JSON without HTML escaping. Device strings
// stay data: encoding/json escapes control characters and invalid UTF-8.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// CommandName names a command topic.
type CommandName string

// The commands of DESIGN.md.
const (
	CmdScan CommandName = "scan" // rescan now
	CmdAck  CommandName = "ack"  // acknowledge the alarm
)

// Command is one command received on <base>/cmd/<name>.
type Command struct {
	Name CommandName
	// RequestID and By are optional: who asked, for the log.
	RequestID string
	By        string
	Received  time.Time
}

// MaxCommandPayload is the largest command payload accepted.
const MaxCommandPayload = 4096

// commandBody is the optional JSON object a command payload may hold.
type commandBody struct {
	RequestID string `json:"request_id"`
	By        string `json:"by"`
}

// ParseCommand parses the payload of a command: empty (or only white
// space), or a JSON object with the optional string fields "request_id"
// and "by" (each at most 64 bytes of UTF-8). Anything else is an error
// saying what is wrong, in one line.
func ParseCommand(name CommandName, payload []byte) (Command, error) {
	if name != CmdScan && name != CmdAck {
		return Command{}, fmt.Errorf("unknown command %q", name)
	}
	cmd := Command{Name: name}
	if len(payload) > MaxCommandPayload {
		return cmd, fmt.Errorf("command %s: payload of %d bytes is over %d", name, len(payload), MaxCommandPayload)
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		return cmd, nil
	}
	if !utf8.Valid(payload) {
		return cmd, fmt.Errorf("command %s: payload is not UTF-8", name)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var body commandBody
	if err := dec.Decode(&body); err != nil {
		return cmd, fmt.Errorf("command %s: payload must be empty or a JSON object with request_id and by: %w", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return cmd, fmt.Errorf("command %s: data after the JSON object", name)
	}
	for _, f := range []struct{ name, v string }{{"request_id", body.RequestID}, {"by", body.By}} {
		if len(f.v) > 64 {
			return cmd, fmt.Errorf("command %s: %s is longer than 64 bytes", name, f.name)
		}
	}
	cmd.RequestID, cmd.By = identity.Clean(body.RequestID), identity.Clean(body.By)
	return cmd, nil
}
