// Package serialtest holds what the tests of serial code share: Playback,
// a transcript fake of a serial.Port (periph's conntest style), and PTY, a
// real pseudo-terminal pair that the real serial library opens while the
// test plays the device on the master side. It is imported by _test.go
// files only.
package serialtest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/serial"
)

// IO is one step of a transcript: what the code under test must write (W,
// nothing when empty), then what the device answers (R).
type IO struct {
	W, R []byte
}

// Playback is a serial.Port that replays a transcript. Each write must be
// the next step's W, byte for byte (a step's W may come in several
// writes); the step's R is then readable. A step with an empty W is
// readable at once. Read answers serial.ErrTimeout after Wait when nothing
// is pending, and an error wrapping serial.ErrGone once the transcript is
// done when Hangup is set. Close reports a transcript left unfinished.
type Playback struct {
	Ops []IO
	// Wait is how long Read waits when nothing is pending (default 5 ms),
	// standing in for the port's read timeout.
	Wait time.Duration
	// Hangup makes Read report the port gone once every step was read.
	Hangup bool

	mu      sync.Mutex
	step    int    // the step whose W is being matched
	written []byte // W bytes of the current step received so far
	pending []byte // R bytes not read yet
	err     error  // the first mismatch
	closed  bool
	opens   int
}

var _ serial.Port = (*Playback)(nil)

// Open is a serial.Opener that opens the Playback once; a second open (or
// one after Close) fails with serial.ErrNoDevice.
func (p *Playback) Open(path string, _ serial.Mode) (serial.Port, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opens > 0 {
		return nil, fmt.Errorf("%w: %s (playback already opened)", serial.ErrNoDevice, path)
	}
	p.opens++
	p.advance()
	return p, nil
}

// advance makes the R of every step whose W is empty readable.
func (p *Playback) advance() {
	for p.step < len(p.Ops) && len(p.Ops[p.step].W) == 0 {
		p.pending = append(p.pending, p.Ops[p.step].R...)
		p.step++
	}
}

// Read implements serial.Port.
func (p *Playback) Read(b []byte) (int, error) {
	p.mu.Lock()
	if p.opens == 0 {
		p.opens++
		p.advance()
	}
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		p.mu.Unlock()
		return n, nil
	}
	gone := p.Hangup && p.step >= len(p.Ops)
	wait := p.Wait
	p.mu.Unlock()
	if gone {
		return 0, fmt.Errorf("%w: playback ended", serial.ErrGone)
	}
	if wait <= 0 {
		wait = 5 * time.Millisecond
	}
	time.Sleep(wait)
	return 0, serial.ErrTimeout
}

// Write implements serial.Port.
func (p *Playback) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	for i, c := range b {
		if p.step >= len(p.Ops) {
			p.err = fmt.Errorf("serialtest: write %q after the transcript ended", b[i:])
			return i, p.err
		}
		want := p.Ops[p.step].W
		if c != want[len(p.written)] {
			p.err = fmt.Errorf("serialtest: step %d: wrote %q, want %q", p.step, append(bytes.Clone(p.written), b[i:]...), want)
			return i, p.err
		}
		p.written = append(p.written, c)
		if len(p.written) == len(want) {
			p.pending = append(p.pending, p.Ops[p.step].R...)
			p.written = nil
			p.step++
			p.advance()
		}
	}
	return len(b), nil
}

// Close implements serial.Port. It fails when a write did not match or
// when steps remain.
func (p *Playback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return p.check()
}

// Done reports whether every step was played, with the first mismatch.
func (p *Playback) Done() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.check()
}

func (p *Playback) check() error {
	if p.err != nil {
		return p.err
	}
	if p.step < len(p.Ops) {
		return fmt.Errorf("serialtest: transcript stopped at step %d of %d (waiting for %q)", p.step, len(p.Ops), p.Ops[p.step].W)
	}
	return nil
}

// Record is a serial.Port that records every write and reads nothing: a
// device that never speaks. Reads answer serial.ErrTimeout after Wait.
type Record struct {
	Wait time.Duration
	mu   sync.Mutex
	buf  bytes.Buffer
}

var _ serial.Port = (*Record)(nil)

// Read implements serial.Port.
func (r *Record) Read([]byte) (int, error) {
	w := r.Wait
	if w <= 0 {
		w = 5 * time.Millisecond
	}
	time.Sleep(w)
	return 0, serial.ErrTimeout
}

// Write implements serial.Port.
func (r *Record) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}

// Close implements serial.Port.
func (r *Record) Close() error { return nil }

// Written returns a copy of everything written so far.
func (r *Record) Written() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// ErrClosed is returned by the operations of a closed PTY.
var ErrClosed = errors.New("serialtest: pty closed")
