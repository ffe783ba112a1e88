package led_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/led/ledtest"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in    string
		want  led.Spec
		canon string
	}{
		{"console", led.Spec{Kind: led.KindConsole}, "console"},
		{"gpio:GPIO17", led.Spec{Kind: led.KindGPIO, Lines: []string{"GPIO17"}}, ""},
		{"gpio:GPIO17,active-low", led.Spec{Kind: led.KindGPIO, Lines: []string{"GPIO17"}, ActiveLow: true}, ""},
		{"gpio:GPIO17+GPIO27", led.Spec{Kind: led.KindGPIO, Lines: []string{"GPIO17", "GPIO27"}}, ""},
		{"gpio:GPIO17+GPIO27+GPIO22,active-low", led.Spec{Kind: led.KindGPIO, Lines: []string{"GPIO17", "GPIO27", "GPIO22"}, ActiveLow: true}, ""},
		{"gpio:PIN_11,active-low,active-low", led.Spec{Kind: led.KindGPIO, Lines: []string{"PIN_11"}, ActiveLow: true}, "gpio:PIN_11,active-low"},
		{"sysfs:/sys/class/leds/ACT", led.Spec{Kind: led.KindSysfs, Dir: "/sys/class/leds/ACT"}, ""},
		{"sysfs:/sys/class/leds/ACT/,invert", led.Spec{Kind: led.KindSysfs, Dir: "/sys/class/leds/ACT", Invert: true}, "sysfs:/sys/class/leds/ACT,invert"},
		{"sysfs:ACT", led.Spec{Kind: led.KindSysfs, Dir: "/sys/class/leds/ACT"}, "sysfs:/sys/class/leds/ACT"},
		{"sysfs:led0,invert", led.Spec{Kind: led.KindSysfs, Dir: "/sys/class/leds/led0", Invert: true}, "sysfs:/sys/class/leds/led0,invert"},
		{"sysfs:beaglebone:green:usr0", led.Spec{Kind: led.KindSysfs, Dir: "/sys/class/leds/beaglebone:green:usr0"}, "sysfs:/sys/class/leds/beaglebone:green:usr0"},
	}
	for _, c := range cases {
		got, err := led.ParseSpec(c.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", c.in, got, c.want)
		}
		canon := c.canon
		if canon == "" {
			canon = c.in
		}
		if got.String() != canon {
			t.Errorf("ParseSpec(%q).String() = %q, want %q", c.in, got.String(), canon)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "want gpio:LINE"},
		{"gpio", "want gpio:LINE"},
		{"GPIO17", "want gpio:LINE"},
		{"pwm:GPIO18", "want gpio:LINE"},
		{"Console", "want gpio:LINE"},
		{"gpio:", "no GPIO line"},
		{"gpio:,active-low", "no GPIO line"},
		{"gpio:17", "is a number: give the line's name, e.g. GPIO17"},
		{"gpio:GPIO17,activelow", `unknown option "activelow"`},
		{"gpio:GPIO17,invert", `unknown option "invert"`},
		{"gpio:GPIO17,", `unknown option ""`},
		{"gpio:GPIO17+", "empty GPIO line name"},
		{"gpio:GPIO17+GPIO17", "given twice"},
		{"gpio:A+B+C+D", "at most 3 lines"},
		{"gpio:GPIO 17", "has a ' '"},
		{"gpio:gpiochip0/17", "has a '/'"},
		{"gpio:" + strings.Repeat("G", 32), "longer than 31"},
		{"sysfs:", "no LED directory"},
		{"sysfs:,invert", "no LED directory"},
		{"sysfs:/sys/class/leds/ACT,active-low", `unknown option "active-low"`},
		{"sysfs:leds/ACT", "absolute directory"},
		{"sysfs:..", "not an LED name"},
		{"sysfs:/sys/class/leds/ACT\n", "control characters"},
		{"gpio:GPIO17\x00", "control characters"},
		{"sysfs:/\xff", "invalid UTF-8"},
		{strings.Repeat("x", 600), "longer than 512"},
	}
	for _, c := range cases {
		_, err := led.ParseSpec(c.in)
		if err == nil {
			t.Errorf("ParseSpec(%q) succeeded", c.in)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "led: ") {
			t.Errorf("ParseSpec(%q) error %q, want one line starting led: and containing %q", c.in, msg, c.want)
		}
	}
}

// TestOpen opens each kind of spec: GPIO lines through an injected lookup,
// an LED class in a temporary tree, the console on a buffer.
func TestOpen(t *testing.T) {
	pins := map[string]*gpiotest.Pin{"GPIO17": {N: "GPIO17"}, "GPIO27": {N: "GPIO27"}}
	lookup := func(name string) (gpio.PinIO, error) {
		if p, ok := pins[name]; ok {
			return p, nil
		}
		return nil, &lookupError{name}
	}
	sp, _ := led.ParseSpec("gpio:GPIO17+GPIO27,active-low")
	out, err := led.Open(sp, led.OpenOptions{Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "gpio:GPIO17+GPIO27,active-low" {
		t.Errorf("String() = %q", out.String())
	}
	if err := out.Set(led.Red); err != nil {
		t.Fatal(err)
	}
	if pins["GPIO17"].Read() != gpio.Low || pins["GPIO27"].Read() != gpio.High {
		t.Errorf("red on an active-low pair: GPIO17=%v GPIO27=%v, want Low High", pins["GPIO17"].Read(), pins["GPIO27"].Read())
	}
	if err := out.Halt(); err != nil {
		t.Fatal(err)
	}
	if pins["GPIO17"].Read() != gpio.High {
		t.Error("Halt left an active-low line low")
	}

	sp, _ = led.ParseSpec("gpio:GPIO99")
	if _, err := led.Open(sp, led.OpenOptions{Lookup: lookup}); err == nil || !strings.Contains(err.Error(), "GPIO99") {
		t.Errorf("Open of a missing line: %v", err)
	}

	dir := ledtest.ClassDir(t, "ACT", 255, ledtest.Triggers)
	sp, _ = led.ParseSpec("sysfs:" + dir)
	out, err = led.Open(sp, led.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ledtest.Attr(t, dir, "trigger"); got != "none" {
		t.Errorf("trigger %q after Open", got)
	}
	if err := out.Halt(); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	out, err = led.Open(led.Spec{Kind: led.KindConsole}, led.OpenOptions{Console: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := out.(led.Announcer); !ok {
		t.Error("console is not an Announcer")
	} else if err := a.Announce(led.Alarm); err != nil || !strings.Contains(buf.String(), "alarm") {
		t.Errorf("console wrote %q, %v", buf.String(), err)
	}
	if _, err := led.Open(led.Spec{}, led.OpenOptions{}); err == nil {
		t.Error("Open of an empty spec succeeded")
	}
}

type lookupError struct{ name string }

func (e *lookupError) Error() string { return "no GPIO line named " + e.name }

// TestHostLineErrors looks lines up through periph's gpioioctl driver. On a
// machine without the line (CI, a laptop) the error names it; names that
// are not names are refused before any lookup.
func TestHostLineErrors(t *testing.T) {
	if _, err := led.HostLine("17"); err == nil || !strings.Contains(err.Error(), "is a number") {
		t.Errorf("HostLine(17): %v", err)
	}
	const name = "NVRGUARD_NO_SUCH_LINE"
	p, err := led.HostLine(name)
	if err == nil {
		t.Fatalf("HostLine(%s) found %v", name, p)
	}
	if msg := err.Error(); !strings.Contains(msg, name) || strings.Contains(msg, "\n") {
		t.Errorf("HostLine error %q", msg)
	}
}

func TestNewGPIOErrors(t *testing.T) {
	if _, err := led.NewGPIO(false); err == nil {
		t.Error("no pins accepted")
	}
	p := &gpiotest.Pin{N: "X"}
	if _, err := led.NewGPIO(false, p, p, p, p); err == nil {
		t.Error("four pins accepted")
	}
	if _, err := led.NewGPIO(false, p, nil); err == nil {
		t.Error("nil pin accepted")
	}
}

// TestConsole prints one line per change of state, none per toggle, and
// "led: off" on Halt.
func TestConsole(t *testing.T) {
	var buf bytes.Buffer
	c := led.NewConsole(&buf)
	for _, s := range []led.State{led.Starting, led.Starting, led.Alarm, led.Fault(2)} {
		if err := c.Announce(s); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			_ = c.Set(led.Red)
			_ = c.Set(led.Dark)
		}
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	want := "led: starting: fast flicker (10 Hz), yellow: starting up\n" +
		"led: alarm: fast blink (4 Hz), red: restricted hardware present, not acknowledged\n" +
		"led: fault-2: 2 blinks, pause, repeat, yellow: fault 2: MQTT unreachable\n" +
		"led: off\n"
	if buf.String() != want {
		t.Errorf("console wrote:\n%s\nwant:\n%s", buf.String(), want)
	}
}
