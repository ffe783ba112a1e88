package led

import (
	"errors"
	"fmt"
	"strings"

	"periph.io/x/conn/v3/gpio"
)

// GPIO is an LED on one, two or three GPIO lines: a single LED, a red+green
// pair (red first) or an RGB LED (red, green, blue).
type GPIO struct {
	pins      []gpio.PinOut
	activeLow bool
}

var _ Output = (*GPIO)(nil)

// NewGPIO returns the output for an LED on pins: one pin, red+green or
// red+green+blue. With activeLow the LED lights when its line is low (the LED
// wired from 3.3 V to the pin). It does no I/O.
func NewGPIO(activeLow bool, pins ...gpio.PinOut) (*GPIO, error) {
	if len(pins) < 1 || len(pins) > 3 {
		return nil, fmt.Errorf("led: gpio: want 1, 2 or 3 pins, got %d", len(pins))
	}
	for i, p := range pins {
		if p == nil {
			return nil, fmt.Errorf("led: gpio: pin %d is nil", i+1)
		}
	}
	return &GPIO{pins: pins, activeLow: activeLow}, nil
}

// channels returns which pins light for c.
func (g *GPIO) channels(c Colour) []bool {
	switch len(g.pins) {
	case 1:
		return []bool{c != Dark}
	case 2:
		return []bool{c&Red != 0, c&(Green|Blue) != 0}
	}
	return []bool{c&Red != 0, c&Green != 0, c&Blue != 0}
}

func (g *GPIO) level(on bool) gpio.Level {
	return gpio.Level(on != g.activeLow)
}

// Set implements Output.
func (g *GPIO) Set(c Colour) error {
	var errs []error
	for i, on := range g.channels(c) {
		if err := g.pins[i].Out(g.level(on)); err != nil {
			errs = append(errs, fmt.Errorf("led: %s: %w", g.pins[i].Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Halt implements conn.Resource: every line is driven to its off level. The
// lines stay outputs, so an active-low LED does not light when the pin
// floats.
func (g *GPIO) Halt() error {
	return g.Set(Dark)
}

// String implements conn.Resource: the --led SPEC of the output.
func (g *GPIO) String() string {
	names := make([]string, len(g.pins))
	for i, p := range g.pins {
		names[i] = p.Name()
	}
	s := "gpio:" + strings.Join(names, "+")
	if g.activeLow {
		s += ",active-low"
	}
	return s
}
