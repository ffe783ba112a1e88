package wsd

import (
	"bytes"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func TestParseGolden(t *testing.T) {
	identitytest.GoldenFiles(t, Parse, "wsd-001.xml", "wsd-003.xml", "wsd-004.xml")
}

// TestParseFacts pins, sample by sample, the values the policy relies on.
func TestParseFacts(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		addr    string
		mac     string
		want    []identity.Fact
		wantNot []string // fields that must be absent
	}{
		{"hikvision probematch", identitytest.ReadFile(t, "wsd-001.xml"), "192.168.0.218", "", []identity.Fact{
			{Field: "protocol", Value: "wsd-probematch"},
			{Field: "uuid", Value: "urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d"},
			{Field: "types", Value: "tds:Device"},
			{Field: "scope", Value: "onvif://www.onvif.org/name/HIKVISION DS-2CD3955FWD-IWS"},
			{Field: "scope", Value: "onvif://www.onvif.org/location/city/hangzhou"},
			{Field: "name", Value: "HIKVISION DS-2CD3955FWD-IWS"},
			{Field: "model", Value: "DS-2CD3955FWD-IWS"},
			{Field: "url", Value: "http://[fe80::b6a3:82ff:fe0f:d92d]/onvif/device_service"},
			{Field: "metadata-version", Value: "10"},
			{Field: "uuid-mac", Value: "b4:a3:82:0f:d9:2d"},
			{Field: "xmlns", Value: "http://www.hikvision.com/2011/event/topics"},
			{Field: "xml-style", Value: "envelope-prefix:env"},
		}, []string{"mac"}},
		{"axis probematch", identitytest.ReadFile(t, "wsd-003.xml"), "192.168.0.90", "", []identity.Fact{
			{Field: "name", Value: "AXIS M2036-LE"},
			{Field: "model", Value: "M2036-LE"},
			{Field: "scope", Value: "onvif://www.onvif.org/location/"},
			{Field: "url", Value: "https://169.254.209.66/onvif/device_service"},
			{Field: "xml-style", Value: "envelope-prefix:SOAP-ENV"},
		}, []string{"uuid-mac", "mac"}}, // a v4 UUID
		{"dahua hello", identitytest.ReadFile(t, "wsd-004.xml"), "192.168.1.45", "", []identity.Fact{
			{Field: "protocol", Value: "wsd-hello"},
			{Field: "name", Value: "Dahua"},
			{Field: "model", Value: "IPC-HFW2228M-I1-V2"},
			{Field: "xml-style", Value: "standalone-yes"},
			{Field: "xml-style", Value: "soap-encoding-sc"},
			{Field: "xml-style", Value: "envelope-prefix:s"},
		}, []string{"uuid-mac", "mac"}},
		{"MAC scope, 0.0.0.0 and link-local XAddrs", []byte(matchWith(
			"onvif://www.onvif.org/MAC/58:50:ed:1f:e3:85 onvif://www.onvif.org/Name/HIKVISION%20DS-2CD2385G1-I onvif://www.onvif.org/hardware/DS-2CD2385G1-I",
			"http://0.0.0.0:8080/onvif/device_service http://169.254.1.2/onvif/device_service",
			"urn:uuid:aa85c000-6324-11b3-819e-5850ed1fe385")), "169.254.1.2", "58:50:ed:1f:e3:85", []identity.Fact{
			{Field: "mac", Value: "58:50:ed:1f:e3:85"},
			{Field: "name", Value: "HIKVISION DS-2CD2385G1-I"},
			{Field: "url", Value: "http://0.0.0.0:8080/onvif/device_service"},
		}, []string{"uuid-mac"}},
		{"hostname XAddr, bad escapes, bad MAC scope", []byte(matchWith(
			"onvif://www.onvif.org/name/100%ZZ onvif://www.onvif.org/MAC/nope http://example.com/x%20y",
			"http://cam.local/onvif/device_service",
			"uuid:0000")), "", "", []identity.Fact{
			{Field: "name", Value: "100%ZZ"},
			{Field: "scope", Value: "onvif://www.onvif.org/MAC/nope"},
			{Field: "scope", Value: "http://example.com/x y"},
		}, []string{"mac", "uuid-mac", "model"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := Parse(tc.in)
			id := identitytest.One(t, ids, err)
			if id.Source != identity.SourceWSD {
				t.Errorf("Source = %q", id.Source)
			}
			if got := identitytest.Addr(id.Addr); got != tc.addr {
				t.Errorf("Addr = %q, want %q", got, tc.addr)
			}
			if id.MAC != tc.mac {
				t.Errorf("MAC = %q, want %q", id.MAC, tc.mac)
			}
			identitytest.HasFacts(t, id, tc.want...)
			for _, field := range tc.wantNot {
				if v := id.Get(field); v != "" {
					t.Errorf("unexpected %s fact %q", field, v)
				}
			}
		})
	}
}

func TestParseSeveralMatches(t *testing.T) {
	two := strings.Replace(matchWith("onvif://www.onvif.org/name/A", "http://10.0.0.1/", "uuid:a"),
		"</d:ProbeMatches>", `<d:ProbeMatch><d:Scopes>onvif://www.onvif.org/name/B</d:Scopes><d:XAddrs>http://10.0.0.2/</d:XAddrs></d:ProbeMatch></d:ProbeMatches>`, 1)
	ids, err := Parse([]byte(two))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0].Get("name") != "A" || ids[1].Get("name") != "B" || identitytest.Addr(ids[1].Addr) != "10.0.0.2" {
		t.Errorf("got %+v", ids)
	}
}

func TestParseErrors(t *testing.T) {
	hik := identitytest.ReadFile(t, "wsd-001.xml")
	identitytest.RunErrors(t, "wsd: ", Parse, ErrNotReply, identitytest.ErrorCases{
		{"empty", nil, "wsd: empty input", false},
		{"truncated", hik[:len(hik)-40], "wsd: truncated XML", false},
		{"truncated in a tag", hik[:len(hik)-5], "wsd: truncated XML", false},
		{"our own probe", Probe(NewMessageID()), "wsd: not a ProbeMatches or Hello", true},
		{"device probe", ProbeDevice("uuid:x"), "", true},
		{"bye", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Body><d:Bye><d:Types>x</d:Types></d:Bye></s:Body></s:Envelope>`), "", true},
		{"resolve", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Resolve/></s:Body></s:Envelope>`), "", true},
		{"empty probematches", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><ProbeMatches/></s:Body></s:Envelope>`), "wsd: ProbeMatches without a ProbeMatch", false},
		{"other soap", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetDeviceInformationResponse/></s:Body></s:Envelope>`), "wsd: not a WS-Discovery message", false},
		{"empty body", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`), "wsd: empty SOAP Body", false},
		{"html", []byte("<html><body><h1>It works</h1></body></html>"), "wsd: not a SOAP envelope", false},
		{"json", []byte(`{"method":"client.notifyDevInfo"}`), "wsd: not XML", false},
		{"binary", []byte{0x00, 0x80, 0xff, 0x13, 0x37}, "wsd: not UTF-8", false},
		{"too large", append(hik, bytes.Repeat([]byte(" "), 64<<10)...), "wsd: input too large", false},
		{"non-utf-8 scope", bytes.Replace(hik, []byte("hangzhou"), []byte("hangzh\xf6u"), 1), "wsd: not UTF-8", false},
		{"billion laughs", []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Hello><Scopes>&lol2;</Scopes></Hello></s:Body></s:Envelope>`), "wsd: DTD", false},
		{"deep", []byte(strings.Repeat("<x>", 100) + strings.Repeat("</x>", 100)), "wsd: XML nested too deep", false},
		{"ssdp m-search", []byte("M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n"), "wsd: not XML", false},
		{"sadp xml", []byte(`<?xml version="1.0" encoding="utf-8"?><ProbeMatch><Uuid>x</Uuid><Types>inquiry</Types></ProbeMatch>`), "wsd: not a SOAP envelope", false},
	})
}

func TestUUIDMAC(t *testing.T) {
	tests := []struct{ in, want string }{
		{"urn:uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92d", "b4:a3:82:0f:d9:2d"},
		{"URN:UUID:aa85c000-6324-11b3-819e-5850ED1FE385", "58:50:ed:1f:e3:85"},
		{"uuid:2419d68a-2dd2-21b2-a205-ec3dac000001", "ec:3d:ac:00:00:01"},
		{"18ec6401-3aa0-11b5-83f6-b4a3820fd92d", "b4:a3:82:0f:d9:2d"},
		{"urn:uuid:e83a0086-3fdc-4d87-b8c4-83c0a16ad9f4", ""}, // version 4
		{"uuid:503b687a-b9d7-474f-a2d0-a18c8b25a464", ""},     // version 4
		{"uuid:18ec6401-3aa0-11b5-83f6-b6a3820fd92d", ""},     // locally administered
		{"uuid:18ec6401-3aa0-11b5-83f6-b5a3820fd92d", ""},     // group address
		{"uuid:18ec6401-3aa0-11b5-83f6-000000000000", ""},
		{"uuid:18ec6401-3aa0-11b5-83f6-b4a3820fd92", ""},
		{"uuid:18ec6401x3aa0-11b5-83f6-b4a3820fd92d", ""},
		{"uuid:18ec640g-3aa0-11b5-83f6-b4a3820fd92d", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := uuidMAC(tc.in); got != tc.want {
			t.Errorf("uuidMAC(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The NVT probe must be the verbatim message of PROTOCOLS.md 3.1.
const verbatimProbe = `<?xml version="1.0" encoding="utf-8"?><Envelope xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">uuid:{UUID}</wsa:MessageID><wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header><Body><Probe xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>dn:NetworkVideoTransmitter</Types><Scopes /></Probe></Body></Envelope>`

func TestProbes(t *testing.T) {
	if got := string(Probe("uuid:{UUID}")); got != verbatimProbe {
		t.Errorf("Probe differs from PROTOCOLS.md 3.1:\n got %s\nwant %s", got, verbatimProbe)
	}
	dev := string(ProbeDevice("uuid:{UUID}"))
	wantDev := strings.NewReplacer(`xmlns:dn="http://www.onvif.org/ver10/network/wsdl"`, `xmlns:tds="http://www.onvif.org/ver10/device/wsdl"`,
		"dn:NetworkVideoTransmitter", "tds:Device").Replace(verbatimProbe)
	if dev != wantDev {
		t.Errorf("ProbeDevice:\n got %s\nwant %s", dev, wantDev)
	}
	if got := string(Probe(`uuid:<&>`)); !strings.Contains(got, "uuid:&lt;&amp;&gt;</wsa:MessageID>") {
		t.Errorf("message id not escaped: %s", got)
	}
}

func TestNewMessageID(t *testing.T) {
	re := regexp.MustCompile(`^uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewMessageID(), NewMessageID()
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("NewMessageID = %q, %q", a, b)
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "wsd" || s.Port != 3702 || s.Broadcast || len(s.Groups) != 1 || s.Groups[0] != netip.MustParseAddr("239.255.255.250") {
		t.Errorf("Spec = %+v", s)
	}
	p1, p2 := s.Probes(), s.Probes()
	if len(p1) != 2 || bytes.Equal(p1[0], p2[0]) {
		t.Error("probes do not carry fresh message ids")
	}
	if !bytes.Contains(p1[0], []byte("dn:NetworkVideoTransmitter")) || !bytes.Contains(p1[1], []byte("<Types>tds:Device</Types>")) {
		t.Error("probes are not the NVT and Device probes")
	}
	from := netip.MustParseAddrPort("192.168.7.9:3702")
	// The sender is the device's address; an advertised one that differs
	// is kept as a fact, never probed.
	tests := []struct {
		name, xaddrs, want, reported string
	}{
		{"sender wins over XAddr", "http://192.168.0.218/onvif/device_service", "192.168.7.9", "192.168.0.218"},
		{"same address", "http://192.168.7.9/onvif/device_service", "192.168.7.9", ""},
		{"0.0.0.0", "http://0.0.0.0:8080/onvif/device_service", "192.168.7.9", ""},
		{"link-local", "http://169.254.9.9/onvif/device_service", "192.168.7.9", "169.254.9.9"},
		{"IPv6 only", "http://[fe80::1]/onvif/device_service", "192.168.7.9", ""},
		{"missing", "", "192.168.7.9", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := s.Parse(from, []byte(matchWith("onvif://www.onvif.org/name/X", tc.xaddrs, "uuid:x")))
			if err != nil {
				t.Fatal(err)
			}
			if got := identitytest.Addr(ids[0].Addr); got != tc.want {
				t.Errorf("Addr = %q, want %q", got, tc.want)
			}
			if got := ids[0].Get(discovery.FieldReportedIP); got != tc.reported {
				t.Errorf("reported-ip = %q, want %q", got, tc.reported)
			}
		})
	}
	if _, err := s.Parse(from, Probe("uuid:x")); !errors.Is(err, ErrNotReply) {
		t.Errorf("Spec.Parse(probe) = %v", err)
	}
}

// matchWith returns a ProbeMatches envelope with the given scopes, XAddrs
// and endpoint address.
func matchWith(scopes, xaddrs, endpoint string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" ` +
		`xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">` +
		`<SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>` + endpoint + `</wsa:Address></wsa:EndpointReference>` +
		`<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>` + scopes + `</d:Scopes><d:XAddrs>` + xaddrs + `</d:XAddrs>` +
		`<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>`
}
