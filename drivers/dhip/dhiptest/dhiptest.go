// Package dhiptest simulates a Dahua DHIP device for tests: a discoverytest
// Handler that answers DHDiscover.search requests with a framed
// client.notifyDevInfo reply.
package dhiptest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
)

// headerLen is the length of the DHIP header Frame writes.
const headerLen = 32

// Frame returns body framed as a device frames its reply: a 32-byte header
// of little-endian uint32 fields (header length 0x20, the magic "DHIP" in
// wire order, session 0, request id 0, payload length, 0, payload length,
// 0), then body, then "\n\x00". The payload length counts body and that
// two-byte tail.
func Frame(body []byte) []byte {
	n := len(body) + 2
	b := make([]byte, headerLen, headerLen+n)
	binary.LittleEndian.PutUint32(b[0:], headerLen)
	copy(b[4:8], "DHIP")
	binary.LittleEndian.PutUint32(b[16:], uint32(n))
	binary.LittleEndian.PutUint32(b[24:], uint32(n))
	b = append(b, body...)
	return append(b, '\n', 0)
}

// Handler returns a handler that answers each framed DHDiscover.search
// request (header length field 0x20, the magic "DHIP" in wire order, a JSON
// body whose method is DHDiscover.search) with Frame(replyJSON). Every
// other datagram, including a reply looping back on the group, is ignored.
func Handler(replyJSON []byte) discoverytest.Handler {
	reply := Frame(replyJSON)
	return func(req []byte, _ netip.AddrPort) [][]byte {
		if !isSearch(req) {
			return nil
		}
		return [][]byte{bytes.Clone(reply)}
	}
}

// isSearch reports whether req is a framed DHDiscover.search request.
func isSearch(req []byte) bool {
	if len(req) <= headerLen || binary.LittleEndian.Uint32(req) != headerLen || string(req[4:8]) != "DHIP" {
		return false
	}
	var body struct {
		Method string `json:"method"`
	}
	if err := json.Unmarshal(bytes.TrimRight(req[headerLen:], "\x00 \t\r\n"), &body); err != nil {
		return false
	}
	return body.Method == "DHDiscover.search"
}
