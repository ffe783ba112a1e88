package onvif

import (
	"errors"
	"strings"
	"testing"
	"time"

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

func FuzzParseSystemDateAndTime(f *testing.F) {
	f.Add(GetSystemDateAndTimeRequest())
	f.Add([]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:UTCDateTime><tt:Time><tt:Hour>7</tt:Hour><tt:Minute>5</tt:Minute><tt:Second>9</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>11</tt:Month><tt:Day>27</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>`))
	f.Add([]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTimeResponse><SystemDateAndTime><UTCDateTime><Time><Hour>25</Hour><Minute>0</Minute><Second>0</Second></Time><Date><Year>2026</Year><Month>2</Month><Day>30</Day></Date></UTCDateTime></SystemDateAndTime></GetSystemDateAndTimeResponse></s:Body></s:Envelope>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := ParseSystemDateAndTime(b)
		if err != nil {
			if !tm.IsZero() {
				t.Errorf("a time with an error: %v", tm)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "onvif: ") || strings.ContainsAny(msg, "\r\n") || len(msg) > 200 {
				t.Errorf("bad error message %q", msg)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Errorf("time %v is not UTC", tm)
		}
	})
}
