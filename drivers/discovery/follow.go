package discovery

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// AdvertisedURL checks a URL a device advertised in a discovery answer (an
// SSDP LOCATION, a WS-Discovery XAddr) before the gateway follows it: a
// plain http:// URL without credentials whose host is an IP address, the
// address that answered (from). The errors read after the name of the URL:
// "is not an http:// URL", "carries credentials", "host is not an IP
// address", "host is not the address that answered".
func AdvertisedURL(raw string, from netip.Addr) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme != "http" || u.Host == "" || u.Opaque != "":
		return nil, errors.New("is not an http:// URL")
	case u.User != nil:
		return nil, errors.New("carries credentials")
	}
	host, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil, errors.New("host is not an IP address")
	}
	if !from.IsValid() || host.Unmap().WithZone("") != from.Unmap().WithZone("") {
		return nil, errors.New("host is not the address that answered")
	}
	return u, nil
}

// FollowClient returns a copy of c (def when c is nil) that follows no
// redirect and keeps no cookie, for requests to an advertised URL: a device
// cannot send the gateway to another host.
func FollowClient(c *http.Client, def http.Client) *http.Client {
	if c != nil {
		def = *c
	}
	def.Jar = nil
	def.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &def
}

// ReadBody reads a response body of at most limit bytes. Its errors read
// after the name of the body: "too large (N bytes, limit L)", "too large
// (more than L bytes)" or "unreadable: <why>".
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("too large (%d bytes, limit %d)", resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("unreadable: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("too large (more than %d bytes)", limit)
	}
	return b, nil
}

// ASCIICharset is an xml.Decoder CharsetReader for discovery answers that
// declare an ASCII-compatible 8-bit encoding: the input was already checked
// to be valid UTF-8, so they can only be plain ASCII.
func ASCIICharset(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "iso-8859-1", "latin1":
		return r, nil
	}
	return nil, errors.New("unsupported encoding")
}
