// Package serial opens and reads the serial ports of a gateway: USB-serial
// adapters wired to camera consoles and RS-485 PTZ buses. It hides
// github.com/tarm/serial behind a small Port seam, reads in a
// context-aware loop with a short read timeout, detects a hangup or an
// unplugged adapter, and re-opens the port with capped backoff when the
// adapter returns.
//
// Safety (SERIAL.md): nothing here opens a port by itself. A Listener is
// listen-only unless its Write field is set, and System.Check refuses the
// gateway's own console, a port with a login prompt, a modem, a Bluetooth
// link and a port locked by another program.
package serial

import (
	"errors"
	"io"
	"time"
)

// DefaultBaud is the line speed of camera consoles (115200 8N1).
const DefaultBaud = 115200

// DefaultReadTimeout bounds each read. Short, so that a cancelled context
// is noticed quickly; tarm/serial cannot wait less than 100 ms.
const DefaultReadTimeout = 100 * time.Millisecond

var (
	// ErrTimeout is what Port.Read returns when nothing arrived within the
	// read timeout.
	ErrTimeout = errors.New("serial: nothing read before the read timeout")
	// ErrGone is wrapped by the errors of a port whose device hung up or
	// vanished (an unplugged adapter, a closed pseudo-terminal).
	ErrGone = errors.New("serial: port gone")
	// ErrListenOnly is what a listen-only port answers to every write.
	ErrListenOnly = errors.New("serial: port is listen-only")
	// ErrNoDevice is wrapped when a port does not exist.
	ErrNoDevice = errors.New("serial: no such port")
	// ErrRefused is wrapped when a port must never be opened: the gateway's
	// console, a login prompt, a modem, Bluetooth, or a port another program
	// holds.
	ErrRefused = errors.New("serial: refusing to open")
)

// Mode is how a port is opened: 8 data bits, no parity, 1 stop bit, no flow
// control, at Baud; every read returns within ReadTimeout.
type Mode struct {
	Baud        int
	ReadTimeout time.Duration
}

// withDefaults fills in the zero fields.
func (m Mode) withDefaults() Mode {
	if m.Baud == 0 {
		m.Baud = DefaultBaud
	}
	if m.ReadTimeout <= 0 {
		m.ReadTimeout = DefaultReadTimeout
	}
	return m
}

// Port is an open serial port. Read returns within the read timeout of its
// Mode: with n > 0 bytes, or (0, ErrTimeout) when nothing arrived, or an
// error wrapping ErrGone when the device hung up or vanished.
type Port interface {
	io.ReadWriteCloser
}

// Opener opens the port at path. OpenTarm is the real one; tests pass
// pseudo-terminals to it, or replace it with serialtest fakes.
type Opener func(path string, m Mode) (Port, error)
