package led

import (
	"fmt"
	"io"
	"sync"
)

// Console is an LED for a terminal or a log: one line per change of state,
// naming the state, its pattern and its meaning, instead of a toggle per
// blink.
type Console struct {
	mu   sync.Mutex
	w    io.Writer
	last State // Off until the first Announce
}

var (
	_ Output    = (*Console)(nil)
	_ Announcer = (*Console)(nil)
)

// NewConsole returns a console LED writing to w (the CLI gives it stderr).
func NewConsole(w io.Writer) *Console {
	return &Console{w: w}
}

// Set implements Output; toggles are not printed.
func (c *Console) Set(Colour) error { return nil }

// Announce implements Announcer: it prints a line such as
// "led: alarm: fast blink (4 Hz), red: restricted hardware present, not acknowledged".
func (c *Console) Announce(s State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == c.last {
		return nil
	}
	c.last = s
	p := s.Pattern()
	var err error
	if p.Colour == Dark {
		_, err = fmt.Fprintf(c.w, "led: %s: %s\n", s, s.Meaning())
	} else {
		_, err = fmt.Fprintf(c.w, "led: %s: %s, %s: %s\n", s, p.Name, p.Colour, s.Meaning())
	}
	return err
}

// Halt implements conn.Resource: it prints "led: off" unless the console
// already shows off; a console starts off, so Off is never announced first.
func (c *Console) Halt() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == Off {
		return nil
	}
	c.last = Off
	_, err := fmt.Fprintln(c.w, "led: off")
	return err
}

// String implements conn.Resource.
func (c *Console) String() string { return "console" }
