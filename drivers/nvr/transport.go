package nvr

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// readRPCs are the only JSON-RPC methods this package calls: logins, and
// reads of configuration, cameras and system information.
var readRPCs = map[string]bool{
	"global.login":                      true,
	"global.logout":                     true,
	"global.keepAlive":                  true,
	"configManager.getConfig":           true,
	"LogicDeviceManager.getCameraState": true,
	"LogicDeviceManager.getCameraAll":   true,
	"magicBox.getSystemInfo":            true,
	"magicBox.getDeviceType":            true,
	"magicBox.getSoftwareVersion":       true,
	"magicBox.getSerialNo":              true,
	"magicBox.getVendor":                true,
	"magicBox.getMachineName":           true,
}

// readPaths are the only GET paths this package requests, each with the
// CGI actions allowed on it (nil: no query allowed).
var readPaths = map[string][]string{
	"/ISAPI/System/deviceInfo":                      nil,
	"/ISAPI/ContentMgmt/InputProxy/channels":        nil,
	"/ISAPI/ContentMgmt/InputProxy/channels/status": nil,
	"/ISAPI/Security/userCheck":                     nil,
	"/cgi-bin/magicBox.cgi":                         {"getSystemInfo", "getDeviceType", "getSoftwareVersion", "getSerialNo", "getVendor", "getMachineName"},
	"/cgi-bin/configManager.cgi":                    {"getConfig"},
	"/cgi-bin/LogicDeviceManager.cgi":               {"getCameraState", "getCameraAll"},
}

// readConfigNames are the configuration tables getConfig may read.
var readConfigNames = map[string]bool{"RemoteDevice": true, "ChannelTitle": true, "General": true}

// CheckRequest is the single place that decides whether a request may be
// sent: a GET of one of the read paths (CGI: a get* action), or a POST of a
// read RPC to /RPC2_Login (global.login only) or /RPC2. Anything else is a
// bug in this package and is refused before a byte is sent.
func CheckRequest(method, path, rawQuery string, body []byte) error {
	switch method {
	case http.MethodGet:
		actions, ok := readPaths[path]
		if !ok {
			return fmt.Errorf("%w: GET of a path this package does not read", ErrRefusedRequest)
		}
		if len(body) > 0 {
			return fmt.Errorf("%w: GET with a body", ErrRefusedRequest)
		}
		if actions == nil {
			if rawQuery != "" {
				return fmt.Errorf("%w: GET with a query", ErrRefusedRequest)
			}
			return nil
		}
		q, err := parseQuery(rawQuery)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrRefusedRequest, err)
		}
		a := q["action"]
		if len(a) != 1 || !contains(actions, a[0]) {
			return fmt.Errorf("%w: CGI action is not a read", ErrRefusedRequest)
		}
		if a[0] == "getConfig" {
			if n := q["name"]; len(n) != 1 || !readConfigNames[n[0]] {
				return fmt.Errorf("%w: getConfig of a table this package does not read", ErrRefusedRequest)
			}
		}
		return nil
	case http.MethodPost:
		if path != "/RPC2_Login" && path != "/RPC2" {
			return fmt.Errorf("%w: POST to a path that is not RPC2", ErrRefusedRequest)
		}
		if rawQuery != "" {
			return fmt.Errorf("%w: RPC POST with a query", ErrRefusedRequest)
		}
		m, err := rpcMethod(body)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrRefusedRequest, err)
		}
		if !readRPCs[m] || (path == "/RPC2_Login") != (m == "global.login") {
			return fmt.Errorf("%w: RPC method is not a read", ErrRefusedRequest)
		}
		return nil
	}
	return fmt.Errorf("%w: method %s", ErrRefusedRequest, strings.ToUpper(method))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseQuery splits a query without url.ParseQuery's leniency about ';'.
func parseQuery(raw string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k+v, "%;+") {
			return nil, errors.New("query with escapes")
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// rpcMethod reads the "method" of a JSON-RPC request body: one JSON object
// whose method is a string.
func rpcMethod(body []byte) (string, error) {
	p := &litParser{s: bytes.TrimSpace(body)}
	v, err := p.value(0)
	if err != nil || v.kind != litDict {
		return "", errors.New("RPC body is not one JSON object")
	}
	p.ws()
	if p.i != len(p.s) {
		return "", errors.New("RPC body has data after the object")
	}
	m := v.get("method")
	if m == nil || m.kind != litString || m.s == "" {
		return "", errors.New("RPC body without a method")
	}
	if m.s == "configManager.getConfig" {
		if n := v.get("params").get("name"); n == nil || !readConfigNames[n.s] {
			return "", errors.New("getConfig of a table this package does not read")
		}
	}
	return m.s, nil
}

// readOnly is the RoundTripper every request of this package goes
// through: it applies CheckRequest and refuses the rest.
type readOnly struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t readOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, fmt.Errorf("%w: body without GetBody", ErrRefusedRequest)
		}
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		body, err = io.ReadAll(io.LimitReader(rc, 64<<10))
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := CheckRequest(req.Method, req.URL.Path, req.URL.RawQuery, body); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// errPinMismatch is the certificate not matching the pinned fingerprint.
var errPinMismatch = errors.New("certificate does not match the pinned sha256 fingerprint")

// ParseFingerprint reads a SHA-256 fingerprint written as 64 hex digits,
// with or without ':' separators (as openssl x509 -fingerprint -sha256
// prints it), with an optional "sha256:" or "SHA256 Fingerprint=" prefix.
func ParseFingerprint(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '='); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimPrefix(strings.ToLower(s), "sha256:")
	s = strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("tls_fingerprint is not a sha256 fingerprint (64 hex digits)")
	}
	return b, nil
}

// tlsConfig verifies the server by roots (nil: the system's), or, with a
// pin, by the SHA-256 of the leaf certificate alone (then neither chain nor
// host name is checked: a recorder's self-signed certificate names
// nothing useful).
func tlsConfig(pin []byte, roots *x509.CertPool, serverName string) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: serverName}
	if pin != nil {
		c.InsecureSkipVerify = true // replaced by the pin check below
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errPinMismatch
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return errPinMismatch
			}
			return nil
		}
	}
	return c
}

// newClient builds the HTTP client of one read: the read-only check,
// bounded dial, TLS and header times, no proxy, no redirects, no cookies.
func newClient(pin []byte, roots *x509.CertPool, serverName string, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:            d.DialContext,
		TLSClientConfig:        tlsConfig(pin, roots, serverName),
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           2,
		IdleConnTimeout:        30 * time.Second,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
	}
	return &http.Client{
		Transport:     readOnly{next: tr},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
