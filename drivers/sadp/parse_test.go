package sadp_test

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
	"github.com/nvrguard/nvrguard/drivers/sadp"
)

func TestParseGolden(t *testing.T) {
	identitytest.GoldenFiles(t, sadp.Parse, "sadp-001.xml", "sadp-003.xml")
}

// TestParseCorpusValues states the key values of the corpus replies by
// hand, independently of the golden files.
func TestParseCorpusValues(t *testing.T) {
	cases := []struct {
		file, model, serial, mac, firmware, addr string
	}{
		{"sadp-001.xml", "DS-2CD2320D-I", "DS-2CD2320D-I20180919AACHC52932642", "44:47:cc:37:ce:81", "V5.5.6build 180326", "192.168.1.112"},
		{"sadp-003.xml", "DS-2CD2385G1-I", "DS-2CD2385G1-I20200414AAWRE33842150", "58:50:ed:1f:e3:85", "V5.6.2build 190701", "192.168.124.40"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ids, err := sadp.Parse(identitytest.ReadFile(t, tc.file))
			id := identitytest.One(t, ids, err)
			checks := []struct{ what, got, want string }{
				{"source", id.Source, identity.SourceSADP},
				{"protocol", id.Get(identity.FieldProtocol), "sadp-probematch"},
				{"model", id.Get(identity.FieldModel), tc.model},
				{"serial", id.Get(identity.FieldSerial), tc.serial},
				{"MAC", id.MAC, tc.mac},
				{"mac fact", id.Get(identity.FieldMAC), tc.mac},
				{"firmware (SoftwareVersion first)", id.Get(identity.FieldFirmware), tc.firmware},
				{"addr", id.Addr.String(), tc.addr},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestParseVariants(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		facts []identity.Fact
		mac   string
		addr  string
	}{
		{
			name: "CRLF, reordered, missing fields",
			in:   "<?xml version=\"1.0\"?>\r\n<ProbeMatch>\r\n<MAC>BC-AD-28-12-34-56</MAC>\r\n<DeviceDescription>DS-7804HQH-K1</DeviceDescription>\r\n</ProbeMatch>\r\n",
			facts: []identity.Fact{
				{Field: "protocol", Value: "sadp-probematch"},
				{Field: "model", Value: "DS-7804HQH-K1"},
				{Field: "mac", Value: "bc:ad:28:12:34:56"},
			},
			mac: "bc:ad:28:12:34:56",
		},
		{
			name: "namespace prefix, BOM, trailing NUL, OEM fields, DSP only firmware",
			in:   "\ufeff<s:ProbeMatch xmlns:s=\"urn:x\"><s:DSPVersion>V5.0, build 191213</s:DSPVersion><s:OEMInfo>N/A</s:OEMInfo><s:DetailOEMCode>1</s:DetailOEMCode><s:DeviceType>44322</s:DeviceType></s:ProbeMatch>\x00",
			facts: []identity.Fact{
				{Field: "protocol", Value: "sadp-probematch"},
				{Field: "firmware", Value: "V5.0, build 191213"},
				{Field: "device-type", Value: "44322"},
				{Field: "oem-code", Value: "N/A"},
				{Field: "oem-code", Value: "1"},
			},
		},
		{
			name: "declared GB2312 over ASCII, unparsable IP, zero MAC",
			in:   `<?xml version="1.0" encoding="GB2312"?><ProbeMatch><DeviceSN>X1</DeviceSN><MAC>00-00-00-00-00-00</MAC><IPv4Address>192.0.0.256</IPv4Address></ProbeMatch>`,
			facts: []identity.Fact{
				{Field: "protocol", Value: "sadp-probematch"},
				{Field: "serial", Value: "X1"},
			},
		},
		{
			name: "first of duplicated elements wins, empty ones skipped, IPv6 not an Addr",
			in:   `<ProbeMatch><DeviceDescription></DeviceDescription><DeviceDescription>A</DeviceDescription><DeviceDescription>B</DeviceDescription><IPv4Address>::1</IPv4Address></ProbeMatch>`,
			facts: []identity.Fact{
				{Field: "protocol", Value: "sadp-probematch"},
				{Field: "model", Value: "A"},
			},
		},
		{
			name: "entities and CDATA are decoded; factory address kept",
			in:   `<ProbeMatch><DeviceDescription>DS-&amp;<![CDATA[X]]></DeviceDescription><IPv4Address> 192.0.0.64 </IPv4Address></ProbeMatch>`,
			facts: []identity.Fact{
				{Field: "protocol", Value: "sadp-probematch"},
				{Field: "model", Value: "DS-&X"},
			},
			addr: "192.0.0.64",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := sadp.Parse([]byte(tc.in))
			id := identitytest.One(t, ids, err)
			identitytest.Exactly(t, id, tc.facts, tc.mac, tc.addr)
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := identitytest.ReadFile(t, "sadp-001.xml")
	identitytest.RunErrors(t, "sadp: ", sadp.Parse, sadp.ErrNotReply, identitytest.ErrorCases{
		{"empty", nil, "empty", false},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte(" "), 64<<10)...), "too large", false},
		{"not UTF-8", []byte("<ProbeMatch><DeviceDescription>\xff\xfe</DeviceDescription></ProbeMatch>"), "not UTF-8", false},
		{"truncated", good[:len(good)/2], "truncated", false},
		{"truncated in a tag", good[:len(good)-5], "truncated", false},
		{"our probe", sadp.Probe("8282F1DB-2FA6-4709-B261-3C6B6A48CA17"), "not a ProbeMatch", true},
		{"a probe with a prefix", []byte(`<a:Probe xmlns:a="urn:x"><a:Types>inquiry</a:Types></a:Probe>`), "not a ProbeMatch", true},
		{"HTML", []byte("<!DOCTYPE html>\n<html><head><title>Login</title></head></html>"), "directive", false},
		{"HTML without doctype", []byte("<html><body>hi</body></html>"), `"html" is not ProbeMatch`, false},
		{"WS-Discovery envelope", []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><d:ProbeMatches xmlns:d="urn:d"><d:ProbeMatch/></d:ProbeMatches></s:Body></s:Envelope>`), "not ProbeMatch", false},
		{"binary junk", []byte{0x21, 0x02, 0x42, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x06, 0x03}, "not XML", false},
		{"binary junk with a tag", []byte("\x01\x02<ProbeMatch>"), "not XML", false},
		{"control character inside", []byte("<ProbeMatch>\x01<MAC/></ProbeMatch>"), "malformed XML", false},
		{"only NULs", []byte("\x00\x00"), "not XML", false},
		{"JSON", []byte(`{"method":"client.notifyDevInfo"}`), "not XML", false},
		{"no element", []byte(`<?xml version="1.0"?>`), "no XML element", false},
		{"empty ProbeMatch", []byte(`<ProbeMatch></ProbeMatch>`), "no SADP device field", false},
		{"ProbeMatch with only Uuid and Types", []byte(`<ProbeMatch><Uuid>1</Uuid><Types>inquiry</Types></ProbeMatch>`), "no SADP device field", false},
		{"two roots", []byte(`<ProbeMatch><MAC>44-47-cc-37-ce-81</MAC></ProbeMatch><ProbeMatch/>`), "after the ProbeMatch", false},
		{"mismatched tags", []byte(`<ProbeMatch><MAC>x</DeviceSN></ProbeMatch>`), "malformed XML", false},
		{"too deep", []byte(strings.Repeat("<ProbeMatch>", 20)), "nested deeper", false},
		{"too many elements", []byte("<ProbeMatch>" + strings.Repeat("<MAC/>", 600) + "</ProbeMatch>"), "more than", false},
		{"undefined entity", []byte(`<ProbeMatch><DeviceSN>&foo;</DeviceSN></ProbeMatch>`), "malformed XML", false},
	})
}

func TestSpecParse(t *testing.T) {
	src := netip.MustParseAddrPort("192.168.1.112:37020")
	other := netip.MustParseAddrPort("10.0.0.9:37020")
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:10.0.0.9"), 37020)
	noIP := []byte(`<ProbeMatch><DeviceSN>S</DeviceSN><IPv4Address>bogus</IPv4Address></ProbeMatch>`)
	good := identitytest.ReadFile(t, "sadp-001.xml")
	cases := []struct {
		name       string
		from       netip.AddrPort
		in         []byte
		addr       string
		reportedIP string
	}{
		{"same address", src, good, "192.168.1.112", ""},
		{"reported differs from source", other, good, "10.0.0.9", "192.168.1.112"},
		{"no usable reported address", mapped, noIP, "10.0.0.9", ""},
		{"no source either", netip.AddrPort{}, noIP, "invalid IP", ""},
	}
	spec := sadp.Spec()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := spec.Parse(tc.from, tc.in)
			if err != nil || len(ids) != 1 {
				t.Fatalf("Parse = %d identities, %v", len(ids), err)
			}
			if got := ids[0].Addr.String(); got != tc.addr {
				t.Errorf("Addr = %s, want %s", got, tc.addr)
			}
			if got := ids[0].Get(sadp.FieldReportedIP); got != tc.reportedIP {
				t.Errorf("reported-ip = %q, want %q", got, tc.reportedIP)
			}
		})
	}
	if _, err := spec.Parse(src, sadp.Probe(sadp.NewUUID())); !errors.Is(err, sadp.ErrNotReply) || !errors.Is(err, discovery.ErrNotReply) {
		t.Errorf("Spec.Parse(probe) error = %v, want ErrNotReply", err)
	}
}
