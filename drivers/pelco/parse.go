package pelco

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Fact fields this package records, besides identity.FieldProtocol and
// identity.FieldModel (the part number of a query response).
const (
	// FieldAddress is a PTZ address seen on the bus, in decimal as sent
	// (Pelco-P counts camera 1 as 0).
	FieldAddress = "ptz-address"
	// FieldRole says whether the address was "commanded" by a controller
	// or "replied" itself.
	FieldRole = "ptz-role"
	// FieldFrame is one frame of the kind seen, as hex: the evidence.
	FieldFrame = "ptz-frame"
)

// MaxInput is the most hex text Parse reads.
const MaxInput = 1 << 20

// maxAddresses caps the addresses recorded for one controller.
const maxAddresses = 32

// Parse reads the bytes of Pelco-D, Pelco-P or Hikvision PTZ frames written
// as hex (FF 01 00 04 20 00 25; 0xFF,0x01,...; ff0100042000; xxd or
// hexdump -C lines; a label before a colon and text after the bytes are
// ignored) and returns what they identify: one identity per PTZ address
// for Pelco frames, one for a Hikvision controller. Accepted replies
// include the 18-byte query response and, when the input is only those 4
// bytes, a general reply. Input with no hex bytes, or with no frame whose
// checksum holds, is an error.
func Parse(b []byte) ([]identity.Identity, error) {
	if len(b) > MaxInput {
		return nil, errors.New("pelco: input larger than 1 MiB")
	}
	raw, err := decodeHex(string(b))
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		return nil, errors.New("pelco: no hex bytes in the input")
	}
	var t tally
	if len(raw) == lenGeneral && raw[0] == syncD {
		// A lone general reply: its checksum depends on the command answered.
		t.add(Frame{Kind: PelcoDGeneral, Addr: raw[1], Bytes: raw})
		return t.identities("", 1), nil
	}
	d := Decoder{anyReply: true}
	emit := func(f Frame) { t.add(f) }
	d.Write(raw, emit)
	d.Flush(emit)
	if len(t.keys) == 0 {
		if d.firstBad != nil {
			return nil, fmt.Errorf("pelco: no valid frame: %s has a bad checksum", hexBytes(d.firstBad))
		}
		return nil, fmt.Errorf("pelco: no Pelco-D, Pelco-P or Hikvision frame in %d bytes", len(raw))
	}
	return t.identities("", 1), nil
}

// decodeHex reads hex bytes from text, line by line.
func decodeHex(s string) ([]byte, error) {
	var out []byte
	for n, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		// A label ("pan left:") or an xxd offset ("00000010:").
		if i := strings.IndexByte(line, ':'); i >= 0 {
			before := splitTokens(line[:i])
			label := len(before) == 1 && len(before[0]) >= 6
			for _, tk := range before {
				label = label || !hexToken(tk)
			}
			if label {
				line = line[i+1:]
			}
		}
		toks := splitTokens(line)
		// A hexdump -C offset: eight digits, a multiple of 16.
		if len(toks) > 1 && len(toks[0]) == 8 && isHex(toks[0]) {
			if v, err := strconv.ParseUint(toks[0], 16, 32); err == nil && v%16 == 0 {
				toks = toks[1:]
			}
		}
		if len(toks) == 0 || !hexToken(toks[0]) {
			continue // a line of prose
		}
		for _, tk := range toks {
			if !hexToken(tk) {
				break // the rest is an ASCII column or a comment
			}
			tk = strings.TrimPrefix(strings.TrimPrefix(tk, "0x"), "0X")
			if len(tk) == 1 {
				tk = "0" + tk
			}
			for i := 0; i+1 < len(tk); i += 2 {
				v, err := strconv.ParseUint(tk[i:i+2], 16, 8)
				if err != nil {
					return nil, fmt.Errorf("pelco: line %d: %q is not hex", n+1, identity.Clean(tk))
				}
				out = append(out, byte(v))
			}
		}
		if len(out) > MaxInput {
			return nil, errors.New("pelco: too many bytes")
		}
	}
	return out, nil
}

func splitTokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == ',' || r == ';' || r == '[' || r == ']' || r == '{' || r == '}' || r == '(' || r == ')'
	})
}

// hexToken accepts a byte (F, FF, 0xFF) or a run of whole bytes (ff0100).
func hexToken(t string) bool {
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	return isHex(t) && (len(t) <= 2 || len(t)%2 == 0)
}

func isHex(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// tally gathers frames into what they identify.
type tally struct {
	keys []string
	by   map[string]*seen
}

type seen struct {
	kind     Kind
	addrs    []byte
	frames   int
	commands int
	replies  int
	part     string
	first    []byte
}

// maxKeys bounds the identities one bus produces.
const maxKeys = 64

func (t *tally) add(f Frame) {
	key := "hikvision-ptz"
	kind := f.Kind
	if f.Kind != Hikvision {
		if kind != PelcoP {
			kind = PelcoD
		}
		key = kind.Protocol() + "/" + strconv.Itoa(int(f.Addr))
	}
	if t.by == nil {
		t.by = map[string]*seen{}
	}
	s := t.by[key]
	if s == nil {
		if len(t.keys) >= maxKeys {
			return
		}
		s = &seen{kind: kind, first: f.Bytes}
		t.by[key] = s
		t.keys = append(t.keys, key)
	}
	s.frames++
	if len(s.addrs) < maxAddresses && !containsByte(s.addrs, f.Addr) {
		s.addrs = append(s.addrs, f.Addr)
	}
	if f.Reply() {
		s.replies++
	} else {
		s.commands++
	}
	if p := f.PartNumber(); p != "" && s.part == "" {
		s.part = p
	}
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// identities returns one identity per key seen at least min times, named
// after port.
func (t *tally) identities(port string, min int) []identity.Identity {
	var out []identity.Identity
	for _, key := range t.keys {
		s := t.by[key]
		if s.frames < min {
			continue
		}
		id := identity.Identity{Source: identity.SourcePelco}
		id.Add(identity.FieldProtocol, s.kind.Protocol())
		if s.kind == Hikvision {
			id.Port = join(port, "hikvision-ptz controller")
		} else {
			id.Port = join(port, s.kind.Protocol()+" address "+strconv.Itoa(int(s.addrs[0])))
		}
		for _, a := range s.addrs {
			id.Add(FieldAddress, strconv.Itoa(int(a)))
		}
		if s.commands > 0 {
			id.Add(FieldRole, "commanded")
		}
		if s.replies > 0 {
			id.Add(FieldRole, "replied")
		}
		id.Add(identity.FieldModel, s.part)
		id.Add(FieldFrame, hexBytes(s.first))
		out = append(out, id)
	}
	return out
}

func join(port, what string) string {
	if port == "" {
		return what
	}
	return port + " " + what
}
