package boards

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
)

// table returns every profile, most specific match first; generic is last
// and matches nothing.
func table() []Profile {
	return []Profile{rpiZero2W(), rpiZeroW(), rpi3(), rpi4(), rpi5(), cm4(), rpiOther(), generic()}
}

// All returns a copy of every profile, in detection order.
func All() []Profile {
	t := table()
	for i := range t {
		t[i] = t[i].clone()
	}
	return t
}

// Generic returns the profile of an unknown board.
func Generic() Profile { return generic().clone() }

// Lookup returns the profile called name.
func Lookup(name string) (Profile, bool) {
	for _, p := range table() {
		if p.Name == name {
			return p.clone(), true
		}
	}
	return Profile{}, false
}

// Names returns the names of every profile.
func Names() []string {
	var out []string
	for _, p := range table() {
		out = append(out, p.Name)
	}
	return out
}

// Detect returns the profile for a device-tree model string such as
// "Raspberry Pi 4 Model B Rev 1.4" (a trailing NUL is ignored), and whether
// a board profile matched; an unknown or empty model gets Generic.
func Detect(model string) (Profile, bool) {
	model = strings.TrimSpace(strings.TrimRight(model, "\x00"))
	for _, p := range table() {
		for _, m := range p.match {
			if strings.HasPrefix(model, m) {
				return p.clone(), true
			}
		}
	}
	return Generic(), false
}

// Where Linux shows the device tree's model, relative to the root of the
// file system given to ReadModel; the second is what the first links to.
const (
	ModelPath    = "proc/device-tree/model"
	altModelPath = "sys/firmware/devicetree/base/model"
)

// maxModel bounds a model string; real ones are under 60 bytes.
const maxModel = 256

// ErrNoModel means the machine has no device-tree model (a PC, a VM): the
// board is generic.
var ErrNoModel = errors.New("boards: no device-tree model")

// ReadModel reads and checks the model string under root (os.DirFS("/") on
// a gateway, another directory in tests). A machine without one gives
// ErrNoModel.
func ReadModel(root fs.FS) (string, error) {
	for _, p := range []string{ModelPath, altModelPath} {
		f, err := root.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("boards: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxModel+1))
		f.Close()
		if err != nil {
			return "", fmt.Errorf("boards: read /%s: %w", p, err)
		}
		m, err := ParseModel(b)
		if err != nil {
			return "", fmt.Errorf("boards: /%s: %w", p, err)
		}
		return m, nil
	}
	return "", ErrNoModel
}

// ParseModel checks the contents of a model file: one NUL-terminated
// string of printable UTF-8 (the terminating NUL, and any trailing white
// space, are dropped), at most 256 bytes.
func ParseModel(b []byte) (string, error) {
	if len(b) > maxModel {
		return "", fmt.Errorf("model longer than %d bytes", maxModel)
	}
	s := strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
	switch {
	case s == "":
		return "", errors.New("empty model string")
	case !utf8.ValidString(s):
		return "", errors.New("model is not UTF-8 text")
	case strings.ContainsRune(s, 0):
		return "", errors.New("model holds several NUL-separated strings, want one")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		return "", fmt.Errorf("model has a control character at byte %d", i)
	}
	return s, nil
}

// Selection is the board a gateway runs on, and how it was chosen.
type Selection struct {
	Profile    Profile `json:"profile"`
	Model      string  `json:"model"`      // the device-tree model, "" when there is none
	Detected   bool    `json:"detected"`   // a board profile matched the model
	Configured bool    `json:"configured"` // the profile was named (board: in the config)
}

// ErrUnknownBoard: the configured board name is not a known profile.
var ErrUnknownBoard = errors.New("boards: unknown board")

// Select picks the board: the profile named (when name is not empty), else
// the one the device-tree model under root matches, else Generic. It is the
// one board detection of the daemon and of `nvrguard board`. An unknown
// name gives Generic and ErrUnknownBoard; an unreadable model gives Generic
// and the error (no model at all is not an error).
func Select(root fs.FS, name string) (Selection, error) {
	if name != "" {
		if p, ok := Lookup(name); ok {
			return Selection{Profile: p, Configured: true}, nil
		}
		return Selection{Profile: Generic()}, fmt.Errorf("%w %q (known: %s)", ErrUnknownBoard, name, strings.Join(Names(), ", "))
	}
	model, err := ReadModel(root)
	if err != nil && !errors.Is(err, ErrNoModel) {
		return Selection{Profile: Generic()}, err
	}
	p, ok := Detect(model)
	return Selection{Profile: p, Model: model, Detected: ok}, nil
}
