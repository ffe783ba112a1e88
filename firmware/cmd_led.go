package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/led"
)

// testStates returns the states `led test` shows, in DESIGN.md's order.
func testStates() []led.State {
	return []led.State{led.Starting, led.Running, led.Clear, led.Alarm, led.Acked,
		led.Fault(led.FaultNetwork), led.Fault(led.FaultMQTT), led.Fault(led.FaultSerial), led.Fault(led.FaultPolicy)}
}

// ledTestOptions are the settings of one `led test`.
type ledTestOptions struct {
	spec   led.Spec
	each   time.Duration  // how long each pattern shows; 0: two cycles, at least 3 s
	loop   bool           // cycle until interrupted
	button string         // GPIO line of a push button to test too; "" none
	lookup led.LineLookup // nil: the host's GPIO lines
}

func cmdLed(ctx context.Context, e *env, args []string) (int, error) {
	if len(args) > 0 && isHelp(args[0]) {
		return 0, subcommandHelp("led")
	}
	if len(args) == 0 || args[0] != "test" {
		return 0, usageError{msg: "led: want 'test'", cmd: "led"}
	}
	fs := newFlags("led test", e.stderr)
	spec := fs.String("led", "", "the LED: gpio:LINE[+LINE[+LINE]][,active-low], sysfs:DIR[,invert] or console (default: the board's)")
	each := fs.Duration("each", 0, "show each pattern this long (default: two cycles, at least 3s)")
	loop := fs.Bool("loop", false, "cycle through the patterns until interrupted")
	button := fs.String("button", "", "also test a push button on this GPIO line, e.g. GPIO27; a short press skips to the next pattern")
	root := fs.String("root", "/", "detect the board under this directory (when --led is not given; tests)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return 0, err
	}
	if len(pos) > 0 {
		return 0, usagef("led test: unexpected argument %q", pos[0])
	}
	if *each < 0 || *each > time.Hour {
		return 0, usagef("led test: --each must be between 0 and 1h, got %v", *each)
	}
	if *button != "" {
		if err := led.CheckLineName(*button); err != nil {
			return 0, usagef("led test: --button: %v", err)
		}
	}
	s := *spec
	if s == "" {
		info, err := detectBoard(*root)
		if err != nil {
			return 0, fmt.Errorf("led test: %w", err)
		}
		if info.Profile.LED == "" {
			return 0, usagef("led test: no LED known for this board (%s): give --led SPEC", info.Profile.Name)
		}
		s = info.Profile.LED
	}
	sp, err := led.ParseSpec(s)
	if err != nil {
		return 0, usageError{msg: err.Error(), cmd: "led test"}
	}
	return ledTest(ctx, e, ledTestOptions{spec: sp, each: *each, loop: *loop, button: *button})
}

// ledTest cycles through every pattern, naming each on stdout, until the
// cycle ends or ctx does (SIGTERM, SIGINT); either way the LED is left off
// and an LED-class trigger restored before it returns.
func ledTest(ctx context.Context, e *env, o ledTestOptions) (int, error) {
	// The test names each pattern on stdout: a console LED printing the
	// same states on stderr would say everything twice.
	out, err := led.Open(o.spec, led.OpenOptions{Lookup: o.lookup, Console: io.Discard})
	if err != nil {
		return 0, err
	}
	w := &syncWriter{w: e.stdout}
	l := led.New(out, e.log)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var haltErr error
	wg.Go(func() { haltErr = l.Run(runCtx) })
	halt := func() error {
		stop()
		wg.Wait()
		return haltErr
	}

	skip := make(chan struct{}, 1)
	if o.button != "" {
		lookup := o.lookup
		if lookup == nil {
			lookup = led.HostLine
		}
		pin, err := lookup(o.button)
		if err != nil {
			return 0, joinHalt(err, halt())
		}
		b := &led.Button{Pin: pin}
		wg.Go(func() {
			err := b.Run(runCtx, func(p led.Press) {
				fmt.Fprintf(w, "button: %s press\n", p)
				if p == led.ShortPress {
					select {
					case skip <- struct{}{}:
					default:
					}
				}
			})
			if err != nil {
				fmt.Fprintf(w, "button: %v\n", err)
			}
		})
	}

	how := "each pattern for two cycles (at least 3s)"
	if o.each > 0 {
		how = fmt.Sprintf("each pattern for %v", o.each)
	}
	fmt.Fprintf(w, "led test: %s, %s; interrupt to stop\n", out, how)
	interrupted := false
	states := testStates()
cycle:
	for {
		for i, s := range states {
			l.Set(s)
			p := s.Pattern()
			fmt.Fprintf(w, "%d/%d %-9s %s [%s]: %s\n", i+1, len(states), s, p.Name, p.Colour, s.Meaning())
			d := o.each
			if d == 0 {
				d = max(3*time.Second, 2*p.Period())
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				interrupted = true
				break cycle
			case <-skip:
				t.Stop()
			case <-t.C:
			}
		}
		if !o.loop {
			break
		}
	}
	if err := halt(); err != nil {
		return 0, err
	}
	end := "done"
	if interrupted {
		end = "interrupted"
	}
	if c, ok := out.(*led.Class); ok {
		fmt.Fprintf(w, "led test: %s; LED off, trigger %s restored\n", end, c.Trigger())
	} else {
		fmt.Fprintf(w, "led test: %s; LED off\n", end)
	}
	return exitOK, nil
}

// joinHalt returns err, with the halt's error when there is one.
func joinHalt(err, haltErr error) error {
	if haltErr != nil {
		return fmt.Errorf("%w; %v", err, haltErr)
	}
	return err
}

// syncWriter serializes the lines of the pattern loop and the button.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
