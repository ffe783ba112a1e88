package nvr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/nvr/nvrtest"
)

// clock is a settable clock shared by a Reader and a simulated recorder.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf captures the package's log lines at debug level.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func reader(rec *nvrtest.Recorder, g *Guard, c *clock, log *logBuf, mod func(*Config)) *Reader {
	cfg := Config{URL: rec.URL, Username: nvrtest.DefaultUser, Password: nvrtest.DefaultPassword, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	r := &Reader{Config: cfg, Guard: g, Now: c.Now}
	if log != nil {
		r.Log = log.logger()
	}
	return r
}

// noWrites fails the test when the recorder saw anything but GETs and read
// RPCs.
func noWrites(t *testing.T, rec *nvrtest.Recorder) {
	t.Helper()
	c := rec.Counters()
	if len(c.WriteAttempts) > 0 {
		t.Errorf("write attempts: %q", c.WriteAttempts)
	}
	for m := range c.ByMethod {
		if m != http.MethodGet && m != http.MethodPost {
			t.Errorf("method %s used", m)
		}
	}
}

func TestReadHikvision(t *testing.T) {
	c := newClock()
	var log logBuf
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now})
	res, err := reader(rec, NewGuard(0), c, &log, nil).Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Vendor != VendorHikvision || len(res.Channels) != 4 {
		t.Fatalf("vendor %q, %d channels", res.Vendor, len(res.Channels))
	}
	for i, w := range isapi001 {
		checkChannel(t, "hikvision double", res.Channels[i], w)
	}
	// Status joined on id; an unknown chanDetectResult is unknown.
	for i, want := range []Liveness{LiveOnline, LiveOffline, LiveUnknown, LiveOffline} {
		if res.Channels[i].Online != want {
			t.Errorf("channel %d: %v, want %v", i+1, res.Channels[i].Online, want)
		}
	}
	r := res.Recorder
	host := netip.MustParseAddr("127.0.0.1")
	if r.Source != identity.SourceNVR || r.Addr != host || r.MAC != "e0:44:cf:0b:a7:98" ||
		r.Get(identity.FieldProtocol) != "hikvision-isapi-deviceinfo" || r.Get(identity.FieldModel) != "DS-7608NXI-I2/8P/S" ||
		r.Get(identity.FieldServer) != "DNVRS-Webs" || r.Get(identity.FieldRealm) != "c504892f438ee5f2114e9fdd" {
		t.Errorf("recorder %+v", r)
	}
	ids := res.Identities()
	if len(ids) != 5 || ids[1].Via.NVR != "127.0.0.1" || ids[4].Via.Channel != 4 || ids[1].Seen.IsZero() {
		t.Errorf("identities %+v", ids)
	}
	cnt := rec.Counters()
	// One challenge, then deviceInfo, channels, status with credentials.
	if cnt.Challenges != 1 || cnt.SuccessfulLogins != 3 || cnt.FailedLogins != 0 || len(cnt.Requests) != 4 {
		t.Errorf("counters %+v", cnt)
	}
	noWrites(t, rec)
	if !strings.Contains(log.String(), "read the channel list") {
		t.Errorf("log: %s", log.String())
	}
}

func TestReadDahuaCGI(t *testing.T) {
	c := newClock()
	rec := nvrtest.NewDahua(t, nvrtest.Options{Now: c.Now})
	res, err := reader(rec, NewGuard(0), c, nil, nil).Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Vendor != VendorDahua || len(res.Channels) != 3 {
		t.Fatalf("vendor %q, %d channels", res.Vendor, len(res.Channels))
	}
	if got := res.Recorder.Get(identity.FieldModel); got != "NVR2X-4KS3" || res.Recorder.Get(identity.FieldFirmware) != "4.001.0000005.0,build:2020-11-17" ||
		res.Recorder.Get(identity.FieldRealm) != "Login to 4F07335PAZEEA9B" || res.Recorder.Get(identity.FieldVendor) != "Dahua" {
		t.Errorf("recorder %+v", res.Recorder)
	}
	for i, want := range []Liveness{LiveOnline, LiveOnline, LiveOffline} {
		if res.Channels[i].Online != want {
			t.Errorf("channel %d: %v, want %v", i+1, res.Channels[i].Online, want)
		}
	}
	if cnt := rec.Counters(); cnt.FailedLogins != 0 || cnt.ByMethod[http.MethodPost] != 0 {
		t.Errorf("counters %+v", cnt)
	}
	noWrites(t, rec)
}

func TestReadDahuaRPC(t *testing.T) {
	for _, numeric := range []bool{false, true} {
		c := newClock()
		rec := nvrtest.NewDahua(t, nvrtest.Options{Now: c.Now, NoCGI: true, NumericSession: numeric})
		res, err := reader(rec, NewGuard(0), c, nil, func(cfg *Config) { cfg.Vendor = "dahua" }).Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Channels) != 1 || res.Channels[0].Identity.Get(identity.FieldSerial) != "7H07AB1RAZ64978" || res.Channels[0].Online != LiveOnline {
			t.Fatalf("channels %+v", res.Channels)
		}
		if res.Recorder.Get(identity.FieldModel) != "NVR2X-4KS3" {
			t.Errorf("recorder %+v", res.Recorder)
		}
		cnt := rec.Counters()
		if cnt.SuccessfulLogins != 1 || cnt.FailedLogins != 0 {
			t.Errorf("counters %+v", cnt)
		}
		if last := cnt.Requests[len(cnt.Requests)-1]; last != "POST /RPC2" {
			t.Errorf("last request %s (want the logout)", last)
		}
		noWrites(t, rec)
	}
}

// TestWrongPasswordOnce: three reads with one Guard cost the recorder one
// failed login, for each vendor and interface.
func TestWrongPasswordOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(testing.TB, nvrtest.Options) *nvrtest.Recorder
		opts nvrtest.Options
	}{
		{"hikvision", nvrtest.NewHikvision, nvrtest.Options{}},
		{"dahua-cgi", nvrtest.NewDahua, nvrtest.Options{}},
		{"dahua-rpc", nvrtest.NewDahua, nvrtest.Options{NoCGI: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			var log logBuf
			tc.opts.Now = c.Now
			rec := tc.new(t, tc.opts)
			g := NewGuard(0)
			r := reader(rec, g, c, &log, func(cfg *Config) {
				cfg.Password = "wrong password"
				if tc.opts.NoCGI {
					cfg.Vendor = VendorDahua // an RPC-only firmware has no unauthenticated tell
				}
			})
			for i := range 3 {
				_, err := r.Read(t.Context())
				want := ErrAuth
				if i > 0 {
					want = ErrHeld
				}
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, want) || !errors.Is(err, ErrAuth) {
					t.Fatalf("read %d: %v, want %v", i, err, want)
				}
				if !e.Until.Equal(c.Now().Add(DefaultRetryAfter)) && i == 0 {
					t.Errorf("until %v", e.Until)
				}
				c.Add(time.Minute)
			}
			cnt := rec.Counters()
			if cnt.FailedLogins != 1 || cnt.SuccessfulLogins != 0 {
				t.Errorf("failed logins %d, successful %d", cnt.FailedLogins, cnt.SuccessfulLogins)
			}
			n := len(cnt.Requests)
			// After retry_after, one more try.
			c.Add(DefaultRetryAfter)
			if _, err := r.Read(t.Context()); !errors.Is(err, ErrAuth) || errors.Is(err, ErrHeld) {
				t.Errorf("after retry_after: %v", err)
			}
			if cnt = rec.Counters(); cnt.FailedLogins != 2 || len(cnt.Requests) == n {
				t.Errorf("after retry_after: failed %d", cnt.FailedLogins)
			}
			// A new password is tried at once.
			r.Config.Password = nvrtest.DefaultPassword
			if _, err := r.Read(t.Context()); err != nil {
				t.Errorf("new password: %v", err)
			}
			noWrites(t, rec)
			if !strings.Contains(log.String(), "login refused") || !strings.Contains(log.String(), "held back") {
				t.Errorf("log lacks the refusal lines:\n%s", log.String())
			}
		})
	}
}

// TestLockedNoAttempt: a recorder that reports the account locked gets no
// password until its unlock time.
func TestLockedNoAttempt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		new    func(testing.TB, nvrtest.Options) *nvrtest.Recorder
		opts   nvrtest.Options
		vendor string
		retry  time.Duration // the Guard's retry_after
		after  time.Duration // when the read may run again
	}{
		// The recorder says how long: its time wins over a shorter retry_after.
		{"hikvision", nvrtest.NewHikvision, nvrtest.Options{}, VendorAuto, time.Minute, 10 * time.Minute},
		{"dahua-rpc", nvrtest.NewDahua, nvrtest.Options{NoCGI: true}, VendorDahua, time.Minute, 10 * time.Minute},
		// The CGI says "locked" without a time: retry_after (6 h) holds.
		{"dahua-cgi", nvrtest.NewDahua, nvrtest.Options{}, VendorAuto, 0, DefaultRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			var log logBuf
			tc.opts.Now = c.Now
			tc.opts.LockedUntil = c.Now().Add(10 * time.Minute)
			rec := tc.new(t, tc.opts)
			g := NewGuard(tc.retry)
			r := reader(rec, g, c, &log, func(cfg *Config) { cfg.Vendor = tc.vendor })
			start := c.Now()
			_, err := r.Read(t.Context())
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrLocked) {
				t.Fatalf("first read: %v", err)
			}
			cnt := rec.Counters()
			// The lock shows on the unauthenticated answer (Hikvision's 401
			// body, Dahua's RPC step 1, the CGI's "locked"): no password sent.
			if cnt.Credentialed != 0 || cnt.AttemptsWhileLocked != 0 {
				t.Errorf("credentials sent while locked: %+v", cnt)
			}
			if !e.Until.Equal(start.Add(tc.after)) {
				t.Errorf("until %v, want %v", e.Until, start.Add(tc.after))
			}
			n := len(cnt.Requests)
			for range 3 {
				c.Add(tc.after / 4)
				if _, err := r.Read(t.Context()); !errors.Is(err, ErrHeld) || !errors.Is(err, ErrLocked) {
					t.Fatalf("held read: %v", err)
				}
			}
			if got := len(rec.Counters().Requests); got != n {
				t.Errorf("%d requests while held", got-n)
			}
			c.Add(tc.after/4 + time.Second)
			if _, err := r.Read(t.Context()); err != nil {
				t.Errorf("after unlock: %v", err)
			}
			if cnt := rec.Counters(); cnt.AttemptsWhileLocked != 0 || cnt.FailedLogins != 0 {
				t.Errorf("attempts while locked: %d", cnt.AttemptsWhileLocked)
			}
			noWrites(t, rec)
		})
	}
}

// TestRecorderLocksAfterFailures: a recorder that locks at the first
// failure reports the lock in its refusal; the Guard keeps the longer of
// its unlock time and retry_after.
func TestRecorderLocksAfterFailures(t *testing.T) {
	c := newClock()
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, LockAfter: 1, LockFor: 48 * time.Hour})
	_, err := reader(rec, NewGuard(0), c, nil, func(cfg *Config) { cfg.Password = "x" }).Read(t.Context())
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrLocked) || !e.Until.Equal(c.Now().Add(48*time.Hour)) {
		t.Errorf("%v", err)
	}
}

// TestGuardPersists: a restart (a new Guard from the same file) does not
// retry early.
func TestGuardPersists(t *testing.T) {
	c := newClock()
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now})
	path := filepath.Join(t.TempDir(), "nvr-guard.json")
	g, err := OpenGuard(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := func(cfg *Config) { cfg.Password = "wrong" }
	if _, err := reader(rec, g, c, nil, bad).Read(t.Context()); !errors.Is(err, ErrAuth) {
		t.Fatal(err)
	}
	// "kill -9": the first Guard is dropped without any shutdown.
	g2, err := OpenGuard(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if _, err := reader(rec, g2, c, nil, bad).Read(t.Context()); !errors.Is(err, ErrHeld) {
		t.Errorf("after restart: %v", err)
	}
	if n := rec.Counters().FailedLogins; n != 1 {
		t.Errorf("failed logins %d", n)
	}
	b, _ := g2.MarshalJSON()
	if bytes.Contains(b, []byte("wrong")) || bytes.Contains(b, []byte(nvrtest.DefaultPassword)) {
		t.Errorf("password in the guard state: %s", b)
	}
	var f guardFile
	if err := json.Unmarshal(b, &f); err != nil || len(f.Holds) != 1 || f.Holds[0].Cause != "auth" || f.Holds[0].User != nvrtest.DefaultUser {
		t.Errorf("state %s", b)
	}
	// A corrupt file is an error, not a fresh start.
	if err := writeAtomic(path, []byte("{")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenGuard(path, 0); err == nil {
		t.Error("corrupt guard file accepted")
	}
}

// TestNoSecretsOut: the canary put in the recorders' password fields, and
// the configured password, appear in no identity, error or log line.
func TestNoSecretsOut(t *testing.T) {
	const canary = "CANARY-7f3a-do-not-leak"
	for _, tc := range []struct {
		name string
		new  func(testing.TB, nvrtest.Options) *nvrtest.Recorder
		opts nvrtest.Options
		pass string
	}{
		{"hikvision", nvrtest.NewHikvision, nvrtest.Options{Canary: canary}, ""},
		{"dahua-cgi", nvrtest.NewDahua, nvrtest.Options{Canary: canary}, ""},
		{"dahua-rpc", nvrtest.NewDahua, nvrtest.Options{Canary: canary, NoCGI: true}, ""},
		{"hikvision-wrong", nvrtest.NewHikvision, nvrtest.Options{}, canary},
		{"dahua-rpc-wrong", nvrtest.NewDahua, nvrtest.Options{NoCGI: true}, canary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			var log logBuf
			tc.opts.Now = c.Now
			rec := tc.new(t, tc.opts)
			g := NewGuard(0)
			r := reader(rec, g, c, &log, func(cfg *Config) {
				if tc.pass != "" {
					cfg.Password = tc.pass
				}
				if tc.opts.NoCGI {
					cfg.Vendor = VendorDahua
				}
			})
			var out strings.Builder
			for range 2 {
				res, err := r.Read(t.Context())
				if tc.pass == "" && err != nil {
					t.Fatal(err)
				}
				js, _ := json.Marshal(res.Identities())
				fmt.Fprintf(&out, "%+v %s %v %s", res, js, err, Health(err))
			}
			gs, _ := g.MarshalJSON()
			all := out.String() + log.String() + string(gs)
			for _, secret := range []string{canary, nvrtest.DefaultPassword} {
				if strings.Contains(all, secret) {
					t.Errorf("secret %q came out:\n%s", secret, all)
				}
			}
			if tc.pass == "" && !strings.Contains(rec.Counters().Requests[len(rec.Counters().Requests)-1], "") {
				t.Error("no request")
			}
		})
	}
}

func TestVendorDetection(t *testing.T) {
	c := newClock()
	hik := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now})
	dahua := nvrtest.NewDahua(t, nvrtest.Options{Now: c.Now})
	rpcOnly := nvrtest.NewDahua(t, nvrtest.Options{Now: c.Now, NoCGI: true})
	for _, tc := range []struct {
		rec  *nvrtest.Recorder
		want string
		err  error
	}{
		{hik, VendorHikvision, nil},
		{dahua, VendorDahua, nil},
		// Without the CGI there is no unauthenticated tell: auto does not
		// guess (vendor: dahua reads it, see TestReadDahuaRPC).
		{rpcOnly, "", ErrNotRecorder},
	} {
		res, err := reader(tc.rec, NewGuard(0), c, nil, nil).Read(t.Context())
		if res.Vendor != tc.want || !errors.Is(err, tc.err) && !(tc.err == nil && err == nil) {
			t.Errorf("%s: vendor %q, err %v", tc.rec.URL, res.Vendor, err)
		}
	}
	// A plain web server is not a recorder, and gets no credentials.
	var sawAuth bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = sawAuth || r.Header.Get("Authorization") != ""
		fmt.Fprint(w, "<html><title>router</title></html>")
	}))
	defer srv.Close()
	r := &Reader{Config: Config{URL: srv.URL, Username: "u", Password: "p"}}
	if _, err := r.Read(t.Context()); !errors.Is(err, ErrNotRecorder) || sawAuth {
		t.Errorf("web server: %v (auth sent %v)", err, sawAuth)
	}
	// A configured vendor overrides detection.
	res, err := reader(hik, NewGuard(0), c, nil, func(cfg *Config) { cfg.Vendor = "Hikvision" }).Read(t.Context())
	if err != nil || res.Vendor != VendorHikvision {
		t.Errorf("configured vendor: %v", err)
	}
}

func TestTLS(t *testing.T) {
	c := newClock()
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, TLS: true})
	sum := sha256.Sum256(rec.Server.Certificate().Raw)
	pin := hex.EncodeToString(sum[:])
	colons := strings.ToUpper(strings.Join(splitPairs(pin), ":"))
	for _, p := range []string{pin, colons, "SHA256 Fingerprint=" + colons} {
		if _, err := reader(rec, NewGuard(0), c, nil, func(cfg *Config) { cfg.TLSFingerprint = p }).Read(t.Context()); err != nil {
			t.Errorf("pin %s: %v", p, err)
		}
	}
	n := rec.Counters().SuccessfulLogins
	wrong := strings.Repeat("ab", 32)
	if _, err := reader(rec, NewGuard(0), c, nil, func(cfg *Config) { cfg.TLSFingerprint = wrong }).Read(t.Context()); !errors.Is(err, ErrTLS) {
		t.Errorf("wrong pin: %v", err)
	}
	if _, err := reader(rec, NewGuard(0), c, nil, nil).Read(t.Context()); !errors.Is(err, ErrTLS) {
		t.Errorf("unverified certificate: %v", err)
	}
	if got := rec.Counters().SuccessfulLogins; got != n {
		t.Errorf("a refused certificate still got %d requests", got-n)
	}
	// Verified by a root the caller trusts.
	pool := x509.NewCertPool()
	pool.AddCert(rec.Server.Certificate())
	r := reader(rec, NewGuard(0), c, nil, nil)
	r.RootCAs = pool
	if _, err := r.Read(t.Context()); err != nil {
		t.Errorf("verified certificate: %v", err)
	}
	if err := (Config{URL: "http://x", TLSFingerprint: pin}).Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("a pin on http accepted: %v", err)
	}
}

func splitPairs(s string) []string {
	var out []string
	for i := 0; i+2 <= len(s); i += 2 {
		out = append(out, s[i:i+2])
	}
	return out
}

func TestAuthSchemes(t *testing.T) {
	c := newClock()
	// SHA-256 preferred when offered.
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, Algorithms: []string{"MD5", "SHA-256"}})
	if _, err := reader(rec, NewGuard(0), c, nil, nil).Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	sha := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, Algorithms: []string{"SHA-256-sess"}})
	if _, err := reader(sha, NewGuard(0), c, nil, nil).Read(t.Context()); err != nil {
		t.Errorf("SHA-256-sess: %v", err)
	}
	// Basic only over plain http: refused, no password sent, no failure held.
	basic := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, BasicOnly: true})
	g := NewGuard(0)
	_, err := reader(basic, g, c, nil, nil).Read(t.Context())
	if !errors.Is(err, ErrAuthScheme) || basic.Counters().Credentialed != 0 {
		t.Errorf("basic over http: %v, %d credentialed", err, basic.Counters().Credentialed)
	}
	if _, err := reader(basic, g, c, nil, func(cfg *Config) { cfg.AllowBasic = true }).Read(t.Context()); err != nil {
		t.Errorf("allowed basic: %v", err)
	}
	// Digest and Basic offered: Digest used.
	both := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, OfferBasic: true})
	if _, err := reader(both, NewGuard(0), c, nil, nil).Read(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestStaleNonce: an expired nonce after the account was accepted in
// this read is answered once more, and is not a failed login; a second
// one ends the read.
func TestStaleNonce(t *testing.T) {
	c := newClock()
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, NonceUses: 2})
	if _, err := reader(rec, NewGuard(0), c, nil, nil).Read(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cnt := rec.Counters(); cnt.StaleNonces != 1 || cnt.FailedLogins != 0 || cnt.SuccessfulLogins != 3 {
		t.Errorf("counters %+v", cnt)
	}
	rec = nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, NonceUses: 1})
	if _, err := reader(rec, NewGuard(0), c, nil, nil).Read(t.Context()); !errors.Is(err, ErrAuth) {
		t.Errorf("second stale nonce: %v", err)
	}
	if cnt := rec.Counters(); cnt.StaleNonces != 2 || cnt.FailedLogins != 0 {
		t.Errorf("counters %+v", cnt)
	}
}

func TestForbidden(t *testing.T) {
	c := newClock()
	rec := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, Forbidden: []string{"/ISAPI/ContentMgmt/InputProxy/channels"}})
	g := NewGuard(0)
	res, err := reader(rec, g, c, nil, nil).Read(t.Context())
	if !errors.Is(err, ErrForbidden) || errors.Is(err, ErrAuth) {
		t.Fatalf("%v", err)
	}
	if res.Recorder.Get(identity.FieldModel) != "DS-7608NXI-I2/8P/S" {
		t.Errorf("recorder identity lost: %+v", res.Recorder)
	}
	// Not a credential failure: the next read tries again.
	if _, err := reader(rec, g, c, nil, nil).Read(t.Context()); errors.Is(err, ErrHeld) {
		t.Error("a 403 held the recorder back")
	}
	st := nvrtest.NewHikvision(t, nvrtest.Options{Now: c.Now, Forbidden: []string{"/ISAPI/ContentMgmt/InputProxy/channels/status"}})
	res, err = reader(st, NewGuard(0), c, nil, nil).Read(t.Context())
	if err != nil || len(res.Notes) != 1 || res.Channels[0].Online != LiveUnknown {
		t.Errorf("status 403: %v %q", err, res.Notes)
	}
}

func TestReadOnlyTransport(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	cl := newClient(nil, nil, "127.0.0.1", time.Second)
	for _, tc := range []struct {
		method, target, body string
	}{
		{"PUT", "/ISAPI/System/Network/extension", "<x/>"},
		{"POST", "/ISAPI/ContentMgmt/InputProxy/channels/activate", ""},
		{"GET", "/ISAPI/ContentMgmt/InputProxy/search", ""},
		{"GET", "/cgi-bin/configManager.cgi?action=setConfig&RemoteDevice.x=1", ""},
		{"GET", "/cgi-bin/configManager.cgi?action=getConfig&name=RemoteDevice&action=setConfig", ""},
		{"GET", "/cgi-bin/configManager.cgi?action=getConfig&name=Users", ""},
		{"POST", "/RPC2", `{"method":"configManager.setConfig","params":{},"id":1}`},
		{"POST", "/RPC2", `{"method":"global.login","params":{},"id":1}`},
		{"POST", "/RPC2", `{"method":"configManager.getConfig","params":{"name":"RemoteDevice"},"id":1}{"method":"x"}`},
		{"POST", "/RPC2_Login", `{"method":"magicBox.reboot","params":null,"id":1}`},
		{"DELETE", "/ISAPI/System/deviceInfo", ""},
	} {
		var body *strings.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		var req *http.Request
		if body != nil {
			req, _ = http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.target, body)
		} else {
			req, _ = http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.target, nil)
		}
		if resp, err := cl.Do(req); !errors.Is(err, ErrRefusedRequest) {
			t.Errorf("%s %s: %v", tc.method, tc.target, err)
			if resp != nil {
				resp.Body.Close()
			}
		}
	}
	if hits != 0 {
		t.Errorf("%d refused requests reached the server", hits)
	}
	for _, ok := range []struct{ method, target, body string }{
		{"GET", "/ISAPI/ContentMgmt/InputProxy/channels", ""},
		{"GET", "/cgi-bin/LogicDeviceManager.cgi?action=getCameraState&uniqueChannels=-1", ""},
		{"POST", "/RPC2", `{"method":"LogicDeviceManager.getCameraState","params":{"uniqueChannels":[-1]},"id":3,"session":"s"}`},
	} {
		path, q, _ := strings.Cut(ok.target, "?")
		if err := CheckRequest(ok.method, path, q, []byte(ok.body)); err != nil {
			t.Errorf("%s %s refused: %v", ok.method, ok.target, err)
		}
	}
}

func TestConfigAndNoAccount(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://user:pw@x", "http://x/ISAPI", "http://x?a=1", "x", "http://"} {
		if err := (Config{URL: u}).Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v", u, err)
		}
		if err := (Config{URL: u}).Validate(); err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("credentials in the error: %v", err)
		}
	}
	if err := (Config{URL: "http://x", Vendor: "axis"}).Validate(); err == nil {
		t.Error("vendor axis accepted")
	}
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	r := &Reader{Config: Config{URL: srv.URL, Username: "audit"}}
	if _, err := r.Read(t.Context()); !errors.Is(err, ErrNoAccount) || hits != 0 {
		t.Errorf("no password: %v, %d requests", err, hits)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := (&Reader{Config: Config{URL: url, Username: "u", Password: "p", Timeout: time.Second}}).Read(t.Context())
	if !errors.Is(err, ErrUnreachable) || Health(err) == "ok" {
		t.Errorf("%v", err)
	}
	// A recorder that never answers is bounded by the per-request timeout.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer stall.Close()
	start := time.Now()
	_, err = (&Reader{Config: Config{URL: stall.URL, Username: "u", Password: "p", Timeout: 200 * time.Millisecond}}).Read(t.Context())
	if !errors.Is(err, ErrUnreachable) || time.Since(start) > 3*time.Second {
		t.Errorf("stalled: %v after %v", err, time.Since(start))
	}
}

func TestHealth(t *testing.T) {
	until := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	e := &Error{Recorder: "http://192.168.1.20", Op: "login", Kind: ErrHeld, Cause: ErrAuth, Until: until}
	if h := Health(e); h != "not tried after a failed login (the recorder refused the account); next try after 2026-11-27T16:00:00Z" {
		t.Errorf("health %q", h)
	}
	if Health(nil) != "ok" {
		t.Error("nil")
	}
	if !errors.Is(e, ErrAuth) || !errors.Is(e, ErrHeld) || errors.Is(e, ErrLocked) {
		t.Error("Is")
	}
	if s := e.Error(); s != "nvr: http://192.168.1.20: login: not tried after a failed login (next try after 2026-11-27T16:00:00Z)" {
		t.Errorf("error %q", s)
	}
}
