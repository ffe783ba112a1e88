package led

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Press is what the technician did with the button.
type Press uint8

// The presses a Button reports.
const (
	ShortPress Press = iota + 1 // pressed and released before Hold: acknowledge the alarm
	LongPress                   // held for Hold: ask for a rescan
)

// String returns "short" or "long".
func (p Press) String() string {
	switch p {
	case ShortPress:
		return "short"
	case LongPress:
		return "long"
	}
	return fmt.Sprintf("Press(%d)", uint8(p))
}

// Button defaults.
const (
	DefaultDebounce = 30 * time.Millisecond
	DefaultHold     = 3 * time.Second
	// buttonPoll bounds each wait for an edge, so that Run sees its
	// context end; the kernel's edge wait cannot take a context.
	buttonPoll = 100 * time.Millisecond
	// maxSettle ends the debounce of a line that never stops chattering.
	maxSettle = 500 * time.Millisecond
)

// Button is a push button on a GPIO line, by default wired from the line to
// ground and read with the internal pull-up (pressed reads low). Set the
// fields before Run; zero values take the defaults.
type Button struct {
	Pin        gpio.PinIn
	ActiveHigh bool          // pressed reads high (button to 3.3 V, internal pull-down)
	Debounce   time.Duration // the line must be quiet this long before a level counts; default 30 ms
	Hold       time.Duration // a press this long is a LongPress; default 3 s
}

// Run watches the button until ctx ends and calls press for each press: a
// LongPress as soon as the button has been held for Hold (releasing it later
// reports nothing more), a ShortPress when it is released earlier. Bounces
// shorter than Debounce are ignored, and the length of a press is timed from
// the first edge of the press to the first edge of the release. press runs
// on Run's goroutine and must not block. Run returns nil within 100 ms of
// ctx ending (the kernel's edge wait takes no context, so it polls), or an
// error at once when the pin cannot watch edges.
func (b *Button) Run(ctx context.Context, press func(Press)) error {
	debounce, hold := b.Debounce, b.Hold
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	if hold <= 0 {
		hold = DefaultHold
	}
	pull := gpio.PullUp
	if b.ActiveHigh {
		pull = gpio.PullDown
	}
	if err := b.Pin.In(pull, gpio.BothEdges); err != nil {
		return fmt.Errorf("led: button %s: %w", b.Pin.Name(), err)
	}
	pressed := b.isPressed()
	var since time.Time // when the current press began
	longDone := pressed // a button held at start reports nothing until released
	for ctx.Err() == nil {
		wait := buttonPoll
		if pressed && !longDone {
			wait = min(wait, max(time.Until(since.Add(hold)), time.Millisecond))
		}
		if b.Pin.WaitForEdge(wait) {
			edge := time.Now()
			for time.Since(edge) < maxSettle && ctx.Err() == nil && b.Pin.WaitForEdge(debounce) {
			}
			if now := b.isPressed(); now != pressed {
				pressed = now
				if pressed {
					since, longDone = edge, false
				} else if !longDone {
					press(ShortPress)
				}
			}
		}
		if pressed && !longDone && time.Since(since) >= hold {
			longDone = true
			press(LongPress)
		}
	}
	return nil
}

func (b *Button) isPressed() bool {
	return b.Pin.Read() == gpio.Level(b.ActiveHigh)
}
