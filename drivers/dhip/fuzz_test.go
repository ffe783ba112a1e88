package dhip_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

// FuzzParse checks that Parse and Spec's Parse never panic, return one-line
// dhip errors, and only return clean identities that carry the tell.
func FuzzParse(f *testing.F) {
	identitytest.SeedFiles(f, "dhip-001.json", "dhip-003.txt", "dhip-005.csv")
	f.Add(dhiptest.Frame(identitytest.ReadFile(f, "dhip-001.json")))
	f.Add(dhip.Probe())
	f.Add([]byte(`{ "Name" : "SystemInfo", "SystemInfo" : { "DeviceModel" : "X", "SerialNo" : "Y" } }`))
	spec := dhip.Spec()
	from := netip.MustParseAddrPort("10.1.2.3:37810")
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := dhip.Parse(b)
		sids, serr := spec.Parse(from, b)
		if serr == nil && err != nil {
			t.Fatalf("Spec.Parse accepts what Parse rejects (%v)", err)
		}
		for _, e := range []error{err, serr} {
			if e == nil {
				continue
			}
			msg := e.Error()
			if !strings.HasPrefix(msg, "dhip: ") || strings.Contains(msg, "\n") || !utf8.ValidString(msg) {
				t.Fatalf("bad error message %q", msg)
			}
			if errors.Is(e, dhip.ErrNotReply) && e != dhip.ErrNotReply {
				t.Fatalf("ErrNotReply wrapped: %v", e)
			}
		}
		if err == nil && len(ids) == 0 {
			t.Fatal("Parse returned no identity and no error")
		}
		for _, id := range append(ids, sids...) {
			if id.Source != identity.SourceDHIP || len(id.Facts) == 0 || id.Facts[0] != (identity.Fact{Field: identity.FieldProtocol, Value: "dhip-notifydevinfo"}) {
				t.Fatalf("identity does not start with the dhip tell: %+v", id)
			}
			for _, fa := range id.Facts {
				if fa.Value == "" || fa.Value != identity.Clean(fa.Value) || strings.Trim(fa.Value, "*") == "" {
					t.Fatalf("fact %q = %q is not clean", fa.Field, fa.Value)
				}
			}
			if id.MAC != "" && identity.NormalizeMAC(id.MAC) != id.MAC {
				t.Fatalf("MAC %q is not normalised", id.MAC)
			}
			if id.Addr.IsValid() && !id.Addr.Is4() {
				t.Fatalf("Addr %v is not IPv4", id.Addr)
			}
		}
		for _, id := range sids {
			if !id.Addr.IsValid() {
				t.Fatal("Spec.Parse left Addr empty with a valid source")
			}
		}
	})
}
