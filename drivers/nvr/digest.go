package nvr

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
)

// HTTP Digest client authentication (RFC 7616), written here on the
// standard library: no maintained Go module covers Digest with SHA-256,
// -sess, several challenges and strict scheme selection without pulling in
// more than it gives.

// Challenge is one WWW-Authenticate challenge: its scheme ("Digest",
// "Basic", ...) and its auth parameters (names lower-cased, values
// unquoted), or a token68.
type Challenge struct {
	Scheme  string
	Params  map[string]string
	Token68 string
}

// Param returns the parameter name (case-insensitive), or "".
func (c Challenge) Param(name string) string { return c.Params[strings.ToLower(name)] }

// maxChallenges bounds what one answer may offer.
const maxChallenges = 16

// ParseChallenges parses the values of every WWW-Authenticate header of
// an answer (each may hold several comma-separated challenges, RFC 7235
// 4.1) into challenges. Quoted strings keep backslash escapes' characters.
// Malformed input is an error that does not quote it.
func ParseChallenges(values []string) ([]Challenge, error) {
	var out []Challenge
	for _, v := range values {
		if len(v) > 8<<10 {
			return nil, errors.New("WWW-Authenticate header longer than 8 KiB")
		}
		cs, err := parseChallengeList(v)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
		if len(out) > maxChallenges {
			return nil, fmt.Errorf("more than %d authentication challenges", maxChallenges)
		}
	}
	return out, nil
}

type authLexer struct {
	s string
	i int
}

func isTChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (l *authLexer) ows() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}

func (l *authLexer) token() string {
	start := l.i
	for l.i < len(l.s) && isTChar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// quoted reads a quoted-string; l.s[l.i] is '"'.
func (l *authLexer) quoted() (string, error) {
	var b strings.Builder
	for l.i++; l.i < len(l.s); l.i++ {
		c := l.s[l.i]
		switch {
		case c == '\\':
			if l.i+1 >= len(l.s) {
				return "", errors.New("unterminated quoted string in WWW-Authenticate")
			}
			l.i++
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): an
			// escaped control character is still one (RFC 9110 5.6.4).
			if e := l.s[l.i]; e < 0x20 && e != '\t' || e == 0x7f {
				return "", errors.New("control character in WWW-Authenticate")
			}
			b.WriteByte(l.s[l.i])
		case c == '"':
			l.i++
			return b.String(), nil
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", errors.New("control character in WWW-Authenticate")
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted string in WWW-Authenticate")
}

// parseChallengeList parses one header value:
//
//	challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param = token BWS "=" BWS ( token / quoted-string )
//
// A token followed by "=" is a parameter of the current challenge; a
// token followed by anything else starts the next challenge.
func parseChallengeList(s string) ([]Challenge, error) {
	l := &authLexer{s: s}
	var out []Challenge
	for {
		for l.i < len(l.s) && (l.s[l.i] == ',' || l.s[l.i] == ' ' || l.s[l.i] == '\t') {
			l.i++
		}
		if l.i >= len(l.s) {
			return out, nil
		}
		tok := l.token()
		if tok == "" {
			return nil, fmt.Errorf("WWW-Authenticate: unexpected character at offset %d", l.i)
		}
		l.ows()
		if l.i < len(l.s) && l.s[l.i] == '=' {
			if len(out) == 0 {
				return nil, errors.New("WWW-Authenticate: a parameter before any scheme")
			}
			cur := &out[len(out)-1]
			l.i++
			l.ows()
			var val string
			if l.i < len(l.s) && l.s[l.i] == '"' {
				v, err := l.quoted()
				if err != nil {
					return nil, err
				}
				val = v
			} else {
				val = l.token()
			}
			name := strings.ToLower(tok)
			if _, dup := cur.Params[name]; dup {
				return nil, fmt.Errorf("WWW-Authenticate: parameter %q given twice", name)
			}
			if len(cur.Params) >= 32 || cur.Token68 != "" {
				return nil, errors.New("WWW-Authenticate: too many parameters")
			}
			cur.Params[name] = val
			l.ows()
			if l.i < len(l.s) && l.s[l.i] != ',' {
				return nil, fmt.Errorf("WWW-Authenticate: ',' expected at offset %d", l.i)
			}
			continue
		}
		// A new challenge: tok is its scheme.
		if len(out) >= maxChallenges {
			return nil, fmt.Errorf("more than %d authentication challenges", maxChallenges)
		}
		out = append(out, Challenge{Scheme: tok, Params: map[string]string{}})
		if l.i > 0 && (l.s[l.i-1] == ' ' || l.s[l.i-1] == '\t') {
			if t, n := token68At(l.s[l.i:]); n > 0 {
				out[len(out)-1].Token68 = t
				l.i += n
			}
		}
	}
}

// token68At returns the token68 at the start of s and its length: a run
// of token68 characters, '=' padding, then the end or a comma. "realm=…"
// is not one: a value follows its '='.
func token68At(s string) (string, int) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0 {
			i++
			continue
		}
		break
	}
	if i == 0 {
		return "", 0
	}
	j := i
	for j < len(s) && s[j] == '=' {
		j++
	}
	k := j
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k < len(s) && s[k] != ',' {
		return "", 0
	}
	return s[:j], j
}

// digestAlgo is one RFC 7616 algorithm.
type digestAlgo struct {
	name string
	sess bool
	h    func() hash.Hash
	rank int
}

func algoOf(name string) (digestAlgo, bool) {
	switch strings.ToUpper(name) {
	case "", "MD5":
		return digestAlgo{name: "MD5", h: md5.New, rank: 1}, true
	case "MD5-SESS":
		return digestAlgo{name: "MD5-sess", sess: true, h: md5.New, rank: 1}, true
	case "SHA-256":
		return digestAlgo{name: "SHA-256", h: sha256.New, rank: 2}, true
	case "SHA-256-SESS":
		return digestAlgo{name: "SHA-256-sess", sess: true, h: sha256.New, rank: 2}, true
	}
	return digestAlgo{}, false
}

// digestAuth is the state of Digest authentication with one server: the
// chosen challenge and the nonce count.
type digestAuth struct {
	realm, nonce, opaque string
	hasOpaque            bool
	algo                 digestAlgo
	qop                  bool // qop=auth (false: RFC 2069 compatibility, no qop)
	nc                   uint32
	cnonce               string
	user, password       string
}

// pickDigest chooses the Digest challenge to answer: SHA-256 over MD5,
// qop "auth" required when qop is offered; nil when none is usable.
func pickDigest(cs []Challenge) *Challenge {
	var best *Challenge
	bestRank := 0
	for i := range cs {
		c := &cs[i]
		if !strings.EqualFold(c.Scheme, "Digest") || c.Param("nonce") == "" {
			continue
		}
		a, ok := algoOf(c.Param("algorithm"))
		if !ok {
			continue
		}
		if q, offered := c.Params["qop"]; offered && !hasToken(q, "auth") {
			continue // only auth-int offered
		}
		if a.rank > bestRank {
			best, bestRank = c, a.rank
		}
	}
	return best
}

// hasToken says whether a comma-separated list holds tok (case-insensitive).
func hasToken(list, tok string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

func newDigest(c *Challenge, user, password string) (*digestAuth, error) {
	a, _ := algoOf(c.Param("algorithm"))
	d := &digestAuth{realm: c.Param("realm"), nonce: c.Param("nonce"), algo: a, user: user, password: password}
	d.opaque, d.hasOpaque = c.Params["opaque"]
	_, d.qop = c.Params["qop"]
	if err := d.newCnonce(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *digestAuth) newCnonce() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("cnonce: %w", err)
	}
	d.cnonce = hex.EncodeToString(b)
	return nil
}

func (d *digestAuth) hex(s string) string {
	h := d.algo.h()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// authorize returns the Authorization header value for method and uri
// (the request-target, path and query), counting the nonce up.
func (d *digestAuth) authorize(method, uri string) string {
	d.nc++
	nc := fmt.Sprintf("%08x", d.nc)
	ha1 := d.hex(d.user + ":" + d.realm + ":" + d.password)
	if d.algo.sess {
		ha1 = d.hex(ha1 + ":" + d.nonce + ":" + d.cnonce)
	}
	ha2 := d.hex(method + ":" + uri)
	var resp string
	if d.qop {
		resp = d.hex(ha1 + ":" + d.nonce + ":" + nc + ":" + d.cnonce + ":auth:" + ha2)
	} else {
		resp = d.hex(ha1 + ":" + d.nonce + ":" + ha2)
	}
	var b strings.Builder
	b.WriteString("Digest ")
	if needsExtValue(d.user) {
		b.WriteString("username*=UTF-8''" + url.PathEscape(d.user))
	} else {
		b.WriteString("username=" + quote(d.user))
	}
	b.WriteString(", realm=" + quote(d.realm))
	b.WriteString(", nonce=" + quote(d.nonce))
	b.WriteString(", uri=" + quote(uri))
	b.WriteString(", algorithm=" + d.algo.name)
	b.WriteString(", response=" + quote(resp))
	if d.hasOpaque {
		b.WriteString(", opaque=" + quote(d.opaque))
	}
	if d.qop {
		b.WriteString(", qop=auth, nc=" + nc + ", cnonce=" + quote(d.cnonce))
	}
	return b.String()
}

// needsExtValue says whether a user name must go as username* (RFC 7616
// 3.4.4): non-ASCII or characters a quoted-string cannot carry plainly.
func needsExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return true
		}
	}
	return false
}

// quote makes a quoted-string, escaping '"' and '\'.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
