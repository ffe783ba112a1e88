package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Handler receives what a Listener reads. Its methods run on the
// Listener's goroutine, one at a time, and must return quickly.
type Handler interface {
	// Opened is called each time the port is (re)opened. w writes to the
	// port; on a listen-only Listener every write fails with ErrListenOnly.
	Opened(w io.Writer)
	// Data is called with the bytes of one read; p is valid only during
	// the call.
	Data(p []byte)
	// Idle is called when a read timed out with nothing.
	Idle(now time.Time)
	// Closed is called when the open port goes away: err wraps ErrGone, or
	// is nil when the Listener's context ended.
	Closed(err error)
}

// Backoff defaults: how long a Listener waits before re-opening a port that
// is missing or went away, doubling up to the cap.
const (
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Listener reads one port until its context ends, re-opening it with capped
// backoff when it is missing or goes away (an adapter unplugged and plugged
// in again, a by-id link that reappears).
type Listener struct {
	Path string
	Mode Mode
	// Open opens the port; nil means OpenTarm.
	Open Opener
	// Write lets the Handler write to the port. False (the default) makes
	// the port listen-only: not one byte is written.
	Write bool
	// MinBackoff and MaxBackoff bound the wait between re-opens (defaults
	// DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Run reads the port until ctx ends and returns nil then. It takes no
// action on the port beyond opening and reading it, unless Write is set and
// the Handler writes. The port is closed before Run returns.
func (l *Listener) Run(ctx context.Context, h Handler) error {
	if l.Path == "" {
		return errors.New("serial: listener has no port")
	}
	mode := l.Mode.withDefaults()
	if !validBaud(mode.Baud) {
		return fmt.Errorf("serial: %d is not a supported baud rate", mode.Baud)
	}
	open := l.Open
	if open == nil {
		open = OpenTarm
	}
	log := l.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("port", l.Path)
	minB, maxB := l.MinBackoff, l.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB < minB {
		maxB = max(DefaultMaxBackoff, minB)
	}
	backoff := minB
	warned := false
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		p, err := open(l.Path, mode)
		if err != nil {
			if !warned {
				log.Warn("serial port not available, will retry", "err", err)
				warned = true
			} else {
				log.Debug("serial port still not available", "err", err)
			}
			if !sleep(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, maxB)
			continue
		}
		warned = false
		log.Info("serial port open", "baud", mode.Baud, "listen_only", !l.Write)
		opened := time.Now()
		err = l.session(ctx, p, h, buf, log)
		if err == nil {
			h.Closed(nil)
			break
		}
		log.Warn("serial port gone", "err", err, "after", time.Since(opened).Round(time.Millisecond))
		h.Closed(err)
		if time.Since(opened) >= maxB {
			backoff = minB
		}
		if !sleep(ctx, backoff) {
			break
		}
		backoff = min(backoff*2, maxB)
	}
	return nil
}

// session reads p until ctx ends or it goes away, and closes it, even when
// the Handler panics.
func (l *Listener) session(ctx context.Context, p Port, h Handler, buf []byte, log *slog.Logger) error {
	defer func() {
		if err := p.Close(); err != nil {
			log.Debug("closing serial port", "err", err)
		}
	}()
	return l.read(ctx, p, h, buf)
}

// read reads p until ctx ends (nil) or the port goes away (an error
// wrapping ErrGone).
func (l *Listener) read(ctx context.Context, p Port, h Handler, buf []byte) error {
	var w io.Writer = listenOnly{}
	if l.Write {
		w = p
	}
	h.Opened(w)
	for ctx.Err() == nil {
		n, err := p.Read(buf)
		if n > 0 {
			h.Data(buf[:n])
		}
		switch {
		case err == nil && n > 0:
		case err == nil, errors.Is(err, ErrTimeout):
			if n == 0 {
				h.Idle(time.Now())
			}
		case errors.Is(err, ErrGone):
			return err
		default:
			return fmt.Errorf("%w: %v", ErrGone, err)
		}
	}
	return nil
}

// listenOnly refuses every write.
type listenOnly struct{}

func (listenOnly) Write([]byte) (int, error) { return 0, ErrListenOnly }

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
