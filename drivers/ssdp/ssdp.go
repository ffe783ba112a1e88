// Package ssdp speaks SSDP (M-SEARCH over UDP 1900, multicast
// 239.255.255.250) and reads UPnP device descriptions. It records facts
// only; the policy classifies.
//
// Facts of an SSDP answer (source "ssdp"): "protocol" (the tells below);
// "server" (SERVER); "url" (LOCATION); "st" (ST of a response, NT of a
// NOTIFY); "usn" (USN); "user-agent" (X-User-Agent); "uuid-mac" (the MAC
// that the USN's uuid ends with, Axis "Upnp-BasicDevice-1_0-ACCC8E270AD8"
// form or a version-1 UUID; Identity.MAC is left alone).
//
// Facts of a device description (source "upnp"): "protocol";
// "manufacturer" (of the root device, then of each embedded device); "url"
// (manufacturerURL, modelURL, presentationURL, URLBase); "model"
// (modelName); "model-number"; "model-description"; "name" (friendlyName);
// "serial" (serialNumber); "uuid" (UDN) and "uuid-mac"; "device-type";
// "server" (the Server header of the HTTP answer, FetchDescription only).
//
// Protocol tells (field "protocol"): "ssdp-response", "ssdp-notify",
// "upnp-description".
package ssdp

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Port is the SSDP UDP port.
const Port = 1900

// MaxSize is the largest SSDP datagram or description this package reads.
const MaxSize = 64 << 10

// Fact fields of this package beyond the identity.Field* ones.
const (
	FieldST               = "st"
	FieldUSN              = "usn"
	FieldUserAgent        = "user-agent"
	FieldUUIDMAC          = "uuid-mac"
	FieldModelNumber      = "model-number"
	FieldModelDescription = "model-description"
	FieldDeviceType       = "device-type"
)

// ErrNotReply is returned for SSDP messages that do not describe a device:
// an M-SEARCH request (someone's query) or an ssdp:byebye NOTIFY.
var ErrNotReply = discovery.NotReply("ssdp: not a reply (an M-SEARCH request or ssdp:byebye)")

// Group returns the IPv4 SSDP multicast group, 239.255.255.250.
func Group() netip.Addr {
	return netip.AddrFrom4([4]byte{239, 255, 255, 250})
}

// MSearch returns an M-SEARCH request in nmap's exact form for the search
// target st, with MX clamped to 1..5 seconds. It returns nil when st is
// empty or not printable ASCII (CR and LF included).
func MSearch(st string, mx int) []byte {
	if st == "" {
		return nil
	}
	for i := 0; i < len(st); i++ {
		if st[i] < 0x20 || st[i] > 0x7e {
			return nil
		}
	}
	mx = min(max(mx, 1), 5)
	return []byte("M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: " +
		strconv.Itoa(mx) + "\r\nST: " + st + "\r\n\r\n")
}

// Spec describes SSDP to the discovery engine: an ssdp:all and a
// Basic:1 device search, sent to the multicast group. Its identities carry
// the UDP sender as Addr.
func Spec() discovery.Spec {
	return discovery.Spec{
		Name:   identity.SourceSSDP,
		Port:   Port,
		Groups: []netip.Addr{Group()},
		// A host may run several UPnP root devices, each with its own
		// LOCATION (a NAS, a PC's media server and its router's gateway).
		MaxPerSender: 8,
		Probes: func() [][]byte {
			return [][]byte{MSearch("ssdp:all", 2), MSearch("urn:schemas-upnp-org:device:Basic:1", 2)}
		},
		Parse: parseFrom,
	}
}

// parseFrom is Parse with the UDP source as the identity's address, even
// when LOCATION names another host: the sender is what was observed, and it
// is the address FetchDescription checks LOCATION against.
func parseFrom(from netip.AddrPort, b []byte) ([]identity.Identity, error) {
	ids, err := Parse(b)
	if err != nil {
		return nil, err
	}
	for i := range ids {
		ids[i].Addr = from.Addr().Unmap()
	}
	return ids, nil
}

// Parse turns an M-SEARCH response ("HTTP/1.1 200 OK") or an ssdp:alive
// NOTIFY into one identity. It returns ErrNotReply for an M-SEARCH request
// or an ssdp:byebye, and another error for anything else. Header names are
// case-insensitive; lines may end in CRLF or LF. Addr is the LOCATION host
// when it is an IP address (Spec's parser uses the UDP sender instead).
func Parse(b []byte) ([]identity.Identity, error) {
	switch {
	case len(b) == 0:
		return nil, errors.New("ssdp: empty input")
	case len(b) > MaxSize:
		return nil, fmt.Errorf("ssdp: input too large (%d bytes, limit %d)", len(b), MaxSize)
	case !utf8.Valid(b):
		return nil, errors.New("ssdp: not UTF-8")
	}
	start, rest, _ := strings.Cut(string(b), "\n")
	start = strings.TrimSuffix(start, "\r")
	tell, err := startLine(start)
	if err != nil {
		return nil, err
	}
	h, err := headers(rest)
	if err != nil {
		return nil, err
	}
	target := "st"
	if tell == "ssdp-notify" {
		switch strings.ToLower(h["nts"]) {
		case "ssdp:byebye":
			return nil, ErrNotReply
		case "ssdp:alive", "ssdp:update":
		default:
			return nil, errors.New("ssdp: NOTIFY without an ssdp:alive NTS")
		}
		target = "nt"
	}
	if h[target] == "" || h["usn"] == "" {
		return nil, fmt.Errorf("ssdp: missing %s or USN header", strings.ToUpper(target))
	}
	id := identity.Identity{Source: identity.SourceSSDP}
	id.Add(identity.FieldProtocol, tell)
	id.Add(identity.FieldServer, h["server"])
	id.Add(identity.FieldURL, h["location"])
	id.Add(FieldST, h[target])
	id.Add(FieldUSN, h["usn"])
	id.Add(FieldUserAgent, h["x-user-agent"])
	usn, _, _ := strings.Cut(h["usn"], "::")
	id.Add(FieldUUIDMAC, uuidMAC(usn))
	id.Addr = hostAddr(h["location"])
	return []identity.Identity{id}, nil
}

// startLine returns the protocol tell of an SSDP start line, ErrNotReply
// for an M-SEARCH, or an error.
func startLine(line string) (string, error) {
	f := strings.Fields(line)
	switch {
	case len(f) >= 2 && (f[0] == "HTTP/1.1" || f[0] == "HTTP/1.0"):
		if f[1] != "200" {
			return "", errors.New("ssdp: response status is not 200")
		}
		return "ssdp-response", nil
	case len(f) == 3 && f[0] == "NOTIFY" && f[1] == "*" && strings.HasPrefix(f[2], "HTTP/1."):
		return "ssdp-notify", nil
	case len(f) == 3 && f[0] == "M-SEARCH" && f[1] == "*" && strings.HasPrefix(f[2], "HTTP/1."):
		return "", ErrNotReply
	}
	return "", errors.New("ssdp: not an SSDP message (no SSDP start line)")
}

// headers reads "Name: value" lines up to the first empty line; names are
// lower-cased and the first value of a repeated header wins.
func headers(s string) (map[string]string, error) {
	h := make(map[string]string)
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, errors.New("ssdp: malformed header line")
		}
		if _, dup := h[name]; !dup {
			h[name] = strings.TrimSpace(value)
		}
	}
	return h, nil
}

// hostAddr returns the IP address a URL's host names, or the zero Addr.
func hostAddr(raw string) netip.Addr {
	u, err := url.Parse(raw)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// uuidMAC returns the MAC address a UPnP uuid ends with: 12 hex digits after
// a separator ("uuid:Upnp-BasicDevice-1_0-ACCC8E270AD8", or the node of a
// version-1 UUID). It returns "" for random (version 4) UUIDs and for nodes
// that are not globally administered unicast MACs.
func uuidMAC(s string) string {
	if len(s) >= 5 && strings.EqualFold(s[:5], "uuid:") {
		s = s[5:]
	}
	if len(s) < 12 {
		return ""
	}
	if len(s) > 12 && !strings.ContainsRune("-_:", rune(s[len(s)-13])) {
		return ""
	}
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && s[14] == '4' {
		return ""
	}
	tail := s[len(s)-12:]
	if strings.Trim(tail, "0123456789abcdefABCDEF") != "" {
		return ""
	}
	mac := identity.NormalizeMAC(tail)
	if mac == "" {
		return ""
	}
	if first, err := strconv.ParseUint(mac[:2], 16, 8); err != nil || first&0x03 != 0 {
		return ""
	}
	return mac
}
