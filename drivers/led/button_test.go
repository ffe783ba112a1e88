package led_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/nvrguard/nvrguard/drivers/led"
)

// press is one reported press and when it came.
type press struct {
	p  led.Press
	at time.Duration
}

// buttonRig runs a Button on a gpiotest pin in a synctest bubble and feeds
// its edges.
type buttonRig struct {
	pin    *gpiotest.Pin
	start  time.Time
	mu     sync.Mutex
	got    []press
	cancel context.CancelFunc
	done   chan error
}

func newButtonRig(t *testing.T, activeHigh bool) *buttonRig {
	t.Helper()
	r := &buttonRig{pin: &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level)}, done: make(chan error, 1)}
	b := &led.Button{Pin: r.pin, ActiveHigh: activeHigh}
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(t.Context())
	r.start = time.Now()
	go func() {
		r.done <- b.Run(ctx, func(p led.Press) {
			r.mu.Lock()
			r.got = append(r.got, press{p, time.Since(r.start)})
			r.mu.Unlock()
		})
	}()
	synctest.Wait()
	return r
}

// edges feeds levels with the given gaps between them: the bounces of a
// real contact.
func (r *buttonRig) edges(levels []gpio.Level, gaps ...time.Duration) {
	for i, l := range levels {
		r.pin.EdgesChan <- l
		if i < len(gaps) {
			time.Sleep(gaps[i])
		}
	}
}

// bounce returns the levels of a contact that bounces three times before
// settling at final.
func bounce(final gpio.Level) []gpio.Level {
	return []gpio.Level{final, !final, final, !final, final}
}

var bounceGaps = []time.Duration{2 * ms, 1 * ms, 3 * ms, 1 * ms}

func (r *buttonRig) presses(t *testing.T) string {
	t.Helper()
	r.cancel()
	// The kernel's edge wait takes no context: Run sees the end of its
	// context at the next poll, 100 ms at most.
	time.Sleep(100 * ms)
	synctest.Wait()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	default:
		t.Fatal("Run did not return within 100 ms of its context ending")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.got {
		out = append(out, fmt.Sprintf("%v@%v", p.p, p.at))
	}
	return strings.Join(out, " ")
}

// sleepUntil sleeps until d after the rig started.
func (r *buttonRig) sleepUntil(d time.Duration) { time.Sleep(time.Until(r.start.Add(d))) }

// TestButtonShortPress: a bouncing 400 ms press is one short press,
// reported when the release has settled (first release edge + 30 ms quiet).
func TestButtonShortPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newButtonRig(t, false)
		r.sleepUntil(time.Second)
		r.edges(bounce(gpio.Low), bounceGaps...) // pressed at 1s, settles at 1.007s
		r.sleepUntil(1400 * ms)
		r.edges(bounce(gpio.High), bounceGaps...) // released at 1.4s, last bounce at 1.407s
		r.sleepUntil(5 * time.Second)
		if got, want := r.presses(t), "short@1.437s"; got != want {
			t.Errorf("presses %q, want %q", got, want)
		}
	})
}

// TestButtonLongPress: held for 3.5 s, the button reports a long press at
// exactly 3 s after the first edge, while still held, and nothing on
// release.
func TestButtonLongPress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newButtonRig(t, false)
		r.sleepUntil(time.Second)
		r.edges(bounce(gpio.Low), bounceGaps...)
		r.sleepUntil(3999 * ms)
		r.mu.Lock()
		early := len(r.got)
		r.mu.Unlock()
		if early != 0 {
			t.Errorf("%d press(es) before 3 s of holding", early)
		}
		r.sleepUntil(4500 * ms)
		r.edges(bounce(gpio.High), bounceGaps...)
		r.sleepUntil(6 * time.Second)
		if got, want := r.presses(t), "long@4s"; got != want {
			t.Errorf("presses %q, want %q", got, want)
		}
	})
}

// TestButtonGlitches: spikes shorter than the debounce time and chatter
// that ends where it began are no press at all.
func TestButtonGlitches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newButtonRig(t, false)
		r.sleepUntil(time.Second)
		r.edges([]gpio.Level{gpio.Low, gpio.High}, 2*ms) // a 2 ms spike
		r.sleepUntil(2 * time.Second)
		r.edges([]gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low, gpio.High}, 5*ms, 5*ms, 5*ms, 5*ms, 5*ms)
		r.sleepUntil(4 * time.Second)
		if got := r.presses(t); got != "" {
			t.Errorf("glitches reported as %q", got)
		}
	})
}

// TestButtonSeveralPresses: short, long, short in a row.
func TestButtonSeveralPresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newButtonRig(t, false)
		r.sleepUntil(time.Second)
		r.edges(bounce(gpio.Low), bounceGaps...)
		r.sleepUntil(1200 * ms)
		r.edges(bounce(gpio.High), bounceGaps...)
		r.sleepUntil(2 * time.Second)
		r.edges(bounce(gpio.Low), bounceGaps...)
		r.sleepUntil(6 * time.Second)
		r.edges(bounce(gpio.High), bounceGaps...)
		r.sleepUntil(7 * time.Second)
		r.edges([]gpio.Level{gpio.Low}) // a clean contact
		r.sleepUntil(7100 * ms)
		r.edges([]gpio.Level{gpio.High})
		r.sleepUntil(8 * time.Second)
		if got, want := r.presses(t), "short@1.237s long@5s short@7.13s"; got != want {
			t.Errorf("presses %q, want %q", got, want)
		}
	})
}

// TestButtonActiveHigh reads a button wired to 3.3 V with the pull-down.
func TestButtonActiveHigh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newButtonRig(t, true)
		if r.pin.P != gpio.PullDown {
			t.Errorf("pull %v, want down", r.pin.P)
		}
		r.sleepUntil(time.Second)
		r.edges(bounce(gpio.High), bounceGaps...)
		r.sleepUntil(1500 * ms)
		r.edges(bounce(gpio.Low), bounceGaps...)
		r.sleepUntil(2 * time.Second)
		if got, want := r.presses(t), "short@1.537s"; got != want {
			t.Errorf("presses %q, want %q", got, want)
		}
	})
}

// TestButtonHeldAtStart: a button already held (or a line stuck low) when
// Run starts reports nothing until it has been released and pressed again.
func TestButtonHeldAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level)}
		b := &led.Button{Pin: &heldPin{pin}}
		ctx, cancel := context.WithCancel(t.Context())
		var got []led.Press
		done := make(chan error)
		go func() { done <- b.Run(ctx, func(p led.Press) { got = append(got, p) }) }()
		time.Sleep(10 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("presses %v from a line held at start", got)
		}
	})
}

// heldPin reads low after In, as a button held down during start-up does.
type heldPin struct{ *gpiotest.Pin }

func (p *heldPin) In(pull gpio.Pull, edge gpio.Edge) error {
	err := p.Pin.In(pull, edge)
	p.Pin.Out(gpio.Low)
	return err
}

// TestButtonNeedsEdges: a pin that cannot watch edges is an error, not a
// silent button.
func TestButtonNeedsEdges(t *testing.T) {
	b := &led.Button{Pin: &gpiotest.Pin{N: "GPIO27"}}
	err := b.Run(t.Context(), func(led.Press) {})
	if err == nil || !strings.Contains(err.Error(), "GPIO27") {
		t.Errorf("Run on a pin without edges: %v", err)
	}
}

// TestButtonAcknowledgesAlarm wires a button to an LED the way the daemon
// will: a short press during the alarm turns the 4 Hz blink into the 1 Hz
// blink as soon as the release has settled (30 ms, within the 100 ms bound),
// and a long press asks for a rescan without touching the LED.
func TestButtonAcknowledgesAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, true, "GPIO17")
		r.l.Set(led.Alarm)
		var mu sync.Mutex
		rescans := 0
		handler := func(p led.Press) {
			switch {
			case p == led.ShortPress && r.l.State() == led.Alarm:
				r.l.Set(led.Acked)
			case p == led.LongPress:
				mu.Lock()
				rescans++
				mu.Unlock()
			}
		}
		pin := &gpiotest.Pin{N: "GPIO22", EdgesChan: make(chan gpio.Level)}
		b := &led.Button{Pin: pin}
		ctx, cancel := context.WithCancel(t.Context())
		bdone := make(chan error)
		go func() { bdone <- b.Run(ctx, handler) }()
		time.Sleep(time.Second)
		pin.EdgesChan <- gpio.Low
		time.Sleep(300 * ms)
		pin.EdgesChan <- gpio.High
		settled := time.Now().Add(led.DefaultDebounce)
		r.follow(t, 0, settled, 3*time.Second, func(d time.Duration) bool { return lit(led.Acked, d) })
		if got := r.l.State(); got != led.Acked {
			t.Fatalf("state %v after a short press, want acked", got)
		}
		pin.EdgesChan <- gpio.Low
		time.Sleep(3500 * ms)
		pin.EdgesChan <- gpio.High
		time.Sleep(time.Second)
		mu.Lock()
		if rescans != 1 {
			t.Errorf("%d rescans after a long press, want 1", rescans)
		}
		mu.Unlock()
		if r.l.State() != led.Acked {
			t.Errorf("state %v after the long press, want acked", r.l.State())
		}
		cancel()
		if err := <-bdone; err != nil {
			t.Fatal(err)
		}
		r.stop(t)
	})
}
