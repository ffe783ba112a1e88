package led

import (
	"fmt"
	"strconv"
	"strings"
)

// State is what the LED shows: one of Off, Starting, Running, Clear, Alarm,
// Acked or a fault code made with Fault. The zero State is Off.
type State uint8

// The states of DESIGN.md's LED table.
const (
	Off      State = iota // not running: dark
	Starting              // starting up: fast flicker (10 Hz)
	Running               // running, first sweep not finished: heartbeat
	Clear                 // last sweep complete, nothing restricted: steady on
	Alarm                 // restricted hardware present, not acknowledged: fast blink (4 Hz)
	Acked                 // restricted hardware present, acknowledged: slow blink (1 Hz)

	faultBase State = 16 // Fault(n) is faultBase + n
)

// MaxFault is the highest fault code an LED blinks; Fault clamps to it.
const MaxFault = 9

// The fault codes of DESIGN.md.
const (
	FaultNetwork = 1 // no network
	FaultMQTT    = 2 // MQTT broker unreachable
	FaultSerial  = 3 // serial or USB error
	FaultPolicy  = 4 // policy error
	FaultNVR     = 5 // a recorder's channel list cannot be read
)

// Fault returns the state that blinks fault code n: n pulses, a pause,
// repeat. Codes below 1 become 1 and codes above MaxFault become MaxFault, so
// the LED always blinks something a technician can count.
func Fault(n int) State {
	n = min(max(n, 1), MaxFault)
	return faultBase + State(n)
}

// FaultCode returns the fault code of s, and whether s is a fault at all.
func (s State) FaultCode() (int, bool) {
	if s > faultBase && s <= faultBase+MaxFault {
		return int(s - faultBase), true
	}
	return 0, false
}

// Valid reports whether s is one of the states above or a fault code from
// Fault.
func (s State) Valid() bool {
	_, fault := s.FaultCode()
	return s <= Acked || fault
}

var stateNames = [...]string{Off: "off", Starting: "starting", Running: "running", Clear: "clear", Alarm: "alarm", Acked: "acked"}

// String returns the state's name: "off", "starting", "running", "clear",
// "alarm", "acked" or "fault-N".
func (s State) String() string {
	if n, ok := s.FaultCode(); ok {
		return "fault-" + strconv.Itoa(n)
	}
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// ParseState is the inverse of String.
func ParseState(name string) (State, error) {
	for s, n := range stateNames {
		if n == name {
			return State(s), nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "fault-"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 1 && n <= MaxFault && rest == strconv.Itoa(n) {
			return Fault(n), nil
		}
	}
	return Off, fmt.Errorf("led: unknown state %q (want off, starting, running, clear, alarm, acked or fault-1..fault-%d)", name, MaxFault)
}

var faultMeanings = map[int]string{
	FaultNetwork: "no network",
	FaultMQTT:    "MQTT unreachable",
	FaultSerial:  "serial/USB error",
	FaultPolicy:  "policy error",
	FaultNVR:     "an NVR cannot be read",
}

// Meaning returns what the state tells the technician, in the words of
// DESIGN.md's LED table.
func (s State) Meaning() string {
	if n, ok := s.FaultCode(); ok {
		if m, ok := faultMeanings[n]; ok {
			return fmt.Sprintf("fault %d: %s", n, m)
		}
		return fmt.Sprintf("fault %d", n)
	}
	switch s {
	case Off:
		return "not running"
	case Starting:
		return "starting up"
	case Running:
		return "running, first sweep not finished"
	case Clear:
		return "last sweep complete, nothing restricted"
	case Alarm:
		return "restricted hardware present, not acknowledged"
	case Acked:
		return "restricted hardware present, acknowledged"
	}
	return "invalid state"
}

// Priority ranks states for Pick: the higher one is shown. Unacknowledged
// restricted hardware outranks everything, since finding it is the reason the
// gateway exists and the button that acknowledges it must see it; a fault
// comes next (the lower code first, as a network fault explains the others),
// then acknowledged restricted hardware, then the normal states.
func (s State) Priority() int {
	if n, ok := s.FaultCode(); ok {
		return 100 - n // 91..99
	}
	switch s {
	case Alarm:
		return 200
	case Acked:
		return 50
	case Clear:
		return 40
	case Running:
		return 30
	case Starting:
		return 20
	}
	return 0
}

// Pick returns the state to show when several hold at once, by Priority:
// Alarm, then faults (fault 1 before fault 2 ...), then Acked, Clear,
// Running, Starting, Off. Pick() with no states is Off.
func Pick(states ...State) State {
	best := Off
	for _, s := range states {
		if s.Valid() && s.Priority() > best.Priority() {
			best = s
		}
	}
	return best
}
