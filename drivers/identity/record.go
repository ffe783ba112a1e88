package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Verdict is the policy's answer for one device.
type Verdict string

// The verdicts of DESIGN.md.
const (
	Restricted Verdict = "restricted"
	Suspect    Verdict = "suspect"
	Clear      Verdict = "clear"
	Unknown    Verdict = "unknown"
)

// Rank orders verdicts from most to least alarming (restricted first).
func (v Verdict) Rank() int {
	switch v {
	case Restricted:
		return 0
	case Suspect:
		return 1
	case Unknown:
		return 2
	case Clear:
		return 3
	}
	return 4
}

// Reason is one piece of evidence behind a verdict: which source, which
// field, which value, which policy rule.
type Reason struct {
	Source string `json:"source"`
	Field  string `json:"field"`
	Value  string `json:"value"`
	Rule   string `json:"rule"`
}

// Device is the device record of DESIGN.md: the same JSON shape in CLI
// output and MQTT payloads.
type Device struct {
	ID           string   `json:"id"`
	IP           string   `json:"ip,omitempty"`
	MAC          string   `json:"mac,omitempty"`
	Port         string   `json:"port,omitempty"`
	Manufacturer string   `json:"manufacturer,omitempty"`
	Brand        string   `json:"brand,omitempty"`
	Model        string   `json:"model,omitempty"`
	Serial       string   `json:"serial,omitempty"`
	Firmware     string   `json:"firmware,omitempty"`
	Sources      []string `json:"sources"`
	Verdict      Verdict  `json:"verdict"`
	Entity       string   `json:"entity,omitempty"`
	Reasons      []Reason `json:"reasons"`
	// Profile is the policy profile the verdict was reached under.
	Profile string `json:"profile,omitempty"`
	// ReportedMAC is a MAC the device reported about itself (SADP <MAC>,
	// a WS-Discovery MAC scope) when it differs from the link-layer MAC of
	// its address, which is MAC.
	ReportedMAC string `json:"reported_mac,omitempty"`
	// Via says how a device was reached through another one: a camera on
	// an NVR's PoE port, read from the recorder's channel list.
	Via       *Via      `json:"via,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Via is how a device was seen through another device (DESIGN.md, NVR
// channel list): the recorder, its channel number and the protocol the
// recorder uses to reach the camera.
type Via struct {
	// NVR is the id of the recorder's device record. On an Identity a
	// source fills in the recorder's address instead ("192.168.1.20"); the
	// inventory replaces it by the id of the record at that address.
	NVR      string `json:"nvr"`
	Channel  int    `json:"channel"`
	Protocol string `json:"protocol,omitempty"`
}

// maxIDLen bounds the id so that it stays a sane MQTT topic level.
const maxIDLen = 64

// MakeID builds a stable, topic-safe id ([a-z0-9-] only) from a kind prefix
// ("mac", "sn", "ip", "usb", "tty") and a device-supplied key. Every other
// character becomes '-', runs of '-' collapse, and the result is capped.
func MakeID(kind, key string) string {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteByte('-')
	dash := true
	for _, r := range strings.ToLower(key) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !ok {
			if !dash {
				b.WriteByte('-')
				dash = true
			}
			continue
		}
		if kind == "mac" && r == ':' {
			continue
		}
		b.WriteRune(r)
		dash = false
		if b.Len() >= maxIDLen {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// SerialID is the id of a device known by its serial number:
// "sn-ds2cd2143g0i20200414aawre33842150". The id keeps only [a-z0-9-], so
// two serials that differ only in what that drops ("AB/CD" and "ab cd")
// would meet; whenever the serial is not upper-case letters and digits
// alone, a short hash of it is appended, so that they never do.
func SerialID(serial string) string {
	id := MakeID("sn", serial)
	for _, r := range serial {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return id + "-" + ShortHash(serial)
		}
	}
	return id
}

// ShortHash is 8 hex digits of the SHA-256 of s: enough to tell apart the
// few keys that meet in one id, and topic-safe.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// MACID is the id of a device known by its MAC: "mac-bcad28123456".
func MACID(mac string) string {
	return "mac-" + strings.ReplaceAll(NormalizeMAC(mac), ":", "")
}

// EventType names a change of a device in a gateway's inventory: the
// "type" of an MQTT event (DESIGN.md).
type EventType string

// The changes a gateway reports.
const (
	DeviceFound    EventType = "device_found"
	DeviceLost     EventType = "device_lost"
	VerdictChanged EventType = "verdict_changed"
)
