package sadp_test

import (
	"net/netip"
	"regexp"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/sadp"
)

func TestProbe(t *testing.T) {
	const fallback = `<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>4E565247-5541-5244-8000-000000000001</Uuid><Types>inquiry</Types></Probe>`
	cases := []struct{ uuid, want string }{
		{"8282F1DB-2FA6-4709-B261-3C6B6A48CA17", `<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>8282F1DB-2FA6-4709-B261-3C6B6A48CA17</Uuid><Types>inquiry</Types></Probe>`},
		{"e8ecfe09-90e4-44c0-842b-703f46b58c81", `<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>e8ecfe09-90e4-44c0-842b-703f46b58c81</Uuid><Types>inquiry</Types></Probe>`},
		{"", fallback},
		{"</Uuid><Types>update</Types>", fallback},
		{"8282F1DB 2FA6", fallback},
		{"ABCDEFG", fallback},
		{string(make([]byte, 65)), fallback},
	}
	for _, tc := range cases {
		if got := string(sadp.Probe(tc.uuid)); got != tc.want {
			t.Errorf("Probe(%q) = %s, want %s", tc.uuid, got, tc.want)
		}
	}
}

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	a, b := sadp.NewUUID(), sadp.NewUUID()
	for _, u := range []string{a, b} {
		if !re.MatchString(u) {
			t.Errorf("NewUUID() = %q, not an upper-case v4 GUID", u)
		}
	}
	if a == b {
		t.Errorf("NewUUID() returned %q twice", a)
	}
}

func TestSpec(t *testing.T) {
	s := sadp.Spec()
	if s.Name != "sadp" || s.Port != 37020 || !s.Broadcast {
		t.Errorf("Spec = {Name %q, Port %d, Broadcast %v}, want {sadp, 37020, true}", s.Name, s.Port, s.Broadcast)
	}
	if len(s.Groups) != 1 || s.Groups[0] != netip.MustParseAddr("239.255.255.250") || sadp.Group() != s.Groups[0] {
		t.Errorf("Groups = %v, want [239.255.255.250]", s.Groups)
	}
	re := regexp.MustCompile(`^<\?xml version="1.0" encoding="utf-8"\?><Probe><Uuid>[0-9A-F-]{36}</Uuid><Types>inquiry</Types></Probe>$`)
	r1, r2 := s.Probes(), s.Probes()
	if len(r1) != 1 || len(r2) != 1 {
		t.Fatalf("Probes() = %d and %d datagrams, want 1 each", len(r1), len(r2))
	}
	if !re.Match(r1[0]) {
		t.Errorf("probe = %s, not an inquiry probe", r1[0])
	}
	if string(r1[0]) == string(r2[0]) {
		t.Errorf("two rounds sent the same probe (same UUID): %s", r1[0])
	}
}
