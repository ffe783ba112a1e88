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
	// BannerConcurrency bounds how many hosts are enriched (UPnP
	// descriptions, ONVIF, banners) at once (default 16).
	BannerConcurrency int
	// HostBudget bounds the enrichment of one host (default 4 s), inside
	// the scan's deadline.
	HostBudget time.Duration
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

	// Enrichment: every host on its own, in parallel, each within its own
	// budget, so that a slow host (a trickling LOCATION, a stalled XAddr)
	// costs its own budget and never the others' banners.
	addrs := addresses(ids)
	if !o.NoBanners {
		progress(fmt.Sprintf("reading banners of %d address(es)", len(addrs)))
		st.Banners = len(addrs)
	}
	ids = append(ids, enrich(ctx, o, ids, addrs, log)...)
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

// maxLocations bounds the UPnP descriptions fetched from one host.
const maxLocations = 4

// enrich reads, for each address, the UPnP descriptions behind its SSDP
// answers, its ONVIF device information and its banners: hosts in
// parallel (BannerConcurrency at a time), each host's descriptions and
// ONVIF beside its banners, all within the host's budget.
func enrich(ctx context.Context, o Options, ids []identity.Identity, addrs []netip.Addr, log *slog.Logger) []identity.Identity {
	locs := map[netip.Addr][]string{}
	for _, id := range ids {
		if id.Source != identity.SourceSSDP {
			continue
		}
		for _, f := range id.Facts {
			if f.Field == identity.FieldURL && !slices.Contains(locs[id.Addr], f.Value) && len(locs[id.Addr]) < maxLocations {
				locs[id.Addr] = append(locs[id.Addr], f.Value)
			}
		}
	}
	onvifAt := onvifTargets(o, ids, log)
	client := deviceClient() // FetchDescription itself refuses redirects and other hosts
	c := &onvif.Client{HTTP: deviceClient(), Credentials: o.ONVIF}
	var p *banner.Prober
	if !o.NoBanners {
		p = o.Prober
		if p == nil {
			p = banner.NewProber()
		}
		p.Logger = log
	}
	budget := o.HostBudget
	if budget <= 0 {
		budget = 4 * time.Second
	}
	n := o.BannerConcurrency
	if n <= 0 {
		n = 16
	}
	hosts := addrs
	for a := range locs {
		if !slices.Contains(hosts, a) {
			hosts = append(hosts, a)
		}
	}
	return gather(ctx, n, hosts, func(a netip.Addr) []identity.Identity {
		hctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		var (
			mu  sync.Mutex
			out []identity.Identity
			wg  sync.WaitGroup
		)
		add := func(got []identity.Identity) {
			mu.Lock()
			out = append(out, got...)
			mu.Unlock()
		}
		if p != nil {
			wg.Go(func() {
				got, err := p.Probe(hctx, a)
				if err != nil {
					log.Debug("banners", "addr", a.String(), "err", err)
				}
				add(got)
			})
		}
		wg.Go(func() {
			for _, loc := range locs[a] {
				add(fetchDescription(hctx, client, loc, a, log))
			}
			if xaddr, ok := onvifAt[a]; ok {
				add(deviceInformation(hctx, o, c, xaddr, a, log))
			}
		})
		wg.Wait()
		return out
	})
}

// fetchDescription fetches the UPnP description at an SSDP answer's
// LOCATION, only from the host that answered.
func fetchDescription(ctx context.Context, client *http.Client, loc string, from netip.Addr, log *slog.Logger) []identity.Identity {
	d, err := ssdp.FetchDescription(ctx, client, loc, from)
	if err != nil {
		log.Debug("UPnP description", "from", from.String(), "err", err)
		return nil
	}
	for i := range d {
		if !d[i].Addr.IsValid() {
			d[i].Addr = from
		}
	}
	return d
}

// onvifTargets picks, for every camera that answered WS-Discovery, the
// first http:// XAddr on the address that answered; cameras that refused
// the configured account lately are left out.
func onvifTargets(o Options, ids []identity.Identity, log *slog.Logger) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	withAccount := o.ONVIF.Username != ""
	for _, id := range ids {
		if id.Source != identity.SourceWSD {
			continue
		}
		if _, ok := out[id.Addr]; ok {
			continue
		}
		for _, f := range id.Facts {
			if f.Field != identity.FieldURL {
				continue
			}
			if _, err := discovery.AdvertisedURL(f.Value, id.Addr); err == nil {
				out[id.Addr] = f.Value
				break
			}
		}
		if _, ok := out[id.Addr]; ok && withAccount && o.ONVIFRefusals != nil && !o.ONVIFRefusals.Allowed(id.Addr, time.Now()) {
			log.Debug("ONVIF GetDeviceInformation skipped: the camera refused the account lately", "addr", id.Addr.String())
			delete(out, id.Addr)
		}
	}
	return out
}

// deviceInformation asks the ONVIF device service of one camera. A
// refusal (ter:NotAuthorized without an account) is a debug line: the
// discovery answer stays the evidence.
func deviceInformation(ctx context.Context, o Options, c *onvif.Client, xaddr string, from netip.Addr, log *slog.Logger) []identity.Identity {
	withAccount := o.ONVIF.Username != ""
	got, err := c.DeviceInformation(ctx, xaddr, from)
	switch {
	case err == nil:
		return got
	case withAccount && onvif.IsNotAuthorized(err):
		// A wrong password tried every sweep would lock the gateway out
		// of the camera.
		if o.ONVIFRefusals != nil {
			o.ONVIFRefusals.Refused(from, time.Now())
		}
		log.Warn("ONVIF account refused; not tried on this camera again for a while", "addr", from.String())
	default:
		log.Debug("ONVIF GetDeviceInformation", "addr", from.String(), "err", err)
	}
	return nil
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
