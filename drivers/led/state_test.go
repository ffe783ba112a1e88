package led_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/led"
)

func TestStateNames(t *testing.T) {
	for _, s := range allStates {
		got, err := led.ParseState(s.String())
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, err)
		}
		if !s.Valid() {
			t.Errorf("%v not valid", s)
		}
	}
	for _, bad := range []string{"", "Alarm", "fault-0", "fault-10", "fault-01", "fault-+1", "fault-"} {
		if s, err := led.ParseState(bad); err == nil {
			t.Errorf("ParseState(%q) = %v", bad, s)
		}
	}
	if led.Fault(0) != led.Fault(1) || led.Fault(42) != led.Fault(led.MaxFault) {
		t.Error("Fault does not clamp")
	}
	if n, ok := led.Fault(3).FaultCode(); !ok || n != 3 {
		t.Errorf("Fault(3).FaultCode() = %d, %v", n, ok)
	}
	if _, ok := led.Alarm.FaultCode(); ok {
		t.Error("alarm is a fault")
	}
	if s := led.State(99); s.Valid() || !strings.HasPrefix(s.String(), "State(") || s.Meaning() != "invalid state" {
		t.Errorf("State(99): valid=%v %q %q", s.Valid(), s.String(), s.Meaning())
	}
	if led.Fault(2).Meaning() != "fault 2: MQTT unreachable" || led.Fault(7).Meaning() != "fault 7" {
		t.Errorf("fault meanings: %q %q", led.Fault(2).Meaning(), led.Fault(7).Meaning())
	}
}

// TestPick encodes the priorities: unacknowledged restricted hardware over
// faults, faults (lowest code first) over acknowledged restricted hardware,
// then clear, running, starting, off.
func TestPick(t *testing.T) {
	cases := []struct {
		in   []led.State
		want led.State
	}{
		{nil, led.Off},
		{[]led.State{led.Off}, led.Off},
		{[]led.State{led.Starting, led.Fault(1)}, led.Fault(1)},
		{[]led.State{led.Alarm, led.Fault(1)}, led.Alarm},
		{[]led.State{led.Acked, led.Fault(2)}, led.Fault(2)},
		{[]led.State{led.Fault(3), led.Fault(2), led.Fault(4)}, led.Fault(2)},
		{[]led.State{led.Clear, led.Acked}, led.Acked},
		{[]led.State{led.Running, led.Clear}, led.Clear},
		{[]led.State{led.Starting, led.Running}, led.Running},
		{[]led.State{led.State(99), led.Starting}, led.Starting},
	}
	for _, c := range cases {
		if got := led.Pick(c.in...); got != c.want {
			t.Errorf("Pick(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestPatternTable checks the exported timing constants and periods against
// DESIGN.md's numbers.
func TestPatternTable(t *testing.T) {
	periods := map[led.State]time.Duration{
		led.Off: 0, led.Clear: 0,
		led.Starting: 100 * ms, led.Running: 2 * time.Second, led.Alarm: 250 * ms, led.Acked: time.Second,
		led.Fault(1): 2 * time.Second, led.Fault(4): 3500 * ms, led.Fault(9): 6 * time.Second,
	}
	for s, want := range periods {
		if got := s.Pattern().Period(); got != want {
			t.Errorf("%v period %v, want %v", s, got, want)
		}
	}
	names := map[led.State]string{
		led.Starting: "fast flicker (10 Hz)", led.Running: "heartbeat (two short pulses every 2 s)",
		led.Clear: "steady on", led.Alarm: "fast blink (4 Hz)", led.Acked: "slow blink (1 Hz)",
		led.Fault(1): "1 blink, pause, repeat", led.Fault(4): "4 blinks, pause, repeat", led.Off: "off",
	}
	for s, want := range names {
		if got := s.Pattern().Name; got != want {
			t.Errorf("%v pattern name %q, want %q", s, got, want)
		}
	}
	for c, want := range map[led.Colour]string{led.Dark: "dark", led.Red: "red", led.Yellow: "yellow",
		led.Blue: "blue", led.Red | led.Blue: "red+blue", led.Red | led.Green | led.Blue: "red+green+blue"} {
		if c.String() != want {
			t.Errorf("Colour(%d) = %q, want %q", c, c.String(), want)
		}
	}
}
