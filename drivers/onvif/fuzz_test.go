package onvif

import (
	"errors"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func FuzzParse(f *testing.F) {
	identitytest.SeedFiles(f, "onvif-caps-001.xml", "onvif-devinfo-lorex.xml")
	f.Add(GetDeviceInformationRequest())
	f.Add([]byte(billionLaughs))
	f.Add([]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code></s:Fault></s:Body></s:Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := Parse(b)
		if err != nil {
			if ids != nil {
				t.Errorf("identities with an error: %+v", ids)
			}
			var fe *FaultError
			if errors.As(err, &fe) && len(fe.Code) > 80 {
				t.Errorf("fault code longer than 80 bytes: %q", fe.Code)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "onvif: ") || strings.ContainsAny(msg, "\r\n") || len(msg) > 200 {
				t.Errorf("bad error message %q", msg)
			}
			return
		}
		if len(ids) != 1 {
			t.Fatalf("got %d identities", len(ids))
		}
		checkIdentity(t, ids[0], identity.SourceONVIF)
	})
}

// checkIdentity checks what every parsed identity must satisfy.
func checkIdentity(t *testing.T, id identity.Identity, source string) {
	t.Helper()
	if id.Source != source {
		t.Errorf("Source = %q", id.Source)
	}
	if id.MAC != "" && identity.NormalizeMAC(id.MAC) != id.MAC {
		t.Errorf("MAC %q is not normalised", id.MAC)
	}
	if len(id.Facts) == 0 || id.Facts[0].Field != identity.FieldProtocol || len(id.Facts) > identity.MaxFacts {
		t.Errorf("facts = %+v", id.Facts)
	}
	for _, f := range id.Facts {
		if f.Field == "" || f.Value == "" || identity.Clean(f.Value) != f.Value {
			t.Errorf("fact %+v is not clean", f)
		}
	}
}
