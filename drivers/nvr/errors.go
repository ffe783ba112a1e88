package nvr

import (
	"errors"
	"strings"
	"time"
)

// The kinds of failure of a read. Every error Read returns is an *Error
// whose Kind is one of these, so errors.Is(err, ErrLocked) works.
var (
	// ErrConfig: the recorder's configuration is invalid (URL, vendor,
	// fingerprint).
	ErrConfig = errors.New("invalid configuration")
	// ErrNoAccount: no username or password is configured; the recorder is
	// never logged in to without one.
	ErrNoAccount = errors.New("no account configured")
	// ErrAuth: the recorder refused the account (a 401 to a request with
	// credentials, a Dahua "user or password not valid").
	ErrAuth = errors.New("the recorder refused the account")
	// ErrLocked: the recorder reports the account (or the gateway's
	// address) locked after failed logins.
	ErrLocked = errors.New("the recorder reports the account locked")
	// ErrHeld: not tried, because the Guard holds the recorder back after
	// a failed login or a lock; Error.Until says when it may be tried.
	ErrHeld = errors.New("not tried after a failed login")
	// ErrForbidden: the account may log in but may not read the channel
	// list (403).
	ErrForbidden = errors.New("the account may not read the channel list")
	// ErrUnreachable: no answer (connection refused, timeout, reset).
	ErrUnreachable = errors.New("the recorder is unreachable")
	// ErrTLS: the recorder's certificate is not verified by the system
	// roots, or does not match the pinned fingerprint.
	ErrTLS = errors.New("the recorder's certificate is not trusted")
	// ErrNotRecorder: the address answers, but not as a Hikvision or
	// Dahua recorder.
	ErrNotRecorder = errors.New("not a Hikvision or Dahua recorder")
	// ErrAuthScheme: the recorder offers no authentication this package
	// may use (Basic over plain http is refused unless allowed).
	ErrAuthScheme = errors.New("no usable authentication scheme")
	// ErrProtocol: the recorder's answer is malformed or unexpected.
	ErrProtocol = errors.New("unexpected answer")
	// ErrRefusedRequest: the package tried to send a request that is not
	// one of its read-only requests. This is a bug, and nothing was sent.
	ErrRefusedRequest = errors.New("request refused: not a read-only request")
)

// Error is a recorder that could not be read. It says which kind of
// failure (Kind, one of the Err* sentinels), what the package was doing
// (Op), and when the recorder may be tried again (Until; zero means the
// next sweep). Its text never quotes an answer or a secret.
type Error struct {
	Recorder string    // the recorder's URL, without credentials
	Op       string    // "detect", "login", "channels", ...
	Kind     error     // one of the Err* sentinels
	Cause    error     // for ErrHeld: the sentinel of the failure held for (ErrAuth, ErrLocked)
	Until    time.Time // when the recorder may be tried again; zero: next sweep
	Detail   string    // a safe, fixed-vocabulary explanation
	Err      error     // the underlying error, when any (already free of secrets)
}

// Error implements error: "nvr: <recorder>: <op>: <kind>[: detail][ (until ...)]: <err>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("nvr: ")
	if e.Recorder != "" {
		b.WriteString(e.Recorder)
		b.WriteString(": ")
	}
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if !e.Until.IsZero() {
		b.WriteString(" (next try after ")
		b.WriteString(e.Until.UTC().Format(time.RFC3339))
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is the Kind or the Cause of e.
func (e *Error) Is(target error) bool {
	return target == e.Kind || (e.Cause != nil && target == e.Cause)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Health sums up the result of one read for the state topic's "sources":
// "ok", or why not and, when known, when the recorder is tried again.
func Health(err error) string {
	if err == nil {
		return "ok"
	}
	var e *Error
	if !errors.As(err, &e) {
		return "error: " + err.Error()
	}
	s := e.Kind.Error()
	if e.Cause != nil {
		s += " (" + e.Cause.Error() + ")"
	}
	if !e.Until.IsZero() {
		s += "; next try after " + e.Until.UTC().Format(time.RFC3339)
	}
	return s
}
