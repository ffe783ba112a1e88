package discoverytest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"
)

// TB is the part of testing.TB that Loopback uses. (This package does not
// import testing: the camera simulator serves its handlers too.)
type TB interface {
	Helper()
	Context() context.Context
	Cleanup(func())
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Loopback is a handler served on 127.0.0.1 and a client socket talking to
// it, for the tests that send real datagrams to a simulated device.
type Loopback struct {
	t      TB
	server net.Addr
	client net.PacketConn
	buf    []byte
}

// NewLoopback serves h on a UDP socket on 127.0.0.1 and opens a client
// socket there. When the test ends it closes both and fails the test if
// Serve failed.
func NewLoopback(t TB, h Handler) *Loopback {
	t.Helper()
	srv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	cl, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return &Loopback{t: t, server: srv.LocalAddr(), client: cl, buf: make([]byte, 64<<10)}
}

// Send sends each datagram from the client to the handler.
func (l *Loopback) Send(datagrams ...[]byte) {
	l.t.Helper()
	for _, d := range datagrams {
		if _, err := l.client.WriteTo(d, l.server); err != nil {
			l.t.Fatalf("send: %v", err)
		}
	}
}

// Receive returns the next answer and where it came from, failing the test
// when none arrives within wait.
func (l *Loopback) Receive(wait time.Duration) ([]byte, netip.AddrPort) {
	l.t.Helper()
	if err := l.client.SetReadDeadline(time.Now().Add(wait)); err != nil {
		l.t.Fatalf("set deadline: %v", err)
	}
	n, from, err := l.client.ReadFrom(l.buf)
	if err != nil {
		l.t.Fatalf("no answer: %v", err)
	}
	return append([]byte(nil), l.buf[:n]...), from.(*net.UDPAddr).AddrPort()
}

// Silent fails the test if an answer arrives within wait.
func (l *Loopback) Silent(wait time.Duration) {
	l.t.Helper()
	if err := l.client.SetReadDeadline(time.Now().Add(wait)); err != nil {
		l.t.Fatalf("set deadline: %v", err)
	}
	if n, _, err := l.client.ReadFrom(l.buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		l.t.Errorf("unexpected answer (%v): %q", err, l.buf[:n])
	}
}
