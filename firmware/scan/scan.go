// Package scan runs one sweep of the network: the vendor discovery
// protocols on every chosen interface (and a unicast sweep of configured
// CIDRs), the neighbour table, the UPnP descriptions behind SSDP answers,
// ONVIF GetDeviceInformation and the HTTP/RTSP/TLS banners of every address
// found, all under one deadline. It returns identities; merging and
// classification are the caller's. It is the "network" row of
// firmware/source's table.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/arp"
	"github.com/nvrguard/nvrguard/drivers/banner"
	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/sadp"
	"github.com/nvrguard/nvrguard/drivers/ssdp"
	"github.com/nvrguard/nvrguard/drivers/wsd"
)

// Options configure one scan.
type Options struct {
	// Ifaces names the interfaces to probe from; empty means every up,
	// non-loopback IPv4 interface.
	Ifaces []string
	// CIDRs are swept by unicast WS-Discovery (cameras on routed VLANs).
	CIDRs []netip.Prefix
	// Timeout bounds the whole scan.
	Timeout time.Duration
	// MaxCIDRHosts bounds the unicast sweep (default 4096 hosts).
	MaxCIDRHosts int
	// Rate is the global probe rate in datagrams per second (default
	// discovery.DefaultRate).
	Rate float64
	// ARPPath is the neighbour table (default /proc/net/arp).
	ARPPath string
	// NoBanners skips the HTTP/RTSP/TLS enrichment.
	NoBanners bool
	// ONVIF is the account GetDeviceInformation is asked with, on every
	// camera whose WS-Discovery answer gives an http:// XAddr on its own
	// address; the zero value asks anonymously.
	ONVIF onvif.Credentials
	// ONVIFRefusals, when set, keeps the account off the cameras that
	// refused it lately (a daemon keeps one across sweeps); nil tries
	// every camera once.
	ONVIFRefusals *onvif.Refusals
	// BannerConcurrency bounds how many hosts are probed at once (default 16).
	BannerConcurrency int
	// Prober probes banners; nil means banner.NewProber().
	Prober *banner.Prober
	Logger *slog.Logger
	// Progress, when set, receives short human-readable progress lines.
	Progress func(msg string)
}

// Stats counts what one scan did.
type Stats struct {
	Interfaces int
	Discovery  discovery.Stats
	Neighbours int
	Banners    int // hosts probed
	Duration   time.Duration
}

// Run performs one scan. On a machine with no cameras it returns no
// identities and no error when its deadline passes.
func Run(ctx context.Context, o Options) ([]identity.Identity, Stats, error) {
	start := time.Now()
	var st Stats
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 8 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ifaces, err := discovery.Interfaces(o.Ifaces)
	if err != nil && !errors.Is(err, discovery.ErrNoInterface) {
		return nil, st, fmt.Errorf("scan: %w", err)
	}
	st.Interfaces = len(ifaces)
	var hosts []netip.Addr
	maxHosts := o.MaxCIDRHosts
	if maxHosts <= 0 {
		maxHosts = 4096
	}
	for _, c := range o.CIDRs {
		h, err := discovery.Hosts(c, maxHosts-len(hosts))
		if err != nil {
			return nil, st, fmt.Errorf("scan: --cidr: %w", err)
		}
		hosts = append(hosts, h...)
	}
	rate := o.Rate
	if rate <= 0 {
		rate = discovery.DefaultRate
	}

	// Discovery takes the first part of the budget, enrichment the rest.
	sweepFor := max(timeout*2/5, min(timeout, 2*time.Second))
	if len(hosts) > 0 {
		// A unicast sweep needs time for its datagrams at the global rate.
		need := time.Duration(float64(len(hosts)*2)/rate*float64(time.Second)) + 3*time.Second
		sweepFor = min(max(sweepFor, need), timeout*3/4)
	}
	progress(fmt.Sprintf("probing from %d interface(s)%s", len(ifaces), cidrNote(len(hosts))))
	sctx, scancel := context.WithTimeout(ctx, sweepFor)
	sw := &discovery.Sweeper{
		Interfaces: ifaces,
		Unicast:    hosts,
		Rounds:     3,
		Spacing:    300 * time.Millisecond,
		Limiter:    discovery.NewLimiter(rate, 32),
		Logger:     log,
	}
	var ids []identity.Identity
	if len(ifaces) > 0 || len(hosts) > 0 {
		found, dst, err := sw.Sweep(sctx, specs())
		if err != nil {
			log.Warn("discovery failed", "err", err)
		}
		st.Discovery = dst
		ids = append(ids, found...)
	}
	scancel()
	progress(fmt.Sprintf("%d discovery replies", len(ids)))

	// The neighbour table, read after the sweep: the probes filled it.
	names := make([]string, 0, len(ifaces))
	for _, i := range ifaces {
		names = append(names, i.Name)
	}
	neigh, err := arp.Reader{Path: o.ARPPath, Ifaces: names}.Read(ctx)
	if err != nil {
		log.Debug("neighbour table unavailable", "err", err)
	}
	st.Neighbours = len(neigh)
	ids = append(ids, neigh...)

	ids = append(ids, fetchDescriptions(ctx, ids, log)...)
	ids = append(ids, deviceInformation(ctx, o, ids, log)...)

	if !o.NoBanners {
		addrs := addresses(ids)
		progress(fmt.Sprintf("reading banners of %d address(es)", len(addrs)))
		b := probeBanners(ctx, o, addrs, log)
		st.Banners = len(addrs)
		ids = append(ids, b...)
	}
	st.Duration = time.Since(start)
	return ids, st, nil
}

func cidrNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and sweeping %d host(s) by unicast", n)
}

func specs() []discovery.Spec {
	w := wsd.Spec()
	w.Unicast = true
	return []discovery.Spec{sadp.Spec(), dhip.Spec(), w, ssdp.Spec()}
}

// addresses lists every distinct unicast IPv4 address the sources found.
func addresses(ids []identity.Identity) []netip.Addr {
	var out []netip.Addr
	for _, id := range ids {
		a := id.Addr
		if !a.IsValid() || !a.Is4() || a.IsMulticast() || a.IsUnspecified() {
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// fetchDescriptions fetches the UPnP description behind each SSDP answer's
// LOCATION, only from the host that answered.
func fetchDescriptions(ctx context.Context, ids []identity.Identity, log *slog.Logger) []identity.Identity {
	client := deviceClient() // FetchDescription itself refuses redirects and other hosts
	var out []identity.Identity
	done := map[string]bool{}
	for _, id := range ids {
		if id.Source != identity.SourceSSDP {
			continue
		}
		loc := id.Get(identity.FieldURL)
		if loc == "" || done[loc] {
			continue
		}
		done[loc] = true
		d, err := ssdp.FetchDescription(ctx, client, loc, id.Addr)
		if err != nil {
			log.Debug("UPnP description", "from", id.Addr.String(), "err", err)
			continue
		}
		for i := range d {
			if !d[i].Addr.IsValid() {
				d[i].Addr = id.Addr
			}
		}
		out = append(out, d...)
	}
	return out
}

// deviceInformation asks the ONVIF device service of every camera that
// answered WS-Discovery, at the first http:// XAddr on the address that
// answered, a few at a time. A refusal (ter:NotAuthorized without an
// account) is a debug line: the discovery answer stays the evidence.
func deviceInformation(ctx context.Context, o Options, ids []identity.Identity, log *slog.Logger) []identity.Identity {
	type target struct {
		xaddr string
		from  netip.Addr
	}
	var targets []target
	asked := map[netip.Addr]bool{}
	for _, id := range ids {
		if id.Source != identity.SourceWSD || asked[id.Addr] {
			continue
		}
		for _, f := range id.Facts {
			if f.Field != identity.FieldURL {
				continue
			}
			if _, err := discovery.AdvertisedURL(f.Value, id.Addr); err == nil {
				targets = append(targets, target{f.Value, id.Addr})
				asked[id.Addr] = true
				break
			}
		}
	}
	c := &onvif.Client{HTTP: deviceClient(), Credentials: o.ONVIF}
	withAccount := o.ONVIF.Username != ""
	targets = slices.DeleteFunc(targets, func(tg target) bool {
		if withAccount && o.ONVIFRefusals != nil && !o.ONVIFRefusals.Allowed(tg.from, time.Now()) {
			log.Debug("ONVIF GetDeviceInformation skipped: the camera refused the account lately", "addr", tg.from.String())
			return true
		}
		return false
	})
	return gather(ctx, 8, targets, func(tg target) []identity.Identity {
		got, err := c.DeviceInformation(ctx, tg.xaddr, tg.from)
		switch {
		case err == nil:
			return got
		case withAccount && onvif.IsNotAuthorized(err):
			// A wrong password tried every sweep would lock the gateway
			// out of the camera.
			if o.ONVIFRefusals != nil {
				o.ONVIFRefusals.Refused(tg.from, time.Now())
			}
			log.Warn("ONVIF account refused; not tried on this camera again for a while", "addr", tg.from.String())
		default:
			log.Debug("ONVIF GetDeviceInformation", "addr", tg.from.String(), "err", err)
		}
		return nil
	})
}

// deviceClient is the HTTP client of the requests a scan makes to devices
// (UPnP descriptions, ONVIF): no proxy, no keep-alive, 16 KiB of headers,
// 2 s to connect, 3 s in all.
func deviceClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, MaxResponseHeaderBytes: 16 << 10,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext},
		Timeout: 3 * time.Second,
	}
}

// gather runs f on every item, at most n at a time, until ctx ends, and
// returns all they found.
func gather[T any](ctx context.Context, n int, items []T, f func(T) []identity.Identity) []identity.Identity {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out []identity.Identity
		sem = make(chan struct{}, n)
	)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			got := f(it)
			mu.Lock()
			out = append(out, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func probeBanners(ctx context.Context, o Options, addrs []netip.Addr, log *slog.Logger) []identity.Identity {
	p := o.Prober
	if p == nil {
		p = banner.NewProber()
	}
	p.Logger = log
	n := o.BannerConcurrency
	if n <= 0 {
		n = 16
	}
	return gather(ctx, n, addrs, func(a netip.Addr) []identity.Identity {
		ids, err := p.Probe(ctx, a)
		if err != nil {
			log.Debug("banners", "addr", a.String(), "err", err)
		}
		return ids
	})
}
