package dhip

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// ErrNotReply is returned by Parse for a DHDiscover.search request (ours or
// another tool's, seen on the multicast group), not a device's reply. The
// discovery engine can drop it quietly.
var ErrNotReply = discovery.NotReply("dhip: a DHDiscover.search request, not a reply")

// maxHeader bounds the binary header before the JSON body of a frame.
const maxHeader = 256

const (
	methodNotify = "client.notifyDevInfo"
	methodSearch = "DHDiscover.search"
)

// Parse turns one DHIP reply into the identities it describes. It accepts:
//
//   - a raw reply datagram: a DHIP header (the magic "DHIP" in wire order,
//     usually 32 bytes; the JSON is found after it rather than at a fixed
//     offset) followed by the JSON body and a trailing "\n\x00";
//   - the JSON body alone;
//   - Ruby's pp rendering of the parsed JSON ("key"=>value), as published
//     in Metasploit modules;
//   - a Shadowserver scan_dvr_dhcpdiscover CSV report (a header row with a
//     method column): every client.notifyDevInfo row is one identity.
//
// The JSON must be a client.notifyDevInfo reply (a method-less object is
// accepted when it has a params.deviceInfo with DeviceType or SerialNo). A
// DHDiscover.search request returns ErrNotReply. A header whose magic is
// byte-swapped ("PIHD", the header written as a little-endian integer) is
// rejected: no device sends it. Anything else, and any malformed,
// truncated, non-UTF-8 or oversized input, is an error.
func Parse(b []byte) ([]identity.Identity, error) {
	return parse(b, true)
}

// parse parses b; text allows the renderings that are not datagrams (Ruby
// pp and CSV).
func parse(b []byte, text bool) ([]identity.Identity, error) {
	switch {
	case len(b) == 0:
		return nil, errors.New("dhip: empty input")
	case len(b) > MaxSize:
		return nil, fmt.Errorf("dhip: input too large (%d bytes, limit %d)", len(b), MaxSize)
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\ufeff")), " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '{':
		if text {
			if !utf8.Valid(t) {
				return nil, errors.New("dhip: JSON body is not UTF-8")
			}
			if conv, ok := rubyToJSON(t); ok {
				return parseBody(conv)
			}
		}
		return parseBody(t)
	case text && isCSV(t):
		return parseCSV(t)
	}
	body, err := unframe(b, text)
	if err != nil {
		return nil, err
	}
	return parseBody(body)
}

// unframe returns the JSON body of a DHIP frame.
func unframe(b []byte, text bool) ([]byte, error) {
	head := b[:min(len(b), maxHeader)]
	m := bytes.Index(head, magic)
	if m < 0 {
		switch {
		case bytes.Contains(head, []byte("PIHD")):
			return nil, errors.New(`dhip: byte-swapped magic "PIHD" (header written as a little-endian integer), not a DHIP frame`)
		case text:
			return nil, errors.New("dhip: not a DHIP reply (no DHIP header, JSON object or Shadowserver CSV)")
		default:
			return nil, errors.New("dhip: not a DHIP datagram (no DHIP header or JSON object)")
		}
	}
	start := -1
	if m >= 4 {
		// The header length field precedes the magic. Trust it when it
		// points at the body, since a length field may itself hold a '{'.
		if hl := binary.LittleEndian.Uint32(b[m-4:]); hl >= 8 && hl <= maxHeader {
			if at := m - 4 + int(hl); at < len(b) && b[at] == '{' {
				start = at
			}
		}
	}
	if start < 0 {
		start = jsonStart(b, m+len(magic))
	}
	if start < 0 {
		if len(b) > maxHeader {
			return nil, fmt.Errorf("dhip: no JSON body within %d bytes of the DHIP header", maxHeader)
		}
		return nil, errors.New("dhip: DHIP header without a JSON body (truncated)")
	}
	return b[start:], nil
}

// jsonStart returns the index of the first '{' at or after i and before
// maxHeader that opens a JSON object (is followed, after optional
// whitespace, by '"' or '}'), or -1.
func jsonStart(b []byte, i int) int {
	for ; i < len(b) && i < maxHeader; i++ {
		if b[i] != '{' {
			continue
		}
		rest := bytes.TrimLeft(b[i+1:], " \t\r\n")
		if len(rest) == 0 || rest[0] == '"' || rest[0] == '}' {
			return i
		}
	}
	return -1
}

// parseBody parses a JSON reply body, with or without its "\n\x00" tail.
func parseBody(body []byte) ([]identity.Identity, error) {
	body = bytes.TrimRight(body, "\x00 \t\r\n")
	if !utf8.Valid(body) {
		return nil, errors.New("dhip: JSON body is not UTF-8")
	}
	obj, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	id, err := fromJSON(obj)
	if err != nil {
		return nil, err
	}
	return []identity.Identity{id}, nil
}

// decodeObject decodes exactly one JSON object, keeping numbers as the
// device wrote them.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, errors.New("dhip: truncated JSON")
		case errors.As(err, &se):
			return nil, fmt.Errorf("dhip: malformed JSON at byte %d: %s", se.Offset, short(se.Error()))
		}
		return nil, fmt.Errorf("dhip: malformed JSON: %s", short(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("dhip: data after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("dhip: JSON is not an object")
	}
	return obj, nil
}

// fromJSON checks that obj is a client.notifyDevInfo reply and records its
// facts.
func fromJSON(obj map[string]any) (identity.Identity, error) {
	method, hasMethod := obj["method"]
	ms, _ := method.(string)
	switch {
	case ms == methodSearch:
		return identity.Identity{}, ErrNotReply
	case hasMethod && ms != methodNotify:
		return identity.Identity{}, errors.New("dhip: JSON method is not client.notifyDevInfo")
	}
	params, _ := obj["params"].(map[string]any)
	info, ok := params["deviceInfo"].(map[string]any)
	switch {
	case !ok && hasMethod:
		return identity.Identity{}, errors.New("dhip: client.notifyDevInfo without a params.deviceInfo object")
	case !ok:
		return identity.Identity{}, errors.New("dhip: JSON is not a DHIP reply (no method, no params.deviceInfo)")
	case !hasMethod && info["DeviceType"] == nil && info["SerialNo"] == nil:
		return identity.Identity{}, errors.New("dhip: params.deviceInfo has neither DeviceType nor SerialNo")
	}
	ipv4, _ := info["IPv4Address"].(map[string]any)
	return build(func(key string) string {
		switch key {
		case "mac":
			return scalar(obj["mac"])
		case "IPAddress":
			return scalar(ipv4["IPAddress"])
		}
		return scalar(info[key])
	}), nil
}

// build makes an identity from a lookup of the deviceInfo keys (plus "mac"
// and "IPAddress").
func build(get func(key string) string) identity.Identity {
	id := identity.Identity{Source: identity.SourceDHIP}
	id.Add(identity.FieldProtocol, TellNotifyDevInfo)
	for _, f := range [...]struct{ field, key string }{
		{identity.FieldModel, "DeviceType"},
		{identity.FieldDeviceClass, "DeviceClass"},
		{identity.FieldSerial, "SerialNo"},
		{identity.FieldVendor, "Vendor"},
		{identity.FieldManufacturer, "Manufacturer"},
		{identity.FieldFirmware, "Version"},
		{identity.FieldName, "MachineName"},
	} {
		if v := get(f.key); !redacted(v) {
			id.Add(f.field, v)
		}
	}
	if mac := identity.NormalizeMAC(get("mac")); mac != "" {
		id.MAC = mac
		id.Add(identity.FieldMAC, mac)
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(get("IPAddress"))); err == nil && a.Is4() && !a.IsUnspecified() {
		id.Addr = a
	}
	return id
}

// scalar returns a JSON string or number as text, and "" for anything else.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// redacted reports whether v is made only of '*' (a value blanked by whoever
// published the capture).
func redacted(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && strings.Trim(v, "*") == ""
}

// short cuts a message that may quote device bytes to a length fit for an
// error.
func short(s string) string {
	s = identity.Clean(s)
	if len(s) > 96 {
		s = strings.ToValidUTF8(s[:96], "") + "…"
	}
	return s
}
