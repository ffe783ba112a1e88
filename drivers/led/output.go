package led

import "periph.io/x/conn/v3"

// Output is a light the LED renders on: GPIO lines, an LED-class device or a
// console. Set lights it in a colour (Dark is off); Halt turns it off and
// gives back what was borrowed (an LED-class trigger). String names the
// output as a --led SPEC.
type Output interface {
	conn.Resource
	Set(c Colour) error
}

// Announcer is an Output that is told of each change of state rather than of
// each toggle: the console prints one line per state.
type Announcer interface {
	Announce(s State) error
}
