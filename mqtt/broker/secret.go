package broker

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
