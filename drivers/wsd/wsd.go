// Package wsd speaks ONVIF WS-Discovery (SOAP over UDP 3702, multicast
// 239.255.255.250): it builds Probe messages and parses ProbeMatches and
// Hello envelopes into identities (source "wsd"). It records facts only;
// the policy classifies.
//
// Facts: "protocol" (the tells below); "uuid" (EndpointReference Address);
// "types" (one per Types QName); "scope" (every scope URI, percent-decoded);
// from the onvif:// scopes, "name" (name/), "model" (hardware/) and "mac"
// (MAC/, normalised; it also sets Identity.MAC); "url" (every XAddr);
// "metadata-version"; "uuid-mac" (the MAC a v1-style endpoint UUID ends with,
// when there is no MAC scope; Identity.MAC is left alone); "xml-style" and
// "xmlns" (the envelope fingerprint and declared namespaces, as in
// drivers/onvif).
//
// Protocol tells (field "protocol"): "wsd-probematch", "wsd-hello".
package wsd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/onvif"
)

// Port is the WS-Discovery UDP port.
const Port = 3702

// Fact fields of this package beyond the identity.Field* ones.
const (
	FieldTypes           = "types"
	FieldUUIDMAC         = "uuid-mac"
	FieldMetadataVersion = "metadata-version"
)

// ErrNotReply is returned for WS-Discovery messages that do not describe a
// device: a Probe or Resolve (someone's query), a Bye, a ResolveMatches.
var ErrNotReply = discovery.NotReply("wsd: not a ProbeMatches or Hello (a query or a Bye)")

// Group returns the IPv4 WS-Discovery multicast group, 239.255.255.250.
func Group() netip.Addr {
	return netip.AddrFrom4([4]byte{239, 255, 255, 250})
}

// NewMessageID returns a fresh random (version 4) UUID in "uuid:..." form.
func NewMessageID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+).
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return "uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Spec describes WS-Discovery to the discovery engine: both probes with
// fresh message ids each round, sent to the multicast group only.
func Spec() discovery.Spec {
	return discovery.Spec{
		Name:   identity.SourceWSD,
		Port:   Port,
		Groups: []netip.Addr{Group()},
		Probes: func() [][]byte {
			return [][]byte{Probe(NewMessageID()), ProbeDevice(NewMessageID())}
		},
		Parse: parseFrom,
	}
}

// parseFrom is Parse with the UDP source as every identity's address: the
// XAddrs a device advertises may name another network (or 0.0.0.0), and
// the gateway only ever probes hosts that answered it. An advertised
// address that differs is kept as a discovery.FieldReportedIP fact.
var parseFrom = discovery.SenderAddr(Parse)

// Parse turns a ProbeMatches envelope (one identity per ProbeMatch) or a
// Hello envelope into identities. It returns ErrNotReply for a Probe, Bye,
// Resolve or ResolveMatches, and another error for anything that is not
// WS-Discovery. Element names are matched on their local names, whatever
// the prefixes. Addr is the host of the first IPv4 XAddr that is neither
// 0.0.0.0 nor link-local, else of the first link-local one.
func Parse(b []byte) ([]identity.Identity, error) {
	env, err := onvif.ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("wsd: %w", err)
	}
	msg := env.Body.First()
	var (
		matches []*onvif.Element
		tell    string
	)
	switch {
	case msg == nil:
		return nil, errors.New("wsd: empty SOAP Body")
	case msg.Local == "ProbeMatches":
		matches, tell = msg.All("ProbeMatch"), "wsd-probematch"
		if len(matches) == 0 {
			return nil, errors.New("wsd: ProbeMatches without a ProbeMatch")
		}
	case msg.Local == "Hello":
		matches, tell = []*onvif.Element{msg}, "wsd-hello"
	case msg.Local == "Probe" || msg.Local == "Bye" || msg.Local == "Resolve" || msg.Local == "ResolveMatches":
		return nil, ErrNotReply
	default:
		return nil, errors.New("wsd: not a WS-Discovery message")
	}
	ids := make([]identity.Identity, 0, len(matches))
	for _, m := range matches {
		ids = append(ids, matchIdentity(m, tell, env))
	}
	return ids, nil
}

// matchIdentity records the facts of one ProbeMatch or Hello.
func matchIdentity(m *onvif.Element, tell string, env *onvif.Envelope) identity.Identity {
	id := identity.Identity{Source: identity.SourceWSD}
	id.Add(identity.FieldProtocol, tell)
	endpoint := m.Path("EndpointReference", "Address").Value()
	id.Add(identity.FieldUUID, endpoint)
	for _, t := range strings.Fields(m.Child("Types").Value()) {
		id.Add(FieldTypes, t)
	}
	for _, s := range strings.Fields(m.Child("Scopes").Value()) {
		addScope(&id, s)
	}
	var linkLocal netip.Addr
	for _, x := range strings.Fields(m.Child("XAddrs").Value()) {
		id.Add(identity.FieldURL, x)
		a := hostIPv4(x)
		switch {
		case !a.IsValid() || a.IsUnspecified() || id.Addr.IsValid():
		case a.IsLinkLocalUnicast():
			if !linkLocal.IsValid() {
				linkLocal = a
			}
		default:
			id.Addr = a
		}
	}
	if !id.Addr.IsValid() {
		id.Addr = linkLocal
	}
	id.Add(FieldMetadataVersion, m.Child("MetadataVersion").Value())
	if id.MAC == "" {
		id.Add(FieldUUIDMAC, uuidMAC(endpoint))
	}
	env.AddFacts(&id)
	return id
}

// scopePrefix starts every scope of the ONVIF scope conventions.
const scopePrefix = "onvif://www.onvif.org/"

// addScope records one scope URI and what its ONVIF category says.
func addScope(id *identity.Identity, s string) {
	id.Add(identity.FieldScope, unescape(s))
	if len(s) < len(scopePrefix) || !strings.EqualFold(s[:len(scopePrefix)], scopePrefix) {
		return
	}
	category, value, _ := strings.Cut(s[len(scopePrefix):], "/")
	value = unescape(value)
	switch strings.ToLower(category) {
	case "name":
		id.Add(identity.FieldName, value)
	case "hardware":
		id.Add(identity.FieldModel, value)
	case "mac":
		if mac := identity.NormalizeMAC(value); mac != "" && id.MAC == "" {
			id.MAC = mac
			id.Add(identity.FieldMAC, mac)
		}
	}
}

// unescape percent-decodes s, or returns it as is when it is not valid
// percent-encoding.
func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// hostIPv4 returns the IPv4 address a URL's host names, or the zero Addr.
func hostIPv4(raw string) netip.Addr {
	u, err := url.Parse(raw)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || !a.Unmap().Is4() {
		return netip.Addr{}
	}
	return a.Unmap()
}

// uuidMAC returns the MAC address that a version-1-style UUID
// ("urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d") ends with, or "" when
// the UUID is random (version 4) or its node is not a globally administered
// unicast MAC.
func uuidMAC(s string) string {
	for _, p := range []string{"urn:uuid:", "uuid:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
			break
		}
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' || s[14] == '4' {
		return ""
	}
	if _, err := hex.DecodeString(strings.ReplaceAll(s, "-", "")); err != nil {
		return ""
	}
	mac := identity.NormalizeMAC(s[24:])
	if mac == "" {
		return ""
	}
	b, _ := hex.DecodeString(mac[:2])
	if b[0]&0x03 != 0 { // locally administered or group address
		return ""
	}
	return mac
}
