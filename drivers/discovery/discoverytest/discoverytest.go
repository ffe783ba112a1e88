// Package discoverytest serves simulated device answers over real UDP
// sockets, as net/http/httptest serves HTTP: protocol packages provide a
// Handler built from captured device replies, and Serve answers every probe
// that the handler accepts.
package discoverytest

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// Handler answers one received datagram. It returns the datagrams to send
// back to the sender, or nil to stay silent (not a probe of its protocol).
type Handler func(req []byte, from netip.AddrPort) [][]byte

// Serve reads datagrams from conn and answers each through h until ctx ends
// or conn is closed. It closes conn when ctx ends.
func Serve(ctx context.Context, conn net.PacketConn, h Handler) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		from := ua.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		for _, out := range h(append([]byte(nil), buf[:n]...), from) {
			if _, err := conn.WriteTo(out, addr); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}
