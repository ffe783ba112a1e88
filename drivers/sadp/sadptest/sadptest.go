// Package sadptest simulates a SADP device for tests: a discoverytest
// Handler that answers SADP inquiry probes with a captured ProbeMatch.
package sadptest

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
)

// Handler returns a handler that answers each well-formed SADP inquiry
// probe (root Probe, Types "inquiry", a Uuid of hex digits and dashes)
// with reply, in which the content of the first <Uuid> element is replaced
// by the probe's Uuid; a reply without a Uuid element is sent as is. Every
// other datagram, including a ProbeMatch looping back on the group, is
// ignored.
func Handler(reply []byte) discoverytest.Handler {
	reply = bytes.Clone(reply)
	return func(req []byte, _ netip.AddrPort) [][]byte {
		uuid, ok := inquiryUUID(req)
		if !ok {
			return nil
		}
		return [][]byte{withUUID(reply, uuid)}
	}
}

// inquiryUUID returns the Uuid of an inquiry probe.
func inquiryUUID(req []byte) (string, bool) {
	var p struct {
		XMLName xml.Name
		Uuid    string
		Types   string
	}
	if err := xml.Unmarshal(req, &p); err != nil || p.XMLName.Local != "Probe" {
		return "", false
	}
	uuid := strings.TrimSpace(p.Uuid)
	if strings.TrimSpace(p.Types) != "inquiry" || uuid == "" || len(uuid) > 64 {
		return "", false
	}
	for _, c := range uuid {
		if !strings.ContainsRune("0123456789abcdefABCDEF-", c) {
			return "", false
		}
	}
	return uuid, true
}

// withUUID returns a copy of reply with the content of its first <Uuid>
// element replaced by uuid.
func withUUID(reply []byte, uuid string) []byte {
	const open, end = "<Uuid>", "</Uuid>"
	i := bytes.Index(reply, []byte(open))
	if i < 0 {
		return bytes.Clone(reply)
	}
	start := i + len(open)
	j := bytes.Index(reply[start:], []byte(end))
	if j < 0 {
		return bytes.Clone(reply)
	}
	out := make([]byte, 0, len(reply)+len(uuid))
	out = append(out, reply[:start]...)
	out = append(out, uuid...)
	return append(out, reply[start+j:]...)
}
