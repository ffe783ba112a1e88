package serial

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	tarm "github.com/tarm/serial"
)

// fastEOFs is how many reads in a row may end at once with nothing before
// the port counts as gone: after a hangup tarm/serial returns (0, io.EOF)
// immediately, every time, where a quiet port returns it after the timeout.
const fastEOFs = 3

// OpenTarm opens path with github.com/tarm/serial at m.Baud 8N1. Reads
// return within m.ReadTimeout (at least 100 ms, tarm's VTIME resolution).
//
// tarm/serial reports a read timeout and a hangup the same way, (0,
// io.EOF); the returned Port tells them apart by timing and by whether the
// device node still exists, and answers ErrTimeout or ErrGone instead.
func OpenTarm(path string, m Mode) (Port, error) {
	m = m.withDefaults()
	if !validBaud(m.Baud) {
		return nil, fmt.Errorf("serial: %d is not a supported baud rate", m.Baud)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoDevice, path)
		}
		return nil, fmt.Errorf("serial: open %s: %w", path, err)
	}
	p, err := tarm.OpenPort(&tarm.Config{Name: path, Baud: m.Baud, ReadTimeout: m.ReadTimeout})
	if err != nil {
		return nil, fmt.Errorf("serial: open %s: %w", path, err)
	}
	return &tarmPort{p: p, path: path, timeout: m.ReadTimeout}, nil
}

// tarmPort adapts a tarm/serial port to the Port contract.
type tarmPort struct {
	p       *tarm.Port
	path    string
	timeout time.Duration
	fast    int // reads in a row that ended at once with nothing
}

// Read implements Port.
func (t *tarmPort) Read(b []byte) (int, error) {
	start := time.Now()
	n, err := t.p.Read(b)
	if n > 0 {
		t.fast = 0
		return n, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("%w: %s: %v", ErrGone, t.path, err)
	}
	if time.Since(start) < t.timeout/2 {
		t.fast++
		if t.fast >= fastEOFs {
			return 0, fmt.Errorf("%w: %s hung up", ErrGone, t.path)
		}
		return 0, ErrTimeout
	}
	t.fast = 0
	if _, err := os.Stat(t.path); errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s vanished", ErrGone, t.path)
	}
	return 0, ErrTimeout
}

// Write implements Port.
func (t *tarmPort) Write(b []byte) (int, error) {
	n, err := t.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("%w: %s: %v", ErrGone, t.path, err)
	}
	return n, nil
}

// Close implements Port.
func (t *tarmPort) Close() error { return t.p.Close() }
