package onvif_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/onvif/onviftest"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func lorexInfo(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/onvif-devinfo-lorex.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve starts dev on loopback and returns its device-service XAddr.
func serve(t *testing.T, dev http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/onvif/device_service", dev)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/onvif/device_service"
}

func TestDeviceInformationAnonymous(t *testing.T) {
	dev := &onviftest.Device{Info: lorexInfo(t)}
	xaddr := serve(t, dev)
	ids, err := (&onvif.Client{}).DeviceInformation(t.Context(), xaddr, loopback)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("%d identities", len(ids))
	}
	id := ids[0]
	for f, want := range map[string]string{
		identity.FieldManufacturer: "LOREX", identity.FieldModel: "LNB8973B", identity.FieldSerial: "ND021808019141",
		identity.FieldProtocol: "onvif-deviceinfo", identity.FieldURL: xaddr,
	} {
		if got := id.Get(f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if id.Source != identity.SourceONVIF || id.Addr != loopback {
		t.Errorf("source %q addr %v", id.Source, id.Addr)
	}
	if got := dev.Actions(); !slices.Equal(got, []string{"GetDeviceInformation"}) {
		t.Errorf("requests %q: anonymous asks once, without a clock query", got)
	}
}

// TestDeviceInformationNeedsAccount: a camera with an account refuses an
// anonymous request with ter:NotAuthorized, and a wrong password too; no
// second attempt is made.
func TestDeviceInformationNeedsAccount(t *testing.T) {
	dev := &onviftest.Device{Info: lorexInfo(t), Username: "operator", Password: "s3cret"}
	xaddr := serve(t, dev)
	for _, cred := range []onvif.Credentials{{}, {Username: "operator", Password: "wrong"}, {Username: "admin", Password: "s3cret"}} {
		_, err := (&onvif.Client{Credentials: cred}).DeviceInformation(t.Context(), xaddr, loopback)
		var fe *onvif.FaultError
		if !errors.As(err, &fe) || !strings.Contains(fe.Code, "NotAuthorized") {
			t.Errorf("credentials %q: err %v, want a NotAuthorized fault", cred.Username, err)
		}
	}
	refused := 0
	for _, a := range dev.Actions() {
		if strings.HasPrefix(a, "refused") {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("requests %q: want exactly 3 refusals (one per attempt)", dev.Actions())
	}
}

// TestDeviceInformationCameraClock: the token is dated by the camera's
// clock (an hour ahead here), read with GetSystemDateAndTime first; an
// account name with XML specials is escaped.
func TestDeviceInformationCameraClock(t *testing.T) {
	for _, user := range []string{"operator", `o<p&"er>'`} {
		dev := &onviftest.Device{Info: lorexInfo(t), Username: user, Password: "s3cret",
			Clock: func() time.Time { return time.Now().Add(time.Hour) }}
		xaddr := serve(t, dev)
		ids, err := (&onvif.Client{Credentials: onvif.Credentials{Username: user, Password: "s3cret"}}).DeviceInformation(t.Context(), xaddr, loopback)
		if err != nil {
			t.Fatalf("user %q: %v (camera saw %q)", user, err, dev.Actions())
		}
		if ids[0].Get(identity.FieldModel) != "LNB8973B" {
			t.Errorf("model %q", ids[0].Get(identity.FieldModel))
		}
		if got := dev.Actions(); !slices.Equal(got, []string{"GetSystemDateAndTime", "GetDeviceInformation"}) {
			t.Errorf("requests %q", got)
		}
	}
	// Without the clock query the same token would be refused.
	dev := &onviftest.Device{Username: "u", Password: "p", Clock: func() time.Time { return time.Now().Add(time.Hour) }}
	c := &onvif.Client{Credentials: onvif.Credentials{Username: "u", Password: "p"}, Now: func() time.Time { return time.Now().Add(-time.Hour) }}
	_, err := c.DeviceInformation(t.Context(), serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Content-Type"), "GetSystemDateAndTime") {
			w.WriteHeader(http.StatusBadRequest) // a camera that refuses the clock query
			return
		}
		dev.ServeHTTP(w, r)
	})), loopback)
	if err == nil || !slices.ContainsFunc(dev.Actions(), func(a string) bool { return strings.Contains(a, "from the camera's clock") }) {
		t.Errorf("a token two hours off was accepted: err %v, camera saw %q", err, dev.Actions())
	}
}

// TestDeviceInformationRefusesElsewhere: only a plain http:// XAddr on the
// address that answered discovery is asked; nothing is sent otherwise.
func TestDeviceInformationRefusesElsewhere(t *testing.T) {
	dev := &onviftest.Device{Info: lorexInfo(t)}
	xaddr := serve(t, dev)
	for _, tc := range []struct {
		xaddr string
		from  netip.Addr
		want  string
	}{
		{xaddr, netip.MustParseAddr("10.0.0.9"), "not the address that answered"},
		{xaddr, netip.Addr{}, "not the address that answered"},
		{strings.Replace(xaddr, "http://", "https://", 1), loopback, "not an http:// URL"},
		{strings.Replace(xaddr, "http://", "http://user:pw@", 1), loopback, "carries credentials"},
		{"http://localhost/onvif/device_service", loopback, "not an IP address"},
		{"urn:uuid:1234", loopback, "not an http:// URL"},
	} {
		_, err := (&onvif.Client{}).DeviceInformation(t.Context(), tc.xaddr, tc.from)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s from %v: err %v, want %q", tc.xaddr, tc.from, err, tc.want)
		}
	}
	if n := len(dev.Actions()); n != 0 {
		t.Errorf("%d requests reached the camera", n)
	}
}

// TestDeviceInformationHostile: oversized, non-SOAP, wrong-answer,
// redirecting, HTTP-auth and hanging device services give clear errors.
func TestDeviceInformationHostile(t *testing.T) {
	big := strings.Repeat("A", onvif.MaxResponse+10)
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"oversized", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) }, "too large"},
		{"html", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html><body>login</body></html>")) }, "onvif: "},
		{"capabilities", func(w http.ResponseWriter, r *http.Request) {
			b, _ := os.ReadFile("testdata/onvif-caps-001.xml")
			w.Write(b)
		}, "did not answer GetDeviceInformation"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
		}, "HTTP 302"},
		{"http auth", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Digest realm="x"`)
			w.WriteHeader(http.StatusUnauthorized)
		}, "HTTP 401"},
		{"hang", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // then the server notices the client leave
			<-r.Context().Done()
		}, "deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			ids, err := (&onvif.Client{}).DeviceInformation(ctx, serve(t, tc.h), loopback)
			if err == nil || ids != nil || !strings.Contains(err.Error(), tc.want) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("ids %v, err %v, want %q", ids, err, tc.want)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	var r onvif.Refusals
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	t0 := time.Now()
	if !r.Allowed(a, t0) {
		t.Fatal("a camera never refused is not allowed")
	}
	r.Refused(a, t0)
	if r.Allowed(a, t0.Add(onvif.DefaultHold-time.Second)) || !r.Allowed(b, t0) {
		t.Error("a refusal does not hold, or holds for another camera")
	}
	if !r.Allowed(a, t0.Add(onvif.DefaultHold)) {
		t.Error("a refusal outlives its hold")
	}
	if !onvif.IsNotAuthorized(&onvif.FaultError{Code: "env:Sender/ter:NotAuthorized"}) || onvif.IsNotAuthorized(errors.New("onvif: HTTP 404")) {
		t.Error("IsNotAuthorized")
	}
}
