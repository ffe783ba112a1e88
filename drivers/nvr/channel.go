package nvr

import (
	"net/netip"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Fact fields this package records beyond the identity.Field* names.
const (
	// FieldChannelName is the channel's title on the recorder (set by the
	// operator or copied from the camera's name); not a maker claim.
	FieldChannelName = "channel-name"
	// FieldDeviceType is a Dahua DeviceType (or ISAPI model) that is a
	// token rather than a model ("8004", "IPC", "IPCamera").
	FieldDeviceType = "device-type"
	// FieldChannelState is the recorder's raw liveness word for the
	// channel (ISAPI chanDetectResult, Dahua connectionState).
	FieldChannelState = "channel-state"
	// FieldHost is a channel address that is a host name, not an IP.
	FieldHost = "host"
)

// Protocol tells recorded under identity.FieldProtocol on channels.
const (
	TellHikvisionSDKChannel = "hikvision-sdk-channel"
	TellDahuaPrivateChannel = "dahua-private-channel"
)

// Liveness is what the recorder says of a channel's connection.
type Liveness int8

// The liveness values: unknown (no status, or a status word this package
// does not know) is never taken for offline.
const (
	LiveUnknown Liveness = iota
	LiveOnline
	LiveOffline
)

// String returns "unknown", "online" or "offline".
func (l Liveness) String() string {
	switch l {
	case LiveOnline:
		return "online"
	case LiveOffline:
		return "offline"
	}
	return "unknown"
}

// Channel is one IP channel of a recorder: its number (1-based, as the
// recorder numbers it; 0 when the recorder gave none), the identity of the
// camera behind it as the recorder reports it, and its liveness.
type Channel struct {
	Number   int
	Protocol string // how the recorder reaches the camera: "HIKVISION", "ONVIF", "Private", ...
	Identity identity.Identity
	Online   Liveness
	State    string // the raw liveness word, cleaned; "" when none
}

// ChannelStatus is one channel's liveness from a status list.
type ChannelStatus struct {
	Number int
	Online Liveness
	State  string
}

// channelBuilder collects one channel's facts in a fixed order.
type channelBuilder struct {
	ch Channel
}

func newChannel(number int, protocol string) *channelBuilder {
	protocol = identity.Clean(protocol)
	b := &channelBuilder{ch: Channel{Number: number, Protocol: protocol}}
	b.ch.Identity = identity.Identity{Source: identity.SourceNVR}
	b.ch.Identity.Via = &identity.Via{Channel: number, Protocol: protocol}
	return b
}

// address records a channel's address: an IP as Addr, a host name as a
// fact. Unspecified and placeholder addresses are dropped.
func (b *channelBuilder) address(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap().WithZone("")
		if !a.IsUnspecified() && !isGhost(a) {
			b.ch.Identity.Addr = a
		}
		return
	}
	if p, err := netip.ParsePrefix(s); err == nil { // "192.168.254.2/24"
		b.address(p.Addr().String())
		return
	}
	b.ch.Identity.Add(FieldHost, s)
}

// isGhost reports Dahua's empty-slot placeholder address.
func isGhost(a netip.Addr) bool { return a == netip.AddrFrom4([4]byte{192, 168, 0, 0}) }

func (b *channelBuilder) mac(s string) {
	if m := identity.NormalizeMAC(s); m != "" {
		b.ch.Identity.MAC = m
		b.ch.Identity.Add(identity.FieldMAC, m)
	}
}

// model records s as the model unless it is a token that names no model,
// which is kept as FieldDeviceType.
func (b *channelBuilder) model(s string) {
	s = identity.Clean(s)
	if s == "" {
		return
	}
	if isModelToken(s) {
		b.ch.Identity.Add(FieldDeviceType, s)
		return
	}
	b.ch.Identity.Add(identity.FieldModel, s)
}

// serial records s unless it carries no identity at all (only zeros and
// separators): a placeholder, not a serial.
func (b *channelBuilder) serial(s string) {
	s = identity.Clean(s)
	if strings.Trim(s, "0-_ .:") == "" {
		return
	}
	b.ch.Identity.Add(identity.FieldSerial, s)
}

func (b *channelBuilder) add(field, v string) { b.ch.Identity.Add(field, v) }

func (b *channelBuilder) done() Channel { return b.ch }

// modelTokens are DeviceType/model values that name a kind of device, not
// a model (seen: "8004", "IPC", "IPCamera"; NVR.md 1.2, 2.1).
var modelTokens = map[string]bool{
	"ipc": true, "ipcamera": true, "ip camera": true, "camera": true, "ipcam": true, "nvr": true, "dvr": true,
	"general": true, "generic": true, "unknown": true, "onvif": true, "default": true, "other": true, "none": true,
	"null": true, "n/a": true, "-": true,
}

// isModelToken says whether s is not a model: a bare number, a short
// token, or one of modelTokens.
func isModelToken(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	if len(l) < 3 || modelTokens[l] {
		return true
	}
	return strings.Trim(l, "0123456789") == ""
}

// Identities returns the channels' identities, with Via.NVR set to nvr
// (the recorder's address; "" when unknown).
func Identities(nvr string, chans []Channel) []identity.Identity {
	out := make([]identity.Identity, 0, len(chans))
	for _, c := range chans {
		id := c.Identity
		if id.Via != nil {
			v := *id.Via
			v.NVR = nvr
			id.Via = &v
		}
		id.Facts = append([]identity.Fact(nil), id.Facts...)
		out = append(out, id)
	}
	return out
}

// join sets each channel's liveness from a status list (by number).
func join(chans []Channel, st []ChannelStatus) {
	by := map[int]ChannelStatus{}
	for _, s := range st {
		by[s.Number] = s
	}
	for i := range chans {
		s, ok := by[chans[i].Number]
		if !ok || chans[i].Number == 0 {
			continue
		}
		chans[i].Online = s.Online
		chans[i].State = s.State
		chans[i].Identity.Add(FieldChannelState, s.State)
	}
}
