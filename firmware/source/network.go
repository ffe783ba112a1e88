package source

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/arp"
	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/drivers/sadp"
	"github.com/nvrguard/nvrguard/drivers/ssdp"
	"github.com/nvrguard/nvrguard/drivers/wsd"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/scan"
)

// Slots of the network sources. The sweeps and the neighbour reads between
// them share one slot: the neighbour table is read by every sweep too.
const (
	SlotNetwork = "network"
	SlotListen  = "listen"
)

// ErrNoInterface: no interface to probe from; nothing on the network was
// scanned.
var ErrNoInterface = errors.New("no usable network interface (none up with an IPv4 address, or none of --iface)")

func networkSources(env Env) ([]Instance, error) {
	return []Instance{{
		Name: "network", Slot: SlotNetwork, Kind: Poll,
		Interval: func(c config.Config) time.Duration { return c.Scan.Interval },
		Fault:    led.FaultNetwork, Scan: true, Run: true,
		Source: Func(func(ctx context.Context, emit Emit) error { return sweep(ctx, env, emit) }),
	}}, nil
}

// SweepOptions are the options of one network sweep under the
// configuration in force.
func SweepOptions(env Env, cfg config.Scan) scan.Options {
	var cidrs []netip.Prefix
	for _, c := range cfg.CIDRs {
		if p, err := netip.ParsePrefix(c); err == nil {
			cidrs = append(cidrs, p)
		}
	}
	return scan.Options{
		Ifaces: cfg.Ifaces, CIDRs: cidrs, Timeout: cfg.Timeout, Rate: cfg.Rate,
		ONVIF:         onvif.Credentials{Username: cfg.ONVIF.Username, Password: cfg.ONVIF.Password.Reveal()},
		ONVIFRefusals: env.refusals(),
		NoBanners:     !cfg.Banners, ARPPath: rooted(env.Root, "proc/net/arp"),
		Logger: env.log().With("component", "scan"), Progress: env.Progress,
	}
}

// sweep is one sweep of the network: discovery, the neighbour table, the
// UPnP descriptions, ONVIF and the banners (firmware/scan).
func sweep(ctx context.Context, env Env, emit Emit) error {
	began := time.Now()
	o := SweepOptions(env, env.Config().Scan)
	ids, st, err := scan.Run(ctx, o)
	if err != nil {
		return err
	}
	log := env.log().With("component", "scan")
	log.Info("sweep done", "identities", len(ids), "interfaces", st.Interfaces,
		"sent", st.Discovery.Sent, "replies", st.Discovery.Received, "dropped", st.Discovery.Dropped,
		"neighbours", st.Neighbours, "banner_hosts", st.Banners, "duration", st.Duration.Round(time.Millisecond).String())
	if st.Interfaces == 0 {
		// What unicast found is kept, but a sweep from no interface is
		// not a whole reading of the LAN: nothing is missed by it.
		if len(ids) > 0 {
			emit(Reading{IDs: ids, At: began})
		}
		return ErrNoInterface
	}
	emit(Reading{IDs: ids, Complete: true, At: began})
	return nil
}

// neighbourSources reads the neighbour table between sweeps (the daemon
// only), so that a camera that talks on the LAN is known before the next
// sweep.
func neighbourSources(env Env) ([]Instance, error) {
	return []Instance{{
		Name: "neighbours", Slot: SlotNetwork, Kind: Poll, OnlyChanges: true, Run: true,
		Interval: func(c config.Config) time.Duration { return c.Scan.NeighbourWatch },
		Source: Func(func(ctx context.Context, emit Emit) error {
			at := time.Now()
			ids, err := arp.Reader{Path: rooted(env.Root, "proc/net/arp"), Ifaces: env.Config().Scan.Ifaces}.Read(ctx)
			if err != nil {
				return fmt.Errorf("neighbour table: %w", err)
			}
			emit(Reading{IDs: ids, At: at})
			return nil
		}),
	}}, nil
}

// listenSources hear what devices announce between sweeps (the daemon
// only, with scan.listen): a WS-Discovery Hello when a camera comes up,
// SSDP NOTIFY, the answers devices send to the discovery groups for other
// tools, in batches every half second.
func listenSources(env Env) ([]Instance, error) {
	if !env.Config().Scan.Listen {
		return nil, nil
	}
	return []Instance{{
		Name: "listen", Slot: SlotListen, Kind: Listen, Run: true,
		Source: Func(func(ctx context.Context, emit Emit) error { return listen(ctx, env, emit) }),
	}}, nil
}

func listen(ctx context.Context, env Env, emit Emit) error {
	ifaces, err := discovery.Interfaces(env.Config().Scan.Ifaces)
	if err != nil {
		return err
	}
	var (
		mu    sync.Mutex
		batch []identity.Identity
	)
	heard := func(ids []identity.Identity) {
		mu.Lock()
		if len(batch) < 4096 {
			batch = append(batch, ids...)
		}
		mu.Unlock()
	}
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			ids := batch
			batch = nil
			mu.Unlock()
			if len(ids) > 0 {
				emit(Reading{IDs: ids, At: time.Now(), Heard: true})
			}
		}
	}()
	l := &discovery.Listener{Interfaces: ifaces, Logger: env.log().With("component", "listen")}
	err = l.Listen(lctx, []discovery.Spec{wsd.Spec(), ssdp.Spec(), sadp.Spec(), dhip.Spec()}, heard)
	stop()
	<-done
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("listener stopped")
	}
	return err
}

// rooted joins p under root ("/" when empty).
func rooted(root, p string) string {
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}
