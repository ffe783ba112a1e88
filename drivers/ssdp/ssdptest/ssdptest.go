// Package ssdptest simulates SSDP/UPnP devices for tests: a
// discoverytest.Handler that answers M-SEARCH requests with a captured
// response, and an HTTP server for the device description.
package ssdptest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
)

// Handler returns a handler that answers every M-SEARCH request with reply
// and ignores any other datagram.
func Handler(reply []byte) discoverytest.Handler {
	return HandlerWithLocation(reply, "")
}

// HandlerWithLocation is Handler with the LOCATION header of reply rewritten
// to location (CR and LF removed), so that it points at a test server. An
// empty location leaves reply as it is.
func HandlerWithLocation(reply []byte, location string) discoverytest.Handler {
	out := reply
	if location != "" {
		out = rewriteLocation(reply, strings.NewReplacer("\r", "", "\n", "").Replace(location))
	}
	return func(req []byte, _ netip.AddrPort) [][]byte {
		line, _, _ := bytes.Cut(req, []byte("\n"))
		if string(bytes.TrimRight(line, "\r")) != "M-SEARCH * HTTP/1.1" {
			return nil
		}
		return [][]byte{append([]byte(nil), out...)}
	}
}

// rewriteLocation replaces the value of every LOCATION header line of an
// SSDP message, keeping its line ends.
func rewriteLocation(msg []byte, location string) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(msg) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimSpace(name)), "location") {
			b.Write(line)
			continue
		}
		end := line[len(bytes.TrimRight(line, "\r\n")):]
		b.Write(name)
		b.WriteString(": " + location)
		b.Write(end)
	}
	return b.Bytes()
}

// DescriptionServer starts an HTTP server that answers GET requests for any
// path with desc as text/xml, as a device serves its description. The caller
// closes it; its URL plus a path is a LOCATION.
func DescriptionServer(desc []byte) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
		w.Header().Set("Server", "ssdptest/1.0 UPnP/1.0")
		_, _ = w.Write(desc)
	}))
}
