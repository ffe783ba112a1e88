package inventory

import (
	"net/netip"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/policy"
)

func ident(source, ip, mac string, kv ...string) identity.Identity {
	id := identity.Identity{Source: source, MAC: mac}
	if ip != "" {
		id.Addr = netip.MustParseAddr(ip)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		id.Add(kv[i], kv[i+1])
	}
	return id
}

func loadPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecordsKeys(t *testing.T) {
	ids := []identity.Identity{
		ident("arp", "10.0.0.5", "58:50:ed:1f:e3:85"),
		ident("sadp", "10.0.0.5", "", identity.FieldMAC, "58-50-ed-1f-e3-85", identity.FieldSerial, "DS-2CD2385G1-I20200414AAWRE33842150", identity.FieldProtocol, "sadp-probematch"),
		ident("http", "10.0.0.5", "", identity.FieldRealm, "IP Camera(C2875)"),
		// Two factory-fresh cameras reporting the same address: never merged.
		ident("sadp", "192.0.0.64", "44:47:cc:00:00:01"),
		ident("sadp", "192.0.0.64", "44:47:cc:00:00:02"),
		// A device known by serial only joins by serial.
		ident("onvif", "", "", identity.FieldSerial, "DS-2CD2385G1-I20200414AAWRE33842150", identity.FieldFirmware, "V5.6.2build 190701"),
		// A silent-ish host known by IP only.
		ident("rtsp", "10.0.0.9", "", identity.FieldServer, "GStreamer"),
	}
	recs := Records(ids, loadPolicy(t))
	for _, r := range recs {
		t.Logf("%s %s %s %v", r.ID, r.IP, r.Verdict, r.Sources)
	}
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	first := recs[0]
	if first.ID != "mac-5850ed1fe385" || first.Verdict != identity.Restricted || first.IP != "10.0.0.5" || first.Firmware != "V5.6.2build 190701" || first.Profile != "ndaa889" {
		t.Errorf("first record = %+v", first)
	}
	want := []string{"arp", "http", "onvif", "oui", "sadp"}
	if len(first.Sources) != len(want) {
		t.Errorf("sources = %v, want %v", first.Sources, want)
	}
	last := recs[len(recs)-1]
	if last.ID != "ip-10-0-0-9" || last.Verdict != identity.Unknown {
		t.Errorf("last record = %+v", last)
	}
}
