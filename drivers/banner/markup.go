package banner

import (
	"bytes"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// xmlRoot is the root element of an XML document and the text of its
// direct children, in document order.
type xmlRoot struct {
	name, space string
	children    []header
}

// get returns the text of the first direct child called name.
func (r xmlRoot) get(name string) string {
	for _, c := range r.children {
		if c.name == name {
			return c.value
		}
	}
	return ""
}

// readXMLRoot reads the root element of an XML document. On a syntax error
// it returns what it read so far with the error.
func readXMLRoot(b []byte) (xmlRoot, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	// Devices declare charsets such as GB2312; the bytes are kept as they
	// are and identity.Clean makes them valid UTF-8 later.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var root xmlRoot
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if root.name == "" || depth > 0 || err != io.EOF {
				return root, errors.New("banner: XML document is truncated or malformed")
			}
			return root, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if root.name != "" {
					return root, errors.New("banner: XML document has more than one root element")
				}
				root.name, root.space = t.Name.Local, t.Name.Space
			}
			text.Reset()
		case xml.EndElement:
			if depth == 2 {
				root.children = append(root.children, header{name: t.Name.Local, value: strings.TrimSpace(text.String())})
			}
			depth--
			if depth == 0 {
				return root, nil
			}
		case xml.CharData:
			if depth == 2 && text.Len() < 4*identity.MaxValueLen {
				text.Write(t)
			}
		}
	}
}

var htmlStarts = []string{"<!doctype html", "<html", "<head", "<title", "<meta", "<script", "<body", "<link", "<style"}

// isHTML reports whether a document that starts with '<' is an HTML page
// (possibly after an XML declaration and comments).
func isHTML(t []byte) bool {
	s := asciiLower(string(t[:min(len(t), 4096)]))
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "<?"):
			_, rest, ok := strings.Cut(s, "?>")
			if !ok {
				return false
			}
			s = rest
		case strings.HasPrefix(s, "<!--"):
			_, rest, ok := strings.Cut(s, "-->")
			if !ok {
				return false
			}
			s = rest
		default:
			for _, p := range htmlStarts {
				if strings.HasPrefix(s, p) {
					return true
				}
			}
			return false
		}
	}
}

// addHTML records an HTML page's <title> and its generator meta tag.
func addHTML(id *identity.Identity, t []byte) {
	s := string(t)
	lower := asciiLower(s)
	if i := tagStart(lower, "<title"); i >= 0 {
		if j := strings.IndexByte(lower[i:], '>'); j >= 0 {
			start := i + j + 1
			end := strings.Index(lower[start:], "</title")
			if end < 0 {
				end = min(len(s)-start, 4*identity.MaxValueLen)
			}
			id.Add(identity.FieldTitle, html.UnescapeString(s[start:start+end]))
		}
	}
	for off, n := 0, 0; n < 64; n++ {
		i := tagStart(lower[off:], "<meta")
		if i < 0 {
			break
		}
		off += i + len("<meta")
		end := strings.IndexByte(lower[off:], '>')
		if end < 0 {
			break
		}
		attrs := tagAttrs(s[off : off+end])
		if strings.EqualFold(attrs["name"], "generator") {
			id.Add(FieldGenerator, html.UnescapeString(attrs["content"]))
		}
		off += end
	}
}

// asciiLower lower-cases ASCII letters only, so that byte offsets in the
// result are offsets in s (strings.ToLower rewrites invalid UTF-8).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// tagStart finds the opening of tag (such as "<title") in lower-case HTML,
// skipping longer names that start the same ("<titles").
func tagStart(lower, tag string) int {
	for off := 0; ; {
		i := strings.Index(lower[off:], tag)
		if i < 0 {
			return -1
		}
		at := off + i
		next := at + len(tag)
		if next >= len(lower) || strings.IndexByte(" \t\r\n/>", lower[next]) >= 0 {
			return at
		}
		off = next
	}
}

// tagAttrs parses the attributes of one tag; names are lower-cased.
func tagAttrs(s string) map[string]string {
	attrs := map[string]string{}
	for i := 0; i < len(s); {
		for i < len(s) && strings.IndexByte(" \t\r\n/", s[i]) >= 0 {
			i++
		}
		start := i
		for i < len(s) && strings.IndexByte(" \t\r\n/=", s[i]) < 0 {
			i++
		}
		name := strings.ToLower(s[start:i])
		if name == "" {
			i++
			continue
		}
		if i >= len(s) || s[i] != '=' {
			attrs[name] = ""
			continue
		}
		i++
		var v string
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				end = len(s) - i - 1
			}
			v = s[i+1 : i+1+end]
			i += end + 2
		} else {
			start := i
			for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) < 0 {
				i++
			}
			v = s[start:i]
		}
		if _, seen := attrs[name]; !seen {
			attrs[name] = v
		}
	}
	return attrs
}

// parseBareMarkup reads a document given alone: an HTML page or an ISAPI
// <DeviceInfo>. Other XML documents are errors.
func parseBareMarkup(id *identity.Identity, t []byte) error {
	if isHTML(t) {
		addHTML(id, t)
		return nil
	}
	root, err := readXMLRoot(t)
	switch {
	case root.name == "ProbeMatch" || root.name == "Probe":
		return errors.New("banner: not an HTTP response (a SADP message)")
	case root.name == "Envelope":
		return errors.New("banner: not an HTTP response (a SOAP envelope)")
	case err != nil:
		return err
	case root.name != "DeviceInfo":
		return errors.New("banner: XML document is not a known identity document")
	}
	addDeviceInfo(id, root.space, root.get)
	return nil
}
