package console

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/serial"
)

// Probe says what a Watcher may send to a console.
type Probe string

// Probes. There is deliberately no way to send anything else: Ctrl+U,
// '*' or a key during an autoboot countdown stop a camera in its boot
// loader.
const (
	// ProbeNone sends nothing: listen-only (the default).
	ProbeNewline Probe = "newline"
	ProbeNone    Probe = ""
)

// probeByte is the one byte a Watcher can ever write: a bare carriage
// return, which makes a booted device print its prompt.
const probeByte = '\r'

// DefaultQuietFor is how long a console must have been silent before
// ProbeNewline sends its carriage return.
const DefaultQuietFor = 5 * time.Second

// Watcher is a serial.Handler that reads console text from a port and
// gathers the identity of the device that prints it.
type Watcher struct {
	// Port names the port in the identity ("/dev/ttyUSB0").
	Port string
	// Probe is ProbeNone (listen-only) or ProbeNewline.
	Probe Probe
	// QuietFor is the silence ProbeNewline waits for (DefaultQuietFor).
	QuietFor time.Duration
	Logger   *slog.Logger

	mu     sync.Mutex
	s      splitter
	e      extractor
	w      io.Writer
	opened time.Time
	last   time.Time // the last byte received in this opening
	probed bool      // the carriage return of this opening was sent
	bytes  int
	seen   time.Time
}

var _ serial.Handler = (*Watcher)(nil)

// Opened implements serial.Handler.
func (w *Watcher) Opened(wr io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w, w.opened, w.last, w.probed = wr, time.Now(), time.Time{}, false
	w.s.buf = w.s.buf[:0] // a line cut by an unplug does not continue
}

// Data implements serial.Handler.
func (w *Watcher) Data(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = time.Now()
	if w.seen.IsZero() {
		w.seen = w.last
	}
	w.bytes += len(p)
	w.s.write(p, w.e.line)
}

// Idle implements serial.Handler. With ProbeNewline it sends one carriage
// return per opening, once neither the opening nor any byte received is
// more recent than QuietFor: never while the device is printing, so never
// into a boot loader's countdown.
func (w *Watcher) Idle(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.Probe != ProbeNewline || w.probed || w.w == nil {
		return
	}
	quiet := w.QuietFor
	if quiet <= 0 {
		quiet = DefaultQuietFor
	}
	if now.Sub(w.opened) < quiet || (!w.last.IsZero() && now.Sub(w.last) < quiet) {
		return
	}
	w.probed = true
	if _, err := w.w.Write([]byte{probeByte}); err != nil && w.Logger != nil {
		w.Logger.Debug("console probe not sent", "port", w.Port, "err", err)
	}
}

// Closed implements serial.Handler.
func (w *Watcher) Closed(error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.s.flush(w.e.line)
	w.w = nil
}

// Identity returns the identity gathered so far; ok is false when the port
// printed no readable text.
func (w *Watcher) Identity() (id identity.Identity, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.e.readable == 0 {
		return identity.Identity{}, false
	}
	id = w.e.identity(w.Port)
	id.Seen = w.seen
	return id, true
}
