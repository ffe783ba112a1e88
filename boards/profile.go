package boards

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Profile describes one kind of board.
type Profile struct {
	// Name identifies the profile: "rpi4", "generic", ...
	Name string `json:"name"`
	// Title is the board's name for people.
	Title string `json:"title"`
	// LED is the status LED as a --led SPEC (DESIGN.md), e.g.
	// "sysfs:/sys/class/leds/ACT" or "gpio:GPIO17,active-low"; the polarity
	// is part of the spec (",invert", ",active-low"). Empty: no LED.
	LED string `json:"led"`
	// Button is the GPIO line name of the technician's push button, wired
	// from the line to ground; empty: no button.
	Button string `json:"button"`
	// SerialPorts are the serial devices to probe, as paths or glob
	// patterns (path/filepath.Match syntax), in order.
	SerialPorts []string `json:"serial_ports"`
	// GOARCH and GOARM name the build to install (make cross); an empty
	// GOARCH means any build for the board's CPU.
	GOARCH string `json:"goarch"`
	GOARM  string `json:"goarm,omitempty"`

	// match holds the model-string prefixes of the board.
	match []string
}

// clone returns a deep copy, so that callers never share the table's slices.
func (p Profile) clone() Profile {
	p.SerialPorts = slices.Clone(p.SerialPorts)
	p.match = slices.Clone(p.match)
	return p
}

// Build returns the build target, e.g. "linux/arm GOARM=6", "linux/arm64"
// or "any".
func (p Profile) Build() string {
	switch {
	case p.GOARCH == "":
		return "any"
	case p.GOARM != "":
		return "linux/" + p.GOARCH + " GOARM=" + p.GOARM
	}
	return "linux/" + p.GOARCH
}

// Validate checks every field; the error names the first bad one.
func (p Profile) Validate() error {
	var errs []error
	if p.Name == "" || strings.Trim(p.Name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		errs = append(errs, fmt.Errorf("name %q: want lower-case letters, digits and -", p.Name))
	}
	if p.LED != "" && p.LED != "console" && !strings.HasPrefix(p.LED, "gpio:") && !strings.HasPrefix(p.LED, "sysfs:") {
		errs = append(errs, fmt.Errorf("led %q: want gpio:LINE[,active-low], sysfs:DIR[,invert], console or empty", p.LED))
	}
	if p.Button != "" {
		if err := checkLine(p.Button); err != nil {
			errs = append(errs, fmt.Errorf("button: %w", err))
		}
	}
	for _, s := range p.SerialPorts {
		if _, err := filepath.Match(s, ""); err != nil || !filepath.IsAbs(s) {
			errs = append(errs, fmt.Errorf("serial port %q: want an absolute path or glob such as /dev/ttyUSB*", s))
		}
	}
	switch p.GOARCH {
	case "", "arm", "arm64", "amd64", "386", "riscv64", "loong64", "mips", "mipsle", "ppc64le", "s390x":
	default:
		errs = append(errs, fmt.Errorf("goarch %q is not a Linux GOARCH", p.GOARCH))
	}
	switch {
	case p.GOARM != "" && p.GOARCH != "arm":
		errs = append(errs, fmt.Errorf("goarm %q given for goarch %q (only arm has one)", p.GOARM, p.GOARCH))
	case p.GOARM != "" && p.GOARM != "5" && p.GOARM != "6" && p.GOARM != "7":
		errs = append(errs, fmt.Errorf("goarm %q: want 5, 6 or 7", p.GOARM))
	}
	if len(errs) > 0 {
		return fmt.Errorf("boards: profile %s: %w", p.Name, errors.Join(errs...))
	}
	return nil
}

// checkLine accepts a GPIO line name such as GPIO27: letters, digits, "_",
// "-" and ".", at most 31 characters, not a bare number.
func checkLine(name string) error {
	if len(name) > 31 {
		return fmt.Errorf("GPIO line name %q is longer than 31 characters", name)
	}
	if strings.Trim(name, "0123456789") == "" {
		return fmt.Errorf("GPIO line %q is a number: give the line's name, e.g. GPIO%s", name, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("GPIO line name %q has a %q (want a name such as GPIO27)", name, r)
		}
	}
	return nil
}

// Override is the part of the configuration file that changes a board's
// profile: a nil field keeps the profile's value, a set one replaces it
// (an empty string removes the LED or the button; an empty list of serial
// ports probes none).
type Override struct {
	Title       *string  `yaml:"title" json:"title,omitempty"`
	LED         *string  `yaml:"led" json:"led,omitempty"`
	Button      *string  `yaml:"button" json:"button,omitempty"`
	SerialPorts []string `yaml:"serial_ports" json:"serial_ports,omitempty"`
	GOARCH      *string  `yaml:"goarch" json:"goarch,omitempty"`
	GOARM       *string  `yaml:"goarm" json:"goarm,omitempty"`
}

// Override returns p with the fields set in o replaced, and checks the
// result. Changing GOARCH away from arm drops GOARM unless o sets it too.
func (p Profile) Override(o Override) (Profile, error) {
	q := p.clone()
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&q.Title, o.Title)
	set(&q.LED, o.LED)
	set(&q.Button, o.Button)
	if o.SerialPorts != nil {
		q.SerialPorts = slices.Clone(o.SerialPorts)
	}
	if o.GOARCH != nil && *o.GOARCH != "arm" && o.GOARM == nil {
		q.GOARM = ""
	}
	set(&q.GOARCH, o.GOARCH)
	set(&q.GOARM, o.GOARM)
	if err := q.Validate(); err != nil {
		return p, err
	}
	return q, nil
}
