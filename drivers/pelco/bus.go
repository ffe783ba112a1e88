package pelco

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/serial"
)

// Defaults of a Bus.
const (
	// DefaultQuietFor is how long the bus must be silent before a Bus
	// queries it: a controller that drives it would collide with us.
	DefaultQuietFor = 2 * time.Second
	// DefaultReplyWait is how long a Bus waits for each reply.
	DefaultReplyWait = 500 * time.Millisecond
	// minPassiveFrames is how many frames of one kind and address passive
	// listening needs before it reports them: one valid checksum in line
	// noise happens once in 256 tries.
	minPassiveFrames = 2
)

// Bus is a serial.Handler for an RS-485 PTZ line. It decodes every frame it
// hears. With Query set, and a port it may write to, it also sends the
// Pelco-D query (FF addr 00 45 00 00 sum) to each of those addresses, one
// at a time, once the bus has been silent for QuietFor, and never once it
// has heard another controller on the bus.
type Bus struct {
	// Port names the port in the identities ("/dev/ttyUSB1").
	Port string
	// Query lists the Pelco-D addresses to query (opt-in; 1-255).
	Query []byte
	// QuietFor and ReplyWait default to DefaultQuietFor, DefaultReplyWait.
	QuietFor, ReplyWait time.Duration
	Logger              *slog.Logger

	mu       sync.Mutex
	dec      Decoder
	t        tally
	w        io.Writer
	opened   time.Time
	last     time.Time // last byte heard
	next     int       // index in Query of the next address to ask
	deadline time.Time // of the query in flight; zero when none
	sent     []byte    // the query in flight
	foreign  bool      // another controller was heard: never transmit
}

var _ serial.Handler = (*Bus)(nil)

// Opened implements serial.Handler.
func (b *Bus) Opened(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.w, b.opened, b.last = w, time.Now(), time.Time{}
	b.deadline = time.Time{}
	b.dec.Expect(nil)
}

// Data implements serial.Handler.
func (b *Bus) Data(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = time.Now()
	b.dec.Write(p, b.frame)
}

// frame records one decoded frame; a reply to the query in flight moves
// on to the next address.
func (b *Bus) frame(f Frame) {
	if b.sent != nil && bytes.Equal(f.Bytes, b.sent) {
		return // our own query, echoed by a half-duplex adapter
	}
	b.t.add(f)
	if !f.Reply() {
		b.foreign = true // a command we did not send: another master
		return
	}
	if !b.deadline.IsZero() && f.Addr == b.Query[b.next-1] {
		b.deadline = time.Time{}
		b.dec.Expect(nil)
		if b.Logger != nil {
			b.Logger.Info("pelco reply", "port", b.Port, "address", int(f.Addr), "part", f.PartNumber())
		}
	}
}

// Idle implements serial.Handler.
func (b *Bus) Idle(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dec.Flush(b.frame) // a pause on the line ends whatever was partial
	if b.w == nil || len(b.Query) == 0 || b.foreign {
		return
	}
	if !b.deadline.IsZero() {
		if now.Before(b.deadline) {
			return
		}
		b.deadline = time.Time{} // no reply: on to the next address
		b.dec.Expect(nil)
	}
	quiet := b.QuietFor
	if quiet <= 0 {
		quiet = DefaultQuietFor
	}
	if b.next >= len(b.Query) || now.Sub(b.opened) < quiet || (!b.last.IsZero() && now.Sub(b.last) < quiet) {
		return
	}
	cmd := QueryD(b.Query[b.next])
	b.next++
	if _, err := b.w.Write(cmd); err != nil {
		if b.Logger != nil {
			b.Logger.Debug("pelco query not sent", "port", b.Port, "err", err)
		}
		return
	}
	b.dec.Expect(cmd)
	b.sent = cmd
	wait := b.ReplyWait
	if wait <= 0 {
		wait = DefaultReplyWait
	}
	b.deadline = now.Add(wait)
}

// Closed implements serial.Handler.
func (b *Bus) Closed(error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dec.Flush(b.frame)
	b.w = nil
}

// Identities returns what the bus showed: a Hikvision controller, Pelco
// addresses commanded by a controller, Pelco responders and their part
// numbers. Frames heard passively count once seen twice.
func (b *Bus) Identities() []identity.Identity {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []identity.Identity
	for _, key := range b.t.keys {
		s := b.t.by[key]
		min := minPassiveFrames
		if s.replies > 0 {
			min = 1 // an answer to our own query
		}
		one := tally{keys: []string{key}, by: map[string]*seen{key: s}}
		out = append(out, one.identities(b.Port, min)...)
	}
	return out
}
