package led_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/led/ledtest"
)

// FuzzParseSpec: ParseSpec never panics, errors are one line, and an
// accepted spec survives a round trip through String.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"console", "gpio:GPIO17", "gpio:GPIO17,active-low", "gpio:GPIO17+GPIO27",
		"gpio:GPIO17+GPIO27+GPIO22,active-low", "sysfs:/sys/class/leds/ACT", "sysfs:ACT,invert",
		"sysfs:/sys/class/leds/ACT/../led0,invert", "gpio:17", "gpio:GPIO17,", "sysfs:", "gpio:A+B+C+D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := led.ParseSpec(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		again, err := led.ParseSpec(sp.String())
		if err != nil {
			t.Fatalf("ParseSpec(%q).String() = %q does not parse: %v", s, sp.String(), err)
		}
		if !reflect.DeepEqual(sp, again) {
			t.Fatalf("round trip of %q: %+v then %+v", s, sp, again)
		}
		switch sp.Kind {
		case led.KindGPIO:
			if len(sp.Lines) < 1 || len(sp.Lines) > 3 {
				t.Fatalf("%q: %d lines", s, len(sp.Lines))
			}
		case led.KindSysfs:
			if !strings.HasPrefix(sp.Dir, "/") {
				t.Fatalf("%q: relative dir %q", s, sp.Dir)
			}
		}
	})
}

// FuzzParseTrigger: ParseTrigger never panics, and a trigger it returns is a
// clean name that occurs in the input.
func FuzzParseTrigger(f *testing.F) {
	for _, s := range []string{ledtest.Triggers, "[none] timer", "mmc0\n", "none timer", "[a] [b]", "[", "[]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := led.ParseTrigger(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if got == "" || strings.ContainsAny(got, " \t\n[]") || !strings.Contains(s, got) {
			t.Fatalf("ParseTrigger(%q) = %q", s, got)
		}
	})
}
