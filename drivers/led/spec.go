package led

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of output a Spec names.
type Kind uint8

// The kinds of --led SPEC.
const (
	KindGPIO    Kind = iota + 1 // gpio:LINE[+LINE[+LINE]][,active-low]
	KindSysfs                   // sysfs:DIR[,invert]
	KindConsole                 // console
)

// Spec is a parsed --led SPEC. The grammar (DESIGN.md, extended for colour
// LEDs):
//
//	spec    = "console" | gpio | sysfs
//	gpio    = "gpio:" line [ "+" line [ "+" line ] ] [ ",active-low" ]
//	sysfs   = "sysfs:" dir [ ",invert" ]
//	line    = a GPIO line name as the kernel lists it (gpioinfo), e.g. GPIO17:
//	          letters, digits, "_", "-", "."; 1 to 31 characters, not all digits
//	dir     = the absolute path of an LED-class directory, e.g.
//	          /sys/class/leds/ACT, or a bare LED name (ACT) meaning
//	          ClassRoot/NAME; no ","
//
// One line is a single LED, two are a red+green pair (red first), three an
// RGB LED (red, green, blue).
type Spec struct {
	Kind      Kind
	Lines     []string // KindGPIO: GPIO line names
	ActiveLow bool     // KindGPIO: the LED lights when its line is low
	Dir       string   // KindSysfs: the LED-class directory
	Invert    bool     // KindSysfs: brightness 0 lights the LED
}

// maxSpec bounds a spec; a real one is a few dozen bytes.
const maxSpec = 512

// ParseSpec parses a --led SPEC. Errors are one line and say what was
// expected.
func ParseSpec(s string) (Spec, error) {
	if len(s) > maxSpec {
		return Spec{}, fmt.Errorf("led: spec longer than %d bytes", maxSpec)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return Spec{}, errors.New("led: spec contains control characters or invalid UTF-8")
	}
	if s == "console" {
		return Spec{Kind: KindConsole}, nil
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || (kind != "gpio" && kind != "sysfs") {
		return Spec{}, fmt.Errorf("led: spec %q: want gpio:LINE[,active-low], sysfs:DIR[,invert] or console", s)
	}
	target, opts, _ := strings.Cut(rest, ",")
	var options []string
	if opts != "" || strings.HasSuffix(rest, ",") {
		options = strings.Split(opts, ",")
	}
	switch kind {
	case "gpio":
		sp := Spec{Kind: KindGPIO}
		if target == "" {
			return Spec{}, fmt.Errorf("led: spec %q: no GPIO line (e.g. gpio:GPIO17)", s)
		}
		sp.Lines = strings.Split(target, "+")
		if len(sp.Lines) > 3 {
			return Spec{}, fmt.Errorf("led: spec %q: at most 3 lines (red+green+blue)", s)
		}
		for _, l := range sp.Lines {
			if err := CheckLineName(l); err != nil {
				return Spec{}, fmt.Errorf("led: spec %q: %w", s, err)
			}
		}
		for i, l := range sp.Lines {
			for _, m := range sp.Lines[:i] {
				if l == m {
					return Spec{}, fmt.Errorf("led: spec %q: line %s given twice", s, l)
				}
			}
		}
		for _, o := range options {
			if o != "active-low" {
				return Spec{}, fmt.Errorf("led: spec %q: unknown option %q (gpio takes active-low)", s, o)
			}
			sp.ActiveLow = true
		}
		return sp, nil
	default:
		sp := Spec{Kind: KindSysfs, Dir: target}
		if target == "" {
			return Spec{}, fmt.Errorf("led: spec %q: no LED directory (e.g. sysfs:/sys/class/leds/ACT)", s)
		}
		switch {
		case !strings.Contains(target, "/"):
			if target == "." || target == ".." {
				return Spec{}, fmt.Errorf("led: spec %q: %q is not an LED name", s, target)
			}
			sp.Dir = ClassRoot + "/" + target
		case !filepath.IsAbs(target):
			return Spec{}, fmt.Errorf("led: spec %q: give an absolute directory (/sys/class/leds/ACT) or an LED name (ACT)", s)
		}
		sp.Dir = filepath.Clean(sp.Dir)
		for _, o := range options {
			if o != "invert" {
				return Spec{}, fmt.Errorf("led: spec %q: unknown option %q (sysfs takes invert)", s, o)
			}
			sp.Invert = true
		}
		return sp, nil
	}
}

// CheckLineName reports whether name can be a GPIO line name in a spec or a
// button setting: letters, digits, "_", "-" and ".", 1 to 31 characters (the
// kernel's limit), and not a bare number, which would be a chip offset rather
// than a name.
func CheckLineName(name string) error {
	if name == "" {
		return errors.New("empty GPIO line name")
	}
	if len(name) > 31 {
		return fmt.Errorf("GPIO line name %q longer than 31 characters", clip(name))
	}
	digits := true
	for _, r := range name {
		switch {
		case r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == '-', r == '.':
			digits = false
		default:
			return fmt.Errorf("GPIO line name %q has a %q (want a name such as GPIO17)", clip(name), r)
		}
	}
	if digits {
		return fmt.Errorf("GPIO line %q is a number: give the line's name, e.g. GPIO%s", name, name)
	}
	return nil
}

// String returns the spec in canonical form; ParseSpec(s.String()) == s.
func (s Spec) String() string {
	switch s.Kind {
	case KindConsole:
		return "console"
	case KindGPIO:
		out := "gpio:" + strings.Join(s.Lines, "+")
		if s.ActiveLow {
			out += ",active-low"
		}
		return out
	case KindSysfs:
		out := "sysfs:" + s.Dir
		if s.Invert {
			out += ",invert"
		}
		return out
	}
	return ""
}
