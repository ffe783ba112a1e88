package onvif

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxSize is the largest document ParseEnvelope (and so Parse) accepts.
const MaxSize = 64 << 10

// Limits on the shape of a document: real ONVIF answers nest about ten
// deep and hold a few hundred elements.
const (
	maxDepth    = 32
	maxElements = 4096
)

// Namespace URIs this package recognises.
const (
	nsSOAP12       = "http://www.w3.org/2003/05/soap-envelope"
	nsSOAP11       = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAPEncoding = "http://www.w3.org/2003/05/soap-encoding"
)

// Envelope is a parsed SOAP envelope, with what its writer's style gives
// away: the envelope prefix, the XML declaration and every namespace
// declared anywhere in the document.
type Envelope struct {
	Prefix     string   // the prefix of the Envelope element ("s", "env", "SOAP-ENV", "")
	Standalone bool     // the XML declaration says standalone="yes"
	Namespaces []string // every namespace URI declared, in document order, without repeats
	Header     *Element // nil when the envelope has no Header
	Body       *Element // never nil

	bindings []binding // every xmlns declaration, in document order
}

type binding struct{ prefix, uri string }

// Style returns the envelope fingerprint recorded as xml-style facts:
// "standalone-yes", "soap-encoding-sc", and "envelope-prefix:<p>" (or
// "envelope-no-prefix").
func (env *Envelope) Style() []string {
	var out []string
	if env.Standalone {
		out = append(out, "standalone-yes")
	}
	for _, b := range env.bindings {
		if b.prefix == "sc" && b.uri == nsSOAPEncoding {
			out = append(out, "soap-encoding-sc")
			break
		}
	}
	if env.Prefix == "" {
		out = append(out, "envelope-no-prefix")
	} else {
		out = append(out, "envelope-prefix:"+env.Prefix)
	}
	return out
}

// AddFacts records the envelope's style (xml-style facts) and its declared
// namespaces (xmlns facts) on id.
func (env *Envelope) AddFacts(id *identity.Identity) {
	for _, s := range env.Style() {
		id.Add(identity.FieldXMLStyle, s)
	}
	for _, ns := range env.Namespaces {
		id.Add(identity.FieldXMLNS, ns)
	}
}

// ParseEnvelope parses a SOAP 1.2 (or 1.1) envelope defensively: at most
// MaxSize bytes of UTF-8, no DTD (so no entity expansion), at most 32 levels
// and 4096 elements. Its errors carry no package prefix ("truncated XML",
// "not a SOAP envelope", ...), so that callers can add their own.
func ParseEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("input too large (%d bytes, limit %d)", len(b), MaxSize)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	b = bytes.TrimRight(b, "\x00 \t\r\n")
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return nil, errors.New("empty input")
	}
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	if b[0] != '<' {
		return nil, errors.New("not XML")
	}
	env := &Envelope{}
	root, err := readTree(b, env)
	if err != nil {
		return nil, err
	}
	if root.Local != "Envelope" || (root.Space != nsSOAP12 && root.Space != nsSOAP11) {
		return nil, errors.New("not a SOAP envelope")
	}
	env.Prefix = root.Prefix
	env.Header = root.Child("Header")
	env.Body = root.Child("Body")
	if env.Body == nil {
		return nil, errors.New("SOAP envelope without a Body")
	}
	seen := make(map[string]bool)
	for _, bd := range env.bindings {
		if bd.uri != "" && !seen[bd.uri] {
			seen[bd.uri] = true
			env.Namespaces = append(env.Namespaces, bd.uri)
		}
	}
	return env, nil
}

// frame is an open element while reading, with its text so far and the
// number of bindings in scope before it.
type frame struct {
	el     *Element
	text   strings.Builder
	scope  int
	prefix string
}

// readTree reads the whole document into a tree, resolving prefixes itself
// (RawToken keeps them) and checking what RawToken does not: matching end
// tags, one root, the depth and element caps.
func readTree(b []byte, env *Envelope) (*Element, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = discovery.ASCIICharset
	var (
		stack []*frame
		scope []binding
		root  *Element
		count int
	)
	lookup := func(prefix string) string {
		for i := len(scope) - 1; i >= 0; i-- {
			if scope[i].prefix == prefix {
				return scope[i].uri
			}
		}
		return ""
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" {
				if root != nil || len(stack) > 0 {
					return nil, errors.New("malformed XML: declaration after the root element")
				}
				env.Standalone = procInstParam(string(t.Inst), "standalone") == "yes"
			}
		case xml.Directive:
			return nil, errors.New("DTD or <! directive not allowed")
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, errors.New("not XML: text outside the root element")
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("malformed XML: content after the root element")
			}
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("XML nested too deep (limit %d)", maxDepth)
			}
			if count++; count > maxElements {
				return nil, fmt.Errorf("too many XML elements (limit %d)", maxElements)
			}
			f := &frame{scope: len(scope), prefix: t.Name.Space}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					scope = append(scope, binding{a.Name.Local, a.Value})
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					scope = append(scope, binding{"", a.Value})
				}
			}
			env.bindings = append(env.bindings, scope[f.scope:]...)
			f.el = &Element{Prefix: t.Name.Space, Local: t.Name.Local, Space: lookup(t.Name.Space)}
			if len(stack) == 0 {
				root = f.el
			} else {
				parent := stack[len(stack)-1].el
				parent.Children = append(parent.Children, f.el)
			}
			stack = append(stack, f)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("malformed XML: end tag without a start tag")
			}
			f := stack[len(stack)-1]
			if t.Name.Space != f.prefix || t.Name.Local != f.el.Local {
				return nil, errors.New("malformed XML: mismatched end tag")
			}
			f.el.Text = strings.TrimSpace(f.text.String())
			scope = scope[:f.scope]
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return nil, errors.New("truncated XML")
	}
	if root == nil {
		return nil, errors.New("not XML: no root element")
	}
	return root, nil
}

// xmlError turns a decoder error into a short message; the decoder's own
// text may quote the input, so it is cleaned and cut.
func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Msg == "unexpected EOF" {
			return errors.New("truncated XML")
		}
		return fmt.Errorf("malformed XML: line %d: %s", se.Line, cut(identity.Clean(se.Msg), 80))
	}
	return fmt.Errorf("malformed XML: %s", cut(identity.Clean(err.Error()), 80))
}

// procInstParam returns the value of param in the content of an XML
// declaration (version="1.0" encoding="utf-8" standalone="yes"), or "".
func procInstParam(inst, param string) string {
	s := inst
	for {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return ""
		}
		name := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\r\n")
		if s == "" || (s[0] != '"' && s[0] != '\'') {
			return ""
		}
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return ""
		}
		if name == param {
			return s[1 : 1+end]
		}
		s = s[end+2:]
	}
}

// cut returns s cut to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
