package led

import (
	"fmt"
	"io"
	"os"
	"strings"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// LineLookup finds a GPIO line by name.
type LineLookup func(name string) (gpio.PinIO, error)

// OpenOptions are what Open needs besides the spec.
type OpenOptions struct {
	// Lookup finds GPIO lines; nil means HostLine.
	Lookup LineLookup
	// Console is where a console LED writes; nil means os.Stderr.
	Console io.Writer
}

// Open returns the output a spec names, ready to use: GPIO lines are looked
// up by name, an LED-class device is taken over from its trigger (call Halt
// to give it back).
func Open(spec Spec, opt OpenOptions) (Output, error) {
	switch spec.Kind {
	case KindConsole:
		w := opt.Console
		if w == nil {
			w = os.Stderr
		}
		return NewConsole(w), nil
	case KindSysfs:
		return OpenClass(spec.Dir, spec.Invert)
	case KindGPIO:
		lookup := opt.Lookup
		if lookup == nil {
			lookup = HostLine
		}
		pins := make([]gpio.PinOut, len(spec.Lines))
		for i, name := range spec.Lines {
			p, err := lookup(name)
			if err != nil {
				return nil, err
			}
			pins[i] = p
		}
		return NewGPIO(spec.ActiveLow, pins...)
	}
	return nil, fmt.Errorf("led: empty spec")
}

// HostLine returns the GPIO line called name (as gpioinfo lists it, e.g.
// GPIO17) from the kernel's GPIO character devices, through periph's
// gpioioctl driver. Lines are found by name on every chip, never by a chip
// number, so the same name works on a Pi 4 (pinctrl-bcm2711) and a Pi 5
// (pinctrl-rp1). A name in the wrong case is found too.
func HostLine(name string) (gpio.PinIO, error) {
	if err := CheckLineName(name); err != nil {
		return nil, fmt.Errorf("led: gpio: %w", err)
	}
	if _, err := driverreg.Init(); err != nil {
		return nil, fmt.Errorf("led: gpio: %w", err)
	}
	if len(gpioioctl.Chips) == 0 {
		return nil, fmt.Errorf("led: gpio: no GPIO line %s: this machine has no GPIO character devices (/dev/gpiochip*)", name)
	}
	for _, want := range []string{name, strings.ToUpper(name)} {
		for _, chip := range gpioioctl.Chips {
			if l := chip.ByName(want); l != nil {
				return l, nil
			}
		}
	}
	return nil, fmt.Errorf("led: gpio: no GPIO line named %s on %d GPIO chip(s) (list the names with gpioinfo)", name, len(gpioioctl.Chips))
}
