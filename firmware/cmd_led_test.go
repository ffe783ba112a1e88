package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/led/ledtest"
)

// brightnessSampler reads an LED-class directory's brightness and trigger
// every 2 ms until stopped, keeping each change.
type brightnessSampler struct {
	dir      string
	stop     chan struct{}
	done     chan struct{}
	values   []string // successive distinct brightness values
	triggers map[string]int
}

func sampleLED(dir string) *brightnessSampler {
	s := &brightnessSampler{dir: dir, stop: make(chan struct{}), done: make(chan struct{}), triggers: map[string]int{}}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			b, err := os.ReadFile(filepath.Join(dir, "brightness"))
			v := strings.TrimSpace(string(b))
			if err != nil || v == "" { // caught between truncate and write
				continue
			}
			if len(s.values) == 0 || s.values[len(s.values)-1] != v {
				s.values = append(s.values, v)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "trigger")); err == nil && len(b) > 0 {
				s.triggers[strings.TrimSpace(string(b))]++
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the number of times the LED went
// from off to on.
func (s *brightnessSampler) finish(t *testing.T) int {
	t.Helper()
	close(s.stop)
	<-s.done
	rising := 0
	for i, v := range s.values {
		if v != "0" && v != "255" {
			t.Errorf("brightness %q written", v)
		}
		if i > 0 && v == "255" && s.values[i-1] == "0" {
			rising++
		}
	}
	return rising
}

// TestLedTestSysfs is the acceptance test of `nvrguard led test --led
// sysfs:DIR`: against a temporary LED-class directory it names every
// pattern, drives the brightness file through them while the trigger is
// none, and ends with brightness 0 and the trigger restored.
func TestLedTestSysfs(t *testing.T) {
	dir := ledtest.ClassDir(t, "ACT", 255, ledtest.Triggers)
	s := sampleLED(dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"led", "test", "--led", "sysfs:" + dir, "--each", "300ms"}, nil, &stdout, &stderr)
	rising := s.finish(t)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for i, st := range []string{"starting", "running", "clear", "alarm", "acked", "fault-1", "fault-2", "fault-3", "fault-4"} {
		if !strings.Contains(out, fmt.Sprintf("%d/9 %-9s ", i+1, st)) {
			t.Errorf("output does not name %s:\n%s", st, out)
		}
	}
	if !strings.Contains(out, "led test: done; LED off, trigger mmc0 restored\n") {
		t.Errorf("no closing line:\n%s", out)
	}
	// Nine patterns of 300 ms light up about a dozen times; a sampler that
	// stalls under load may miss a 50 ms flicker, hence the margin.
	if rising < 6 {
		t.Errorf("the LED lit %d times (brightness went %v), want at least 6", rising, s.values)
	}
	if s.triggers["none"] == 0 {
		t.Errorf("trigger never none while the test ran: %v", s.triggers)
	}
	if got := ledtest.Attr(t, dir, "brightness"); got != "0" {
		t.Errorf("brightness after the test = %q, want 0", got)
	}
	if got := ledtest.Attr(t, dir, "trigger"); got != "mmc0" {
		t.Errorf("trigger after the test = %q, want mmc0", got)
	}
}

// TestLedTestSignal sends SIGTERM (and SIGINT) to a built nvrguard in the
// middle of `led test --loop`: it exits 0 with the LED off and the trigger
// restored.
func TestLedTestSignal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nvrguard")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := ledtest.ClassDir(t, "ACT", 255, "none timer heartbeat [actpwr] mmc0\n")
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "led", "test", "--led", "sysfs:"+dir+",invert", "--loop", "--each", "200ms")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			var lines []string
			for sc.Scan() {
				lines = append(lines, sc.Text())
				if strings.HasPrefix(sc.Text(), "4/9 ") { // mid-cycle: alarm blinking
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
			if got := ledtest.Attr(t, dir, "trigger"); got != "none" {
				t.Errorf("trigger while running = %q, want none", got)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("after %v: %v; stderr %q", sig, err, stderr.String())
			}
			if last := lines[len(lines)-1]; last != "led test: interrupted; LED off, trigger actpwr restored" {
				t.Errorf("last line %q", last)
			}
			// Inverted: off is max_brightness.
			if got := ledtest.Attr(t, dir, "brightness"); got != "255" {
				t.Errorf("brightness after %v = %q, want 255 (off, inverted)", sig, got)
			}
			if got := ledtest.Attr(t, dir, "trigger"); got != "actpwr" {
				t.Errorf("trigger after %v = %q, want actpwr", sig, got)
			}
		})
	}
}

func TestLedTestErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "leds", "ACT")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"led"}, exitUsage, "led: want 'test'"},
		{[]string{"led", "blink"}, exitUsage, "led: want 'test'"},
		{[]string{"led", "test", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"led", "test", "--led", "gpio:17"}, exitUsage, "is a number"},
		{[]string{"led", "test", "--led", "GPIO17"}, exitUsage, "want gpio:LINE"},
		{[]string{"led", "test", "--led", "sysfs:/x,active-low"}, exitUsage, "unknown option"},
		{[]string{"led", "test", "--led", "console", "--each", "-1s"}, exitUsage, "--each"},
		{[]string{"led", "test", "--led", "console", "--button", "27"}, exitUsage, "--button"},
		{[]string{"led", "test", "--root", boardRoot(t, "")}, exitUsage, "no LED known for this board (generic)"},
		{[]string{"led", "test", "--led", "sysfs:" + missing}, exitError, "no such LED"},
		{[]string{"led", "test", "--root", boardRoot(t, "Raspberry\x02")}, exitError, "control character"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := run(c.args, nil, &stdout, &stderr)
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != c.code || !strings.Contains(first, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
	// Without --led the board's LED is used: the ACT LED on a Pi 4.
	if _, err := os.Stat("/sys/class/leds/ACT"); err != nil {
		code, _, errs := boardCLI("led", "test", "--root", boardRoot(t, "Raspberry Pi 4 Model B Rev 1.4"))
		if code != exitError || !strings.Contains(errs, "/sys/class/leds/ACT: no such LED") {
			t.Errorf("led test on a Pi 4 without ACT: exit %d, %q", code, errs)
		}
	}
}

// lockedBuffer is a bytes.Buffer for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLedTestButton runs `led test` on gpiotest pins in virtual time: an RGB
// LED and a button whose short presses step through the patterns, with
// each pattern set to an hour so that only the button moves on.
func TestLedTestButton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pins := map[string]*gpiotest.Pin{
			"GPIO17": {N: "GPIO17"}, "GPIO27": {N: "GPIO27"}, "GPIO22": {N: "GPIO22"},
			"GPIO5": {N: "GPIO5", EdgesChan: make(chan gpio.Level)},
		}
		lookup := func(name string) (gpio.PinIO, error) {
			if p, ok := pins[name]; ok {
				return p, nil
			}
			return nil, fmt.Errorf("no GPIO line named %s", name)
		}
		var stdout lockedBuffer
		e := &env{stdout: &stdout, stderr: &stdout, log: slog.New(slog.DiscardHandler)}
		spec, err := led.ParseSpec("gpio:GPIO17+GPIO27+GPIO22,active-low")
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, err := ledTest(t.Context(), e, ledTestOptions{spec: spec, each: time.Hour, button: "GPIO5", lookup: lookup})
			done <- result{code, err}
		}()
		button := pins["GPIO5"]
		for i := 1; i <= 9; i++ {
			time.Sleep(time.Second)
			if n := strings.Count(stdout.String(), "/9 "); n != i {
				t.Fatalf("after %d presses, %d patterns shown:\n%s", i-1, n, stdout.String())
			}
			if i == 4 { // alarm: red blinks at 4 Hz on the active-low red line, green and blue stay off
				if pins["GPIO27"].Read() != gpio.High || pins["GPIO22"].Read() != gpio.High {
					t.Error("green or blue lit during the alarm")
				}
			}
			button.EdgesChan <- gpio.Low
			time.Sleep(200 * time.Millisecond)
			button.EdgesChan <- gpio.High
		}
		time.Sleep(time.Second)
		r := <-done
		if r.err != nil || r.code != exitOK {
			t.Fatalf("ledTest: %d, %v", r.code, r.err)
		}
		out := stdout.String()
		if n := strings.Count(out, "button: short press\n"); n != 9 {
			t.Errorf("%d short presses reported, want 9:\n%s", n, out)
		}
		if !strings.HasSuffix(out, "led test: done; LED off\n") {
			t.Errorf("output:\n%s", out)
		}
		for _, n := range []string{"GPIO17", "GPIO27", "GPIO22"} {
			if pins[n].Read() != gpio.High {
				t.Errorf("%s lit (low) after the test", n)
			}
		}
	})
}

// TestLedTestInterrupted cancels `led test` (what SIGTERM does through
// run's context) in virtual time: the LED goes off and the output says so.
func TestLedTestInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO17"}
		lookup := func(string) (gpio.PinIO, error) { return pin, nil }
		var stdout lockedBuffer
		e := &env{stdout: &stdout, stderr: &stdout, log: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := ledTest(ctx, e, ledTestOptions{spec: led.Spec{Kind: led.KindGPIO, Lines: []string{"GPIO17"}}, loop: true, lookup: lookup})
			done <- err
		}()
		time.Sleep(90 * time.Second) // several full cycles with the default durations
		if strings.Count(stdout.String(), "1/9 ") < 2 {
			t.Errorf("--loop did not start over:\n%s", stdout.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if pin.Read() != gpio.Low {
			t.Error("LED lit after the interrupted test")
		}
		if !strings.HasSuffix(stdout.String(), "led test: interrupted; LED off\n") {
			t.Errorf("output:\n%s", stdout.String())
		}
	})
}
