package led

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio/gpiotest"
)

// BenchmarkRenderStep measures one step of a pattern (the work behind every
// toggle of the LED) on a gpiotest pin: it must not allocate, since a
// gateway toggles the LED millions of times a month.
func BenchmarkRenderStep(b *testing.B) {
	out, err := NewGPIO(true, &gpiotest.Pin{N: "GPIO17"})
	if err != nil {
		b.Fatal(err)
	}
	l := New(out, nil)
	r := renderer{l: l}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	r.enter(Alarm, time.Now(), timer)
	b.ReportAllocs()
	for b.Loop() {
		r.next(timer)
	}
}

// BenchmarkClassSet measures one brightness write of the LED-class output
// (open, write, close of a file in a temporary directory; sysfs is cheaper).
func BenchmarkClassSet(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "ACT")
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for f, v := range map[string]string{"brightness": "0", "max_brightness": "255", "trigger": "none [mmc0]"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	c, err := OpenClass(dir, false)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Halt()
	b.ReportAllocs()
	on := Colour(Dark)
	for b.Loop() {
		on ^= Red
		if err := c.Set(on); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSet measures Set, which the daemon calls on every change.
func BenchmarkSet(b *testing.B) {
	out, _ := NewGPIO(false, &gpiotest.Pin{N: "GPIO17"})
	l := New(out, nil)
	b.ReportAllocs()
	for b.Loop() {
		l.Set(Alarm)
	}
}

// BenchmarkParseSpec measures parsing a --led SPEC.
func BenchmarkParseSpec(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSpec("gpio:GPIO17+GPIO27+GPIO22,active-low"); err != nil {
			b.Fatal(err)
		}
	}
}
