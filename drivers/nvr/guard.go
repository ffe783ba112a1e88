package nvr

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// DefaultRetryAfter is how long a recorder that refused the account is
// left alone (DESIGN.md: retry_after, default 6h).
const DefaultRetryAfter = 6 * time.Hour

// accountIterations is the PBKDF2 cost of an account tag: the tag is
// persisted, so a weak password must not be cheap to recover from it.
const accountIterations = 20000

// Guard remembers failed logins and recorder-reported locks, so that a
// wrong password is tried at most once per recorder per retry window and
// never while the recorder says the account is locked. The daemon keeps one
// Guard for all recorders across sweeps and persists it (OpenGuard, or
// MarshalJSON/UnmarshalJSON) so that a restart does not retry early. A hold
// belongs to one recorder URL, user name and password: a new password (or
// user) for the same recorder clears it. Safe for concurrent use.
type Guard struct {
	// RetryAfter is how long a failed login holds the recorder back
	// (DefaultRetryAfter when 0); a longer unlock time the recorder
	// reported wins.
	RetryAfter time.Duration

	mu    sync.Mutex
	salt  []byte
	holds map[string]*hold // by URL + "\x00" + user
	path  string           // file persisted to on change ("" none)
	wmu   sync.Mutex       // serialises file writes
}

// hold is one recorder held back.
type hold struct {
	URL     string    `json:"url"`
	User    string    `json:"user"`
	Account string    `json:"account"` // PBKDF2 tag of the password (hex)
	Cause   string    `json:"cause"`   // "auth" (refused) or "locked" (recorder-reported lock)
	At      time.Time `json:"at"`      // when it was recorded
	Until   time.Time `json:"until"`   // no attempt before this
}

// Account names one recorder account for the Guard: the recorder URL,
// the user name and a salted, slow hash of the password (never the
// password itself). Make it with Guard.Account.
type Account struct {
	URL, User string
	// RetryAfter, when set, is this account's own retry window (the
	// recorder's retry_after); the Guard's RetryAfter otherwise.
	RetryAfter time.Duration
	tag        string
}

// NewGuard returns an empty Guard (in memory only).
func NewGuard(retryAfter time.Duration) *Guard {
	return &Guard{RetryAfter: retryAfter}
}

// OpenGuard returns a Guard kept in the file at path: loaded from it when
// it exists, and written back atomically (temporary file, fsync, rename)
// on every change. A file that cannot be read as a Guard is an error, not
// an empty Guard: losing the holds would retry early.
func OpenGuard(path string, retryAfter time.Duration) (*Guard, error) {
	g := NewGuard(retryAfter)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("nvr: guard: %w", err)
	default:
		if err := g.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("nvr: guard %s: %w", path, err)
		}
	}
	g.path = path
	return g, nil
}

func (g *Guard) retryAfter(a Account) time.Duration {
	if a.RetryAfter > 0 {
		return a.RetryAfter
	}
	if g.RetryAfter > 0 {
		return g.RetryAfter
	}
	return DefaultRetryAfter
}

// Account returns the Guard's name for an account. It costs a PBKDF2
// derivation; a Reader computes it once per read.
func (g *Guard) Account(url, user, password string) (Account, error) {
	g.mu.Lock()
	if g.salt == nil {
		g.salt = make([]byte, 16)
		if _, err := rand.Read(g.salt); err != nil {
			g.salt = nil
			g.mu.Unlock()
			return Account{}, fmt.Errorf("nvr: guard salt: %w", err)
		}
	}
	salt := append(append(append(append([]byte(nil), g.salt...), url...), 0), user...)
	g.mu.Unlock()
	k, err := pbkdf2.Key(sha256.New, password, salt, accountIterations, 16)
	if err != nil {
		return Account{}, fmt.Errorf("nvr: guard: %w", err)
	}
	return Account{URL: url, User: user, tag: hex.EncodeToString(k)}, nil
}

func key(a Account) string { return a.URL + "\x00" + a.User }

// Check says whether the account may be tried at now. When not, it
// returns when it may (until) and why (ErrAuth: a failed login; ErrLocked:
// the recorder reported a lock). A hold recorded for another password of
// the same recorder and user is cleared: a new account is tried at once.
func (g *Guard) Check(a Account, now time.Time) (until time.Time, cause error) {
	g.mu.Lock()
	h := g.holds[key(a)]
	switch {
	case h == nil:
		g.mu.Unlock()
		return time.Time{}, nil
	case h.Account != a.tag || !now.Before(h.Until):
		delete(g.holds, key(a))
		g.mu.Unlock()
		_ = g.persist() // a stale hold left on disk only delays; the next change rewrites it
		return time.Time{}, nil
	}
	until, c := h.Until, h.Cause
	g.mu.Unlock()
	if c == "locked" {
		return until, ErrLocked
	}
	return until, ErrAuth
}

// Failed records a failed login of the account at now: no attempt before
// now+RetryAfter, nor before unlockAt (the recorder's own unlock time, zero
// when it gave none). It returns the time of the next attempt, and an
// error only when the hold could not be persisted.
func (g *Guard) Failed(a Account, now, unlockAt time.Time) (time.Time, error) {
	until := now.Add(g.retryAfter(a))
	if unlockAt.After(until) {
		until = unlockAt
	}
	return until, g.set(a, "auth", now, until)
}

// Locked records that the recorder reports the account (or the gateway's
// address) locked until unlockAt, before any password was sent: no attempt
// before then (now+RetryAfter when the recorder gave no time).
func (g *Guard) Locked(a Account, now, unlockAt time.Time) (time.Time, error) {
	until := unlockAt
	if !until.After(now) {
		until = now.Add(g.retryAfter(a))
	}
	return until, g.set(a, "locked", now, until)
}

// Succeeded clears any hold of the account after a good login.
func (g *Guard) Succeeded(a Account) error {
	g.mu.Lock()
	_, had := g.holds[key(a)]
	delete(g.holds, key(a))
	g.mu.Unlock()
	if had {
		return g.persist()
	}
	return nil
}

func (g *Guard) set(a Account, cause string, now, until time.Time) error {
	g.mu.Lock()
	if g.holds == nil {
		g.holds = map[string]*hold{}
	}
	if h := g.holds[key(a)]; h != nil && h.Account == a.tag && h.Until.After(until) {
		until = h.Until // never shorten a hold
	}
	g.holds[key(a)] = &hold{URL: a.URL, User: a.User, Account: a.tag, Cause: cause, At: now.UTC(), Until: until.UTC()}
	g.mu.Unlock()
	return g.persist()
}

// guardFile is the JSON form of a Guard.
type guardFile struct {
	Version int     `json:"version"`
	Salt    string  `json:"salt,omitempty"`
	Holds   []*hold `json:"holds"`
}

// MarshalJSON implements json.Marshaler: the salt and every hold (URL,
// user, password tag, cause, times); never a password.
func (g *Guard) MarshalJSON() ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := guardFile{Version: 1, Holds: []*hold{}}
	if g.salt != nil {
		f.Salt = base64.StdEncoding.EncodeToString(g.salt)
	}
	for _, h := range g.holds {
		c := *h
		f.Holds = append(f.Holds, &c)
	}
	sort.Slice(f.Holds, func(i, j int) bool {
		if f.Holds[i].URL != f.Holds[j].URL {
			return f.Holds[i].URL < f.Holds[j].URL
		}
		return f.Holds[i].User < f.Holds[j].User
	})
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler, replacing the Guard's salt and
// holds. Call it before computing any Account with this Guard.
func (g *Guard) UnmarshalJSON(b []byte) error {
	var f guardFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("guard state is not valid JSON: %w", err)
	}
	if f.Version != 1 {
		return fmt.Errorf("guard state version %d, want 1", f.Version)
	}
	var salt []byte
	if f.Salt != "" {
		s, err := base64.StdEncoding.DecodeString(f.Salt)
		if err != nil || len(s) < 8 {
			return errors.New("guard state has a bad salt")
		}
		salt = s
	}
	holds := map[string]*hold{}
	for _, h := range f.Holds {
		if h == nil || h.URL == "" || h.Until.IsZero() || (h.Cause != "auth" && h.Cause != "locked") {
			return errors.New("guard state has an incomplete hold")
		}
		holds[h.URL+"\x00"+h.User] = h
	}
	g.mu.Lock()
	g.salt, g.holds = salt, holds
	g.mu.Unlock()
	return nil
}

// persist writes the Guard to its file, when it has one.
func (g *Guard) persist() error {
	if g.path == "" {
		return nil
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	b, err := g.MarshalJSON()
	if err != nil {
		return err
	}
	return writeAtomic(g.path, b)
}

// writeAtomic replaces path with b: a temporary file in the same
// directory, synced, renamed over path, and the directory synced.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".nvr-guard-*")
	if err != nil {
		return fmt.Errorf("nvr: guard: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("nvr: guard: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
