package nvr

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// response is one answer: status, headers and the body (at most MaxBody).
type response struct {
	status int
	header http.Header
	body   []byte
}

// loginError is a refusal of the account: a 401 (or a Dahua RPC error) to
// a request that carried credentials, or a lock the recorder reported.
// credentials says whether this read sent the password (a failed login of
// ours) or not (the recorder was already locked).
type loginError struct {
	credentials bool
	lock        Lock
	cgiLocked   bool
	what        string // fixed vocabulary: "HTTP 401", "RPC 268632085", ...
}

func (e *loginError) Error() string { return "login refused (" + e.what + ")" }

// session is the HTTP side of one read of one recorder: the client, the
// account, and the authentication state. It sends no credentials until a
// challenge asks for them, and answers one challenge per read.
type session struct {
	base       *url.URL
	client     *http.Client
	user, pass string
	allowBasic bool
	timeout    time.Duration
	log        *slog.Logger

	pending    []Challenge // challenges of an unauthenticated answer, not yet answered
	digest     *digestAuth
	basic      bool
	sentAuth   bool        // the password (or a hash of it) was sent
	okAuth     bool        // a request with credentials got a 2xx
	rechalleng bool        // the one re-challenge after okAuth was used
	probes     []*response // the unauthenticated answers of detection
}

func (s *session) hasAuth() bool { return s.digest != nil || s.basic }

func (s *session) https() bool { return s.base.Scheme == "https" }

func (s *session) close() {
	if t, ok := s.client.Transport.(readOnly); ok {
		if tr, ok := t.next.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	}
}

// do sends one request and reads its answer. withAuth adds the
// Authorization header of the chosen scheme.
func (s *session) do(ctx context.Context, method, target string, body []byte, withAuth bool) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	u := *s.base
	path, query, _ := strings.Cut(target, "?")
	u.Path, u.RawPath, u.RawQuery = path, "", query
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%w: request: %v", ErrProtocol, err)
	}
	req.Header.Set("User-Agent", "nvrguard")
	req.Header.Set("Accept", "*/*")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if withAuth {
		switch {
		case s.digest != nil:
			req.Header.Set("Authorization", s.digest.authorize(method, req.URL.RequestURI()))
		case s.basic:
			req.Header.Set("Authorization", basicAuth(s.user, s.pass))
		}
		s.sentAuth = true
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, classifyNetError(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > MaxBody {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, errTooLarge)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, classifyNetError(err)
	}
	if len(b) > MaxBody {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, errTooLarge)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// classifyNetError maps a transport error to a sentinel without quoting
// anything the recorder sent.
func classifyNetError(err error) error {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.Is(err, ErrRefusedRequest):
		return err
	case errors.Is(err, errPinMismatch):
		return fmt.Errorf("%w: %w", ErrTLS, errPinMismatch)
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
		return fmt.Errorf("%w: certificate not verified by the system roots (pin it with tls_fingerprint)", ErrTLS)
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Errorf("%w: timeout", ErrUnreachable)
	case errors.As(err, &oe):
		return fmt.Errorf("%w: %s", ErrUnreachable, oe.Op)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: connection closed", ErrUnreachable)
	}
	var tr tls.RecordHeaderError
	if errors.As(err, &tr) {
		return fmt.Errorf("%w: not a TLS server", ErrTLS)
	}
	return fmt.Errorf("%w: %s", ErrUnreachable, "no usable answer")
}

// probe sends an unauthenticated GET, as vendor detection does. A 401
// keeps its challenges for the next get; a 401 whose body says the
// account is locked is a loginError without credentials.
func (s *session) probe(ctx context.Context, target string) (*response, error) {
	resp, err := s.do(ctx, http.MethodGet, target, nil, false)
	if err != nil {
		return nil, err
	}
	s.probes = append(s.probes, resp)
	if resp.status == http.StatusUnauthorized {
		if le := lockOf(resp, false); le != nil {
			return resp, le
		}
		cs, err := ParseChallenges(resp.header.Values("Www-Authenticate"))
		if err != nil {
			return resp, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		s.pending = cs
	}
	return resp, nil
}

// cgiLockRe finds the word "locked" in a short CGI error answer (Dahua:
// "Error: ... locked"); "unlocked" does not match.
var cgiLockRe = regexp.MustCompile(`(?i)(^|[^a-z])locked\b`)

// lockOf returns a loginError when a 401/403 answer says the account is
// locked (Hikvision userCheck lockStatus/unlockTime, a Dahua CGI "locked"
// text), else nil.
func lockOf(resp *response, credentials bool) *loginError {
	if l, ok := ParseISAPILock(resp.body); ok && (l.Locked || l.RetriesLeft == 0) {
		l.Locked = true
		return &loginError{credentials: credentials, lock: l, what: fmt.Sprintf("HTTP %d, userCheck lockStatus", resp.status)}
	}
	if b := bytes.TrimSpace(resp.body); len(b) > 0 && len(b) < 2048 && b[0] != '<' && cgiLockRe.Match(b) {
		return &loginError{credentials: credentials, lock: Lock{Locked: true, RetriesLeft: -1}, cgiLocked: true, what: fmt.Sprintf("HTTP %d, locked", resp.status)}
	}
	return nil
}

// choose picks the scheme to answer challenges with: Digest (SHA-256 over
// MD5); else Basic, over https, or over http only when AllowBasic.
func (s *session) choose(cs []Challenge) error {
	if c := pickDigest(cs); c != nil {
		d, err := newDigest(c, s.user, s.pass)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		s.digest, s.basic = d, false
		return nil
	}
	basic := false
	for _, c := range cs {
		basic = basic || strings.EqualFold(c.Scheme, "Basic")
	}
	switch {
	case basic && (s.https() || s.allowBasic):
		s.digest, s.basic = nil, true
		return nil
	case basic:
		return fmt.Errorf("%w: the recorder offers only Basic over plain http, which would send the password in clear (use https, or allow_basic)", ErrAuthScheme)
	case len(cs) == 0:
		return fmt.Errorf("%w: a 401 without WWW-Authenticate", ErrAuthScheme)
	}
	return fmt.Errorf("%w: the recorder offers neither Digest (MD5, SHA-256, qop=auth) nor Basic", ErrAuthScheme)
}

// get sends an authenticated GET. The first 401 of a read, to a request
// without credentials, is the challenge: it is answered once. A 401 to a
// request with credentials is a failed login (a loginError), except one
// re-challenge after the account was already accepted in this read (an
// expired nonce).
func (s *session) get(ctx context.Context, target string) (*response, error) {
	if !s.hasAuth() && s.pending != nil {
		if err := s.choose(s.pending); err != nil {
			return nil, err
		}
		s.pending = nil
	}
	authed := s.hasAuth()
	resp, err := s.do(ctx, http.MethodGet, target, nil, authed)
	if err != nil {
		return nil, err
	}
	if !authed && len(s.probes) == 0 {
		s.probes = append(s.probes, resp)
	}
	if resp.status != http.StatusUnauthorized {
		if authed && resp.status/100 == 2 {
			s.okAuth = true
		}
		return resp, nil
	}
	if le := lockOf(resp, authed); le != nil {
		return resp, le
	}
	cs, perr := ParseChallenges(resp.header.Values("Www-Authenticate"))
	switch {
	case authed && s.okAuth && !s.rechalleng && perr == nil && pickDigest(cs) != nil:
		s.rechalleng = true
		s.log.Debug("nvr: the recorder asked again for Digest after accepting the account (nonce expired)")
	case authed:
		return resp, &loginError{credentials: true, lock: lockOrNone(resp), what: "HTTP 401"}
	case perr != nil:
		return resp, fmt.Errorf("%w: %v", ErrProtocol, perr)
	}
	if err := s.choose(cs); err != nil {
		return nil, err
	}
	resp, err = s.do(ctx, http.MethodGet, target, nil, true)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusUnauthorized {
		if le := lockOf(resp, true); le != nil {
			return resp, le
		}
		return resp, &loginError{credentials: true, lock: lockOrNone(resp), what: "HTTP 401"}
	}
	if resp.status/100 == 2 {
		s.okAuth = true
	}
	return resp, nil
}

// lockOrNone reads the retries-left count of a refusal's body.
func lockOrNone(resp *response) Lock {
	if l, ok := ParseISAPILock(resp.body); ok {
		return l
	}
	return Lock{RetriesLeft: -1}
}

// post sends a JSON-RPC POST (no HTTP authentication: RPC2 logs in with
// its own challenge).
func (s *session) post(ctx context.Context, path string, body []byte) (*response, error) {
	return s.do(ctx, http.MethodPost, path, body, false)
}
