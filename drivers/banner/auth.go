package banner

import (
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// challenge is one WWW-Authenticate challenge (RFC 7235): a scheme and
// either auth parameters or a token68.
type challenge struct {
	scheme  string
	params  []header // name, unquoted value
	token68 string
}

// authParser walks a WWW-Authenticate value.
type authParser struct {
	s string
	i int
}

func (p *authParser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *authParser) sep() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *authParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// token68 reads a token68 credential blob when one follows the scheme.
func (p *authParser) token68() (string, bool) {
	j := p.i
	for j < len(p.s) && (isTokenChar(p.s[j]) && p.s[j] != '=' || p.s[j] == '/') {
		j++
	}
	if j == p.i {
		return "", false
	}
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	if j < len(p.s) && p.s[j] != ',' && p.s[j] != ' ' && p.s[j] != '\t' {
		return "", false
	}
	// "name=" with nothing after it is a parameter with an empty value.
	if p.s[j-1] == '=' && strings.Count(p.s[p.i:j], "=") == 1 {
		return "", false
	}
	t := p.s[p.i:j]
	p.i = j
	return t, true
}

// value reads a quoted string (unescaping backslashes) or a bare value up
// to the next comma or white space.
func (p *authParser) value() (string, bool) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			switch c := p.s[p.i]; c {
			case '\\':
				if p.i+1 < len(p.s) {
					p.i++
					b.WriteByte(p.s[p.i])
				}
			case '"':
				p.i++
				return b.String(), true
			default:
				b.WriteByte(c)
			}
		}
		return "", false // unterminated quoted string
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		p.i++
	}
	return p.s[start:p.i], true
}

// parseChallenges parses a WWW-Authenticate value into its challenges. On
// malformed input it returns the challenges read so far and ok = false.
func parseChallenges(s string) (out []challenge, ok bool) {
	p := &authParser{s: s}
	for {
		p.sep()
		if p.i >= len(p.s) {
			return out, true
		}
		scheme := p.token()
		if scheme == "" {
			return out, false
		}
		c := challenge{scheme: scheme}
		p.ws()
		if t, ok := p.token68(); ok {
			c.token68 = t
			out = append(out, c)
			continue
		}
		for {
			mark := p.i
			p.sep()
			name := p.token()
			p.ws()
			if name == "" || p.i >= len(p.s) || p.s[p.i] != '=' {
				p.i = mark
				break
			}
			p.i++
			p.ws()
			v, ok := p.value()
			if !ok {
				return append(out, c), false
			}
			c.params = append(c.params, header{name: name, value: v})
		}
		out = append(out, c)
	}
}

// addChallenges records the scheme and realm of every challenge in a
// WWW-Authenticate value.
func addChallenges(id *identity.Identity, value string) {
	cs, _ := parseChallenges(value)
	for _, c := range cs {
		id.Add(FieldAuthScheme, c.scheme)
		for _, p := range c.params {
			if strings.EqualFold(p.name, "realm") {
				id.Add(identity.FieldRealm, p.value)
			}
		}
	}
}

// bareChallenge reports whether s is a lone WWW-Authenticate value such as
// `Basic realm="hikvision"`: a Basic or Digest challenge with parameters.
func bareChallenge(s string) bool {
	cs, ok := parseChallenges(s)
	if !ok || len(cs) == 0 {
		return false
	}
	first := strings.ToLower(cs[0].scheme)
	return (first == "basic" || first == "digest") && len(cs[0].params) > 0
}
