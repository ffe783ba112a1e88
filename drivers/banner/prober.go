package banner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// maxConnsPerHost bounds the connections one Probe call has open at once.
const maxConnsPerHost = 3

// identityPaths are the unauthenticated identity paths asked for on an HTTP
// port after GET / answered. A 401 still gives its realm and Server header.
var identityPaths = []string{
	"/ISAPI/System/deviceInfo",
	"/cgi-bin/magicBox.cgi?action=getSystemInfo",
	"/cgi-bin/magicBox.cgi?action=getVendor",
}

// Prober reads the HTTP, RTSP and TLS banners of one address. It never logs
// in: it sends no credentials and guesses no passwords. The zero value
// probes nothing; NewProber returns one with the defaults. A Prober is not
// changed by Probe, so one may serve several goroutines at once.
type Prober struct {
	// Dialer opens the TCP connections; nil means a plain net.Dialer.
	Dialer *net.Dialer
	// Timeout bounds each connection, from dial to the last byte read
	// (default 2 s).
	Timeout time.Duration
	// MaxBody caps the body read from each HTTP or RTSP response (default 64 KiB).
	MaxBody int64
	// Logger receives debug records of probes that got no answer; nil
	// discards them.
	Logger *slog.Logger
	// HTTPPorts are asked GET / and, when that answers, the identity paths.
	HTTPPorts []int
	// RTSPPort is asked OPTIONS then DESCRIBE; 0 skips RTSP.
	RTSPPort int
	// TLSPort gives its certificate in a TLS handshake; 0 skips TLS.
	TLSPort int
}

// NewProber returns a Prober for port 80 (HTTP), 554 (RTSP) and 443 (TLS)
// with a 2 s timeout per connection and a 64 KiB body cap. Add 8080 or 8000
// to HTTPPorts to probe them too.
func NewProber() *Prober {
	return &Prober{
		Dialer:    &net.Dialer{Timeout: 2 * time.Second},
		Timeout:   2 * time.Second,
		MaxBody:   64 << 10,
		Logger:    slog.New(slog.DiscardHandler),
		HTTPPorts: []int{80},
		RTSPPort:  554,
		TLSPort:   443,
	}
}

func (p *Prober) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 2 * time.Second
}

func (p *Prober) maxBody() int64 {
	if p.MaxBody > 0 {
		return p.MaxBody
	}
	return 64 << 10
}

func (p *Prober) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Probe reads the banners of addr, with at most three connections open at
// a time. It returns one identity per protocol that answered ("http",
// "rtsp", "tls"), with the facts of all its answers merged and Addr set.
// Ports that refuse, time out or answer in another protocol are left out
// without an error; Probe fails only when ctx ends before anything answered.
func (p *Prober) Probe(ctx context.Context, addr netip.Addr) ([]identity.Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("banner: probe: %w", err)
	}
	if !addr.IsValid() {
		return nil, errors.New("banner: probe: invalid address")
	}
	addr = addr.Unmap()
	sem := make(chan struct{}, maxConnsPerHost)
	run := func(f func()) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			f()
		case <-ctx.Done():
		}
	}
	var wg sync.WaitGroup
	httpRes := make([][]*identity.Identity, len(p.HTTPPorts))
	for i, port := range p.HTTPPorts {
		httpRes[i] = make([]*identity.Identity, 1+len(identityPaths))
		if !validPort(port) {
			continue
		}
		ap := netip.AddrPortFrom(addr, uint16(port))
		wg.Go(func() {
			run(func() { httpRes[i][0] = p.probeHTTP(ctx, ap, "/") })
			if httpRes[i][0] == nil {
				return // nothing speaks HTTP there: spare the other paths
			}
			var paths sync.WaitGroup
			for j, path := range identityPaths {
				paths.Go(func() { run(func() { httpRes[i][j+1] = p.probeHTTP(ctx, ap, path) }) })
			}
			paths.Wait()
		})
	}
	var rtspRes, tlsRes *identity.Identity
	if validPort(p.RTSPPort) {
		wg.Go(func() { run(func() { rtspRes = p.probeRTSP(ctx, netip.AddrPortFrom(addr, uint16(p.RTSPPort))) }) })
	}
	if validPort(p.TLSPort) {
		wg.Go(func() { run(func() { tlsRes = p.probeTLS(ctx, netip.AddrPortFrom(addr, uint16(p.TLSPort))) }) })
	}
	wg.Wait()

	var all []*identity.Identity
	for _, port := range httpRes {
		all = append(all, port...)
	}
	var out []identity.Identity
	now := time.Now()
	for _, group := range [][]*identity.Identity{all, {rtspRes}, {tlsRes}} {
		if id, ok := merge(group, addr, now); ok {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		if err := ctxDone(ctx); err != nil {
			return nil, fmt.Errorf("banner: probe: %w", err)
		}
	}
	return out, nil
}

// ctxDone returns ctx.Err(), or context.DeadlineExceeded once the deadline
// has passed: connection deadlines can fire just before the context's timer
// marks it done.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func validPort(port int) bool { return port > 0 && port <= 65535 }

// merge folds the answers of one protocol into one identity.
func merge(ids []*identity.Identity, addr netip.Addr, seen time.Time) (identity.Identity, bool) {
	var out identity.Identity
	ok := false
	for _, id := range ids {
		if id == nil {
			continue
		}
		if !ok {
			out = identity.Identity{Source: id.Source, Addr: addr, Seen: seen}
			ok = true
		}
		if out.MAC == "" {
			out.MAC = id.MAC
		}
		for _, f := range id.Facts {
			out.Add(f.Field, f.Value)
		}
	}
	return out, ok
}

// exchange dials ap and runs f on the connection, all within Timeout and
// ctx: the deadline stops reads and writes, and ending ctx stops them too.
func (p *Prober) exchange(ctx context.Context, ap netip.AddrPort, f func(context.Context, net.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	d := p.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	conn, err := d.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	return f(ctx, conn)
}

// hostPort writes ap for a URL or Host header, leaving out defaultPort.
func hostPort(ap netip.AddrPort, defaultPort int) string {
	if int(ap.Port()) == defaultPort {
		if ap.Addr().Is6() {
			return "[" + ap.Addr().String() + "]"
		}
		return ap.Addr().String()
	}
	return net.JoinHostPort(ap.Addr().String(), strconv.Itoa(int(ap.Port())))
}

// noAnswer logs a probe that gave nothing. Device bytes never reach the
// message: the error is an attribute.
func (p *Prober) noAnswer(proto string, ap netip.AddrPort, path string, err error) {
	p.logger().Debug("banner: no usable answer", "proto", proto, "addr", ap.String(), "path", path, "err", err)
}
