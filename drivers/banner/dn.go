package banner

import (
	"errors"
	"strconv"
	"strings"
)

// ava is one attribute of a distinguished name written as text. plus marks
// an attribute joined to the previous one in a multi-valued RDN.
type ava struct {
	typ, value string
	plus       bool
}

// dn is a distinguished name in RFC 2253 order (most specific first).
type dn []ava

var errDN = errors.New("banner: malformed distinguished name")

// dnTypes are the attribute names a text DN may use; at least one must
// appear for a line to count as a DN.
var dnTypes = map[string]bool{
	"C": true, "ST": true, "S": true, "L": true, "O": true, "OU": true, "CN": true,
	"STREET": true, "DC": true, "UID": true, "SERIALNUMBER": true, "EMAILADDRESS": true,
	"E": true, "POSTALCODE": true, "T": true, "TITLE": true, "GN": true, "SN": true,
}

// String writes d in RFC 2253 form with the escaping crypto/x509/pkix uses.
func (d dn) String() string {
	var b strings.Builder
	for i, a := range d {
		if i > 0 {
			if a.plus {
				b.WriteByte('+')
			} else {
				b.WriteByte(',')
			}
		}
		b.WriteString(a.typ)
		b.WriteByte('=')
		for k, c := range a.value {
			esc := false
			switch c {
			case ',', '+', '"', '\\', '<', '>', ';':
				esc = true
			case ' ':
				esc = k == 0 || k == len(a.value)-1
			case '#':
				esc = k == 0
			}
			if esc {
				b.WriteByte('\\')
			}
			b.WriteRune(c)
		}
	}
	return b.String()
}

// values returns the values of attribute typ.
func (d dn) values(typ string) []string {
	var out []string
	for _, a := range d {
		if a.typ == typ {
			out = append(out, a.value)
		}
	}
	return out
}

// reversed returns d with its RDNs in the opposite order, keeping the
// attributes of a multi-valued RDN together.
func (d dn) reversed() dn {
	var groups []dn
	for _, a := range d {
		if a.plus && len(groups) > 0 {
			groups[len(groups)-1] = append(groups[len(groups)-1], a)
			continue
		}
		groups = append(groups, dn{a})
	}
	out := make(dn, 0, len(d))
	for i := len(groups) - 1; i >= 0; i-- {
		for j, a := range groups[i] {
			a.plus = j > 0
			out = append(out, a)
		}
	}
	return out
}

// known reports whether d names at least one common DN attribute.
func (d dn) known() bool {
	for _, a := range d {
		if dnTypes[a.typ] {
			return true
		}
	}
	return false
}

// dnType checks and normalises an attribute type: a name (upper-cased) or
// a dotted OID.
func dnType(t string) (string, bool) {
	t = strings.TrimSpace(t)
	if t == "" {
		return "", false
	}
	alpha := t[0] >= 'A' && t[0] <= 'Z' || t[0] >= 'a' && t[0] <= 'z'
	for i := 0; i < len(t); i++ {
		c := t[i]
		ok := c >= '0' && c <= '9' || c == '.' && !alpha ||
			alpha && (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-')
		if !ok {
			return "", false
		}
	}
	if !alpha {
		return t, true
	}
	return strings.ToUpper(t), true
}

// parseDN reads a DN written as RFC 2253/4514 text, or in the OpenSSL
// "oneline" style (spaces around '=' and after ','; quoted values). The
// attributes are returned in the order written.
func parseDN(s string) (dn, error) {
	var d dn
	plus := false
	for i := 0; ; {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, errDN
		}
		typ, ok := dnType(s[i : i+eq])
		if !ok {
			return nil, errDN
		}
		i += eq + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		v, n, err := dnValue(s[i:])
		if err != nil {
			return nil, err
		}
		d = append(d, ava{typ: typ, value: v, plus: plus})
		i += n
		if i >= len(s) {
			return d, nil
		}
		switch s[i] {
		case ',', ';':
			plus = false
		case '+':
			plus = true
		default:
			return nil, errDN
		}
		i++
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			return d, nil // a trailing separator
		}
	}
}

// dnValue reads one attribute value up to an unescaped separator and
// returns it unescaped with the number of bytes read.
func dnValue(s string) (string, int, error) {
	var b []byte
	i := 0
	if i < len(s) && s[i] == '"' {
		for i++; ; i++ {
			if i >= len(s) {
				return "", 0, errDN
			}
			if s[i] == '\\' && i+1 < len(s) {
				i++
			} else if s[i] == '"' {
				i++
				break
			}
			b = append(b, s[i])
		}
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && strings.IndexByte(",;+", s[i]) < 0 {
			return "", 0, errDN
		}
		return string(b), i, nil
	}
	trail := 0 // unescaped trailing spaces, dropped
	for ; i < len(s) && strings.IndexByte(",;+", s[i]) < 0; i++ {
		c := s[i]
		if c == '\\' {
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				h, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
				b = append(b, byte(h))
				i += 2
			} else if i+1 < len(s) {
				i++
				b = append(b, s[i])
			}
			trail = 0
			continue
		}
		if c == ' ' {
			trail++
		} else {
			trail = 0
		}
		b = append(b, c)
	}
	return string(b[:len(b)-trail]), i, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// parseSlashDN reads the old OpenSSL style "/C=CN/ST=ZheJiang/O=HIKVISION"
// (most general first, as written). A '/' starts a new attribute only when
// "type=" follows it; \xHH escapes are decoded.
func parseSlashDN(s string) (dn, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, errDN
	}
	var parts []string
	for _, seg := range strings.Split(s[1:], "/") {
		t, _, found := strings.Cut(seg, "=")
		if _, ok := dnType(t); found && ok || len(parts) == 0 {
			parts = append(parts, seg)
			continue
		}
		parts[len(parts)-1] += "/" + seg
	}
	var d dn
	for _, p := range parts {
		t, v, found := strings.Cut(p, "=")
		typ, ok := dnType(t)
		if !found || !ok {
			return nil, errDN
		}
		d = append(d, ava{typ: typ, value: unescapeHexX(strings.TrimSpace(v))})
	}
	return d, nil
}

// unescapeHexX decodes the \xHH escapes X509_NAME_oneline writes.
func unescapeHexX(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]) {
			h, _ := strconv.ParseUint(s[i+2:i+4], 16, 8)
			b = append(b, byte(h))
			i += 3
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}
