// Package identity holds the types every source, the policy and every sink
// share: an Identity is one observation of one device by one source, with
// its raw evidence; a Device is the merged record of DESIGN.md.
//
// Strings in these types come from devices. They are data: they never become
// an MQTT topic level, a file path, a shell argument or a format string.
package identity

import (
	"net"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Source names, as they appear in a device record's "sources" list and in
// each reason's "source".
const (
	SourceSADP    = "sadp"
	SourceDHIP    = "dhip"
	SourceWSD     = "wsd"
	SourceSSDP    = "ssdp"
	SourceUPnP    = "upnp"
	SourceONVIF   = "onvif"
	SourceHTTP    = "http"
	SourceRTSP    = "rtsp"
	SourceTLS     = "tls"
	SourceARP     = "arp"
	SourceOUI     = "oui"
	SourceConsole = "console"
	SourcePelco   = "pelco"
	SourceUSB     = "usb"
	SourceNVR     = "nvr" // a recorder's channel list (and the recorder's own identity)
	SourceMAC     = "mac" // a MAC address given by hand (classify --protocol mac)
)

// Fact field names. Parsers record what the device said under these names;
// the policy's rules match on (field, value). Values are kept as the device
// sent them (trimmed, capped), never interpreted by the parser.
const (
	FieldManufacturer = "manufacturer" // a maker name the device reports
	FieldVendor       = "vendor"       // a vendor/brand field (DHIP Vendor, magicBox vendor)
	FieldBrand        = "brand"        // a brand shown (ONVIF name scope first word, UPnP friendlyName)
	FieldName         = "name"         // a free-text device name (ONVIF name scope, friendlyName)
	FieldModel        = "model"
	FieldSerial       = "serial"
	FieldFirmware     = "firmware"
	FieldMAC          = "mac"
	FieldProtocol     = "protocol"    // a protocol-intrinsic tell, e.g. "sadp-probematch", "dhip-notifydevinfo"
	FieldServer       = "server"      // HTTP/RTSP/SSDP Server header
	FieldRealm        = "realm"       // WWW-Authenticate realm
	FieldTitle        = "title"       // HTML <title>
	FieldXMLNS        = "xmlns"       // an XML namespace URI declared by the device
	FieldXMLStyle     = "xml-style"   // a fingerprint of how the device writes XML/SOAP
	FieldScope        = "scope"       // one WS-Discovery scope URI (decoded)
	FieldSDP          = "sdp"         // one SDP line of note (a=…, s=…)
	FieldTLSSubject   = "tls-subject" // certificate subject, RFC 2253 style
	FieldTLSIssuer    = "tls-issuer"
	FieldTLSOrg       = "tls-org" // O= of the subject (or issuer when self-signed)
	FieldTLSCN        = "tls-cn"
	FieldUSBVendorID  = "usb-vid" // 4 lower-case hex digits
	FieldUSBProductID = "usb-pid"
	FieldText         = "text" // a line of console text
	FieldSoC          = "soc"  // a system-on-chip named by the device (e.g. hi3516ev300)
	FieldDeviceClass  = "device-class"
	FieldUUID         = "uuid"
	FieldURL          = "url" // a device-advertised URL (XAddrs, LOCATION)
)

// MaxValueLen caps every fact value: a hostile device cannot make us carry
// more than this per field.
const MaxValueLen = 256

// MaxFacts caps the facts of one identity.
const MaxFacts = 128

// Fact is one piece of raw evidence: what the device said in one field.
type Fact struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Identity is one observation of one device by one source.
// The JSON form is how the daemon keeps evidence in its state dir.
type Identity struct {
	Source string     `json:"source"`        // one of the Source* names
	Addr   netip.Addr `json:"addr,omitzero"` // the device's IP address, zero when unknown (serial, USB)
	// MAC is normalised "aa:bb:cc:dd:ee:ff", "" when unknown. From the
	// neighbour table (SourceARP) it is the link-layer MAC of Addr; from
	// any other source it is what the device reported about itself.
	MAC   string    `json:"mac,omitempty"`
	Facts []Fact    `json:"facts,omitempty"` // the evidence, in the order the device gave it
	Seen  time.Time `json:"seen,omitzero"`
	// Port names the attachment for serial and USB sources ("/dev/ttyUSB0", "1-1.2").
	Port string `json:"port,omitempty"`
	// Via is set on a device seen through another one (a camera in an
	// NVR's channel list); Via.NVR holds the recorder's address.
	Via *Via `json:"via,omitempty"`
}

// Add appends a fact after cleaning its value (trimmed, valid UTF-8, no
// control characters, at most MaxValueLen bytes). Empty values are dropped.
func (id *Identity) Add(field, value string) {
	v := Clean(value)
	if v == "" || len(id.Facts) >= MaxFacts {
		return
	}
	for _, f := range id.Facts {
		if f.Field == field && f.Value == v {
			return
		}
	}
	id.Facts = append(id.Facts, Fact{Field: field, Value: v})
}

// Get returns the first value of field, or "".
func (id *Identity) Get(field string) string {
	for _, f := range id.Facts {
		if f.Field == field {
			return f.Value
		}
	}
	return ""
}

// Clean makes a device string safe to carry: valid UTF-8, control
// characters replaced by spaces, runs of space collapsed, trimmed, and cut to
// MaxValueLen bytes on a rune boundary.
func Clean(s string) string {
	if len(s) > 4*MaxValueLen {
		s = s[:4*MaxValueLen]
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r == '\ufeff' { // a byte-order mark carries nothing
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > MaxValueLen {
		cut := MaxValueLen
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimRight(out[:cut], " ")
	}
	return out
}

// NormalizeMAC parses a MAC address written with ':', '-', '.' or no
// separators and returns it as "aa:bb:cc:dd:ee:ff". It returns "" for
// anything that is not a 48-bit MAC, and for the all-zero and broadcast
// addresses.
func NormalizeMAC(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 12 {
		var b strings.Builder
		for i := 0; i < 12; i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(s[i : i+2])
		}
		s = b.String()
	}
	s = strings.ReplaceAll(s, "-", ":")
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return ""
	}
	out := hw.String()
	if out == "00:00:00:00:00:00" || out == "ff:ff:ff:ff:ff:ff" {
		return ""
	}
	return out
}

// separators are what Placeholder ignores in an identifier (read-only).
var separators = strings.NewReplacer(":", "", "-", "", ".", "", " ", "", "_", "")

// Placeholder reports whether an identifier a device reported (a serial
// number, a MAC, a UUID) carries no identity: empty, too short, one
// character repeated ("00000000", "FFFFFFFF"), a counting run
// ("123456789") or a word such as "unknown". Cheap OEM firmware ships the
// same placeholder on every unit, so it never merges two devices nor names
// one.
func Placeholder(s string) bool {
	v := strings.ToLower(strings.TrimSpace(s))
	v = separators.Replace(v)
	if len(v) < 4 {
		return true
	}
	switch v {
	case "unknown", "none", "null", "nil", "default", "serial", "serialnumber", "notavailable", "na", "n/a",
		"tobefilledbyoem", "defaultstring", "unset", "empty":
		return true
	}
	same := true
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			same = false
			break
		}
	}
	if same {
		return true
	}
	return strings.Contains("01234567890123456789", v) || strings.Contains("abcdefghijklmnopqrstuvwxyz", v)
}
