package onvif

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func TestParseGolden(t *testing.T) {
	identitytest.GoldenFiles(t, Parse, "onvif-caps-001.xml", "onvif-devinfo-lorex.xml")
}

// TestParseFacts pins the facts the policy depends on, independently of the
// golden files.
func TestParseFacts(t *testing.T) {
	caps := identitytest.ReadFile(t, "onvif-caps-001.xml")
	info := identitytest.ReadFile(t, "onvif-devinfo-lorex.xml")
	tests := []struct {
		name string
		in   []byte
		addr string
		want []identity.Fact
	}{
		{"capabilities", caps, "192.168.1.123", []identity.Fact{
			{Field: "protocol", Value: "onvif-capabilities"},
			{Field: "url", Value: "http://192.168.1.123/onvif/device_service"},
			{Field: "url", Value: "http://192.168.1.123/onvif/deviceIO_service"},
			{Field: "xml-style", Value: "standalone-yes"},
			{Field: "xml-style", Value: "soap-encoding-sc"},
			{Field: "xml-style", Value: "envelope-prefix:s"},
			{Field: "xmlns", Value: "http://www.onvif.org/ver10/schema"},
		}},
		{"device information", info, "", []identity.Fact{
			{Field: "protocol", Value: "onvif-deviceinfo"},
			{Field: "manufacturer", Value: "LOREX"},
			{Field: "model", Value: "LNB8973B"},
			{Field: "firmware", Value: "2.460.0001.5.R, Build Date 2017-08-11"},
			{Field: "serial", Value: "ND021808019141"},
			{Field: "hardware-id", Value: "1.00"},
			{Field: "xml-style", Value: "envelope-prefix:s"},
		}},
		{"soap 1.1, default namespace, no extras", []byte(`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>` +
			`<GetDeviceInformationResponse xmlns="http://www.onvif.org/ver10/device/wsdl"><Manufacturer> Acme &amp; Co </Manufacturer>` +
			`</GetDeviceInformationResponse></Body></Envelope>`), "", []identity.Fact{
			{Field: "protocol", Value: "onvif-deviceinfo"},
			{Field: "manufacturer", Value: "Acme & Co"},
			{Field: "xml-style", Value: "envelope-no-prefix"},
			{Field: "xmlns", Value: "http://schemas.xmlsoap.org/soap/envelope/"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := Parse(tc.in)
			id := identitytest.One(t, ids, err)
			if id.Source != identity.SourceONVIF {
				t.Errorf("Source = %q", id.Source)
			}
			if got := identitytest.Addr(id.Addr); got != tc.addr {
				t.Errorf("Addr = %q, want %q", got, tc.addr)
			}
			identitytest.HasFacts(t, id, tc.want...)
		})
	}
}

func TestParseErrors(t *testing.T) {
	caps := identitytest.ReadFile(t, "onvif-caps-001.xml")
	tests := []struct {
		name string
		in   []byte
		want string // a substring of the error
	}{
		{"empty", nil, "onvif: empty input"},
		{"whitespace", []byte(" \r\n\t"), "onvif: empty input"},
		{"truncated", caps[:len(caps)/2], "onvif: truncated XML"},
		{"truncated in a tag", caps[:200], "onvif: truncated XML"},
		{"wsd probe", wsdProbe(), "onvif: not a GetDeviceInformation or GetCapabilities response"},
		{"request", GetDeviceInformationRequest(), "onvif: not a GetDeviceInformation or GetCapabilities response"},
		{"html", []byte("<!DOCTYPE html>\n<html><head><title>NVR</title></head><body></body></html>"), "onvif: DTD"},
		{"xhtml", []byte("<html><head><title>NVR</title></head><body><p>x</p></body></html>"), "onvif: not a SOAP envelope"},
		{"json", []byte(`{"Manufacturer":"Dahua"}`), "onvif: not XML"},
		{"binary", []byte{0x20, 0x00, 0x00, 0x01, 0xff, 0xfe, 0x44, 0x48, 0x49, 0x50}, "onvif: not UTF-8"},
		{"binary utf-8", []byte("\x01\x02DHIP\x00\x00"), "onvif: not XML"},
		{"too large", append(bytes.Repeat([]byte(" "), MaxSize), caps...), "onvif: input too large"},
		{"latin-1 bytes", []byte("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>\xe9</s:Body></s:Envelope>"), "onvif: not UTF-8"},
		{"other encoding", []byte(`<?xml version="1.0" encoding="GB2312"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`), "onvif: malformed XML"},
		{"billion laughs", []byte(billionLaughs), "onvif: DTD"},
		{"undeclared entity", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol9;</s:Body></s:Envelope>`), "onvif: malformed XML"},
		{"deep", []byte(strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000)), "onvif: XML nested too deep"},
		{"wide", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` + strings.Repeat("<a/>", 5000) + `</s:Body></s:Envelope>`), "onvif: too many XML elements"},
		{"ssdp m-search", []byte("M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n"), "onvif: not XML"},
		{"mismatched end", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body></s:Bodi></s:Envelope>`), "onvif: malformed XML: mismatched end tag"},
		{"two roots", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope><x/>`), "onvif: malformed XML: content after the root element"},
		{"text after root", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>junk`), "onvif: not XML: text outside the root element"},
		{"unbound envelope prefix", []byte(`<s:Envelope><s:Body/></s:Envelope>`), "onvif: not a SOAP envelope"},
		{"no body", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/></s:Envelope>`), "onvif: SOAP envelope without a Body"},
		{"empty body", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body> </s:Body></s:Envelope>`), "onvif: empty SOAP Body"},
		{"capabilities without Capabilities", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetCapabilitiesResponse/></s:Body></s:Envelope>`), "onvif: GetCapabilitiesResponse without Capabilities"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := Parse(tc.in)
			identitytest.CheckError(t, "onvif: ", ids, err, tc.want)
		})
	}
}

func TestParseFault(t *testing.T) {
	long := strings.Repeat("ter:Very\x01Long", 20)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"soap 1.2 not authorized", `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error">` +
			`<env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code>` +
			`<env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`,
			"onvif: SOAP fault: env:Sender/ter:NotAuthorized"},
		{"soap 1.1", `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>` +
			`<faultcode>SOAP-ENV:Client</faultcode><faultstring>bad</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
			"onvif: SOAP fault: SOAP-ENV:Client"},
		{"no code", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault/></s:Body></s:Envelope>`,
			"onvif: SOAP fault: (no code)"},
		{"long code is cleaned and cut", `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>` +
			strings.ReplaceAll(long, "\x01", "&#x9;") + `</s:Value></s:Code></s:Fault></s:Body></s:Envelope>`,
			"onvif: SOAP fault: " + identity.Clean(strings.ReplaceAll(long, "\x01", " "))[:80]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var fe *FaultError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v, want a *FaultError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	tests := []struct {
		name string
		req  []byte
		body string
	}{
		{"GetDeviceInformation", GetDeviceInformationRequest(), "GetDeviceInformation"},
		{"GetCapabilities", GetCapabilitiesRequest(), "GetCapabilities"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope(tc.req)
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			op := env.Body.First()
			if op.Local != tc.body || op.Space != "http://www.onvif.org/ver10/device/wsdl" {
				t.Errorf("body element = {%s}%s", op.Space, op.Local)
			}
			if env.Header != nil || bytes.Contains(tc.req, []byte("Security")) {
				t.Error("request carries a header or credentials")
			}
		})
	}
}

// wsdProbe returns a WS-Discovery Probe envelope, a SOAP message that is
// not a device-service response.
func wsdProbe() []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?><Envelope xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">uuid:1</wsa:MessageID></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>dn:NetworkVideoTransmitter</Types><Scopes /></Probe></Body></Envelope>`)
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Manufacturer>&lol9;</Manufacturer></s:Body></s:Envelope>`
