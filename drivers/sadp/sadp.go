// Package sadp speaks Hikvision's Search Active Devices Protocol in its XML
// form: an inquiry Probe sent to UDP 37020 (multicast 239.255.255.250 and
// broadcast) and the ProbeMatch each device sends back.
//
// The package only builds the inquiry probe and parses replies into
// identity.Identity values; it never classifies and never builds any other
// message Type (the others, such as "update", are write operations).
//
// Parse records these facts, in this order, with the values as the device
// sent them:
//
//   - identity.FieldProtocol "sadp-probematch": the protocol tell, emitted
//     for every well-formed ProbeMatch that carries at least one SADP device
//     field (this is the only tell the package emits);
//   - identity.FieldModel from DeviceDescription;
//   - identity.FieldSerial from DeviceSN;
//   - identity.FieldMAC from MAC, normalised to "aa:bb:cc:dd:ee:ff" (also
//     set as Identity.MAC); a MAC that does not normalise is dropped;
//   - identity.FieldFirmware from SoftwareVersion, then from DSPVersion;
//   - FieldDeviceType from DeviceType (a numeric product code, not a model);
//   - FieldOEMCode from OEMInfo, then from DetailOEMCode.
//
// Identity.Addr is the reply's IPv4Address when it parses as an IPv4
// address. The Uuid element (an echo of the probe) is not recorded.
package sadp

import (
	"crypto/rand"
	"fmt"
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/discovery"
)

// Port is the UDP port SADP probes are sent to.
const Port = 37020

// MaxSize is the largest reply Parse accepts, in bytes.
const MaxSize = 64 << 10

// Fact field names this package adds to the identity.Field* set.
const (
	// FieldDeviceType holds the numeric DeviceType product code.
	FieldDeviceType = "device-type"
	// FieldOEMCode holds the OEMInfo and DetailOEMCode values.
	FieldOEMCode = "oem-code"
	// FieldReportedIP holds the IPv4Address a reply reported when it
	// differs from the address the datagram came from (added by Spec).
	FieldReportedIP = discovery.FieldReportedIP
)

// TellProbeMatch is the protocol tell recorded for a well-formed ProbeMatch.
const TellProbeMatch = "sadp-probematch"

// fallbackUUID replaces a probe UUID that is not made of hex digits and
// dashes. It spells "NVRGUARD" in hex.
const fallbackUUID = "4E565247-5541-5244-8000-000000000001"

// Group returns the SADP multicast group, 239.255.255.250.
func Group() netip.Addr {
	return netip.AddrFrom4([4]byte{239, 255, 255, 250})
}

// Probe returns the inquiry probe datagram carrying uuid. A uuid that is
// empty, longer than 64 bytes or not made only of hex digits and dashes is
// replaced by a fixed safe one.
func Probe(uuid string) []byte {
	if !validUUID(uuid) {
		uuid = fallbackUUID
	}
	return []byte(`<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>` + uuid + `</Uuid><Types>inquiry</Types></Probe>`)
}

// NewUUID returns a random (version 4) UUID in the upper-case GUID form the
// SADP tool uses, e.g. "8282F1DB-2FA6-4709-B261-3C6B6A48CA17".
func NewUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never returns an error.
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// validUUID reports whether s is a non-empty string of at most 64 hex
// digits and dashes.
func validUUID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '-':
		default:
			return false
		}
	}
	return true
}
