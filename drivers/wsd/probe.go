package wsd

import (
	"bytes"
	"encoding/xml"
)

// Probe returns a WS-Discovery Probe for dn:NetworkVideoTransmitter with the
// given message id (a "uuid:..." string, see NewMessageID), in the shape of
// PROTOCOLS.md 3.1.
func Probe(msgID string) []byte {
	return probe(msgID, `xmlns:dn="http://www.onvif.org/ver10/network/wsdl"`, "dn:NetworkVideoTransmitter")
}

// ProbeDevice returns a WS-Discovery Probe for tds:Device with the given
// message id.
func ProbeDevice(msgID string) []byte {
	return probe(msgID, `xmlns:tds="http://www.onvif.org/ver10/device/wsdl"`, "tds:Device")
}

// probe builds a typed Probe; msgID is escaped, the other arguments are
// constants of this package.
func probe(msgID, typesNS, types string) []byte {
	const wsa = `xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"`
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<Envelope ` + typesNS + ` xmlns="http://www.w3.org/2003/05/soap-envelope">`)
	b.WriteString(`<Header><wsa:MessageID ` + wsa + `>`)
	_ = xml.EscapeText(&b, []byte(msgID)) // writes to a bytes.Buffer cannot fail
	b.WriteString(`</wsa:MessageID>`)
	b.WriteString(`<wsa:To ` + wsa + `>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>`)
	b.WriteString(`<wsa:Action ` + wsa + `>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>`)
	b.WriteString(`</Header><Body>`)
	b.WriteString(`<Probe xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery">`)
	b.WriteString(`<Types>` + types + `</Types><Scopes /></Probe></Body></Envelope>`)
	return b.Bytes()
}
