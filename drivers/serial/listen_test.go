package serial_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
)

// recorder is a serial.Handler that keeps what it was given.
type recorder struct {
	mu       sync.Mutex
	data     []byte
	opened   int
	closed   []error
	idle     int
	onOpen   func(w io.Writer)
	writeErr error
	goneAt   []time.Time
}

func (r *recorder) Opened(w io.Writer) {
	r.mu.Lock()
	r.opened++
	f := r.onOpen
	r.mu.Unlock()
	if f != nil {
		f(w)
	}
}
func (r *recorder) Data(p []byte)  { r.mu.Lock(); r.data = append(r.data, p...); r.mu.Unlock() }
func (r *recorder) Idle(time.Time) { r.mu.Lock(); r.idle++; r.mu.Unlock() }
func (r *recorder) Closed(err error) {
	r.mu.Lock()
	r.closed = append(r.closed, err)
	if err != nil {
		r.goneAt = append(r.goneAt, time.Now())
	}
	r.mu.Unlock()
}
func (r *recorder) snapshot() (data []byte, opened int, closed []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.data...), r.opened, append([]error(nil), r.closed...)
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, l *serial.Listener, h serial.Handler) (cancel func() time.Duration) {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, h) }()
	return func() time.Duration {
		start := time.Now()
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		return time.Since(start)
	}
}

func TestListenerListenOnlyRefusesWrites(t *testing.T) {
	serialtest.NoLeak(t)
	port := &serialtest.Record{}
	h := &recorder{}
	h.onOpen = func(w io.Writer) {
		for _, b := range [][]byte{{0x15}, []byte("*"), []byte("\r")} {
			if n, err := w.Write(b); n != 0 || !errors.Is(err, serial.ErrListenOnly) {
				h.writeErr = fmt.Errorf("listen-only write of %q = %d, %v", b, n, err)
			}
		}
	}
	l := &serial.Listener{Path: "/dev/fake", Open: func(string, serial.Mode) (serial.Port, error) { return port, nil }}
	stop := run(t, l, h)
	waitFor(t, time.Second, "open", func() bool { _, o, _ := h.snapshot(); return o == 1 })
	stop()
	if h.writeErr != nil {
		t.Error(h.writeErr)
	}
	if w := port.Written(); len(w) != 0 {
		t.Errorf("a listen-only port was written %q", w)
	}
	if _, _, closed := h.snapshot(); len(closed) != 1 || closed[0] != nil {
		t.Errorf("Closed calls %v, want one with nil", closed)
	}
}

func TestListenerWritesWhenAllowed(t *testing.T) {
	port := &serialtest.Playback{Ops: []serialtest.IO{{W: []byte("\r"), R: []byte("HKVS $ ")}}}
	h := &recorder{onOpen: func(w io.Writer) { w.Write([]byte("\r")) }}
	l := &serial.Listener{Path: "/dev/fake", Write: true, Open: port.Open}
	stop := run(t, l, h)
	waitFor(t, time.Second, "the reply", func() bool { d, _, _ := h.snapshot(); return string(d) == "HKVS $ " })
	stop()
	if err := port.Done(); err != nil {
		t.Error(err)
	}
}

// TestListenerReopensWithBackoff: a port missing at first, then present,
// then gone, then back: the Listener retries with backoff and delivers the
// data of each opening.
func TestListenerReopensWithBackoff(t *testing.T) {
	serialtest.NoLeak(t)
	var mu sync.Mutex
	attempts := []time.Time{}
	ports := []*serialtest.Playback{
		{Ops: []serialtest.IO{{R: []byte("first\n")}}, Hangup: true},
		{Ops: []serialtest.IO{{R: []byte("second\n")}}},
	}
	open := func(path string, m serial.Mode) (serial.Port, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, time.Now())
		switch len(attempts) {
		case 1, 2, 4: // missing, missing, missing again after the hangup
			return nil, fmt.Errorf("%w: %s", serial.ErrNoDevice, path)
		case 3:
			return ports[0].Open(path, m)
		}
		return ports[1].Open(path, m)
	}
	h := &recorder{}
	l := &serial.Listener{Path: "/dev/fake", Open: open, MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	stop := run(t, l, h)
	waitFor(t, 3*time.Second, "second opening", func() bool { d, _, _ := h.snapshot(); return string(d) == "first\nsecond\n" })
	stop()
	data, opened, closed := h.snapshot()
	if opened != 2 || len(closed) != 2 || !errors.Is(closed[0], serial.ErrGone) || closed[1] != nil {
		t.Errorf("opened %d, closed %v; want 2 openings, gone then nil (data %q)", opened, closed, data)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := attempts[1].Sub(attempts[0]); d < 15*time.Millisecond {
		t.Errorf("retried after %v, want the backoff (20 ms)", d)
	}
}

func TestListenerRejectsBadConfig(t *testing.T) {
	h := &recorder{}
	if err := (&serial.Listener{}).Run(t.Context(), h); err == nil {
		t.Error("a Listener without a port ran")
	}
	if err := (&serial.Listener{Path: "/dev/x", Mode: serial.Mode{Baud: 12345}}).Run(t.Context(), h); err == nil {
		t.Error("a Listener with a bad rate ran")
	}
}

// closeCounter is a port that counts its closings.
type closeCounter struct {
	serialtest.Record
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

// panicky is a Handler that panics on data.
type panicky struct{ recorder }

func (p *panicky) Data([]byte) { panic("parser bug") }

// TestListenerClosesPortWhenHandlerPanics: a Handler's panic reaches the
// caller, and the port is closed on the way.
func TestListenerClosesPortWhenHandlerPanics(t *testing.T) {
	port := &closeCounter{}
	data := &serialtest.Playback{Ops: []serialtest.IO{{R: []byte("x")}}}
	l := &serial.Listener{Path: "/dev/fake", Open: func(string, serial.Mode) (serial.Port, error) {
		return struct {
			io.Reader
			io.Writer
			io.Closer
		}{data, data, port}, nil
	}}
	defer func() {
		if r := recover(); r == nil {
			t.Error("the panic was swallowed")
		}
		if port.closed.Load() != 1 {
			t.Errorf("port closed %d times, want 1", port.closed.Load())
		}
	}()
	l.Run(t.Context(), &panicky{})
}
