package wsd

import (
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func FuzzParse(f *testing.F) {
	identitytest.SeedFiles(f, "wsd-001.xml", "wsd-003.xml", "wsd-004.xml")
	f.Add(Probe("uuid:1"))
	f.Add([]byte(matchWith("onvif://www.onvif.org/MAC/58:50:ed:1f:e3:85", "http://0.0.0.0/", "urn:uuid:aa85c000-6324-11b3-819e-5850ed1fe385")))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := Parse(b)
		if err != nil {
			if ids != nil {
				t.Errorf("identities with an error: %+v", ids)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "wsd: ") || strings.ContainsAny(msg, "\r\n") || len(msg) > 200 {
				t.Errorf("bad error message %q", msg)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatal("no identities and no error")
		}
		for _, id := range ids {
			if id.Source != identity.SourceWSD || (id.MAC != "" && identity.NormalizeMAC(id.MAC) != id.MAC) {
				t.Errorf("identity %+v", id)
			}
			if id.Addr.IsValid() && (!id.Addr.Is4() || id.Addr.IsUnspecified()) {
				t.Errorf("Addr = %v", id.Addr)
			}
			for _, f := range id.Facts {
				if f.Value == "" || identity.Clean(f.Value) != f.Value {
					t.Errorf("fact %+v is not clean", f)
				}
			}
		}
	})
}
