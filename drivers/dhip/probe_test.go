package dhip_test

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

// probeHex is the ConfigTool datagram of PROTOCOLS.md 2.1.
const probeHex = "20000000" + "44484950" + "00000000" + "00000000" + "49000000" + "00000000" + "49000000" + "00000000" +
	"7b20226d6574686f6422203a20224448446973636f7665722e736561726368222c2022706172616d7322203a207b20226d616322203a2022222c2022756e6922203a2031207d207d0a"

func TestProbe(t *testing.T) {
	if got := hex.EncodeToString(dhip.Probe()); got != probeHex {
		t.Errorf("Probe() =\n%s\nwant\n%s", got, probeHex)
	}
	p := dhip.Probe()
	if string(p[4:8]) != "DHIP" || len(p) != 32+0x49 {
		t.Errorf("Probe() magic %q, length %d; want DHIP, %d", p[4:8], len(p), 32+0x49)
	}
	// Our own request looping back on the group is not a reply.
	if _, err := dhip.Parse(p); !errors.Is(err, dhip.ErrNotReply) {
		t.Errorf("Parse(Probe()) error = %v, want ErrNotReply", err)
	}
}

func TestSpec(t *testing.T) {
	s := dhip.Spec()
	if s.Name != "dhip" || s.Port != 37810 || !s.Broadcast {
		t.Errorf("Spec = {Name %q, Port %d, Broadcast %v}, want {dhip, 37810, true}", s.Name, s.Port, s.Broadcast)
	}
	if len(s.Groups) != 1 || s.Groups[0] != netip.MustParseAddr("239.255.255.251") || dhip.Group() != s.Groups[0] {
		t.Errorf("Groups = %v, want [239.255.255.251]", s.Groups)
	}
	probes := s.Probes()
	if len(probes) != 1 || hex.EncodeToString(probes[0]) != probeHex {
		t.Errorf("Probes() = %x, want [%s]", probes, probeHex)
	}
}

func TestSpecParse(t *testing.T) {
	from := netip.MustParseAddrPort("10.0.0.9:37810")
	good := identitytest.ReadFile(t, "dhip-001.json")
	cases := []struct {
		name    string
		from    netip.AddrPort
		in      []byte
		addr    string
		wantErr bool
	}{
		{"source address wins over the reported one", from, good, "10.0.0.9", false},
		{"source fills a missing address", from, []byte(`{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"X"}}}`), "10.0.0.9", false},
		{"IPv4-mapped source", netip.AddrPortFrom(netip.MustParseAddr("::ffff:10.0.0.9"), 37810), []byte(`{"method":"client.notifyDevInfo","params":{"deviceInfo":{"IPv4Address":{"IPAddress":"0.0.0.0"}}}}`), "10.0.0.9", false},
		{"Ruby pp is not a datagram", from, identitytest.ReadFile(t, "dhip-003.txt"), "", true},
		{"CSV is not a datagram", from, identitytest.ReadFile(t, "dhip-005.csv"), "", true},
	}
	spec := dhip.Spec()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := spec.Parse(tc.from, tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Spec.Parse = %v, want an error", ids)
				}
				return
			}
			if err != nil || len(ids) != 1 {
				t.Fatalf("Spec.Parse = %d identities, %v", len(ids), err)
			}
			if got := ids[0].Addr.String(); got != tc.addr {
				t.Errorf("Addr = %s, want %s", got, tc.addr)
			}
		})
	}
}
