package policy

import (
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassify classifies a device seen by four sources, the usual
// case of a scan (SADP, the neighbour table, HTTP and RTSP banners).
func BenchmarkClassify(b *testing.B) {
	p, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	ids := []identity.Identity{
		obs("sadp", identity.FieldProtocol, "sadp-probematch", identity.FieldModel, "DS-2CD2385G1-I",
			identity.FieldSerial, "DS-2CD2385G1-I20200414AAWRE33842150", identity.FieldMAC, "58:50:ed:1f:e3:85",
			identity.FieldFirmware, "V5.6.2build 190701"),
		{Source: "arp", MAC: "58:50:ed:1f:e3:85"},
		obs("http", identity.FieldRealm, "IP Camera(C2183)", identity.FieldServer, "App-webs/"),
		obs("rtsp", identity.FieldSDP, "a=Media_header:MEDIAINFO=494D4B48010200000400000101200110803E"),
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := p.Classify(ids); r.Verdict != identity.Restricted {
			b.Fatal(r.Verdict)
		}
	}
}

func BenchmarkLookupOUI(b *testing.B) {
	p, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.LookupOUI("ac:64:dd:50:00:01")
	}
}
