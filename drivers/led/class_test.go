package led_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/led/ledtest"
)

// TestClassTriggerSavedAndRestored opens a Pi-like ACT LED: the trigger
// becomes none, brightness follows Set, and Halt leaves brightness 0 and the
// trigger back on mmc0.
func TestClassTriggerSavedAndRestored(t *testing.T) {
	dir := ledtest.ClassDir(t, "ACT", 255, ledtest.Triggers)
	c, err := led.OpenClass(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Trigger() != "mmc0" {
		t.Errorf("saved trigger %q, want mmc0", c.Trigger())
	}
	if got := ledtest.Attr(t, dir, "trigger"); got != "none" {
		t.Errorf("trigger while open = %q, want none", got)
	}
	for _, step := range []struct {
		c    led.Colour
		want string
	}{{led.Green, "255"}, {led.Dark, "0"}, {led.Red, "255"}, {led.Yellow, "255"}} {
		if err := c.Set(step.c); err != nil {
			t.Fatal(err)
		}
		if got := ledtest.Attr(t, dir, "brightness"); got != step.want {
			t.Errorf("Set(%v): brightness %q, want %q", step.c, got, step.want)
		}
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := ledtest.Attr(t, dir, "brightness"); got != "0" {
		t.Errorf("brightness after Halt = %q, want 0", got)
	}
	if got := ledtest.Attr(t, dir, "trigger"); got != "mmc0" {
		t.Errorf("trigger after Halt = %q, want mmc0", got)
	}
	// A second Halt must not write brightness: on a real LED that would
	// switch the restored trigger off again.
	if err := os.WriteFile(filepath.Join(dir, "brightness"), []byte("kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := ledtest.Attr(t, dir, "brightness"); got != "kernel" {
		t.Errorf("second Halt wrote brightness %q", got)
	}
	if err := c.Set(led.Red); err == nil {
		t.Error("Set after Halt succeeded")
	}
	if got := c.String(); got != "sysfs:"+dir {
		t.Errorf("String() = %q", got)
	}
}

// TestClassInvert: with invert, lit is brightness 0 and off (also after
// Halt) is max_brightness.
func TestClassInvert(t *testing.T) {
	dir := ledtest.ClassDir(t, "ACT", 1, "none [actpwr] mmc0\n")
	c, err := led.OpenClass(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(led.Green); err != nil {
		t.Fatal(err)
	}
	if got := ledtest.Attr(t, dir, "brightness"); got != "0" {
		t.Errorf("inverted lit brightness %q, want 0", got)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if got := ledtest.Attr(t, dir, "brightness"); got != "1" {
		t.Errorf("inverted off brightness %q, want 1", got)
	}
	if got := ledtest.Attr(t, dir, "trigger"); got != "actpwr" {
		t.Errorf("trigger after Halt = %q, want actpwr", got)
	}
	if !strings.HasSuffix(c.String(), ",invert") {
		t.Errorf("String() = %q", c.String())
	}
}

// TestClassOpenErrors gives one-line errors for directories that are not LED
// devices, and leaves the trigger alone when opening fails.
func TestClassOpenErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"missing", func(dir string) { os.RemoveAll(dir) }, "no such LED"},
		{"no max_brightness", func(dir string) { os.Remove(filepath.Join(dir, "max_brightness")) }, "max_brightness"},
		{"bad max_brightness", func(dir string) { write(t, dir, "max_brightness", "lots\n") }, "not a positive number"},
		{"zero max_brightness", func(dir string) { write(t, dir, "max_brightness", "0\n") }, "not a positive number"},
		{"no current trigger", func(dir string) { write(t, dir, "trigger", "none timer mmc0\n") }, "no current trigger"},
		{"empty trigger", func(dir string) { write(t, dir, "trigger", "\n") }, "empty trigger list"},
		{"trigger is a directory", func(dir string) {
			os.Remove(filepath.Join(dir, "trigger"))
			os.Mkdir(filepath.Join(dir, "trigger"), 0o755)
		}, "trigger"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := ledtest.ClassDir(t, "ACT", 255, ledtest.Triggers)
			c.setup(dir)
			_, err := led.OpenClass(dir, false)
			if err == nil {
				t.Fatal("OpenClass succeeded")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, c.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "trigger")); err == nil && string(b) == ledtest.Triggers {
				return // untouched, as it should be
			} else if err == nil && strings.TrimSpace(string(b)) == "none" {
				t.Error("failed open left the trigger at none")
			}
		})
	}
	if _, err := led.OpenClass(filepath.Join(t.TempDir(), "file"), false); err == nil {
		t.Error("OpenClass of a missing path succeeded")
	}
	f := filepath.Join(t.TempDir(), "plain")
	write(t, filepath.Dir(f), "plain", "x")
	if _, err := led.OpenClass(f, false); err == nil || !strings.Contains(err.Error(), "not an LED-class directory") {
		t.Errorf("OpenClass of a file: %v", err)
	}
}

func write(t *testing.T, dir, name, v string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestClassPatternTiming renders fast blink and fault 2 on a temporary LED
// class in virtual time and samples the brightness file.
func TestClassPatternTiming(t *testing.T) {
	for _, s := range []led.State{led.Alarm, led.Fault(2), led.Running} {
		t.Run(s.String(), func(t *testing.T) {
			dir := ledtest.ClassDir(t, "ACT", 255, ledtest.Triggers)
			synctest.Test(t, func(t *testing.T) {
				c, err := led.OpenClass(dir, false)
				if err != nil {
					t.Fatal(err)
				}
				l := led.New(c, nil)
				l.Set(s)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				from := time.Now()
				go func() { done <- l.Run(ctx) }()
				toggles, last := 0, ""
				for at := 500 * time.Microsecond; at < 2*cycle(s); at += 5 * ms {
					time.Sleep(time.Until(from.Add(at)))
					got := ledtest.Attr(t, dir, "brightness")
					want := "0"
					if lit(s, at) {
						want = "255"
					}
					if got != want {
						t.Fatalf("at +%v: brightness %q, want %q", at, got, want)
					}
					if got != last {
						toggles++
						last = got
					}
				}
				if toggles < 4 {
					t.Errorf("only %d toggles", toggles)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
			if got := ledtest.Attr(t, dir, "brightness"); got != "0" {
				t.Errorf("brightness after Run = %q", got)
			}
			if got := ledtest.Attr(t, dir, "trigger"); got != "mmc0" {
				t.Errorf("trigger after Run = %q", got)
			}
		})
	}
}

func TestParseTrigger(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{ledtest.Triggers, "mmc0", ""},
		{"[none] rc-feedback kbd-scrolllock", "none", ""},
		{"none kbd-ctrlrlock usb-gadget [r8169-400:00:link] x\n", "r8169-400:00:link", ""},
		{"mmc0\n", "mmc0", ""},
		{"  heartbeat  ", "heartbeat", ""},
		{"", "", "empty"},
		{"none timer", "", "no current trigger"},
		{"[none] [mmc0]", "", "malformed"},
		{"none [mmc0", "", "malformed"},
		{"[]", "", "malformed trigger name"},
		{"[a[b]", "", "malformed trigger name"},
		{"\xff\xfe", "", "malformed trigger name"},
	}
	for _, c := range cases {
		got, err := led.ParseTrigger(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTrigger(%q) = %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseTrigger(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
