package sadp_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
	"github.com/nvrguard/nvrguard/drivers/sadp"
)

// FuzzParse checks that Parse and Spec's Parse never panic, return one-line
// sadp errors, and only return clean identities.
func FuzzParse(f *testing.F) {
	identitytest.SeedFiles(f, "sadp-001.xml", "sadp-003.xml")
	f.Add(sadp.Probe("8282F1DB-2FA6-4709-B261-3C6B6A48CA17"))
	f.Add([]byte(`<s:ProbeMatch xmlns:s="urn:x"><s:MAC>44-47-cc-37-ce-81</s:MAC></s:ProbeMatch>`))
	spec := sadp.Spec()
	from := netip.MustParseAddrPort("10.1.2.3:37020")
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := sadp.Parse(b)
		sids, serr := spec.Parse(from, b)
		if (err == nil) != (serr == nil) || len(ids) != len(sids) {
			t.Fatalf("Parse and Spec.Parse disagree: %v / %v", err, serr)
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "sadp: ") || strings.Contains(msg, "\n") || !utf8.ValidString(msg) {
				t.Fatalf("bad error message %q", msg)
			}
			if errors.Is(err, sadp.ErrNotReply) && err != sadp.ErrNotReply {
				t.Fatalf("ErrNotReply wrapped: %v", err)
			}
			return
		}
		if len(ids) != 1 {
			t.Fatalf("Parse returned %d identities, want 1", len(ids))
		}
		id := ids[0]
		if id.Source != identity.SourceSADP || len(id.Facts) == 0 || id.Facts[0] != (identity.Fact{Field: identity.FieldProtocol, Value: "sadp-probematch"}) {
			t.Fatalf("identity does not start with the sadp tell: %+v", id)
		}
		for _, fa := range id.Facts {
			if fa.Value == "" || fa.Value != identity.Clean(fa.Value) {
				t.Fatalf("fact %q = %q is not clean", fa.Field, fa.Value)
			}
		}
		if id.MAC != "" && identity.NormalizeMAC(id.MAC) != id.MAC {
			t.Fatalf("MAC %q is not normalised", id.MAC)
		}
		if id.Addr.IsValid() && !id.Addr.Is4() {
			t.Fatalf("Addr %v is not IPv4", id.Addr)
		}
		if !sids[0].Addr.IsValid() {
			t.Fatalf("Spec.Parse left Addr empty with a valid source")
		}
	})
}
