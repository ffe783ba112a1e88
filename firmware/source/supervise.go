package source

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/firmware/config"
)

// Health is how a source fares, for the state topic's "sources".
type Health struct {
	Status  string // "ok", "error", or "waiting" (not read yet)
	Error   string // why not, one line ("" when ok)
	LastRun time.Time
	LastOK  time.Time
	RetryAt time.Time // when it is read again after an error (zero: at its interval)
}

// Failing reports whether the source is in error.
func (h Health) Failing() bool { return h.Status == "error" }

// A Healther is a listening source that can say how it fares while it
// runs (a serial port that went away and is waited for).
type Healther interface {
	Health() error
}

// Backoff bounds of a failing source: the first retry after Min, doubling
// up to Max (and never later than a polled source's interval).
const (
	BackoffMin = 30 * time.Second
	BackoffMax = 10 * time.Minute
)

// Supervisor runs instances for as long as the daemon runs: each Poll
// source every Interval (sooner when kicked), each Listen source for the
// whole run, started again after a backoff when it fails. A source that
// panics is a failed source, not a dead daemon.
type Supervisor struct {
	Instances []Instance
	// Config returns the configuration in force (intervals).
	Config func() config.Config
	// Emit receives every reading, in the goroutine of its source; it may
	// block (the daemon's loop takes them one at a time).
	Emit func(ctx context.Context, in *Instance, r Reading)
	// Changed is called when a source's health changes (nil: not).
	Changed func(in *Instance, h Health)
	Logger  *slog.Logger

	mu     sync.Mutex
	health map[string]Health
	kicks  map[string]chan struct{}
}

// Run runs every instance marked Run until ctx ends, and returns when all
// have stopped.
func (s *Supervisor) Run(ctx context.Context) {
	s.init()
	var wg sync.WaitGroup
	for i := range s.Instances {
		in := &s.Instances[i]
		if !in.Run {
			continue
		}
		wg.Go(func() {
			if in.Kind == Listen {
				s.listen(ctx, in)
			} else {
				s.poll(ctx, in)
			}
		})
	}
	wg.Wait()
}

func (s *Supervisor) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.health != nil {
		return
	}
	s.health = map[string]Health{}
	s.kicks = map[string]chan struct{}{}
	for _, in := range s.Instances {
		if in.Run {
			s.health[in.Name] = Health{Status: "waiting"}
			s.kicks[in.Name] = make(chan struct{}, 1)
		}
	}
}

// Kick asks the named Poll source for a read now (a rescan); it reports
// whether there is such a source.
func (s *Supervisor) Kick(name string) bool {
	s.init()
	s.mu.Lock()
	ch := s.kicks[name]
	s.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case ch <- struct{}{}:
	default:
	}
	return true
}

// Health returns every source's health, by name.
func (s *Supervisor) Health() map[string]Health {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.health)
}

func (s *Supervisor) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Supervisor) setHealth(in *Instance, f func(*Health)) {
	s.mu.Lock()
	h := s.health[in.Name]
	old := h
	f(&h)
	s.health[in.Name] = h
	s.mu.Unlock()
	if h != old && s.Changed != nil {
		s.Changed(in, h)
	}
}

// read runs one Read of in, turning a panic into an error, and hands its
// readings on (those equal to the one before dropped when OnlyChanges).
func (s *Supervisor) read(ctx context.Context, in *Instance, last *Reading, sent *bool) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("source failed: %v", v)
		}
	}()
	return in.Read(ctx, func(r Reading) {
		if r.At.IsZero() {
			r.At = time.Now()
		}
		if in.OnlyChanges && *sent && r.Complete == last.Complete && Same(r.IDs, last.IDs) {
			return
		}
		*last, *sent = r, true
		s.Emit(ctx, in, r)
	})
}

// failed records a failed read begun at began: a warning and an error
// health saying when it is tried again.
func (s *Supervisor) failed(in *Instance, began time.Time, err error, wait time.Duration) {
	s.log().Warn("source failed", "source", in.Name, "err", err, "retry_in", wait.Round(time.Second).String())
	s.setHealth(in, func(h *Health) {
		*h = Health{Status: "error", Error: oneLine(err), LastRun: began, LastOK: h.LastOK, RetryAt: time.Now().Add(wait)}
	})
}

func (s *Supervisor) poll(ctx context.Context, in *Instance) {
	var last Reading
	sent := false
	fails := 0
	for {
		began := time.Now()
		err := s.read(ctx, in, &last, &sent)
		if ctx.Err() != nil {
			return
		}
		wait := in.Interval(s.Config())
		if err != nil {
			fails++
			wait = min(wait, backoff(fails))
			if until := retryAt(err); until.After(began.Add(wait)) {
				wait = time.Until(until)
			}
			s.failed(in, began, err, wait)
		} else {
			if fails > 0 {
				s.log().Info("source recovered", "source", in.Name)
			}
			fails = 0
			s.setHealth(in, func(h *Health) { *h = Health{Status: "ok", LastRun: began, LastOK: began} })
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.kicks[in.Name]:
			t.Stop()
		}
	}
}

func (s *Supervisor) listen(ctx context.Context, in *Instance) {
	hl, _ := in.Source.(Healther)
	fails := 0
	for {
		began := time.Now()
		s.setHealth(in, func(h *Health) { *h = Health{Status: "ok", LastRun: began, LastOK: began} })
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			var last Reading
			sent := false
			done <- s.read(rctx, in, &last, &sent)
		}()
		var err error
		if hl != nil {
			err = s.watchHealth(ctx, in, hl, done)
		} else {
			err = <-done
		}
		stop()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = fmt.Errorf("stopped")
		}
		if time.Since(began) > BackoffMax {
			fails = 0 // it ran a good while: start the backoff again
		}
		fails++
		wait := backoff(fails)
		s.failed(in, began, err, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// watchHealth follows a running listener's own health until it returns.
func (s *Supervisor) watchHealth(ctx context.Context, in *Instance, hl Healther, done <-chan error) error {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			now := time.Now()
			if err := hl.Health(); err != nil {
				s.setHealth(in, func(h *Health) {
					*h = Health{Status: "error", Error: oneLine(err), LastRun: h.LastRun, LastOK: h.LastOK}
				})
			} else {
				s.setHealth(in, func(h *Health) {
					if h.Status != "ok" {
						*h = Health{Status: "ok", LastRun: h.LastRun, LastOK: now}
					}
				})
			}
		}
	}
}

// backoff is the wait before the n-th retry in a row.
func backoff(n int) time.Duration {
	d := BackoffMin
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// oneLine keeps an error to one line for the state topic.
func oneLine(err error) string {
	b := []rune(err.Error())
	for i, r := range b {
		if r < 0x20 || r == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > 300 {
		b = append(b[:297], '.', '.', '.')
	}
	return string(b)
}
