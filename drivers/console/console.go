// Package console reads the identity of a device from the text its serial
// console prints: boot loader and kernel banners, prompts, and the model,
// serial number, firmware, MAC address and system-on-chip where they are
// printed. Lines of note are kept as evidence (identity.FieldText); the
// policy, not this package, decides what they mean.
//
// The console is read listen-only. A Watcher never sends a bootloader
// interrupt key (Ctrl+U for Hikvision, '*' for Dahua, any key during a
// countdown): that would halt the camera. The only byte it can ever send is
// one carriage return, with the explicit opt-in ProbeNewline, after the
// console has been quiet for a while.
package console

import (
	"errors"
	"fmt"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxInput is the most console text Parse reads.
const MaxInput = 1 << 20

// ErrNotText is wrapped by Parse errors for input that is not console text.
var ErrNotText = errors.New("console: not console text")

// Parse reads captured console text (a boot log, a prompt transcript) and
// returns the identity of the device that printed it. Input that is binary
// or has no readable line is an error.
func Parse(b []byte) ([]identity.Identity, error) {
	if len(b) > MaxInput {
		return nil, errors.New("console: input larger than 1 MiB")
	}
	if binary(b) {
		return nil, fmt.Errorf("%w: the input is binary", ErrNotText)
	}
	var s splitter
	var e extractor
	s.write(b, e.line)
	s.flush(e.line)
	if e.readable == 0 {
		return nil, fmt.Errorf("%w: no readable line", ErrNotText)
	}
	return []identity.Identity{e.identity("")}, nil
}

// binary reports whether b looks like binary data rather than text that a
// console printed (which may carry some line noise): any NUL byte, or more
// than a fifth of bytes that are neither printable ASCII, white space nor
// part of valid UTF-8.
func binary(b []byte) bool {
	bad := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0:
			return true
		case c >= 0x20 && c < 0x7f, c == '\n', c == '\r', c == '\t', c == '\b', c == 0x1b, c == 0x0c:
		case c >= 0x80:
			// counted below, by rune
		default:
			bad++
		}
	}
	for _, r := range string(b) {
		if r == '\uFFFD' {
			bad++
		}
	}
	return bad*5 > len(b)
}
