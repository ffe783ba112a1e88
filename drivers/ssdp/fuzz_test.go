package ssdp

import (
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func FuzzParse(f *testing.F) {
	identitytest.SeedFiles(f, "ssdp-001.txt")
	f.Add(MSearch("ssdp:all", 2))
	f.Add([]byte("NOTIFY * HTTP/1.1\nNT: upnp:rootdevice\nNTS: ssdp:alive\nUSN: uuid:2f402f80-da50-11e1-9b23-001788102201::upnp:rootdevice\nLOCATION: http://[fe80::1%25eth0]:80/\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := Parse(b)
		check(t, ids, err, identity.SourceSSDP)
	})
}

func FuzzParseDescription(f *testing.F) {
	identitytest.SeedFiles(f, "upnp-desc-001.xml")
	f.Add([]byte(embedded))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE root [<!ENTITY a "a">]><root xmlns="urn:schemas-upnp-org:device-1-0"><device><manufacturer>&a;</manufacturer></device></root>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseDescription(b)
		check(t, ids, err, identity.SourceUPnP)
	})
}

// check checks what every Parse or ParseDescription result must satisfy.
func check(t *testing.T, ids []identity.Identity, err error, source string) {
	t.Helper()
	if err != nil {
		if ids != nil {
			t.Errorf("identities with an error: %+v", ids)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "ssdp: ") || strings.ContainsAny(msg, "\r\n") || len(msg) > 200 {
			t.Errorf("bad error message %q", msg)
		}
		return
	}
	if len(ids) != 1 {
		t.Fatalf("got %d identities", len(ids))
	}
	id := ids[0]
	if id.Source != source || id.MAC != "" || len(id.Facts) == 0 || id.Facts[0].Field != identity.FieldProtocol {
		t.Errorf("identity %+v", id)
	}
	for _, f := range id.Facts {
		if f.Value == "" || identity.Clean(f.Value) != f.Value {
			t.Errorf("fact %+v is not clean", f)
		}
		if f.Field == FieldUUIDMAC && identity.NormalizeMAC(f.Value) != f.Value {
			t.Errorf("uuid-mac %q is not normalised", f.Value)
		}
	}
}
