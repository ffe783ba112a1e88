// Package secret is the one type for the passwords nvrguard is given (the
// MQTT broker's, the embedded broker's, the ONVIF and recorder accounts')
// and the one way they are read from their files.
package secret

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secret is a password. It prints as "<redacted>" however it is
// formatted, so that a logged configuration never shows it.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "<redacted>" }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return `"<redacted>"` }

// MarshalText keeps the secret out of JSON and YAML output.
func (Secret) MarshalText() ([]byte, error) { return []byte("<redacted>"), nil }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// ErrMultiLine: a password file holds more than one line (a password is
// one line; a second one is a mistake, not part of it).
var ErrMultiLine = errors.New("more than one line")

// ReadFile reads a password file: its one line, without the line end
// ("\n" or "\r\n"). An empty file is an empty secret.
func ReadFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s: %w", path, ErrMultiLine)
	}
	return Secret(s), nil
}
