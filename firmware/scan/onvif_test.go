package scan

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/onvif/onviftest"
)

// wsdAnswer is a WS-Discovery identity from addr advertising xaddrs.
func wsdAnswer(addr netip.Addr, xaddrs ...string) identity.Identity {
	id := identity.Identity{Source: identity.SourceWSD, Addr: addr}
	for _, x := range xaddrs {
		id.Add(identity.FieldURL, x)
	}
	return id
}

// TestDeviceInformationAccount: the account is sent to the http:// XAddr
// on the answering address; a camera that refuses it is left alone on the
// next sweep (cameras lock out an address after a few failed logins).
func TestDeviceInformationAccount(t *testing.T) {
	info, err := os.ReadFile("../../drivers/onvif/testdata/onvif-devinfo-lorex.xml")
	if err != nil {
		t.Fatal(err)
	}
	dev := &onviftest.Device{Info: info, Username: "operator", Password: "right"}
	mux := http.NewServeMux()
	mux.Handle("/onvif/device_service", dev)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	lo := netip.MustParseAddr("127.0.0.1")
	xaddr := srv.URL + "/onvif/device_service"
	ids := []identity.Identity{wsdAnswer(lo, "https://127.0.0.1/onvif/device_service", xaddr), {Source: identity.SourceARP, Addr: lo}}
	var logs strings.Builder
	// The ONVIF part of a sweep's enrichment (banners off).
	deviceInformation := func(ctx context.Context, o Options, ids []identity.Identity, log *slog.Logger) []identity.Identity {
		o.NoBanners = true
		return enrich(ctx, o, ids, addresses(ids), log)
	}
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	got := deviceInformation(t.Context(), Options{ONVIF: onvif.Credentials{Username: "operator", Password: "right"}}, ids, log)
	if len(got) != 1 || got[0].Get(identity.FieldModel) != "LNB8973B" || got[0].Addr != lo {
		t.Fatalf("with the account: %+v", got)
	}

	refusals := &onvif.Refusals{}
	wrong := Options{ONVIF: onvif.Credentials{Username: "operator", Password: "wrong"}, ONVIFRefusals: refusals}
	before := len(dev.Actions())
	for range 3 {
		if got := deviceInformation(t.Context(), wrong, ids, log); len(got) != 0 {
			t.Fatalf("a wrong password got %+v", got)
		}
	}
	tried := 0
	for _, a := range dev.Actions()[before:] {
		if strings.HasPrefix(a, "refused") {
			tried++
		}
	}
	if tried != 1 {
		t.Errorf("a wrong password was tried %d times in 3 sweeps, want once: %q", tried, dev.Actions()[before:])
	}
	if !strings.Contains(logs.String(), "ONVIF account refused") || !strings.Contains(logs.String(), "refused the account lately") {
		t.Errorf("log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "wrong") || strings.Contains(logs.String(), "right") {
		t.Errorf("a password is in the log:\n%s", logs.String())
	}

	// Anonymous: refused too, but nothing is remembered (no login failed).
	before = len(dev.Actions())
	for range 2 {
		deviceInformation(t.Context(), Options{ONVIFRefusals: &onvif.Refusals{}}, ids, log)
	}
	if n := len(dev.Actions()) - before; n != 2 {
		t.Errorf("anonymous: %d requests in 2 sweeps, want 2", n)
	}
}
