// Package wsdtest simulates WS-Discovery devices for tests: a
// discoverytest.Handler that answers Probe envelopes with a captured reply.
package wsdtest

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"regexp"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
	"github.com/nvrguard/nvrguard/drivers/onvif"
)

// relatesTo finds the text of the first RelatesTo element, whatever its
// prefix.
var relatesTo = regexp.MustCompile(`<(?:[A-Za-z_][-.\w]*:)?RelatesTo(?:\s[^>]*)?>([^<]*)</`)

// Handler returns a handler that answers every WS-Discovery Probe envelope
// (of any Types) with reply, its RelatesTo text (if it has one) replaced by
// the probe's MessageID, as a device does. Other datagrams get no answer.
func Handler(reply []byte) discoverytest.Handler {
	return func(req []byte, _ netip.AddrPort) [][]byte {
		env, err := onvif.ParseEnvelope(req)
		if err != nil {
			return nil
		}
		if probe := env.Body.First(); probe == nil || probe.Local != "Probe" {
			return nil
		}
		out := append([]byte(nil), reply...)
		msgID := env.Header.Child("MessageID").Value()
		if m := relatesTo.FindSubmatchIndex(out); m != nil && msgID != "" {
			var id bytes.Buffer
			_ = xml.EscapeText(&id, []byte(msgID)) // writes to a bytes.Buffer cannot fail
			out = append(out[:m[2]:m[2]], append(id.Bytes(), out[m[3]:]...)...)
		}
		return [][]byte{out}
	}
}
