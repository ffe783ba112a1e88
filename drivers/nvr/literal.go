package nvr

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A lit is a JSON value or a Python literal (the repr of xmltodict output
// that Home Assistant debug logs print): a string, a scalar (number,
// boolean; kept as its text), null/None, a list (also a tuple) or a dict
// with its keys in order.
type lit struct {
	kind  litKind
	s     string
	keys  []string // litDict
	items []*lit   // litDict values, litList items
}

type litKind uint8

const (
	litNull litKind = iota
	litString
	litScalar
	litList
	litDict
)

// errLitEOF marks a literal that ends before it is closed.
var errLitEOF = errors.New("literal ends early")

type litParser struct {
	s     []byte
	i     int
	count int
}

func (p *litParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// value parses one value. On errLitEOF it returns what was complete of a
// list or dict (nil for a cut scalar or string).
func (p *litParser) value(depth int) (*lit, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	if p.count++; p.count > maxNodes {
		return nil, errTooMany
	}
	p.ws()
	if p.i >= len(p.s) {
		return nil, errLitEOF
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.dict(depth)
	case c == '[' || c == '(':
		return p.list(depth, map[byte]byte{'[': ']', '(': ')'}[c])
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &lit{kind: litString, s: s}, nil
	default:
		return p.bare()
	}
}

func (p *litParser) dict(depth int) (*lit, error) {
	p.i++ // {
	d := &lit{kind: litDict}
	for pairs := 0; ; pairs++ {
		p.ws()
		if p.i >= len(p.s) {
			return d, errLitEOF
		}
		if p.s[p.i] == '}' {
			p.i++
			return d, nil
		}
		if pairs > 0 {
			if p.s[p.i] != ',' {
				return nil, p.syntax("',' or '}' expected")
			}
			p.i++
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == '}' { // Python allows a trailing comma
				p.i++
				return d, nil
			}
		}
		p.ws()
		if p.i >= len(p.s) {
			return d, errLitEOF
		}
		if c := p.s[p.i]; c != '"' && c != '\'' {
			return nil, p.syntax("a quoted key expected")
		}
		k, err := p.str()
		if err != nil {
			if errors.Is(err, errLitEOF) {
				return d, err
			}
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) {
			return d, errLitEOF
		}
		if p.s[p.i] != ':' {
			return nil, p.syntax("':' expected")
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			if errors.Is(err, errLitEOF) {
				if v != nil && !isSecret(k) {
					d.keys = append(d.keys, k)
					d.items = append(d.items, v)
				}
				return d, err
			}
			return nil, err
		}
		if isSecret(k) {
			continue // a credential never leaves the parser
		}
		d.keys = append(d.keys, k)
		d.items = append(d.items, v)
	}
}

func (p *litParser) list(depth int, end byte) (*lit, error) {
	p.i++
	l := &lit{kind: litList}
	for {
		p.ws()
		if p.i >= len(p.s) {
			return l, errLitEOF
		}
		if p.s[p.i] == end {
			p.i++
			return l, nil
		}
		if len(l.items) > 0 {
			if p.s[p.i] != ',' {
				return nil, p.syntax("',' or the end of a list expected")
			}
			p.i++
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == end {
				p.i++
				return l, nil
			}
		}
		v, err := p.value(depth + 1)
		if err != nil {
			if errors.Is(err, errLitEOF) {
				if v != nil {
					l.items = append(l.items, v)
				}
				return l, err
			}
			return nil, err
		}
		l.items = append(l.items, v)
	}
}

// str reads a quoted string with JSON and Python escapes.
func (p *litParser) str() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			if b.Len() > maxText {
				return "", errors.New("string longer than 64 KiB")
			}
			return b.String(), nil
		case c == '\n' || c == '\r':
			return "", p.syntax("line break inside a string")
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", errLitEOF
			}
			p.i++
			e := p.s[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '0':
				b.WriteByte(0)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if p.i+n > len(p.s) {
					return "", errLitEOF
				}
				r, err := strconv.ParseUint(string(p.s[p.i:p.i+n]), 16, 32)
				if err != nil {
					return "", p.syntax("bad escape")
				}
				p.i += n
				if e == 'u' && utf16.IsSurrogate(rune(r)) && p.i+6 <= len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
					if r2, err := strconv.ParseUint(string(p.s[p.i+2:p.i+6]), 16, 32); err == nil {
						if dec := utf16.DecodeRune(rune(r), rune(r2)); dec != utf8.RuneError {
							p.i += 6
							b.WriteRune(dec)
							continue
						}
					}
				}
				b.WriteRune(rune(r))
			default: // \\ \' \" \/ and anything else: the character itself
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			p.i++
		}
		if b.Len() > maxText+8 {
			return "", errors.New("string longer than 64 KiB")
		}
	}
	return "", errLitEOF
}

// bare reads null/None, true/false/True/False or a number.
func (p *litParser) bare() (*lit, error) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ',' || c == '}' || c == ']' || c == ')' || c == ':' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
		p.i++
	}
	w := string(p.s[start:p.i])
	switch w {
	case "null", "None":
		return &lit{kind: litNull}, nil
	case "true", "True":
		return &lit{kind: litScalar, s: "true"}, nil
	case "false", "False":
		return &lit{kind: litScalar, s: "false"}, nil
	}
	if p.i >= len(p.s) {
		return nil, errLitEOF // a cut-off word or number
	}
	if _, err := strconv.ParseFloat(w, 64); err == nil && w != "" {
		return &lit{kind: litScalar, s: w}, nil
	}
	p.i = start
	return nil, p.syntax("a value expected")
}

type litSyntaxError struct{ off int }

func (e litSyntaxError) Error() string {
	return "malformed JSON or Python literal at offset " + strconv.Itoa(e.off)
}

func (p *litParser) syntax(string) error { return litSyntaxError{off: p.i} }

// maxLiteralStarts bounds how many '{' / '[' positions findLiteral tries
// (a log line carries a bracketed logger name before the data).
const maxLiteralStarts = 16

// findLiteral parses the first dict or list literal in b: b itself when it
// starts with '{' or '[', else the first such literal after a prefix such
// as a Home Assistant log line's date, logger name and URL. truncated says
// it ended early; the complete part is returned.
func findLiteral(b []byte) (*lit, bool, error) {
	if len(b) > MaxBody {
		return nil, false, errTooLarge
	}
	if !utf8.Valid(b) {
		return nil, false, errors.New("answer is not valid UTF-8")
	}
	var first error
	tries := 0
	for i := 0; i < len(b) && tries < maxLiteralStarts; i++ {
		if b[i] != '{' && b[i] != '[' {
			continue
		}
		tries++
		p := &litParser{s: b, i: i}
		v, err := p.value(0)
		switch {
		case err == nil:
			return v, false, nil
		case errors.Is(err, errLitEOF) && v != nil && len(v.items) > 0:
			return v, true, nil
		case first == nil:
			first = err
		}
		if i == 0 && (errors.Is(err, errTooDeep) || errors.Is(err, errTooMany)) {
			return nil, false, err
		}
	}
	if first == nil {
		return nil, false, errors.New("no JSON, Python literal or XML found")
	}
	return nil, false, first
}
