package serial

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// Spec names one port to listen to, as `--serial PORT[:BAUD]` gives it.
type Spec struct {
	Path string // absolute: /dev/ttyUSB0, /dev/serial/by-id/...
	Baud int    // DefaultBaud when the spec names none
}

// String returns the spec in the form ParseSpec reads.
func (s Spec) String() string { return s.Path + ":" + strconv.Itoa(s.Baud) }

// maxSpecLen bounds a spec: a path and a rate, never a document.
const maxSpecLen = 512

// ParseSpec reads PORT[:BAUD]. PORT is a device path, or a bare name such
// as ttyUSB0 that is taken to be in /dev. BAUD, when present, is one of the
// standard rates; the default is 115200. A colon followed by something other
// than digits belongs to the path (/dev/serial/by-path names contain
// colons).
func ParseSpec(s string) (Spec, error) {
	if s == "" {
		return Spec{}, fmt.Errorf("serial: empty port spec, want PORT[:BAUD]")
	}
	if len(s) > maxSpecLen {
		return Spec{}, fmt.Errorf("serial: port spec longer than %d bytes", maxSpecLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return Spec{}, fmt.Errorf("serial: port spec %q has a space or control character", s)
		}
	}
	sp := Spec{Path: s, Baud: DefaultBaud}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && allDigits(s[i+1:]) {
		b, err := strconv.Atoi(s[i+1:])
		if err != nil || !validBaud(b) {
			return Spec{}, fmt.Errorf("serial: port spec %q: %q is not a standard baud rate (e.g. 2400, 9600, 115200)", s, s[i+1:])
		}
		sp.Path, sp.Baud = s[:i], b
	}
	if sp.Path == "" {
		return Spec{}, fmt.Errorf("serial: port spec %q names no port", s)
	}
	if !strings.HasPrefix(sp.Path, "/") {
		if strings.ContainsRune(sp.Path, '/') {
			return Spec{}, fmt.Errorf("serial: port spec %q: want an absolute path or a name in /dev", s)
		}
		sp.Path = "/dev/" + sp.Path
	}
	sp.Path = filepath.Clean(sp.Path)
	if sp.Path == "/" || sp.Path == "/dev" {
		return Spec{}, fmt.Errorf("serial: port spec %q names no port", s)
	}
	return sp, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
