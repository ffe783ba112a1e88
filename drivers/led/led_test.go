package led_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/led/ledtest"
)

const ms = time.Millisecond

// lit is DESIGN.md's LED table written out as arithmetic, independently of
// the package's step tables: whether a state's light is on t after the state
// was set.
func lit(s led.State, t time.Duration) bool {
	if n, ok := s.FaultCode(); ok {
		pulses := time.Duration(n) * 500 * ms // n × (200 ms on, 300 ms off)
		p := t % (pulses + 1500*ms)           // then a 1.5 s pause
		return p < pulses && p%(500*ms) < 200*ms
	}
	switch s {
	case led.Starting:
		return t%(100*ms) < 50*ms // 10 Hz
	case led.Running:
		p := t % (2 * time.Second) // two 100 ms pulses 100 ms apart, every 2 s
		return p < 100*ms || (p >= 200*ms && p < 300*ms)
	case led.Clear:
		return true
	case led.Alarm:
		return t%(250*ms) < 125*ms // 4 Hz
	case led.Acked:
		return t%time.Second < 500*ms // 1 Hz
	}
	return false
}

// cycle is how long one repetition of a state's pattern lasts, per DESIGN.md.
func cycle(s led.State) time.Duration {
	if n, ok := s.FaultCode(); ok {
		return time.Duration(n)*500*ms + 1500*ms
	}
	switch s {
	case led.Starting:
		return 100 * ms
	case led.Running:
		return 2 * time.Second
	case led.Alarm:
		return 250 * ms
	case led.Acked:
		return time.Second
	}
	return time.Second // steady states: any window
}

var allStates = []led.State{led.Off, led.Starting, led.Running, led.Clear, led.Alarm, led.Acked,
	led.Fault(1), led.Fault(2), led.Fault(3), led.Fault(4)}

// rig is an LED on gpiotest pins, rendering in a synctest bubble.
type rig struct {
	pins      []*gpiotest.Pin
	activeLow bool
	l         *led.LED
	cancel    context.CancelFunc
	done      chan error
}

func newRig(t *testing.T, activeLow bool, names ...string) *rig {
	t.Helper()
	r := &rig{activeLow: activeLow, done: make(chan error, 1)}
	var outs []gpio.PinOut
	for _, n := range names {
		p := &gpiotest.Pin{N: n}
		r.pins = append(r.pins, p)
		outs = append(outs, p)
	}
	out, err := led.NewGPIO(activeLow, outs...)
	if err != nil {
		t.Fatal(err)
	}
	r.l = led.New(out, nil)
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(t.Context())
	go func() { r.done <- r.l.Run(ctx) }()
	synctest.Wait()
	return r
}

// on reports whether pin i lights its LED now.
func (r *rig) on(i int) bool {
	return bool(r.pins[i].Read()) != r.activeLow
}

// stop cancels Run and checks that it returned at once with every LED off.
func (r *rig) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	synctest.Wait()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	default:
		t.Fatal("Run did not return when its context ended")
	}
	for i := range r.pins {
		if r.on(i) {
			t.Errorf("%s still lit after Run returned", r.pins[i].N)
		}
	}
}

// follow samples pin i every millisecond, half a millisecond past each tick,
// for span after from and compares it with want(t - from).
func (r *rig) follow(t *testing.T, i int, from time.Time, span time.Duration, want func(time.Duration) bool) {
	t.Helper()
	bad := 0
	for at := 500 * time.Microsecond; at < span; at += ms {
		time.Sleep(time.Until(from.Add(at)))
		if got := r.on(i); got != want(at) {
			if bad++; bad <= 3 {
				t.Errorf("%s at +%v: lit=%v, want %v", r.pins[i].N, at, got, !got)
			}
		}
	}
	if bad > 3 {
		t.Errorf("... %d wrong samples in all", bad)
	}
}

// TestPatternTiming samples a gpiotest pin every millisecond for two full
// cycles of every state, active-high and active-low.
func TestPatternTiming(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		for _, s := range allStates {
			t.Run(fmt.Sprintf("%s/activeLow=%v", s, activeLow), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newRig(t, activeLow, "GPIO17")
					r.l.Set(s)
					from := time.Now()
					r.follow(t, 0, from, 2*cycle(s), func(d time.Duration) bool { return lit(s, d) })
					r.stop(t)
				})
			})
		}
	}
}

// TestEdgesExact checks the edges of each blinking state to the
// microsecond: the level just before and just after every edge of lit().
func TestEdgesExact(t *testing.T) {
	for _, s := range allStates {
		t.Run(s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, false, "GPIO17")
				r.l.Set(s)
				from := time.Now()
				edges := 0
				for at := time.Duration(0); at < 2*cycle(s); at += ms {
					if lit(s, at) == lit(s, at+ms) {
						continue
					}
					edges++
					edge := at + ms
					for _, probe := range []time.Duration{edge - time.Microsecond, edge + time.Microsecond} {
						time.Sleep(time.Until(from.Add(probe)))
						if got := r.on(0); got != lit(s, probe) {
							t.Errorf("at +%v: lit=%v, want %v", probe, got, !got)
						}
					}
				}
				if p := s.Pattern(); p.Period() > 0 && edges == 0 {
					t.Errorf("%s blinks but no edge was checked", s)
				}
				r.stop(t)
			})
		})
	}
}

// TestReactsWithin100ms switches between every pair of states at several
// phases and checks that the new pattern starts at once: the pin follows the
// new state's timeline from the instant of Set, which is within DESIGN.md's
// 100 ms bound with 100 ms to spare.
func TestReactsWithin100ms(t *testing.T) {
	for _, from := range allStates {
		for _, to := range allStates {
			if from == to {
				continue
			}
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newRig(t, true, "GPIO17")
					r.l.Set(from)
					for _, phase := range []time.Duration{37 * ms, 610 * ms, 1333 * ms} {
						time.Sleep(phase)
						r.l.Set(to)
						set := time.Now()
						r.follow(t, 0, set, 150*ms, func(d time.Duration) bool { return lit(to, d) })
						r.l.Set(from)
					}
					r.stop(t)
				})
			})
		}
	}
}

// TestLatestWins sets several states back to back: only the last shows.
func TestLatestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, false, "GPIO17")
		r.l.Set(led.Alarm)
		r.l.Set(led.Fault(2))
		r.l.Set(led.Acked)
		set := time.Now()
		if got := r.l.State(); got != led.Acked {
			t.Errorf("State() = %v, want acked", got)
		}
		r.follow(t, 0, set, 3*time.Second, func(d time.Duration) bool { return lit(led.Acked, d) })
		r.stop(t)
	})
}

// TestSetSameStateKeepsPhase repeats Set(Running) mid-pattern, between and
// during pulses: the heartbeat goes on undisturbed instead of restarting.
func TestSetSameStateKeepsPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, false, "GPIO17")
		r.l.Set(led.Running)
		start := time.Now()
		resets := map[time.Duration]bool{150 * ms: true, 250 * ms: true, 700 * ms: true, 2150 * ms: true}
		for at := time.Duration(0); at < 4*time.Second; at += ms {
			time.Sleep(time.Until(start.Add(at)))
			if resets[at] {
				r.l.Set(led.Running)
			}
			time.Sleep(500 * time.Microsecond)
			if got, want := r.on(0), lit(led.Running, at+500*time.Microsecond); got != want {
				t.Fatalf("at +%v: lit=%v, want %v", at+500*time.Microsecond, got, want)
			}
		}
		r.stop(t)
	})
}

// TestSetBeforeRun shows the state set before Run started.
func TestSetBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO17"}
		out, err := led.NewGPIO(false, pin)
		if err != nil {
			t.Fatal(err)
		}
		l := led.New(out, nil)
		l.Set(led.Clear)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		synctest.Wait()
		if pin.Read() != gpio.High {
			t.Error("clear set before Run is not lit")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if pin.Read() != gpio.Low {
			t.Error("LED lit after Run returned")
		}
	})
}

// TestHaltLeavesOff cancels Run in every state and phase: the LED is always
// off afterwards (high on an active-low line).
func TestHaltLeavesOff(t *testing.T) {
	for _, s := range allStates {
		for _, phase := range []time.Duration{0, 60 * ms, 210 * ms, 1700 * ms} {
			t.Run(fmt.Sprintf("%s@%v", s, phase), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newRig(t, true, "GPIO17")
					r.l.Set(s)
					time.Sleep(phase)
					r.stop(t)
					if r.pins[0].Read() != gpio.High {
						t.Error("active-low line is not high after Halt")
					}
				})
			})
		}
	}
}

// TestColours checks which pins of a red+green+blue LED and of a red+green
// pair carry each state.
func TestColours(t *testing.T) {
	type want struct{ r, g, b bool } // which channels blink with the pattern
	cases := []struct {
		s      led.State
		rgb    want
		pairRG [2]bool
	}{
		{led.Starting, want{true, true, false}, [2]bool{true, true}},
		{led.Running, want{false, false, true}, [2]bool{false, true}},
		{led.Clear, want{false, true, false}, [2]bool{false, true}},
		{led.Alarm, want{true, false, false}, [2]bool{true, false}},
		{led.Acked, want{true, false, false}, [2]bool{true, false}},
		{led.Fault(3), want{true, true, false}, [2]bool{true, true}},
		{led.Off, want{}, [2]bool{}},
	}
	for _, c := range cases {
		t.Run("rgb/"+c.s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, true, "GPIO17", "GPIO27", "GPIO22")
				r.l.Set(c.s)
				from := time.Now()
				for i, ch := range []bool{c.rgb.r, c.rgb.g, c.rgb.b} {
					r.follow(t, i, from, cycle(c.s), func(d time.Duration) bool { return ch && lit(c.s, d) })
					from = from.Add(cycle(c.s))
				}
				r.stop(t)
			})
		})
		t.Run("pair/"+c.s.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, false, "GPIO17", "GPIO27")
				r.l.Set(c.s)
				from := time.Now()
				for i, ch := range c.pairRG {
					r.follow(t, i, from, cycle(c.s), func(d time.Duration) bool { return ch && lit(c.s, d) })
					from = from.Add(cycle(c.s))
				}
				r.stop(t)
			})
		})
	}
}

// failing is an output whose writes fail while broken is set.
type failing struct {
	mu     sync.Mutex
	broken bool
	writes int
}

func (f *failing) Set(led.Colour) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.broken {
		return errors.New("write /sys/class/leds/ACT/brightness: no such device")
	}
	return nil
}
func (f *failing) Halt() error    { return nil }
func (f *failing) String() string { return "failing" }
func (f *failing) set(b bool) {
	f.mu.Lock()
	f.broken = b
	f.mu.Unlock()
}

// TestWriteErrorsLoggedOnce keeps rendering through failing writes, logs
// the first failure once and the recovery once.
func TestWriteErrorsLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil))
		out := &failing{broken: true}
		l := led.New(out, log)
		l.Set(led.Alarm)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		time.Sleep(2 * time.Second) // 16 failing writes
		out.set(false)
		time.Sleep(time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		logs := buf.String()
		mu.Unlock()
		if n := strings.Count(logs, "cannot drive the status LED"); n != 1 {
			t.Errorf("failure logged %d times, want 1:\n%s", n, logs)
		}
		if n := strings.Count(logs, "writes work again"); n != 1 {
			t.Errorf("recovery logged %d times, want 1:\n%s", n, logs)
		}
		if out.writes < 20 {
			t.Errorf("only %d writes in 3 s of fast blink: rendering stopped on errors", out.writes)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// TestRecorder drives the Recorder of ledtest: the writes of one heartbeat,
// with their virtual times, then the Halt.
func TestRecorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &ledtest.Recorder{}
		l := led.New(rec, nil)
		l.Set(led.Running)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		start := time.Now()
		go func() { done <- l.Run(ctx) }()
		time.Sleep(1999 * ms)
		cancel()
		<-done
		var got []string
		for _, c := range rec.Changes() {
			got = append(got, fmt.Sprintf("%v %v", c.At.Sub(start), c.Colour))
		}
		want := []string{"0s blue", "100ms dark", "200ms blue", "300ms dark", "1.999s dark"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("changes:\n got %v\nwant %v", got, want)
		}
		if !rec.Halted() || rec.Now() != led.Dark {
			t.Errorf("recorder not halted dark: halted=%v now=%v", rec.Halted(), rec.Now())
		}
	})
}
