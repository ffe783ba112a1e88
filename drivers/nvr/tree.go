package nvr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/discovery"
)

// Limits on what a parser takes: a body, the depth of a document and the
// number of its elements. A recorder's largest channel list (256 channels)
// is well under 1 MiB.
const (
	MaxBody  = 4 << 20
	maxDepth = 48
	maxNodes = 1 << 17
	maxText  = 64 << 10
)

var (
	errTooLarge = fmt.Errorf("answer larger than %d bytes", MaxBody)
	errTooDeep  = fmt.Errorf("document nested deeper than %d levels", maxDepth)
	errTooMany  = fmt.Errorf("document has more than %d elements", maxNodes)
)

// node is one element of a document read from XML, or from its
// xmltodict-style JSON or Python-repr rendering: a local name, the
// namespace (XML) or @xmlns (JSON), attributes, text and children. Secret
// elements (passwords, user names) are never stored in a node.
type node struct {
	local string
	space string
	attrs []attr
	text  string
	kids  []*node
}

type attr struct{ name, value string }

// child returns the first child with the local name, or nil.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.local == local {
			return k
		}
	}
	return nil
}

// all returns the children with the local name.
func (n *node) all(local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.local == local {
			out = append(out, k)
		}
	}
	return out
}

// value returns the trimmed text of the first child with the local name.
func (n *node) value(local string) string {
	return strings.TrimSpace(n.child(local).textOf())
}

func (n *node) textOf() string {
	if n == nil {
		return ""
	}
	return n.text
}

// attr returns the value of the attribute with the local name.
func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.name == local {
			return a.value
		}
	}
	return ""
}

// ns is the namespace of n: its XML namespace, else an xmlns attribute.
func (n *node) ns() string {
	if n == nil {
		return ""
	}
	if n.space != "" {
		return n.space
	}
	return n.attr("xmlns")
}

// find returns the nodes with the local name in document order, n
// included, without descending into a match.
func (n *node) find(local string) []*node {
	var out []*node
	var walk func(*node, int)
	walk = func(m *node, depth int) {
		if m == nil || depth > maxDepth {
			return
		}
		if m.local == local {
			out = append(out, m)
			return
		}
		for _, k := range m.kids {
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return out
}

// isSecret says whether an element or key name holds a credential: its
// content is dropped while parsing.
func isSecret(name string) bool {
	l := strings.ToLower(name)
	if i := strings.LastIndexAny(l, ":."); i >= 0 {
		l = l[i+1:]
	}
	switch l {
	case "username", "user", "usrname", "pwd", "passwd", "password", "loginpassword", "secretkey", "encryptkey", "authorization", "token":
		return true
	}
	return strings.Contains(l, "password") || strings.Contains(l, "passwd")
}

// decodeXML reads one XML document into a tree. It refuses DTDs and
// directives, unknown entities (encoding/xml in strict mode knows only the
// five predefined ones and never fetches external entities), documents
// nested deeper than maxDepth or with more than maxNodes elements, and
// bodies over MaxBody. Its errors never quote the input.
func decodeXML(b []byte) (*node, error) {
	if len(b) > MaxBody {
		return nil, errTooLarge
	}
	if !utf8.Valid(b) {
		return nil, errors.New("XML is not valid UTF-8")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = discovery.ASCIICharset
	var root *node
	var stack []*node
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errTooDeep
			}
			if count++; count > maxNodes {
				return nil, errTooMany
			}
			if root != nil && len(stack) == 0 {
				return nil, errors.New("XML has more than one root element")
			}
			if isSecret(t.Name.Local) {
				if err := d.Skip(); err != nil {
					return nil, xmlError(d, err)
				}
				continue
			}
			n := &node{local: t.Name.Local, space: t.Name.Space}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || isSecret(a.Name.Local) {
					continue
				}
				n.attrs = append(n.attrs, attr{name: a.Name.Local, value: a.Value})
			}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				if len(top.text)+len(t) <= maxText {
					top.text += string(t)
				}
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("XML has text outside the root element")
			}
		case xml.Directive:
			return nil, errors.New("XML carries a DTD or directive, refused")
		}
	}
	if root == nil {
		return nil, errors.New("XML has no root element")
	}
	return root, nil
}

// xmlError turns a decoder error into one that says where, never what:
// encoding/xml messages can quote names from the input.
func xmlError(d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed XML at line %d", se.Line)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("XML ends early")
	}
	line, _ := d.InputPos()
	return fmt.Errorf("malformed XML at line %d", line)
}

// treeFromLiteral turns a JSON or Python literal (xmltodict style: "@name"
// keys are attributes, "#text" is text, a list is repeated elements) into
// a tree whose root has the local name "" and the literal as its content.
func treeFromLiteral(v *lit) (*node, error) {
	root := &node{}
	count := 0
	var fill func(n *node, v *lit, depth int) error
	fill = func(n *node, v *lit, depth int) error {
		if depth > maxDepth {
			return errTooDeep
		}
		switch v.kind {
		case litString, litScalar:
			n.text = v.s
		case litDict:
			for i, k := range v.keys {
				val := v.items[i]
				if isSecret(k) {
					continue
				}
				switch {
				case strings.HasPrefix(k, "@"):
					if val.kind == litString || val.kind == litScalar {
						n.attrs = append(n.attrs, attr{name: localName(k[1:]), value: val.s})
					}
					continue
				case k == "#text":
					if val.kind == litString || val.kind == litScalar {
						n.text = val.s
					}
					continue
				}
				elems := []*lit{val}
				if val.kind == litList {
					elems = val.items
				}
				for _, e := range elems {
					if count++; count > maxNodes {
						return errTooMany
					}
					k := &node{local: localName(k)}
					n.kids = append(n.kids, k)
					if err := fill(k, e, depth+1); err != nil {
						return err
					}
				}
			}
		case litList:
			// A bare list (a logged list of channels): items are unnamed
			// children.
			for _, e := range v.items {
				if count++; count > maxNodes {
					return errTooMany
				}
				k := &node{}
				n.kids = append(n.kids, k)
				if err := fill(k, e, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := fill(root, v, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// localName strips a namespace prefix ("ns:InputProxyChannel").
func localName(k string) string {
	if i := strings.LastIndexByte(k, ':'); i >= 0 {
		k = k[i+1:]
	}
	return k
}

// parseDocument reads b as XML when it starts with '<', else as a JSON or
// Python literal, possibly after a log-line prefix. truncated says the
// literal ended early (a cut-off capture); what was complete is kept.
func parseDocument(b []byte) (root *node, truncated bool, err error) {
	if len(b) > MaxBody {
		return nil, false, errTooLarge
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\ufeff")))
	if len(t) == 0 {
		return nil, false, errors.New("empty answer")
	}
	if t[0] == '<' {
		root, err := decodeXML(t)
		return root, false, err
	}
	v, truncated, err := findLiteral(t)
	if err != nil {
		return nil, false, err
	}
	root, err = treeFromLiteral(v)
	return root, truncated, err
}
