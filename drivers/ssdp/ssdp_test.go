package ssdp

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func TestGolden(t *testing.T) {
	identitytest.GoldenFiles(t, Parse, "ssdp-001.txt")
	identitytest.GoldenFiles(t, ParseDescription, "upnp-desc-001.xml")
}

func TestParse(t *testing.T) {
	axis := identitytest.ReadFile(t, "ssdp-001.txt")
	tests := []struct {
		name string
		in   string
		addr string
		want []identity.Fact
	}{
		{"axis response", string(axis), "192.168.1.102", []identity.Fact{
			{Field: "protocol", Value: "ssdp-response"},
			{Field: "server", Value: "Linux/2.6.35, UPnP/1.0, Portable SDK for UPnP devices/1.6.18"},
			{Field: "url", Value: "http://192.168.1.102:45895/rootdesc1.xml"},
			{Field: "st", Value: "urn:axis-com:service:BasicService:1"},
			{Field: "user-agent", Value: "redsonic"},
			{Field: "uuid-mac", Value: "ac:cc:8e:27:0a:d8"},
		}},
		{"LF line ends, lower-case names", "HTTP/1.1 200 OK\n" + strings.ReplaceAll(strings.ToLower(string(axis[17:])), "\r\n", "\n"), "192.168.1.102", []identity.Fact{
			{Field: "st", Value: "urn:axis-com:service:basicservice:1"},
			{Field: "uuid-mac", Value: "ac:cc:8e:27:0a:d8"},
		}},
		{"notify alive", "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n" +
			"LOCATION: http://[fe80::1]:49152/desc.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n" +
			"SERVER: Linux/3.0 UPnP/1.0 IpBridge/1.0\r\nUSN: uuid:2f402f80-da50-11e1-9b23-001788102201::upnp:rootdevice\r\n\r\n",
			"fe80::1", []identity.Fact{
				{Field: "protocol", Value: "ssdp-notify"},
				{Field: "st", Value: "upnp:rootdevice"},
				{Field: "usn", Value: "uuid:2f402f80-da50-11e1-9b23-001788102201::upnp:rootdevice"},
				{Field: "uuid-mac", Value: "00:17:88:10:22:01"},
			}},
		{"hostname location, random uuid", "HTTP/1.1 200 OK\r\nLOCATION: http://nas.local/d.xml\r\nST: upnp:rootdevice\r\n" +
			"USN: uuid:9f6e4c2a-1b2c-4d3e-8f40-a1b2c3d4e5f6::upnp:rootdevice\r\n\r\n", "", []identity.Fact{
			{Field: "url", Value: "http://nas.local/d.xml"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(ids) != 1 || ids[0].Source != "ssdp" || ids[0].MAC != "" {
				t.Fatalf("identities = %+v", ids)
			}
			if got := identitytest.Addr(ids[0].Addr); got != tc.addr {
				t.Errorf("Addr = %q, want %q", got, tc.addr)
			}
			identitytest.HasFacts(t, ids[0], tc.want...)
		})
	}
}

func TestParseErrors(t *testing.T) {
	axis := identitytest.ReadFile(t, "ssdp-001.txt")
	identitytest.RunErrors(t, "ssdp: ", Parse, ErrNotReply, identitytest.ErrorCases{
		{"empty", nil, "ssdp: empty input", false},
		{"m-search", MSearch("ssdp:all", 2), "", true},
		{"byebye", []byte("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nNTS: ssdp:byebye\r\nUSN: uuid:x::upnp:rootdevice\r\n\r\n"), "", true},
		{"notify without NTS", []byte("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nUSN: uuid:x\r\n\r\n"), "ssdp: NOTIFY without an ssdp:alive NTS", false},
		{"notify without NT", []byte("NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nUSN: uuid:x\r\n\r\n"), "ssdp: missing NT or USN header", false},
		{"truncated", axis[:200], "ssdp: missing ST or USN header", false},
		{"truncated in a line", axis[:20], "ssdp: malformed header line", false},
		{"http 404", []byte("HTTP/1.1 404 Not Found\r\nST: x\r\nUSN: y\r\n\r\n"), "ssdp: response status is not 200", false},
		{"html page", []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: Webs\r\n\r\n<html><title>NVR</title></html>"), "ssdp: missing ST or USN header", false},
		{"bare html", []byte("<!DOCTYPE html><html></html>"), "ssdp: not an SSDP message", false},
		{"json", []byte(`{"ST":"x","USN":"y"}`), "ssdp: not an SSDP message", false},
		{"xml probe", []byte(`<?xml version="1.0"?><Envelope/>`), "ssdp: not an SSDP message", false},
		{"binary", []byte{0x20, 0x00, 0x00, 0x01, 0x44, 0x48, 0x49, 0x50, 0xff}, "ssdp: not UTF-8", false},
		{"too large", append(append([]byte(nil), axis...), bytes.Repeat([]byte("X-Pad: 1\r\n"), 7000)...), "ssdp: input too large", false},
		{"non-utf-8 server", bytes.Replace(axis, []byte("Linux"), []byte("Lin\xfcx"), 1), "ssdp: not UTF-8", false},
		{"get request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "ssdp: not an SSDP message", false},
	})
}

func TestMSearch(t *testing.T) {
	tests := []struct {
		st   string
		mx   int
		want string
	}{
		{"ssdp:all", 5, "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 5\r\nST: ssdp:all\r\n\r\n"},
		{"urn:schemas-upnp-org:device:Basic:1", 2, "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 2\r\nST: urn:schemas-upnp-org:device:Basic:1\r\n\r\n"},
		{"ssdp:all", 0, "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n"},
		{"ssdp:all", 120, "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nMan: \"ssdp:discover\"\r\nMX: 5\r\nST: ssdp:all\r\n\r\n"},
		{"ssdp:all\r\nX-Evil: 1", 2, ""},
		{"ssdp:all\n", 2, ""},
		{"caf\u00e9", 2, ""},
		{"", 2, ""},
	}
	for _, tc := range tests {
		if got := string(MSearch(tc.st, tc.mx)); got != tc.want {
			t.Errorf("MSearch(%q, %d) = %q, want %q", tc.st, tc.mx, got, tc.want)
		}
	}
}

func TestSpec(t *testing.T) {
	s := Spec()
	if s.Name != "ssdp" || s.Port != 1900 || len(s.Groups) != 1 || s.Groups[0] != netip.MustParseAddr("239.255.255.250") {
		t.Errorf("Spec = %+v", s)
	}
	p := s.Probes()
	if len(p) != 2 || !bytes.Equal(p[0], MSearch("ssdp:all", 2)) || !bytes.Equal(p[1], MSearch("urn:schemas-upnp-org:device:Basic:1", 2)) {
		t.Errorf("Probes = %q", p)
	}
	from := netip.MustParseAddrPort("10.1.2.3:1900")
	tests := []struct{ location, want string }{
		{"http://192.168.1.102:45895/rootdesc1.xml", "10.1.2.3"}, // the sender, not LOCATION
		{"http://cam.local/desc.xml", "10.1.2.3"},
		{"http://0.0.0.0/desc.xml", "10.1.2.3"},
		{"", "10.1.2.3"},
	}
	for _, tc := range tests {
		msg := "HTTP/1.1 200 OK\r\nLOCATION: " + tc.location + "\r\nST: upnp:rootdevice\r\nUSN: uuid:x\r\n\r\n"
		ids, err := s.Parse(from, []byte(msg))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.location, err)
		}
		if got := identitytest.Addr(ids[0].Addr); got != tc.want {
			t.Errorf("LOCATION %q: Addr = %q, want %q", tc.location, got, tc.want)
		}
	}
	if _, err := s.Parse(from, MSearch("ssdp:all", 1)); !errors.Is(err, ErrNotReply) {
		t.Errorf("Parse(M-SEARCH) = %v", err)
	}
}

func TestUUIDMAC(t *testing.T) {
	tests := []struct{ in, want string }{
		{"uuid:Upnp-BasicDevice-1_0-ACCC8E270AD8", "ac:cc:8e:27:0a:d8"},
		{"Upnp-BasicDevice-1_0-ACCC8E270AD8", "ac:cc:8e:27:0a:d8"},
		{"uuid:ACCC8E270AD8", "ac:cc:8e:27:0a:d8"},
		{"uuid:device_ACCC8E270AD8", "ac:cc:8e:27:0a:d8"},
		{"uuid:2f402f80-da50-11e1-9b23-001788102201", "00:17:88:10:22:01"},
		{"uuid:9f6e4c2a-1b2c-4d3e-8f40-a1b2c3d4e5f6", ""}, // version 4
		{"uuid:Upnp-BasicDevice-1_0XACCC8E270AD8", ""},    // no separator
		{"uuid:Upnp-BasicDevice-1_0-AECC8E270AD8", ""},    // locally administered
		{"uuid:Upnp-BasicDevice-1_0-ADCC8E270AD8", ""},    // group address
		{"uuid:Upnp-BasicDevice-1_0-000000000000", ""},
		{"uuid:Upnp-BasicDevice-1_0-ac-cc-8e-27-0", ""},
		{"uuid:ab:cd:ef:01:23:4", ""},
		{"uuid:short", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := uuidMAC(tc.in); got != tc.want {
			t.Errorf("uuidMAC(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
