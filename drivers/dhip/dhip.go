// Package dhip speaks Dahua's DHIP discovery on UDP 37810: the
// DHDiscover.search request that Dahua's ConfigTool sends to the multicast
// group 239.255.255.251 and to broadcast, and the client.notifyDevInfo
// JSON each Dahua-platform device (Dahua and its OEM brands) sends back.
//
// The package only builds the request and parses replies into
// identity.Identity values; it never classifies.
//
// Parse accepts four renderings of a reply (see Parse) and records these
// facts, in this order, with the values as the device sent them (values
// made only of '*', redacted by whoever published a capture, are skipped):
//
//   - identity.FieldProtocol "dhip-notifydevinfo": the protocol tell, emitted
//     for every client.notifyDevInfo reply (this is the only tell the
//     package emits);
//   - identity.FieldModel from DeviceType (kept even when it is only a class
//     word such as "HCVR");
//   - identity.FieldDeviceClass from DeviceClass;
//   - identity.FieldSerial from SerialNo;
//   - identity.FieldVendor from Vendor;
//   - identity.FieldManufacturer from Manufacturer;
//   - identity.FieldFirmware from Version;
//   - identity.FieldName from MachineName;
//   - identity.FieldMAC from the top-level mac, normalised (also set as
//     Identity.MAC).
//
// Identity.Addr is IPv4Address.IPAddress when it parses as an IPv4 address.
package dhip

import (
	"encoding/binary"
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Port is the UDP port DHIP requests are sent to.
const Port = 37810

// MaxSize is the largest input Parse accepts, in bytes.
const MaxSize = 64 << 10

// TellNotifyDevInfo is the protocol tell recorded for a client.notifyDevInfo
// reply.
const TellNotifyDevInfo = "dhip-notifydevinfo"

// headerLen is the length of the DHIP header that Probe writes.
const headerLen = 32

// magic is the DHIP magic in wire order (44 48 49 50).
var magic = []byte("DHIP")

// searchBody is ConfigTool's byte-exact request body, trailing LF included.
const searchBody = `{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }` + "\n"

// Group returns the DHIP multicast group, 239.255.255.251.
func Group() netip.Addr {
	return netip.AddrFrom4([4]byte{239, 255, 255, 251})
}

// Probe returns the DHDiscover.search request datagram exactly as Dahua's
// ConfigTool sends it: a 32-byte header of little-endian uint32 fields
// (header length 0x20, the magic "DHIP", session 0, request id 0, body
// length, 0, body length, 0) followed by the 73-byte JSON body.
func Probe() []byte {
	b := make([]byte, headerLen, headerLen+len(searchBody))
	binary.LittleEndian.PutUint32(b[0:], headerLen)
	copy(b[4:8], magic)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(searchBody)))
	binary.LittleEndian.PutUint32(b[24:], uint32(len(searchBody)))
	return append(b, searchBody...)
}

// Spec describes DHIP to the discovery engine: Probe sent to the group and
// broadcast on Port every round.
//
// Its Parse accepts only the datagram forms (a DHIP frame or a bare JSON
// body, not the text renderings Parse also reads). It takes the datagram's
// source address as Identity.Addr, since DHIP replies cross subnets; an
// IPv4Address.IPAddress the reply reports that differs is kept as a
// discovery.FieldReportedIP fact (see discovery.SenderAddr).
func Spec() discovery.Spec {
	return discovery.Spec{
		Name:      identity.SourceDHIP,
		Port:      Port,
		Groups:    []netip.Addr{Group()},
		Broadcast: true,
		Probes:    func() [][]byte { return [][]byte{Probe()} },
		Parse:     discovery.SenderAddr(parseDatagram),
	}
}

// parseDatagram is parse without the renderings that are not datagrams.
func parseDatagram(b []byte) ([]identity.Identity, error) {
	return parse(b, false)
}
