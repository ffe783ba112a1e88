package discovery

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Listener hears what devices send to the discovery groups unasked: a
// WS-Discovery Hello when a camera joins the network, SSDP NOTIFY
// ssdp:alive, and the answers to other tools' probes that devices send to
// the group. It sends nothing.
type Listener struct {
	Interfaces []Interface
	Logger     *slog.Logger
	// IsNotReply says whether a parse error only means "a valid message
	// that is not an answer" (a probe, a Bye); as Sweeper.IsNotReply.
	IsNotReply func(error) bool
}

// Listen joins every spec's groups at its port on every multicast-capable
// interface and calls heard with the identities of each valid message
// (Source, Addr and Seen set), from one goroutine per socket: heard must be
// safe for concurrent use and must not block for long. Malformed, oversized
// or foreign datagrams are dropped with a debug line. Listen returns when
// ctx ends: nil, or an error when no socket at all could be opened (another
// program may hold a port without SO_REUSEADDR).
func (l *Listener) Listen(ctx context.Context, specs []Spec, heard func([]identity.Identity)) error {
	log := l.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	notReply := orNotReply(l.IsNotReply)
	var (
		wg      sync.WaitGroup
		openErr error
		opened  int
	)
	for _, spec := range specs {
		for _, ifc := range l.Interfaces {
			if !ifc.Multicast {
				continue
			}
			for _, g := range spec.Groups {
				conn, err := listenGroup(ifc, g, spec.Port)
				if err != nil {
					openErr = errors.Join(openErr, err)
					log.Debug("listening socket", "protocol", spec.Name, "iface", ifc.Name, "err", err)
					continue
				}
				opened++
				context.AfterFunc(ctx, func() { conn.Close() })
				wg.Go(func() { listenLoop(ctx, conn, spec, notReply, heard, log) })
			}
		}
	}
	if opened == 0 {
		if openErr == nil {
			openErr = ErrNoInterface
		}
		return errors.Join(errors.New("discovery: no group could be joined"), openErr)
	}
	wg.Wait()
	return nil
}

func listenLoop(ctx context.Context, conn *net.UDPConn, spec Spec, notReply func(error) bool, heard func([]identity.Identity), log *slog.Logger) {
	buf := make([]byte, MaxReply+1)
	for {
		n, from, ok := receive(ctx, conn, buf)
		if !ok {
			return
		}
		if n > MaxReply {
			logDrop(log, spec.Name, from, "reply larger than the cap", nil)
			continue
		}
		ids, err := safeParse(spec, from, buf[:n])
		if err != nil {
			if !notReply(err) {
				logDrop(log, spec.Name, from, "malformed reply", err)
			}
			continue
		}
		stamp(ids, spec.Name, from.Addr(), time.Now())
		if len(ids) > 0 {
			heard(ids)
		}
	}
}
