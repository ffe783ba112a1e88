// Package nvrtest simulates network video recorders for tests: a
// Hikvision NVR serving ISAPI and a Dahua NVR serving the CGI and the
// JSON-RPC interface, each behind real HTTP Digest verification (the
// response hash is checked against the account's password), with the
// recorders' lockout rules and server-side counters: failed and successful
// logins, requests by method, and every request that is not a GET or a
// read RPC, logged as a write attempt.
//
// The answers are the corpus samples in testdata (INDEX.tsv gives each
// one's source); Corpus exposes them to other packages' tests. This
// package does not import package nvr: it checks the client, it does not
// share its code.
package nvrtest

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Corpus holds the recorder samples (testdata/*, with INDEX.tsv).
//
//go:embed testdata/*.txt testdata/*.json testdata/*.xml testdata/INDEX.tsv
var Corpus embed.FS

// Sample returns the corpus file name (e.g. "dahua-remotedevice-001.txt").
func Sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := Corpus.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("nvrtest: %v", err)
	}
	return b
}

// Options configure a simulated recorder. The zero value is a recorder
// with account DefaultUser/DefaultPassword, Digest MD5 and the vendor's
// default lockout.
type Options struct {
	// Username and Password are the one account the recorder accepts
	// (DefaultUser, DefaultPassword when empty).
	Username, Password string
	// Realm is the Digest realm (Hikvision: a 24-hex string; Dahua:
	// "Login to <serial>").
	Realm string
	// Server is the Server header (Hikvision "DNVRS-Webs"; Dahua none).
	Server string
	// Algorithms are the Digest algorithms offered, one challenge each, in
	// order ("MD5", "SHA-256", "MD5-sess", "SHA-256-sess"); ["MD5"] when
	// empty.
	Algorithms []string
	// OfferBasic adds a Basic challenge (and accepts Basic credentials);
	// BasicOnly offers Basic alone.
	OfferBasic, BasicOnly bool
	// LockAfter failed logins lock the account for LockFor (Hikvision
	// default 7 / 30 min, the web "illegal login lock"; Dahua default
	// LockLoginTimes=5 / LoginFailLockTime=1800 s). A negative LockAfter
	// never locks.
	LockAfter int
	LockFor   time.Duration
	// LockedUntil starts the recorder locked until then.
	LockedUntil time.Time
	// Now is the recorder's clock (time.Now when nil).
	Now func() time.Time
	// NonceUses, when set, makes a nonce stale after that many accepted
	// requests: a correct answer with it then gets 401 stale=TRUE (not a
	// failed login), as when a recorder's nonce expires.
	NonceUses int
	// Canary, when set, is put in the answers' password fields (Hikvision
	// <password> in every channel descriptor; Dahua Password= lines and
	// the RPC "Password"), so a test can check it never comes out.
	Canary string
	// Forbidden paths answer 403 to an authenticated request.
	Forbidden []string
	// Bodies override served answers, by path (ISAPI) or by CGI action /
	// RPC method name ("getSystemInfo", "RemoteDevice", "getCameraState",
	// "configManager.getConfig", ...).
	Bodies map[string][]byte
	// TLS serves https (httptest.NewTLSServer).
	TLS bool
	// Listener, when set, is where the recorder serves (one made inside a
	// network namespace, on a LAN address); 127.0.0.1:0 otherwise.
	Listener net.Listener
	// Dahua only: NoCGI answers 404 on /cgi-bin (an RPC-only firmware);
	// NoRPC answers 404 on /RPC2 and /RPC2_Login; NumericSession sends
	// the RPC session as a number.
	NoCGI, NoRPC, NumericSession bool
}

// The default account of a simulated recorder.
const (
	DefaultUser     = "audit"
	DefaultPassword = "correct horse"
)

// Counters are the recorder's own record of what it was asked.
type Counters struct {
	// Requests lists every request, "METHOD /path?query", in order.
	Requests []string
	// ByMethod counts requests by HTTP method.
	ByMethod map[string]int
	// Challenges counts 401s to requests without credentials.
	Challenges int
	// Credentialed counts requests that carried credentials (an
	// Authorization header, or an RPC login with a password hash).
	Credentialed int
	// FailedLogins and SuccessfulLogins count credential checks.
	FailedLogins, SuccessfulLogins int
	// StaleNonces counts correct answers refused with stale=TRUE.
	StaleNonces int
	// LockedRefusals counts requests refused because the account was
	// locked; AttemptsWhileLocked those of them that carried credentials.
	LockedRefusals, AttemptsWhileLocked int
	// WriteAttempts lists requests that are neither a GET of a read path
	// nor a read RPC ("POST /ISAPI/...", "GET ...action=setConfig",
	// "RPC configManager.setConfig").
	WriteAttempts []string
}

// Recorder is a running simulated recorder.
type Recorder struct {
	// URL is the recorder's base URL (http://127.0.0.1:port).
	URL string
	// Server is the underlying test server (its Certificate() for TLS).
	Server *httptest.Server

	opts   Options
	mu     sync.Mutex
	c      Counters
	nonces map[string]int // nonce -> accepted uses
	fails  int
	locked time.Time
	rpc    map[string]*rpcSession
}

func newRecorder(t testing.TB, opts Options, realm, server string, lockAfter int, lockFor time.Duration, h func(*Recorder) http.Handler) *Recorder {
	t.Helper()
	if opts.Username == "" {
		opts.Username = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.Realm == "" {
		opts.Realm = realm
	}
	if opts.Server == "" {
		opts.Server = server
	}
	if len(opts.Algorithms) == 0 {
		opts.Algorithms = []string{"MD5"}
	}
	if opts.LockAfter == 0 {
		opts.LockAfter = lockAfter
	}
	if opts.LockFor == 0 {
		opts.LockFor = lockFor
	}
	r := &Recorder{opts: opts, nonces: map[string]int{}, locked: opts.LockedUntil}
	r.c.ByMethod = map[string]int{}
	r.Server = httptest.NewUnstartedServer(h(r))
	if opts.Listener != nil {
		r.Server.Listener.Close()
		r.Server.Listener = opts.Listener
	}
	// Refused handshakes are what TLS tests provoke: not worth a line.
	r.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS {
		r.Server.StartTLS()
	} else {
		r.Server.Start()
	}
	r.URL = r.Server.URL
	t.Cleanup(r.Server.Close)
	return r
}

// Counters returns a copy of the recorder's counters.
func (r *Recorder) Counters() Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.c
	c.Requests = append([]string(nil), r.c.Requests...)
	c.WriteAttempts = append([]string(nil), r.c.WriteAttempts...)
	c.ByMethod = map[string]int{}
	for k, v := range r.c.ByMethod {
		c.ByMethod[k] = v
	}
	return c
}

// LockedUntil returns when the account unlocks (zero: not locked).
func (r *Recorder) LockedUntil() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.now().Before(r.locked) {
		return r.locked
	}
	return time.Time{}
}

func (r *Recorder) now() time.Time {
	if r.opts.Now != nil {
		return r.opts.Now()
	}
	return time.Now()
}

func (r *Recorder) record(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := req.Method + " " + req.URL.Path
	if req.URL.RawQuery != "" {
		line += "?" + req.URL.RawQuery
	}
	r.c.Requests = append(r.c.Requests, line)
	r.c.ByMethod[req.Method]++
}

func (r *Recorder) write(what string) {
	r.mu.Lock()
	r.c.WriteAttempts = append(r.c.WriteAttempts, what)
	r.mu.Unlock()
}

// isLocked reports (under r.mu) whether the account is locked now, and
// the seconds left.
func (r *Recorder) isLocked() (bool, int) {
	now := r.now()
	if now.Before(r.locked) {
		return true, int(r.locked.Sub(now).Round(time.Second) / time.Second)
	}
	return false, 0
}

// failed records a failed login (under r.mu): the lock starts at
// LockAfter failures.
func (r *Recorder) failed() {
	r.c.FailedLogins++
	r.fails++
	if r.opts.LockAfter > 0 && r.fails >= r.opts.LockAfter {
		r.locked = r.now().Add(r.opts.LockFor)
		r.fails = 0
	}
}

func (r *Recorder) succeeded() {
	r.c.SuccessfulLogins++
	r.fails = 0
}

func (r *Recorder) retriesLeft() int {
	if r.opts.LockAfter <= 0 {
		return 99
	}
	return r.opts.LockAfter - r.fails
}

// challenges returns the WWW-Authenticate values of a 401, with fresh
// nonces (Hikvision's form: "<32-hex>:<ms-epoch>").
func (r *Recorder) challenges(stale bool) []string {
	var out []string
	if !r.opts.BasicOnly {
		for _, a := range r.opts.Algorithms {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			nonce := hex.EncodeToString(b) + fmt.Sprintf(":%d", r.now().UnixMilli())
			r.nonces[nonce] = 0
			st := "FALSE"
			if stale {
				st = "TRUE"
			}
			out = append(out, fmt.Sprintf(`Digest realm="%s", domain="::", qop="auth", nonce="%s", opaque="", algorithm="%s", stale="%s"`, r.opts.Realm, nonce, a, st))
		}
	}
	if r.opts.OfferBasic || r.opts.BasicOnly {
		out = append(out, fmt.Sprintf(`Basic realm="%s"`, r.opts.Realm))
	}
	return out
}

// authResult is the outcome of checking a request's credentials.
type authResult int

const (
	authNone  authResult = iota // no credentials
	authOK                      // good credentials
	authBad                     // wrong credentials
	authStale                   // good credentials with an expired nonce
)

// checkAuth verifies the Authorization header (under r.mu): Digest with
// the response hash recomputed from the account's password, or Basic.
func (r *Recorder) checkAuth(req *http.Request) authResult {
	h := req.Header.Get("Authorization")
	if h == "" {
		return authNone
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic") && (r.opts.OfferBasic || r.opts.BasicOnly):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return authBad
		}
		u, p, _ := strings.Cut(string(b), ":")
		if subtle.ConstantTimeCompare([]byte(u+"\x00"+p), []byte(r.opts.Username+"\x00"+r.opts.Password)) == 1 {
			return authOK
		}
		return authBad
	case strings.EqualFold(scheme, "Digest"):
		return r.checkDigest(req, parseParams(rest))
	}
	return authBad
}

func (r *Recorder) checkDigest(req *http.Request, p map[string]string) authResult {
	uses, known := r.nonces[p["nonce"]]
	algo := p["algorithm"]
	if algo == "" {
		algo = "MD5"
	}
	offered := false
	for _, a := range r.opts.Algorithms {
		offered = offered || strings.EqualFold(a, algo)
	}
	var h func() hash.Hash
	switch strings.ToUpper(strings.TrimSuffix(strings.ToUpper(algo), "-SESS")) {
	case "MD5":
		h = md5.New
	case "SHA-256":
		h = sha256.New
	}
	if !known || !offered || h == nil || p["username"] != r.opts.Username || p["realm"] != r.opts.Realm ||
		p["uri"] != req.URL.RequestURI() || p["qop"] != "auth" || p["nc"] == "" || p["cnonce"] == "" {
		return authBad
	}
	hx := func(s string) string {
		d := h()
		d.Write([]byte(s))
		return hex.EncodeToString(d.Sum(nil))
	}
	ha1 := hx(r.opts.Username + ":" + r.opts.Realm + ":" + r.opts.Password)
	if strings.HasSuffix(strings.ToUpper(algo), "-SESS") {
		ha1 = hx(ha1 + ":" + p["nonce"] + ":" + p["cnonce"])
	}
	ha2 := hx(req.Method + ":" + p["uri"])
	want := hx(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	if subtle.ConstantTimeCompare([]byte(want), []byte(p["response"])) != 1 {
		return authBad
	}
	if r.opts.NonceUses > 0 && uses >= r.opts.NonceUses {
		return authStale
	}
	r.nonces[p["nonce"]] = uses + 1
	return authOK
}

// parseParams reads the k=v / k="v" pairs of an Authorization header.
func parseParams(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,\t")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if rest[i] == '"' {
					break
				}
				b.WriteByte(rest[i])
			}
			v = b.String()
			if i < len(rest) {
				i++
			}
			s = rest[i:]
		} else {
			v, s, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		out[k] = v
	}
	return out
}

func (r *Recorder) forbidden(path string) bool {
	for _, p := range r.opts.Forbidden {
		if p == path {
			return true
		}
	}
	return false
}

func (r *Recorder) body(key string, def []byte) []byte {
	if b, ok := r.opts.Bodies[key]; ok {
		return b
	}
	return def
}

func mustSample(name string) []byte {
	b, err := Corpus.ReadFile("testdata/" + name)
	if err != nil {
		panic("nvrtest: missing embedded sample " + name)
	}
	return b
}
