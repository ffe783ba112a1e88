package led

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// LED renders states as patterns on an Output. Make one with New, start Run
// in a goroutine and call Set from anywhere.
type LED struct {
	out   Output
	log   *slog.Logger
	state atomic.Uint32
	wake  chan struct{}
}

// New returns an LED that renders on out and logs write failures to log
// (nil discards them). It does no I/O: Run does.
func New(out Output, log *slog.Logger) *LED {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LED{out: out, log: log.With("led", out.String()), wake: make(chan struct{}, 1)}
}

// Set asks the LED to show s. It never blocks; the latest call wins, and a
// running Run shows the new state at once, from the start of its pattern.
// Setting the state already shown changes nothing, so a caller may repeat
// Set on every tick without restarting the pattern.
func (l *LED) Set(s State) {
	l.state.Store(uint32(s))
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// State returns the state last given to Set (Off before any).
func (l *LED) State() State { return State(l.state.Load()) }

// String returns the output's name.
func (l *LED) String() string { return l.out.String() }

// Run renders the current state until ctx ends, then halts the output: the
// light goes off and an LED-class trigger is restored. A failed write is
// logged (once until writes succeed again) and rendering goes on. Run
// returns the error of the final Halt, or nil. Call Run once per LED.
func (l *LED) Run(ctx context.Context) error {
	r := renderer{l: l}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	r.enter(l.State(), time.Now(), timer)
	for {
		select {
		case <-ctx.Done():
			return l.out.Halt()
		case <-l.wake:
			if s := l.State(); s != r.state {
				r.enter(s, time.Now(), timer)
			}
		case <-timer.C:
			r.next(timer)
		}
	}
}

// renderer is the state of one Run.
type renderer struct {
	l       *LED
	state   State
	pattern Pattern
	step    int
	due     time.Time // when the current step ends
	lit     Colour
	written bool
	failing bool
}

// enter starts the pattern of s at now.
func (r *renderer) enter(s State, now time.Time, timer *time.Timer) {
	r.state, r.pattern, r.step, r.due = s, s.Pattern(), 0, now
	if a, ok := r.l.out.(Announcer); ok {
		r.check(a.Announce(s))
	}
	r.show(timer)
}

// next moves to the following step of the pattern.
func (r *renderer) next(timer *time.Timer) {
	r.step = (r.step + 1) % len(r.pattern.Steps)
	r.show(timer)
}

// show writes the current step and arms the timer for its end. Steps are
// timed from when the previous one was due, not from when the timer fired,
// so that patterns do not drift; after a long stall (a suspended process)
// the pattern goes on from now.
func (r *renderer) show(timer *time.Timer) {
	st := r.pattern.Steps[r.step]
	c := Dark
	if st.On {
		c = r.pattern.Colour
	}
	if !r.written || c != r.lit {
		err := r.l.out.Set(c)
		r.check(err)
		r.lit, r.written = c, err == nil
	}
	if st.D == 0 {
		timer.Stop()
		return
	}
	r.due = r.due.Add(st.D)
	wait := time.Until(r.due)
	if wait < -st.D {
		r.due = time.Now().Add(st.D)
		wait = st.D
	}
	timer.Reset(wait)
}

// check logs the first of a run of failed writes and the recovery after it.
func (r *renderer) check(err error) {
	switch {
	case err != nil && !r.failing:
		r.failing = true
		r.l.log.Warn("cannot drive the status LED", "err", err)
	case err == nil && r.failing:
		r.failing = false
		r.l.log.Info("status LED writes work again")
	}
}
