package banner

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/banner/bannertest"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// rtspResponses cuts the responses out of a transcript (requests skipped).
func rtspResponses(t testing.TB, transcript []byte) [][]byte {
	t.Helper()
	var out [][]byte
	var cur []byte
	inResp := false
	for _, line := range strings.SplitAfter(string(transcript), "\n") {
		l := strings.TrimRight(line, "\r\n")
		if isRTSPStart(l) {
			if inResp {
				out = append(out, cur)
			}
			cur, inResp = nil, isStatusLine(l, "RTSP")
		}
		if inResp {
			cur = append(cur, crlf(line)...)
		}
	}
	if inResp {
		out = append(out, cur)
	}
	return out
}

func httpOK(contentType string, body []byte) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", contentType, len(body), body)
}

// startCamera serves cam on loopback until the test ends.
func startCamera(t *testing.T, cam *bannertest.Camera) {
	t.Helper()
	stop, err := cam.Start(t.Context(), loopback, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

func proberFor(cam *bannertest.Camera, timeout time.Duration) *Prober {
	p := NewProber()
	p.Timeout = timeout
	p.HTTPPorts = []int{cam.HTTPPort}
	p.RTSPPort = cam.RTSPPort
	p.TLSPort = cam.TLSPort
	return p
}

func hikCamera(t *testing.T) *bannertest.Camera {
	rtsp := rtspResponses(t, identitytest.ReadFile(t, "rtsp-001.txt"))
	if len(rtsp) != 3 {
		t.Fatalf("rtsp-001.txt holds %d responses, want 3", len(rtsp))
	}
	return &bannertest.Camera{
		HTTP: map[string][]byte{
			"/":                        []byte(crlf(string(identitytest.ReadFile(t, "http-hik-401-001.txt")))),
			"/ISAPI/System/deviceInfo": httpOK("application/xml", identitytest.ReadFile(t, "http-isapi-001.xml")),
		},
		RTSP:       rtsp[:2], // OPTIONS 200, then DESCRIBE 401: the prober never authenticates
		TLSSubject: hikSubject,
	}
}

func byProto(ids []identity.Identity) map[string]identity.Identity {
	m := map[string]identity.Identity{}
	for _, id := range ids {
		m[id.Source] = id
	}
	return m
}

func hasFact(id identity.Identity, field, value string) bool {
	return slices.Contains(id.Facts, identity.Fact{Field: field, Value: value})
}

func TestProbeHikvisionCamera(t *testing.T) {
	cam := hikCamera(t)
	startCamera(t, cam)
	ids, err := proberFor(cam, 2*time.Second).Probe(t.Context(), loopback)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("got %d identities, want http, rtsp, tls: %+v", len(ids), ids)
	}
	got := byProto(ids)
	want := map[string][]identity.Fact{
		"http": f("protocol", "http-response", "auth-scheme", "Digest", "realm", "IP Camera(C2183)",
			"protocol", "hikvision-isapi-deviceinfo", "xmlns", "http://www.hikvision.com/ver20/XMLSchema",
			"manufacturer", "hikvision", "model", "DS-2CD2386G2-IU", "serial", "DS-2CD2386G2-IU00000000AAWRJ00000000",
			"mac", "a6:63:9e:f8:01:09", "firmware", "V5.7.18 build 240826"),
		"rtsp": f("protocol", "rtsp-response", "auth-scheme", "Digest", "realm", "IP Camera(C2875)"),
		"tls": f("protocol", "tls-certificate", "tls-subject", "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN",
			"tls-org", "HIKVISION", "tls-cn", "www.hikvision.com"),
	}
	for proto, facts := range want {
		id, ok := got[proto]
		if !ok {
			t.Errorf("no %s identity", proto)
			continue
		}
		if id.Addr != loopback || id.Seen.IsZero() {
			t.Errorf("%s: Addr %v Seen %v", proto, id.Addr, id.Seen)
		}
		for _, fact := range facts {
			if !hasFact(id, fact.Field, fact.Value) {
				t.Errorf("%s: missing fact %v in %v", proto, fact, id.Facts)
			}
		}
	}
	if got["http"].MAC != "a6:63:9e:f8:01:09" {
		t.Errorf("http MAC = %q", got["http"].MAC)
	}

	reqs := cam.Requests()
	var targets []string
	for _, r := range reqs {
		if strings.Contains(strings.ToLower(r), "authorization") {
			t.Errorf("a request carries credentials:\n%s", r)
		}
		targets = append(targets, strings.Fields(r)[0]+" "+strings.Fields(r)[1])
	}
	slices.Sort(targets)
	wantTargets := []string{
		"DESCRIBE", "GET /", "GET /ISAPI/System/deviceInfo",
		"GET /cgi-bin/magicBox.cgi?action=getSystemInfo", "GET /cgi-bin/magicBox.cgi?action=getVendor", "OPTIONS",
	}
	if len(targets) != len(wantTargets) {
		t.Fatalf("requests %q, want %q", targets, wantTargets)
	}
	for i, w := range wantTargets {
		if !strings.HasPrefix(targets[i], w) {
			t.Errorf("request %d = %q, want %q", i, targets[i], w)
		}
	}
	for _, r := range reqs {
		if strings.HasPrefix(r, "DESCRIBE ") && !strings.Contains(r, "Accept: application/sdp") {
			t.Errorf("DESCRIBE without Accept: application/sdp:\n%s", r)
		}
	}
}

// TestProbeRawHeaders checks what net/http would lose: header names in
// capitals, the BOM, a chunked body, a redirect that is recorded but not
// followed.
func TestProbeRawHeaders(t *testing.T) {
	chunked := "HTTP/1.1 200 OK\r\nCONNECTION: close\r\nTRANSFER-ENCODING: chunked\r\nCONTENT-TYPE: text/html\r\n\r\n" +
		"5\r\n\xef\xbb\xbf<h\r\n1a\r\ntml><title>WEB SERVICE</ti\r\n7\r\ntle>..\n\r\n0\r\n\r\n"
	cam := &bannertest.Camera{HTTP: map[string][]byte{
		"/":                                      []byte(chunked),
		"/cgi-bin/magicBox.cgi?action=getVendor": []byte("HTTP/1.1 302 Found\r\nLocation: /login.htm\r\nContent-Length: 0\r\n\r\n"),
	}}
	startCamera(t, cam)
	p := proberFor(cam, 2*time.Second)
	ids, err := p.Probe(t.Context(), loopback)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("got %+v", ids)
	}
	for _, fact := range f("http-style", "uppercase-headers+bom", "title", "WEB SERVICE", "url", "/login.htm") {
		if !hasFact(ids[0], fact.Field, fact.Value) {
			t.Errorf("missing %v in %v", fact, ids[0].Facts)
		}
	}
	for _, r := range cam.Requests() {
		if strings.HasPrefix(r, "GET /login.htm") {
			t.Error("the redirect was followed")
		}
	}
}

// TestProbeBound checks that one Probe never has more than three
// connections open to the host. Each answer is delayed so that unbounded
// probes would overlap.
func TestProbeBound(t *testing.T) {
	cam := hikCamera(t)
	cam.Delay = 150 * time.Millisecond
	startCamera(t, cam)
	p := proberFor(cam, 3*time.Second)
	p.HTTPPorts = []int{cam.HTTPPort, cam.HTTPPort}
	if _, err := p.Probe(t.Context(), loopback); err != nil {
		t.Fatal(err)
	}
	if got := cam.MaxConcurrent(); got > 3 || got < 2 {
		t.Errorf("peak connections = %d, want 2..3", got)
	}
}

// hostile serves every connection with h until the test ends.
func hostile(t *testing.T, h func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				h(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestProbeHostile(t *testing.T) {
	silent := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
	hugeHeaders := func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := []byte("X-Junk: " + strings.Repeat("a", 1000) + "\r\n")
		for i := 0; i < 10<<10; i++ { // 10 MB
			if _, err := c.Write(line); err != nil {
				return
			}
		}
	}
	garbage := func(c net.Conn) {
		b := make([]byte, 64<<10)
		_, _ = rand.Read(b)
		_, _ = c.Write(b)
	}
	trickle := func(c net.Conn) {
		for {
			if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\n"[:1])); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	hugeBody := func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nServer: big\r\n\r\n")
		chunk := bytes.Repeat([]byte("<p>"), 10<<10)
		for i := 0; i < 400; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	const timeout = 500 * time.Millisecond
	for _, tc := range []struct {
		name  string
		h     func(net.Conn)
		proto string // the identity expected, if any
	}{
		{"never answers", silent, ""},
		{"10 MB of headers", hugeHeaders, ""},
		{"garbage", garbage, ""},
		{"one byte at a time", trickle, ""},
		{"endless body", hugeBody, "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := hostile(t, tc.h)
			p := NewProber()
			p.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			p.Timeout = timeout
			p.HTTPPorts = []int{port}
			p.RTSPPort = port
			p.TLSPort = port
			start := time.Now()
			ids, err := p.Probe(t.Context(), loopback)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			// GET / then the identity paths: at most two connection timeouts
			// in a row, plus slack for a loaded machine. A hang would last
			// until the hostile server gives up after 30 s.
			if elapsed > 2*timeout+3*time.Second {
				t.Errorf("Probe took %v with a %v timeout", elapsed, timeout)
			}
			var srcs []string
			for _, id := range ids {
				srcs = append(srcs, id.Source)
				for _, fact := range id.Facts {
					if len(fact.Value) > identity.MaxValueLen {
						t.Errorf("fact longer than the cap: %d bytes", len(fact.Value))
					}
				}
			}
			if tc.proto == "" && len(ids) != 0 || tc.proto != "" && !slices.Contains(srcs, tc.proto) {
				t.Errorf("identities from %v, want %q", srcs, tc.proto)
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestProbeNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := NewProber()
	p.HTTPPorts, p.RTSPPort, p.TLSPort = []int{port}, port, port
	ids, err := p.Probe(t.Context(), loopback)
	if err != nil || len(ids) != 0 {
		t.Fatalf("Probe = %v, %v; want nothing and no error", ids, err)
	}
}

func TestProbeContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewProber().Probe(ctx, loopback); err == nil {
		t.Error("no error with a cancelled context")
	}

	port := hostile(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	p := NewProber()
	p.Timeout = 10 * time.Second
	p.HTTPPorts, p.RTSPPort, p.TLSPort = []int{port}, port, port
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ids, err := p.Probe(ctx, loopback)
	if err == nil || len(ids) != 0 {
		t.Errorf("Probe = %v, %v; want a context error", ids, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Probe ignored the context for %v", time.Since(start))
	}
}

func TestZeroProber(t *testing.T) {
	var p Prober
	if _, err := p.Probe(t.Context(), netip.Addr{}); err == nil {
		t.Error("no error for the zero address")
	}
	ids, err := p.Probe(t.Context(), loopback)
	if err != nil || len(ids) != 0 {
		t.Fatalf("zero Prober: %v, %v", ids, err)
	}
}
