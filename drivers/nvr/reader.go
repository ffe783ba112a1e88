package nvr

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Vendors a Config names.
const (
	VendorAuto      = "auto"
	VendorHikvision = "hikvision"
	VendorDahua     = "dahua"
)

// DefaultTimeout bounds each request (a 64-channel list answers in well
// under a second; slow NVR CPUs take a few).
const DefaultTimeout = 10 * time.Second

// Config is one recorder's entry of the configuration (DESIGN.md "nvr:").
type Config struct {
	// URL is http://host[:port] or https://host[:port], without a path or
	// credentials.
	URL string
	// Username and Password are the operator's account on the recorder.
	// Without both, the recorder is never logged in to (ErrNoAccount).
	Username, Password string
	// Vendor is "auto" (or ""), "hikvision" or "dahua"; auto decides from
	// the recorder's unauthenticated answer.
	Vendor string
	// TLSFingerprint, when set, is the SHA-256 of the recorder's leaf
	// certificate (hex, ':' allowed): the certificate is then accepted on
	// this pin alone. Without it, https is verified by the system roots.
	TLSFingerprint string
	// AllowBasic lets the package send Basic credentials over plain http
	// when the recorder offers nothing else. Off by default: Basic over
	// http is the password in clear.
	AllowBasic bool
	// Timeout bounds each request (DefaultTimeout when 0).
	Timeout time.Duration
	// RetryAfter is how long a refused account leaves the recorder alone
	// (the Guard's RetryAfter when 0; never sooner than the recorder's
	// own unlock time).
	RetryAfter time.Duration
}

// Validate checks the configuration without contacting the recorder.
func (c Config) Validate() error {
	_, _, err := c.parse()
	return err
}

func (c Config) parse() (*url.URL, []byte, error) {
	bad := func(why string) error { return &Error{Op: "config", Kind: ErrConfig, Detail: why} }
	u, err := url.Parse(strings.TrimSpace(c.URL))
	switch {
	case err != nil:
		return nil, nil, bad("url is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, nil, bad("url must be http:// or https://")
	case u.User != nil:
		return nil, nil, bad("url must not carry credentials (use username and password_file)")
	case u.Host == "" || u.Hostname() == "":
		return nil, nil, bad("url has no host")
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, nil, bad("url must be scheme://host[:port] only")
	}
	switch strings.ToLower(c.Vendor) {
	case "", VendorAuto, VendorHikvision, VendorDahua:
	default:
		return nil, nil, bad("vendor must be auto, hikvision or dahua")
	}
	var pin []byte
	if c.TLSFingerprint != "" {
		if u.Scheme != "https" {
			return nil, nil, bad("tls_fingerprint needs an https:// url")
		}
		if pin, err = ParseFingerprint(c.TLSFingerprint); err != nil {
			return nil, nil, bad(err.Error())
		}
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, pin, nil
}

// Reader reads one recorder. Its fields are set before the first Read and
// not changed after; Read may run concurrently for different Readers
// sharing one Guard.
type Reader struct {
	Config Config
	// Guard holds failed logins across reads. The daemon keeps ONE Guard
	// for all its Readers, persisted in its state dir (OpenGuard). nil
	// means a Guard of this Reader's own, lost with it.
	Guard *Guard
	// Log receives the package's log lines (nil: discarded). No line
	// carries a password or an answer's body.
	Log *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// RootCAs verifies https recorders without a pin (nil: the system
	// roots).
	RootCAs *x509.CertPool

	once sync.Once
	own  *Guard
}

// Result is what one read of a recorder gave.
type Result struct {
	URL      string            // the recorder's URL (scheme://host[:port])
	Vendor   string            // "hikvision" or "dahua"
	Recorder identity.Identity // the recorder's own identity (Source "nvr", Addr its address)
	Channels []Channel         // the IP channels, in the recorder's order
	// Notes are the parts that could not be read (a status list this
	// account may not see, ...), in fixed words.
	Notes []string
}

// Identities returns the recorder's identity followed by one identity per
// channel, each with Via.NVR set to the recorder's address.
func (r Result) Identities() []identity.Identity {
	host := ""
	if u, err := url.Parse(r.URL); err == nil {
		host = u.Hostname()
	}
	out := []identity.Identity{r.Recorder}
	return append(out, Identities(host, r.Channels)...)
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reader) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (r *Reader) guard() *Guard {
	if r.Guard != nil {
		return r.Guard
	}
	r.once.Do(func() { r.own = NewGuard(0) })
	return r.own
}

// Read logs in to the recorder and reads its identity and channel list.
// Unless the Guard allows it, nothing is sent. On error the Result holds
// what was read before it (often the recorder's identity); the error is an
// *Error whose Kind says why and whose Until, when set, says when the
// recorder is tried again.
func (r *Reader) Read(ctx context.Context) (Result, error) {
	base, pin, err := r.Config.parse()
	if err != nil {
		return Result{}, err
	}
	rec := base.String()
	res := Result{URL: rec}
	log := r.log().With("recorder", rec)
	if r.Config.Username == "" || r.Config.Password == "" {
		return res, &Error{Recorder: rec, Op: "login", Kind: ErrNoAccount}
	}
	g := r.guard()
	acct, err := g.Account(rec, r.Config.Username, r.Config.Password)
	if err != nil {
		return res, &Error{Recorder: rec, Op: "guard", Kind: ErrConfig, Err: err}
	}
	acct.RetryAfter = r.Config.RetryAfter
	if until, cause := g.Check(acct, r.now()); cause != nil {
		log.Info("nvr: not trying the recorder: held back after a refusal", "user", r.Config.Username, "cause", cause.Error(), "retry_at", until.UTC().Format(time.RFC3339))
		return res, &Error{Recorder: rec, Op: "login", Kind: ErrHeld, Cause: cause, Until: until}
	}
	timeout := r.Config.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s := &session{
		base:       base,
		client:     newClient(pin, r.RootCAs, base.Hostname(), timeout),
		user:       r.Config.Username,
		pass:       r.Config.Password,
		allowBasic: r.Config.AllowBasic,
		timeout:    timeout,
		log:        log,
	}
	defer s.close()
	res.Recorder = identity.Identity{Source: identity.SourceNVR, Seen: r.now()}
	if a, err := netip.ParseAddr(base.Hostname()); err == nil {
		res.Recorder.Addr = a.Unmap()
	}
	op, err := r.read(ctx, s, &res)
	if err == nil {
		if s.okAuth {
			if perr := g.Succeeded(acct); perr != nil {
				log.Warn("nvr: guard state not saved", "err", perr)
			}
		}
		now := r.now()
		for i := range res.Channels {
			res.Channels[i].Identity.Seen = now
		}
		log.Info("nvr: read the channel list", "vendor", res.Vendor, "channels", len(res.Channels))
		return res, nil
	}
	return res, r.fail(log, g, acct, rec, op, s, err)
}

// fail turns an error of a read into an *Error, recording refusals and
// locks in the Guard.
func (r *Reader) fail(log *slog.Logger, g *Guard, acct Account, rec, op string, s *session, err error) error {
	now := r.now()
	var le *loginError
	if errors.As(err, &le) {
		var unlockAt time.Time
		if le.lock.UnlockIn > 0 {
			unlockAt = now.Add(le.lock.UnlockIn)
		}
		kind := ErrAuth
		if le.lock.Locked {
			kind = ErrLocked
		}
		var until time.Time
		var perr error
		if le.credentials {
			until, perr = g.Failed(acct, now, unlockAt)
		} else {
			until, perr = g.Locked(acct, now, unlockAt)
		}
		if perr != nil {
			log.Warn("nvr: guard state not saved", "err", perr)
		}
		attrs := []any{"user", r.Config.Username, "answer", le.what, "retry_at", until.UTC().Format(time.RFC3339)}
		if le.lock.UnlockIn > 0 {
			attrs = append(attrs, "unlock_in", le.lock.UnlockIn.String())
		}
		if le.lock.RetriesLeft >= 0 {
			attrs = append(attrs, "retries_left", le.lock.RetriesLeft)
		}
		switch {
		case kind == ErrLocked && !le.credentials:
			log.Warn("nvr: the recorder reports the account locked; no password sent", attrs...)
		case kind == ErrLocked:
			log.Warn("nvr: login refused and the account is now locked", attrs...)
		default:
			log.Warn("nvr: login refused: check username and password", attrs...)
		}
		return &Error{Recorder: rec, Op: op, Kind: kind, Until: until, Detail: le.what}
	}
	var kind error
	for _, k := range []error{ErrRefusedRequest, ErrTLS, ErrUnreachable, ErrNotRecorder, ErrForbidden, ErrAuthScheme, ErrProtocol} {
		if errors.Is(err, k) {
			kind = k
			break
		}
	}
	switch {
	case kind == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return &Error{Recorder: rec, Op: op, Kind: ErrUnreachable, Detail: "the read was cancelled", Err: err}
	case kind == nil:
		kind = ErrProtocol
	}
	e := &Error{Recorder: rec, Op: op, Kind: kind, Err: stripSentinel(err, kind)}
	if kind == ErrRefusedRequest {
		log.Error("nvr: refused to send a request that is not read-only (a bug)", "op", op, "err", err)
	} else {
		log.Warn("nvr: recorder not read", "op", op, "err", e.Error())
	}
	return e
}

// stripSentinel drops a leading "<sentinel>: " from err's text, so the
// *Error does not say it twice; it keeps err as the cause.
func stripSentinel(err, kind error) error {
	msg, ok := strings.CutPrefix(err.Error(), kind.Error()+": ")
	if !ok {
		if err.Error() == kind.Error() {
			return nil
		}
		return err
	}
	return detailError{msg: msg, err: err}
}

type detailError struct {
	msg string
	err error
}

func (e detailError) Error() string { return e.msg }
func (e detailError) Unwrap() error { return e.err }

// read detects the vendor and reads the recorder; op says which step
// failed.
func (r *Reader) read(ctx context.Context, s *session, res *Result) (string, error) {
	vendor := strings.ToLower(r.Config.Vendor)
	if vendor == "" || vendor == VendorAuto {
		v, err := detect(ctx, s)
		if err != nil {
			return "detect", err
		}
		vendor = v
	}
	res.Vendor = vendor
	var op string
	var err error
	if vendor == VendorHikvision {
		op, err = readHikvision(ctx, s, res)
	} else {
		op, err = readDahua(ctx, s, res)
	}
	for _, p := range s.probes {
		addAnswerFacts(&res.Recorder, p)
	}
	return op, err
}

// hikRealm is the realm of Hikvision recorders: 24 hex digits.
var hikRealm = regexp.MustCompile(`^[0-9a-f]{24}$`)

// hikServers are Server headers of Hikvision recorders and OEM builds.
var hikServers = map[string]bool{"dnvrs-webs": true, "dvrdvs-webs": true, "hikvision-webs": true, "webs": true, "webserver": true}

// detect asks the recorder, without credentials, which it is: GET
// /ISAPI/System/deviceInfo (Hikvision answers 401 with a userCheck body or
// a 24-hex realm, or the DeviceInfo itself), then GET magicBox.cgi (Dahua:
// realm "Login to …").
func detect(ctx context.Context, s *session) (string, error) {
	resp, err := s.probe(ctx, "/ISAPI/System/deviceInfo")
	if err != nil {
		return "", err
	}
	realm := realmOf(resp)
	switch {
	case strings.HasPrefix(realm, "Login to "):
		return VendorDahua, nil
	case resp.status == http.StatusUnauthorized && (hikRealm.MatchString(realm) || isUserCheck(resp.body) || hikServer(resp.header.Get("Server"))):
		return VendorHikvision, nil
	case resp.status == http.StatusOK:
		if _, err := ParseISAPIDeviceInfo(resp.body); err == nil {
			return VendorHikvision, nil
		}
	}
	resp, err = s.probe(ctx, "/cgi-bin/magicBox.cgi?action=getSystemInfo")
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(realmOf(resp), "Login to "):
		return VendorDahua, nil
	case resp.status == http.StatusOK:
		if _, err := ParseMagicBox(resp.body); err == nil {
			return VendorDahua, nil
		}
	}
	return "", fmt.Errorf("%w: neither ISAPI nor the Dahua CGI answered as a recorder (set vendor to force one)", ErrNotRecorder)
}

func hikServer(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	if v, _, ok := strings.Cut(s, "/"); ok {
		s = v
	}
	return hikServers[s] || s == "app-webs"
}

func isUserCheck(b []byte) bool {
	_, ok := ParseISAPILock(b)
	return ok
}

// realmOf returns the realm of the first challenge of a 401.
func realmOf(resp *response) string {
	if resp == nil || resp.status != http.StatusUnauthorized {
		return ""
	}
	cs, _ := ParseChallenges(resp.header.Values("Www-Authenticate"))
	for _, c := range cs {
		if r := c.Param("realm"); r != "" {
			return r
		}
	}
	return ""
}

// addAnswerFacts records the Server header and the realm of the
// recorder's first answer (evidence the policy knows).
func addAnswerFacts(id *identity.Identity, resp *response) {
	id.Add(identity.FieldServer, resp.header.Get("Server"))
	cs, _ := ParseChallenges(resp.header.Values("Www-Authenticate"))
	for _, c := range cs {
		id.Add(identity.FieldRealm, c.Param("realm"))
	}
}

// readHikvision reads deviceInfo, the InputProxy channel list and its
// status list.
func readHikvision(ctx context.Context, s *session, res *Result) (string, error) {
	resp, err := s.get(ctx, "/ISAPI/System/deviceInfo")
	if err != nil {
		return "login", err
	}
	switch resp.status {
	case http.StatusOK:
		root, _, perr := parseDocument(resp.body)
		if perr == nil {
			if di := root.find("DeviceInfo"); len(di) > 0 {
				addDeviceInfo(&res.Recorder, di[0])
				break
			}
		}
		res.Notes = append(res.Notes, "deviceInfo: not a DeviceInfo document")
	case http.StatusForbidden:
		res.Notes = append(res.Notes, "deviceInfo: not available to this account")
	default:
		res.Notes = append(res.Notes, fmt.Sprintf("deviceInfo: HTTP %d", resp.status))
	}
	resp, err = s.get(ctx, "/ISAPI/ContentMgmt/InputProxy/channels")
	if err != nil {
		return "channels", err
	}
	switch resp.status {
	case http.StatusOK:
	case http.StatusForbidden:
		return "channels", fmt.Errorf("%w: InputProxy/channels answers HTTP 403", ErrForbidden)
	case http.StatusNotFound, http.StatusNotImplemented:
		return "channels", fmt.Errorf("%w: InputProxy/channels answers HTTP %d (a camera, or a recorder without IP channels)", ErrNotRecorder, resp.status)
	default:
		return "channels", fmt.Errorf("%w: InputProxy/channels answers HTTP %d", ErrProtocol, resp.status)
	}
	root, _, err := parseDocument(resp.body)
	if err != nil {
		return "channels", fmt.Errorf("%w: channel list: %v", ErrProtocol, err)
	}
	chans, err := isapiChannels(root)
	if err != nil {
		return "channels", fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	for _, l := range root.find("InputProxyChannelList") {
		res.Recorder.Add(identity.FieldXMLNS, l.ns())
	}
	res.Channels = chans
	resp, err = s.get(ctx, "/ISAPI/ContentMgmt/InputProxy/channels/status")
	if err != nil {
		return "status", err
	}
	if resp.status != http.StatusOK {
		res.Notes = append(res.Notes, fmt.Sprintf("channel status: HTTP %d", resp.status))
		return "", nil
	}
	st, err := ParseISAPIChannelStatus(resp.body)
	if err != nil {
		res.Notes = append(res.Notes, "channel status: not a status list")
		return "", nil
	}
	join(res.Channels, st)
	return "", nil
}

// readDahua reads magicBox and RemoteDevice over the CGI, and falls back
// to JSON-RPC where the CGI answers 404/501.
func readDahua(ctx context.Context, s *session, res *Result) (string, error) {
	cgiGone := func(st int) bool { return st == http.StatusNotFound || st == http.StatusNotImplemented }
	if s.pending == nil && !s.hasAuth() {
		resp, err := s.probe(ctx, "/cgi-bin/magicBox.cgi?action=getSystemInfo")
		if err != nil {
			return "login", err
		}
		if cgiGone(resp.status) {
			return readRPC(ctx, s, res, true)
		}
	}
	resp, err := s.get(ctx, "/cgi-bin/magicBox.cgi?action=getSystemInfo")
	if err != nil {
		return "login", err
	}
	needInfo := true
	switch {
	case cgiGone(resp.status):
		return readRPC(ctx, s, res, true)
	case resp.status == http.StatusOK:
		if err := addMagicBoxAnswer(&res.Recorder, resp.body); err != nil {
			res.Notes = append(res.Notes, "getSystemInfo: not magicBox lines")
		} else {
			needInfo = false
		}
	case resp.status == http.StatusForbidden:
		if le := lockOf(resp, true); le != nil {
			return "login", le
		}
		res.Notes = append(res.Notes, "getSystemInfo: not available to this account")
	default:
		res.Notes = append(res.Notes, fmt.Sprintf("getSystemInfo: HTTP %d", resp.status))
	}
	for _, action := range []string{"getSoftwareVersion", "getVendor"} {
		resp, err := s.get(ctx, "/cgi-bin/magicBox.cgi?action="+action)
		if err != nil {
			return "login", err
		}
		if resp.status == http.StatusOK {
			_ = addMagicBoxAnswer(&res.Recorder, resp.body)
		}
	}
	resp, err = s.get(ctx, "/cgi-bin/configManager.cgi?action=getConfig&name=RemoteDevice")
	if err != nil {
		return "channels", err
	}
	switch {
	case cgiGone(resp.status):
		return readRPC(ctx, s, res, needInfo)
	case resp.status == http.StatusForbidden:
		if le := lockOf(resp, true); le != nil {
			return "channels", le
		}
		return "channels", fmt.Errorf("%w: RemoteDevice answers HTTP 403", ErrForbidden)
	case resp.status != http.StatusOK:
		return "channels", fmt.Errorf("%w: RemoteDevice answers HTTP %d", ErrProtocol, resp.status)
	}
	chans, err := ParseDahuaChannels(resp.body)
	if err != nil {
		return "channels", fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	res.Channels = chans
	resp, err = s.get(ctx, "/cgi-bin/LogicDeviceManager.cgi?action=getCameraState&uniqueChannels=-1")
	if err != nil {
		return "status", err
	}
	if resp.status != http.StatusOK {
		res.Notes = append(res.Notes, fmt.Sprintf("camera state: HTTP %d", resp.status))
		return "", nil
	}
	if st, err := ParseDahuaCameraState(resp.body); err == nil {
		join(res.Channels, st)
	} else {
		res.Notes = append(res.Notes, "camera state: not states[] lines")
	}
	return "", nil
}

func addMagicBoxAnswer(id *identity.Identity, b []byte) error {
	lines, err := splitKV(b)
	if err != nil {
		return err
	}
	kv := map[string]string{}
	for _, l := range lines {
		kv[l.key] = l.value
	}
	if !addMagicBox(id, kv) {
		return errors.New("no magicBox keys")
	}
	return nil
}

// readRPC reads over JSON-RPC: global.login, magicBox.getSystemInfo (when
// the CGI gave none), configManager.getConfig RemoteDevice (or
// LogicDeviceManager.getCameraAll), LogicDeviceManager.getCameraState,
// global.logout.
func readRPC(ctx context.Context, s *session, res *Result, needInfo bool) (string, error) {
	c := &rpcClient{s: s}
	if err := c.login(ctx); err != nil {
		return "login", err
	}
	defer c.logout(ctx)
	if needInfo {
		r, err := c.read(ctx, "magicBox.getSystemInfo", nil)
		var le *loginError
		switch {
		case errors.As(err, &le):
			return "login", err
		case err != nil:
			res.Notes = append(res.Notes, "getSystemInfo: not available")
		case !addMagicBox(&res.Recorder, flatten(r.params)):
			res.Notes = append(res.Notes, "getSystemInfo: no magicBox keys")
		}
	}
	r, err := c.read(ctx, "configManager.getConfig", map[string]any{"name": "RemoteDevice"})
	if isMissing(err) {
		r, err = c.read(ctx, "LogicDeviceManager.getCameraAll", nil)
	}
	if err != nil {
		var re *rpcError
		if errors.As(err, &re) {
			return "channels", fmt.Errorf("%w: RemoteDevice: %v", ErrForbidden, err)
		}
		return "channels", err
	}
	chans, err := rpcChannels(r.params)
	if err != nil {
		return "channels", fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	res.Channels = chans
	r, err = c.read(ctx, "LogicDeviceManager.getCameraState", map[string]any{"uniqueChannels": []int{-1}})
	if err != nil {
		res.Notes = append(res.Notes, "camera state: not available")
		return "", nil
	}
	if st := r.params.get("states"); st != nil && st.kind == litList {
		var recs []map[string]string
		for _, v := range st.items {
			recs = append(recs, flatten(v))
		}
		join(res.Channels, statesOf(recs))
	}
	return "", nil
}
