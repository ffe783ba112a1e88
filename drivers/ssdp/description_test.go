package ssdp

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

const embedded = `<?xml version="1.0" encoding="utf-8"?>
<u:root xmlns:u="urn:schemas-upnp-org:device-1-0">
  <u:specVersion><u:major>1</u:major><u:minor>0</u:minor></u:specVersion>
  <u:device>
    <u:deviceType>urn:schemas-upnp-org:device:MediaServer:1</u:deviceType>
    <u:friendlyName>NVR &amp; Co</u:friendlyName>
    <u:manufacturer>Acme</u:manufacturer>
    <u:UDN>uuid:4d696e69-444c-164e-9d41-b827eb2d4e7f</u:UDN>
    <u:deviceList>
      <u:device>
        <u:manufacturer>Inner One</u:manufacturer>
        <u:modelName>not the root model</u:modelName>
        <u:deviceList><u:device><u:manufacturer>Inner Two</u:manufacturer></u:device></u:deviceList>
      </u:device>
    </u:deviceList>
    <u:serviceList><u:service><u:manufacturer>not a device</u:manufacturer></u:service></u:serviceList>
  </u:device>
</u:root>`

func TestParseDescription(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []identity.Fact
		not  []identity.Fact
	}{
		{"axis", string(identitytest.ReadFile(t, "upnp-desc-001.xml")), []identity.Fact{
			{Field: "protocol", Value: "upnp-description"},
			{Field: "manufacturer", Value: "AXIS"},
			{Field: "url", Value: "http://www.axis.com/"},
			{Field: "model", Value: "AXIS M1014"},
			{Field: "model-number", Value: "M1014"},
			{Field: "model-description", Value: "AXIS M1014 Fixed Network Camera"},
			{Field: "name", Value: "AXIS M1014 - ACCC8E270AD8"},
			{Field: "serial", Value: "ACCC8E270AD8"},
			{Field: "uuid", Value: "uuid:Upnp-BasicDevice-1_0-ACCC8E270AD8"},
			{Field: "uuid-mac", Value: "ac:cc:8e:27:0a:d8"},
			{Field: "device-type", Value: "urn:schemas-upnp-org:device:Basic:1"},
			{Field: "url", Value: "http://192.168.1.102:80/"},
			{Field: "url", Value: "http://192.168.1.102:51578/"},
		}, nil},
		{"prefixes and embedded devices", embedded, []identity.Fact{
			{Field: "name", Value: "NVR & Co"},
			{Field: "manufacturer", Value: "Acme"},
			{Field: "manufacturer", Value: "Inner One"},
			{Field: "manufacturer", Value: "Inner Two"},
			{Field: "uuid-mac", Value: "b8:27:eb:2d:4e:7f"},
		}, []identity.Fact{
			{Field: "model", Value: "not the root model"},
			{Field: "manufacturer", Value: "not a device"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := ParseDescription([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseDescription: %v", err)
			}
			if len(ids) != 1 || ids[0].Source != "upnp" || ids[0].Addr.IsValid() || ids[0].MAC != "" {
				t.Fatalf("identities = %+v", ids)
			}
			identitytest.HasFacts(t, ids[0], tc.want...)
			for _, f := range tc.not {
				if identitytest.HasFact(ids[0], f) {
					t.Errorf("unexpected fact %+v", f)
				}
			}
		})
	}
}

func TestParseDescriptionErrors(t *testing.T) {
	axis := identitytest.ReadFile(t, "upnp-desc-001.xml")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "ssdp: empty input"},
		{"truncated", string(axis[:len(axis)/2]), "ssdp: truncated XML"},
		{"truncated in a tag", string(axis[:len(axis)-3]), "ssdp: truncated XML"},
		{"wrong namespace", `<root xmlns="urn:schemas-upnp-org:service-1-0"><device/></root>`, "ssdp: not a UPnP device description"},
		{"no namespace", `<root><device><manufacturer>x</manufacturer></device></root>`, "ssdp: not a UPnP device description"},
		{"no device", `<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion/></root>`, "ssdp: UPnP description without a device"},
		{"soap probe", `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body><Probe/></Body></Envelope>`, "ssdp: not a UPnP device description"},
		{"html", "<!DOCTYPE html><html><body>x</body></html>", "ssdp: DTD"},
		{"json", `{"manufacturer":"AXIS"}`, "ssdp: not XML"},
		{"binary", "\x00\x01\xfe\xff", "ssdp: not UTF-8"},
		{"non-utf-8", strings.Replace(string(axis), "AXIS", "AX\xc9S", 1), "ssdp: not UTF-8"},
		{"too large", string(axis) + strings.Repeat(" ", MaxSize), "ssdp: input too large"},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE root [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
			`<root xmlns="urn:schemas-upnp-org:device-1-0"><device><manufacturer>&b;</manufacturer></device></root>`, "ssdp: DTD"},
		{"undeclared entity", `<root xmlns="urn:schemas-upnp-org:device-1-0"><device><manufacturer>&b;</manufacturer></device></root>`, "ssdp: malformed XML"},
		{"deep", `<root xmlns="urn:schemas-upnp-org:device-1-0">` + strings.Repeat("<device>", 60) + strings.Repeat("</device>", 60) + `</root>`, "ssdp: XML nested too deep"},
		{"wide", `<root xmlns="urn:schemas-upnp-org:device-1-0"><device>` + strings.Repeat("<x/>", 5000) + `</device></root>`, "ssdp: too many XML elements"},
		{"two roots", `<root xmlns="urn:schemas-upnp-org:device-1-0"><device/></root><root/>`, "ssdp: malformed XML: content after the root element"},
		{"mismatched", `<root xmlns="urn:schemas-upnp-org:device-1-0"><device></devise></root>`, "ssdp: malformed XML"},
		{"ssdp m-search", string(MSearch("ssdp:all", 2)), "ssdp: not XML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := ParseDescription([]byte(tc.in))
			identitytest.CheckError(t, "ssdp: ", ids, err, tc.want)
		})
	}
}

func TestFetchDescription(t *testing.T) {
	axis := identitytest.ReadFile(t, "upnp-desc-001.xml")
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/rootdesc1.xml", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
			t.Errorf("request carries credentials: %v", r.Header)
		}
		w.Header().Set("Server", "Linux/2.6.35, UPnP/1.0, Portable SDK for UPnP devices/1.6.18")
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
		w.Write(axis)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/rootdesc1.xml", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(bytes.Repeat([]byte(" "), MaxSize+1))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	host := netip.MustParseAddrPort(u.Host)
	base := srv.URL
	tests := []struct {
		name     string
		location string
		from     netip.Addr
		timeout  time.Duration
		want     string // an error substring; "" for success
		fetched  bool
	}{
		{"ok", base + "/rootdesc1.xml", host.Addr(), time.Second, "", true},
		{"mapped from", base + "/rootdesc1.xml", netip.AddrFrom16(host.Addr().As16()), time.Second, "", true},
		{"elsewhere", base + "/rootdesc1.xml", netip.MustParseAddr("127.0.0.2"), time.Second, "ssdp: LOCATION host is not the address that answered", false},
		{"no from", base + "/rootdesc1.xml", netip.Addr{}, time.Second, "ssdp: LOCATION host is not the address that answered", false},
		{"hostname", "http://localhost:" + u.Port() + "/rootdesc1.xml", host.Addr(), time.Second, "ssdp: LOCATION host is not an IP address", false},
		{"https", "https://" + u.Host + "/rootdesc1.xml", host.Addr(), time.Second, "ssdp: LOCATION is not an http:// URL", false},
		{"file", "file:///etc/passwd", host.Addr(), time.Second, "ssdp: LOCATION is not an http:// URL", false},
		{"garbage", "::not a url", host.Addr(), time.Second, "ssdp: LOCATION is not an http:// URL", false},
		{"credentials", "http://admin:12345@" + u.Host + "/rootdesc1.xml", host.Addr(), time.Second, "ssdp: LOCATION carries credentials", false},
		{"redirect not followed", base + "/redirect", host.Addr(), time.Second, "ssdp: description answer is HTTP 302", true},
		{"not found", base + "/404", host.Addr(), time.Second, "ssdp: description answer is HTTP 404", true},
		{"too large", base + "/big", host.Addr(), time.Second, "ssdp: description too large", true},
		{"deadline", base + "/slow", host.Addr(), 100 * time.Millisecond, "context deadline exceeded", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			client := srv.Client()
			client.Jar = cookieJar{}
			start := time.Now()
			ids, err := FetchDescription(ctx, client, tc.location, tc.from)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if got := hits.Load() > 0; got != tc.fetched {
				t.Errorf("server hit = %v, want %v", got, tc.fetched)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("FetchDescription: %v", err)
			}
			if len(ids) != 1 || ids[0].Addr != host.Addr() || ids[0].Get("manufacturer") != "AXIS" ||
				ids[0].Get("server") != "Linux/2.6.35, UPnP/1.0, Portable SDK for UPnP devices/1.6.18" {
				t.Errorf("identities = %+v", ids)
			}
		})
	}
}

// cookieJar would hand every request a cookie: FetchDescription must not use it.
type cookieJar struct{}

func (cookieJar) SetCookies(*url.URL, []*http.Cookie) {}
func (cookieJar) Cookies(*url.URL) []*http.Cookie {
	return []*http.Cookie{{Name: "session", Value: "secret"}}
}
