// Package source is the one contract every source of identity speaks, and
// the one table of sources that both `nvrguard scan` and `nvrguard run`
// build from the configuration.
//
// A source reads one part of the site (the network, the USB bus, a serial
// port, a recorder's channel list) and emits Readings. Build turns the
// configuration into Instances, one per thing to read; Once runs each of
// them a single time under a deadline (scan); a Supervisor runs them for as
// long as the daemon does (run), on their intervals, with a backoff after a
// failure and a Health for each, which the daemon publishes in the state
// topic's "sources".
//
// Adding a source is one package under drivers/ and one Row in Table.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/nvr"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/firmware/config"
)

// Reading is what a source saw in one reading.
type Reading struct {
	IDs []identity.Identity
	// Complete says the reading is a whole reading of its slot: a device
	// of the slot it does not hold was missed (after lost_after complete
	// readings, it is lost). A partial reading only adds.
	Complete bool
	// At is when the reading began (zero: when it was emitted).
	At time.Time
	// Heard marks announcements (a Hello, a NOTIFY): they say that a
	// device is there, not what it is, so they never make a record; they
	// only bring the network sweep forward.
	Heard bool
}

// Emit hands a reading on. It may block until the reading is taken.
type Emit func(Reading)

// A Source reads one thing. A polled source's Read reads it once, emits
// one reading and returns; a listening source's Read emits what it hears
// as it hears it and returns when ctx ends. An error says the source could
// not be read (a listening source's error ends it; the supervisor starts
// it again later). Read must honour ctx.
type Source interface {
	Read(ctx context.Context, emit Emit) error
}

// Func adapts a function to Source.
type Func func(ctx context.Context, emit Emit) error

// Read implements Source.
func (f Func) Read(ctx context.Context, emit Emit) error { return f(ctx, emit) }

// Kind says how a source is run.
type Kind int

const (
	// Poll sources are read every Interval (and when kicked).
	Poll Kind = iota
	// Listen sources run one Read for as long as they are wanted.
	Listen
)

// Instance is one source built from the configuration.
type Instance struct {
	// Name is unique among the instances: "network", "usb",
	// "serial:/dev/ttyUSB0", "nvr:http://192.168.1.20". It is the key of
	// the state topic's "sources" and of the LED fault a source holds.
	Name string
	// Slot is the inventory's evidence slot of the readings: a reading
	// replaces what its own slot saw before.
	Slot string
	Kind Kind
	// Interval is the time between two reads of a Poll source, from the
	// configuration in force (SIGHUP may change it).
	Interval func(config.Config) time.Duration
	// OnlyChanges drops a reading equal to the one before it (the USB bus,
	// the neighbour table between sweeps): an unchanged site costs
	// nothing, not even a state write.
	OnlyChanges bool
	// Fault is the LED fault code shown while the source fails (0: none).
	Fault int
	// Scan says `nvrguard scan` runs it (once, under the scan's deadline).
	Scan bool
	// Run says the daemon runs it.
	Run bool
	Source
}

// Env is what the sources are built from.
type Env struct {
	// Config returns the configuration in force; the daemon's changes on
	// SIGHUP, scan's is the flags'.
	Config func() config.Config
	// Root is where /proc, /sys and /dev are found ("/" when empty).
	Root string
	// Logger receives the sources' log lines (nil: discarded).
	Logger *slog.Logger
	// ONVIFRefusals returns the cameras that refused the ONVIF account in
	// force lately (nil: each camera is tried once per read).
	ONVIFRefusals func() *onvif.Refusals
	// Guard holds the recorders back after a failed login; the daemon
	// keeps one in its state dir. nil: one in memory.
	Guard *nvr.Guard
	// Progress receives short human-readable progress lines (scan on a
	// terminal); nil: none.
	Progress func(string)
	// Scan is set by `nvrguard scan`: sources are read once, and a
	// configuration that could never be read (a serial port that must not
	// be opened) is an error of Build.
	Scan bool
	// OpenSerial opens serial ports (nil: serial.OpenTarm); tests give a
	// pseudo-terminal or a fake.
	OpenSerial serial.Opener
}

func (e Env) log() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

func (e Env) refusals() *onvif.Refusals {
	if e.ONVIFRefusals == nil {
		return nil
	}
	return e.ONVIFRefusals()
}

// Row is one kind of source: Build makes its instances from the
// configuration (none when it is disabled or not configured).
type Row struct {
	Name  string
	Build func(Env) ([]Instance, error)
}

// Table lists every kind of source, in the order they start. It is the
// only place a source is wired.
func Table() []Row {
	return []Row{
		{Name: "network", Build: networkSources},
		{Name: "neighbours", Build: neighbourSources},
		{Name: "listen", Build: listenSources},
		{Name: "usb", Build: usbSources},
		{Name: "serial", Build: serialSources},
		{Name: "nvr", Build: nvrSources},
	}
}

// Build makes the instances of every row of Table. A duplicate name is an
// error.
func Build(env Env) ([]Instance, error) {
	return build(env, Table())
}

func build(env Env, rows []Row) ([]Instance, error) {
	var out []Instance
	seen := map[string]bool{}
	for _, r := range rows {
		got, err := r.Build(env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		for _, in := range got {
			if seen[in.Name] {
				return nil, fmt.Errorf("two sources named %q", in.Name)
			}
			seen[in.Name] = true
			out = append(out, in)
		}
	}
	return out, nil
}

// Held is an error after which a source must not be read again before
// Until (a recorder that refused the account). The supervisor waits for it.
type Held struct {
	Err   error
	Until time.Time
}

func (h *Held) Error() string { return h.Err.Error() }
func (h *Held) Unwrap() error { return h.Err }

// retryAt is when a failed source may be read again, if it says.
func retryAt(err error) time.Time {
	var h *Held
	if errors.As(err, &h) {
		return h.Until
	}
	return time.Time{}
}
