package discovery

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxReply is the largest reply datagram parsed; larger ones are dropped.
const MaxReply = 64 << 10

// ErrNotReply is what a Spec's Parse returns for a datagram that is a
// well-formed message of its protocol but not a reply (a probe from another
// host, an announcement of leaving): it is ignored without a log line.
// Protocol packages may wrap it or define their own and say so with
// errors.Is.
var ErrNotReply = errors.New("discovery: not a reply")

// Sweeper sends the probes of several protocols on several interfaces and
// collects the replies until its deadline.
type Sweeper struct {
	// Interfaces the probes leave from; see Interfaces.
	Interfaces []Interface
	// Unicast lists the hosts of configured CIDRs; protocols whose Spec has
	// Unicast set also probe each of them directly.
	Unicast []netip.Addr
	// Rounds is how many times each probe is sent (UDP drops packets).
	Rounds int
	// Spacing is the pause between rounds. It also bounds the rate at which
	// any one host is probed.
	Spacing time.Duration
	// Limiter bounds the global send rate; nil means DefaultRate.
	Limiter *Limiter
	// Logger receives debug lines for dropped replies; nil discards.
	Logger *slog.Logger
	// Linger is how long the sweep keeps listening after its last probe
	// went out (default 2.5 s: SSDP devices may wait MX=2 s before they
	// answer). The sweep ends then, or at ctx's deadline if that is sooner.
	Linger time.Duration
	// IsNotReply reports whether a parse error only means "not a reply";
	// nil means errors.Is(err, ErrNotReply).
	IsNotReply func(error) bool
	// MaxPerSender bounds the distinct devices one address may report per
	// protocol in one sweep (a Spec's own MaxPerSender first; default
	// DefaultMaxPerSender). See Admission.
	MaxPerSender int
	// MaxIdentities bounds the identities of one sweep (default
	// DefaultMaxIdentities; the unicast targets may add as many again).
	MaxIdentities int
}

// DefaultRate is the default global probe rate, in datagrams per second.
const DefaultRate = 400

// ReceiveBuffer is the receive buffer every sweep socket asks for: room for
// the answers of a few thousand devices to one probe, which arrive within
// milliseconds. The kernel caps it at net.core.rmem_max unless the process
// has CAP_NET_ADMIN; the .deb raises that limit (see the README).
const ReceiveBuffer = 4 << 20

// Stats counts what one sweep did.
type Stats struct {
	Sent     int64 // datagrams sent
	Received int64 // datagrams received
	Dropped  int64 // datagrams that were not valid replies (malformed, oversized, wrong protocol)
	Ignored  int64 // valid messages that were not replies (probes of other hosts)
	Errors   int64 // send errors
	// OverBound counts the senders that went over a bound of Admission
	// (each one Warn line); their excess answers are in Dropped.
	OverBound int64
	// Overflow counts the new devices refused because the sweep already
	// held MaxIdentities (also in Dropped).
	Overflow int64
	// ReceiveBuffer is the smallest receive buffer the kernel granted a
	// sweep socket, in bytes (less than the ReceiveBuffer asked for when
	// net.core.rmem_max is lower).
	ReceiveBuffer int
}

type collector struct {
	mu    sync.Mutex
	adm   *admission
	ids   []identity.Identity
	stats Stats
}

// Sweep runs one discovery sweep of every spec until ctx ends (give it a
// deadline) and returns the identities found: one per device, sender and
// protocol, with the facts of all that sender's answers about the device.
// Malformed, oversized or foreign datagrams are dropped and counted, with a
// debug log line; they never abort the sweep. What one sender and the whole
// sweep may add is bounded (see Admission): a sender over its bound is one
// Warn line and its excess is counted in Stats.Dropped. It returns an error only when
// no socket at all could be opened.
func (s *Sweeper) Sweep(ctx context.Context, specs []Spec) ([]identity.Identity, Stats, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := s.Limiter
	if lim == nil {
		lim = NewLimiter(DefaultRate, 32)
	}
	linger := s.Linger
	if linger <= 0 {
		linger = 2500 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &collector{adm: newAdmission(s, log)}
	var wg, senders sync.WaitGroup
	var opened atomic.Int64
	var openErr error
	var errMu sync.Mutex
	start := func(spec Spec, conn *net.UDPConn, send func(context.Context, *net.UDPConn, Spec)) {
		opened.Add(1)
		got := growReceiveBuffer(conn, ReceiveBuffer)
		c.mu.Lock()
		if c.stats.ReceiveBuffer == 0 || got < c.stats.ReceiveBuffer {
			c.stats.ReceiveBuffer = got
		}
		c.mu.Unlock()
		if got < ReceiveBuffer {
			log.Debug("discovery socket: receive buffer capped (net.core.rmem_max)", "protocol", spec.Name, "bytes", got, "wanted", ReceiveBuffer)
		}
		// Every socket closes when ctx ends, which ends its reader. The
		// association is never stopped: stopping it as ctx ends can win the
		// race against the close and leave a reader blocked for ever.
		context.AfterFunc(ctx, func() { conn.Close() })
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetReadDeadline(dl.Add(100 * time.Millisecond))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.read(ctx, conn, spec, c, log)
		}()
		if send != nil {
			senders.Add(1)
			go func() {
				defer senders.Done()
				send(ctx, conn, spec)
			}()
		}
	}
	fail := func(err error) {
		errMu.Lock()
		openErr = errors.Join(openErr, err)
		errMu.Unlock()
		log.Debug("discovery socket", "err", err)
	}
	for _, spec := range specs {
		for _, ifc := range s.Interfaces {
			conn, err := listenOn(ifc)
			if err != nil {
				fail(err)
				continue
			}
			ifc := ifc
			start(spec, conn, func(ctx context.Context, conn *net.UDPConn, spec Spec) {
				s.sendRounds(ctx, conn, spec, lim, c, destinations(spec, ifc), max(s.Rounds, 1))
			})
			if spec.ListenGroup && ifc.Multicast {
				for _, g := range spec.Groups {
					gc, err := listenGroup(ifc, g, spec.Port)
					if err != nil {
						fail(err)
						continue
					}
					start(spec, gc, nil)
				}
			}
		}
		if spec.Unicast && len(s.Unicast) > 0 {
			conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
			if err != nil {
				fail(err)
				continue
			}
			dst := make([]netip.AddrPort, 0, len(s.Unicast))
			for _, h := range s.Unicast {
				dst = append(dst, netip.AddrPortFrom(h, uint16(spec.Port)))
			}
			// A sweep of many hosts sends one probe per host and round, in
			// at most two rounds: the global rate bounds how long it takes.
			uspec := spec
			uspec.Probes = func() [][]byte { return spec.Probes()[:1] }
			start(uspec, conn, func(ctx context.Context, conn *net.UDPConn, spec Spec) {
				s.sendRounds(ctx, conn, spec, lim, c, dst, min(max(s.Rounds, 1), 2))
			})
		}
	}
	// Once every probe is out, listen for Linger more, then close.
	senders.Wait()
	t := time.NewTimer(linger)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	cancel()
	wg.Wait()
	if opened.Load() == 0 && len(specs) > 0 && (len(s.Interfaces) > 0 || len(s.Unicast) > 0) {
		return nil, c.stats, errors.Join(errors.New("discovery: no socket could be opened"), openErr)
	}
	slices.SortStableFunc(c.ids, func(a, b identity.Identity) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Source, b.Source))
	})
	return c.ids, c.stats, nil
}

func listenOn(ifc Interface) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ifc.Prefix.Addr().AsSlice()})
	if err != nil {
		return nil, err
	}
	if ifc.Multicast {
		pc := ipv4.NewPacketConn(conn)
		// A gateway may have no default route: name the outgoing interface.
		ifi := &net.Interface{Index: ifc.Index, Name: ifc.Name}
		if err := pc.SetMulticastInterface(ifi); err != nil {
			conn.Close()
			return nil, err
		}
		if err := pc.SetMulticastTTL(1); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

func listenGroup(ifc Interface, group netip.Addr, port int) (*net.UDPConn, error) {
	ifi := &net.Interface{Index: ifc.Index, Name: ifc.Name}
	return net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: group.AsSlice(), Port: port})
}

// destinations are the multicast groups and broadcast addresses a spec's
// probes go to from one interface.
func destinations(spec Spec, ifc Interface) []netip.AddrPort {
	var out []netip.AddrPort
	port := uint16(spec.Port)
	if ifc.Multicast {
		for _, g := range spec.Groups {
			out = append(out, netip.AddrPortFrom(g, port))
		}
	}
	if spec.Broadcast {
		out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), port))
		if ifc.Broadcast.IsValid() {
			out = append(out, netip.AddrPortFrom(ifc.Broadcast, port))
		}
	}
	return out
}

func (s *Sweeper) sendRounds(ctx context.Context, conn *net.UDPConn, spec Spec, lim *Limiter, c *collector, dst []netip.AddrPort, rounds int) {
	spacing := s.Spacing
	if spacing <= 0 {
		spacing = 250 * time.Millisecond
	}
	for r := 0; r < rounds; r++ {
		if r > 0 {
			t := time.NewTimer(spacing)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		for _, p := range spec.Probes() {
			for _, d := range dst {
				if lim.Wait(ctx) != nil {
					return
				}
				_, err := conn.WriteToUDPAddrPort(p, d)
				c.mu.Lock()
				if err != nil {
					c.stats.Errors++
				} else {
					c.stats.Sent++
				}
				c.mu.Unlock()
			}
		}
	}
}

func (s *Sweeper) read(ctx context.Context, conn *net.UDPConn, spec Spec, c *collector, log *slog.Logger) {
	notReply := orNotReply(s.IsNotReply)
	buf := make([]byte, MaxReply+1)
	for {
		n, from, ok := receive(ctx, conn, buf)
		if !ok {
			return
		}
		c.mu.Lock()
		c.stats.Received++
		c.mu.Unlock()
		if n > MaxReply {
			c.drop(log, spec.Name, from, "reply larger than the cap", nil)
			continue
		}
		b := buf[:n]
		c.mu.Lock()
		snd := c.adm.screen(spec, from.Addr(), b, &c.stats)
		c.mu.Unlock()
		if snd == nil {
			continue
		}
		ids, err := safeParse(spec, from, b)
		if err != nil {
			if notReply(err) {
				c.mu.Lock()
				c.stats.Ignored++
				c.mu.Unlock()
				continue
			}
			c.drop(log, spec.Name, from, "malformed reply", err)
			continue
		}
		stamp(ids, spec.Name, from.Addr(), time.Now())
		c.mu.Lock()
		c.ids = c.adm.admit(spec, from.Addr(), snd, ids, c.ids, &c.stats)
		c.mu.Unlock()
	}
}

// orNotReply is f, or by default the test for ErrNotReply.
func orNotReply(f func(error) bool) func(error) bool {
	if f != nil {
		return f
	}
	return func(err error) bool { return errors.Is(err, ErrNotReply) }
}

// receive reads one datagram into buf and returns its length and sender
// (an IPv4 address unmapped). ok is false once the socket is done: ctx
// ended, the socket closed or past its read deadline. Other read errors
// are skipped.
func receive(ctx context.Context, conn *net.UDPConn, buf []byte) (int, netip.AddrPort, bool) {
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err == nil {
			return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), true
		}
		if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return 0, netip.AddrPort{}, false
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, netip.AddrPort{}, false
		}
	}
}

// stamp fills what a parser left unset: the source, the sender's address
// and the time of receipt.
func stamp(ids []identity.Identity, source string, from netip.Addr, now time.Time) {
	for i := range ids {
		if ids[i].Source == "" {
			ids[i].Source = source
		}
		if !ids[i].Addr.IsValid() {
			ids[i].Addr = from
		}
		if ids[i].Seen.IsZero() {
			ids[i].Seen = now
		}
	}
}

// logDrop is the debug line of a datagram that was not a valid answer.
func logDrop(log *slog.Logger, proto string, from netip.AddrPort, why string, err error) {
	log.Debug("dropped datagram", "protocol", proto, "from", from.String(), "why", why, "err", err)
}

// safeParse runs a protocol parser and turns a panic into an error: a
// hostile datagram must never take the sweep down.
func safeParse(spec Spec, from netip.AddrPort, b []byte) (ids []identity.Identity, err error) {
	defer func() {
		if r := recover(); r != nil {
			ids, err = nil, errors.New("discovery: parser panicked")
		}
	}()
	return spec.Parse(from, b)
}

func (c *collector) drop(log *slog.Logger, proto string, from netip.AddrPort, why string, err error) {
	c.mu.Lock()
	c.stats.Dropped++
	c.mu.Unlock()
	logDrop(log, proto, from, why, err)
}

// NotReply returns an error with the given message that errors.Is reports
// as ErrNotReply: protocol packages define their own "not a reply"
// sentinel with it, so that the engine ignores such datagrams quietly.
func NotReply(msg string) error { return notReply(msg) }

type notReply string

func (e notReply) Error() string        { return string(e) }
func (e notReply) Is(target error) bool { return target == ErrNotReply }
