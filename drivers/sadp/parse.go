package sadp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// ErrNotReply is returned by Parse for a SADP Probe: a query (ours or
// another tool's) seen on the multicast group, not a device's reply. The
// discovery engine can drop it quietly.
var ErrNotReply = discovery.NotReply("sadp: a Probe request, not a ProbeMatch reply")

// Limits on the shape of a reply. A ProbeMatch is flat: about forty child
// elements, one level deep.
const (
	maxElements = 512
	maxDepth    = 8
	maxText     = 4 << 10
)

// deviceFields are the ProbeMatch children of which at least one must be
// present for a ProbeMatch to count as a SADP device reply.
var deviceFields = [...]string{
	"DeviceType", "DeviceDescription", "DeviceSN", "MAC",
	"SoftwareVersion", "DSPVersion", "CommandPort", "IPv4Address",
}

// element is one child of the ProbeMatch root and its text.
type element struct {
	name, text string
}

// Parse turns one SADP reply datagram into the identity of the device that
// sent it. The root element must be ProbeMatch (a namespace prefix is
// tolerated); a Probe returns ErrNotReply; anything else, and any
// malformed, truncated, non-UTF-8 or oversized input, is an error.
func Parse(b []byte) ([]identity.Identity, error) {
	switch {
	case len(b) == 0:
		return nil, errors.New("sadp: empty datagram")
	case len(b) > MaxSize:
		return nil, fmt.Errorf("sadp: datagram too large (%d bytes, limit %d)", len(b), MaxSize)
	case !utf8.Valid(b):
		return nil, errors.New("sadp: datagram is not UTF-8")
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	b = bytes.TrimRight(b, "\x00 \t\r\n")
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '<' {
		return nil, errors.New("sadp: not XML (does not start with '<')")
	}
	els, err := scan(b)
	if err != nil {
		return nil, err
	}
	id, err := build(els)
	if err != nil {
		return nil, err
	}
	return []identity.Identity{id}, nil
}

// scan reads the document and returns the children of its ProbeMatch root
// in document order.
func scan(b []byte) ([]element, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	// Parse has checked that the input is UTF-8, so a declared charset
	// label (a firmware may write "GB2312" over ASCII text) is read as is.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		els     []element
		name    string
		text    strings.Builder
		depth   int
		count   int
		rootSet bool
		closed  bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if closed {
				return nil, errors.New("sadp: content after the ProbeMatch element")
			}
			count++
			depth++
			if count > maxElements {
				return nil, fmt.Errorf("sadp: more than %d XML elements", maxElements)
			}
			if depth > maxDepth {
				return nil, fmt.Errorf("sadp: XML nested deeper than %d levels", maxDepth)
			}
			switch depth {
			case 1:
				rootSet = true
				switch t.Name.Local {
				case "ProbeMatch":
				case "Probe":
					return nil, ErrNotReply
				default:
					return nil, fmt.Errorf("sadp: root element %q is not ProbeMatch", short(t.Name.Local))
				}
			case 2:
				name = t.Name.Local
				text.Reset()
			}
		case xml.EndElement:
			if depth == 2 {
				els = append(els, element{name: name, text: text.String()})
			}
			depth--
			if depth == 0 {
				closed = true
			}
		case xml.CharData:
			switch {
			case depth == 2 && text.Len() < maxText:
				text.Write(t[:min(len(t), maxText-text.Len())])
			case depth == 0 && len(bytes.TrimSpace(t)) > 0:
				return nil, errors.New("sadp: text outside the root element (not XML)")
			}
		case xml.Directive:
			return nil, errors.New("sadp: unexpected <!...> directive (not a SADP reply)")
		}
	}
	switch {
	case !rootSet:
		return nil, errors.New("sadp: no XML element (not a SADP reply)")
	case !closed:
		return nil, errors.New("sadp: truncated XML")
	}
	return els, nil
}

// build makes the identity from the ProbeMatch children.
func build(els []element) (identity.Identity, error) {
	v := make(map[string]string, len(els))
	for _, e := range els {
		if _, ok := v[e.name]; !ok && strings.TrimSpace(e.text) != "" {
			v[e.name] = e.text
		}
	}
	found := false
	for _, f := range deviceFields {
		if _, ok := v[f]; ok {
			found = true
			break
		}
	}
	if !found {
		return identity.Identity{}, errors.New("sadp: ProbeMatch carries no SADP device field")
	}
	id := identity.Identity{Source: identity.SourceSADP}
	id.Add(identity.FieldProtocol, TellProbeMatch)
	id.Add(identity.FieldModel, v["DeviceDescription"])
	id.Add(identity.FieldSerial, v["DeviceSN"])
	if mac := identity.NormalizeMAC(v["MAC"]); mac != "" {
		id.MAC = mac
		id.Add(identity.FieldMAC, mac)
	}
	id.Add(identity.FieldFirmware, v["SoftwareVersion"])
	id.Add(identity.FieldFirmware, v["DSPVersion"])
	id.Add(FieldDeviceType, v["DeviceType"])
	id.Add(FieldOEMCode, v["OEMInfo"])
	id.Add(FieldOEMCode, v["DetailOEMCode"])
	if a, err := netip.ParseAddr(strings.TrimSpace(v["IPv4Address"])); err == nil && a.Is4() && !a.IsUnspecified() {
		id.Addr = a
	}
	return id, nil
}

// xmlError turns a decoder error into a one-line sadp error.
func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Msg == "unexpected EOF" {
			return fmt.Errorf("sadp: truncated XML (line %d)", se.Line)
		}
		return fmt.Errorf("sadp: malformed XML (line %d): %s", se.Line, short(se.Msg))
	}
	return fmt.Errorf("sadp: malformed XML: %s", short(err.Error()))
}

// short cuts a string that may come from the device to a length fit for
// an error message.
func short(s string) string {
	s = identity.Clean(s)
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
