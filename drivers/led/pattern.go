package led

import (
	"strings"
	"time"
)

// Colour is what a lit LED shows: a set of red, green and blue. A single LED
// lights for any colour but Dark; a red+green pair shows Blue as green.
type Colour uint8

// The colours of the states (see Pattern).
const (
	Dark   Colour = 0
	Red    Colour = 1
	Green  Colour = 2
	Blue   Colour = 4
	Yellow        = Red | Green // amber on a red+green pair
)

// String returns the colour's name, e.g. "red" or "yellow".
func (c Colour) String() string {
	switch c {
	case Dark:
		return "dark"
	case Yellow:
		return "yellow"
	}
	var parts []string
	for _, p := range []struct {
		c    Colour
		name string
	}{{Red, "red"}, {Green, "green"}, {Blue, "blue"}} {
		if c&p.c != 0 {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, "+")
}

// Step is one phase of a pattern: the light on or off for D. D == 0 means
// for as long as the state lasts.
type Step struct {
	On bool
	D  time.Duration
}

// Pattern is how a state shows: a name for people, the colour when lit and
// the steps, repeated from the first for as long as the state lasts.
type Pattern struct {
	Name   string
	Colour Colour
	Steps  []Step
}

// Period returns the length of one repetition of the pattern, 0 for a
// pattern that holds one step forever.
func (p Pattern) Period() time.Duration {
	var d time.Duration
	for _, s := range p.Steps {
		if s.D == 0 {
			return 0
		}
		d += s.D
	}
	return d
}

// The timings of DESIGN.md's LED codes.
const (
	FlickerHalf   = 50 * time.Millisecond  // 10 Hz flicker: 50 ms on, 50 ms off
	HeartbeatOn   = 100 * time.Millisecond // each of the two heartbeat pulses
	HeartbeatGap  = 100 * time.Millisecond // between the two pulses
	HeartbeatEach = 2 * time.Second        // one heartbeat every 2 s
	FastHalf      = 125 * time.Millisecond // 4 Hz fast blink: 125 ms on, 125 ms off
	SlowHalf      = 500 * time.Millisecond // 1 Hz slow blink: 500 ms on, 500 ms off
	FaultOn       = 200 * time.Millisecond // each fault pulse
	FaultOff      = 300 * time.Millisecond // after each fault pulse
	FaultPause    = 1500 * time.Millisecond
)

// Pattern returns how s shows. Invalid states show dark.
func (s State) Pattern() Pattern {
	if n, ok := s.FaultCode(); ok {
		steps := make([]Step, 0, 2*n)
		for range n {
			steps = append(steps, Step{true, FaultOn}, Step{false, FaultOff})
		}
		steps[len(steps)-1].D += FaultPause
		return Pattern{Name: faultName(n), Colour: Yellow, Steps: steps}
	}
	switch s {
	case Starting:
		return Pattern{"fast flicker (10 Hz)", Yellow, []Step{{true, FlickerHalf}, {false, FlickerHalf}}}
	case Running:
		return Pattern{"heartbeat (two short pulses every 2 s)", Blue, []Step{{true, HeartbeatOn}, {false, HeartbeatGap},
			{true, HeartbeatOn}, {false, HeartbeatEach - 2*HeartbeatOn - HeartbeatGap}}}
	case Clear:
		return Pattern{"steady on", Green, []Step{{true, 0}}}
	case Alarm:
		return Pattern{"fast blink (4 Hz)", Red, []Step{{true, FastHalf}, {false, FastHalf}}}
	case Acked:
		return Pattern{"slow blink (1 Hz)", Red, []Step{{true, SlowHalf}, {false, SlowHalf}}}
	}
	return Pattern{"off", Dark, []Step{{false, 0}}}
}

func faultName(n int) string {
	if n == 1 {
		return "1 blink, pause, repeat"
	}
	return string(rune('0'+n)) + " blinks, pause, repeat"
}
