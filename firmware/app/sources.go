package app

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
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
	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/drivers/wsd"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/scan"
	"github.com/nvrguard/nvrguard/mqtt"
)

// scanLoop sweeps the network now, then every scan.interval, and whenever
// a rescan is asked for (MQTT cmd/scan, the button, SIGHUP).
func (d *daemon) scanLoop(ctx context.Context) {
	for {
		cfg := d.config().Scan
		var cidrs []netip.Prefix
		for _, c := range cfg.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				cidrs = append(cidrs, p)
			}
		}
		began := time.Now()
		ids, st, err := scan.Run(ctx, d.sweepOptions(cfg, cidrs))
		if ctx.Err() != nil {
			return
		}
		noNet := errors.Is(err, discovery.ErrNoInterface) || (err == nil && st.Interfaces == 0)
		d.faults.set(led.FaultNetwork, "network", noNet)
		if err != nil {
			d.log.Warn("sweep failed", "err", err)
		} else {
			d.log.Info("sweep done", "identities", len(ids), "interfaces", st.Interfaces,
				"replies", st.Discovery.Received, "dropped", st.Discovery.Dropped, "duration", st.Duration.Round(time.Millisecond).String())
		}
		d.send(ctx, update{slot: slotNetwork, ids: ids, complete: err == nil && !noNet, at: began, err: err})
		t := time.NewTimer(cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-d.rescan:
			t.Stop()
			d.log.Info("rescan requested")
		}
	}
}

// sweepOptions are the options of one network sweep. USB and the serial
// ports have loops of their own (honouring usb.enabled and the root): a
// sweep reads no attached device.
func (d *daemon) sweepOptions(cfg config.Scan, cidrs []netip.Prefix) scan.Options {
	return scan.Options{
		Ifaces: cfg.Ifaces, CIDRs: cidrs, Timeout: cfg.Timeout, Rate: cfg.Rate,
		ONVIF:         onvif.Credentials{Username: cfg.ONVIF.Username, Password: cfg.ONVIF.Password.Reveal()},
		ONVIFRefusals: d.onvifRefusals(),
		NoBanners:     !cfg.Banners, ARPPath: d.path("proc/net/arp"), Logger: d.log.With("component", "scan"),
		NoAttached: true, NoUSB: true, SysRoot: d.o.Root,
	}
}

// neighbourLoop reads the neighbour table between sweeps, so that a camera
// that talks on the LAN is known before the next sweep.
func (d *daemon) neighbourLoop(ctx context.Context) {
	var last []string
	for {
		cfg := d.config().Scan
		t := time.NewTimer(cfg.NeighbourWatch)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		read := time.Now()
		ids, err := arp.Reader{Path: d.path("proc/net/arp"), Ifaces: cfg.Ifaces}.Read(ctx)
		if err != nil {
			d.log.Debug("neighbour table", "err", err)
			continue
		}
		macs := make([]string, 0, len(ids))
		for _, id := range ids {
			macs = append(macs, id.MAC+"@"+id.Addr.String())
		}
		slices.Sort(macs)
		if slices.Equal(macs, last) {
			continue
		}
		last = macs
		d.send(ctx, update{slot: slotNetwork, ids: ids, at: read})
	}
}

// listenLoop hears what devices announce between sweeps: a WS-Discovery
// Hello when a camera comes up, SSDP NOTIFY, the answers devices send to
// the discovery groups for other tools. An address the inventory does not
// hold brings the next sweep forward (batches every half second). With no
// interface, or no group joined, it tries again every 30 s.
func (d *daemon) listenLoop(ctx context.Context) {
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
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			ids := batch
			batch = nil
			mu.Unlock()
			if len(ids) > 0 {
				d.send(ctx, update{slot: "listen", ids: ids, at: time.Now(), heard: true})
			}
		}
	}()
	for ctx.Err() == nil {
		ifaces, err := discovery.Interfaces(d.config().Scan.Ifaces)
		if err == nil {
			l := &discovery.Listener{Interfaces: ifaces, Logger: d.log.With("component", "listen")}
			d.log.Debug("listening for announcements", "interfaces", len(ifaces))
			err = l.Listen(ctx, []discovery.Spec{wsd.Spec(), ssdp.Spec(), sadp.Spec(), dhip.Spec()}, heard)
		}
		if err != nil && ctx.Err() == nil {
			d.log.Debug("not listening for announcements", "err", err)
		}
		t := time.NewTimer(30 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// usbLoop reads the USB devices at start and whenever they change.
func (d *daemon) usbLoop(ctx context.Context) {
	r := usb.Reader{Root: d.o.Root}
	var last []string
	lastErr := ""
	first := true
	for {
		began := time.Now()
		ids, err := r.Read(ctx)
		if ctx.Err() != nil {
			return
		}
		var keys []string
		for _, id := range ids {
			keys = append(keys, id.Port+"|"+id.Get(identity.FieldUSBVendorID)+":"+id.Get(identity.FieldUSBProductID)+"|"+id.Get(identity.FieldSerial))
		}
		slices.Sort(keys)
		if msg := errString(err); msg != lastErr {
			lastErr = msg
			switch {
			case errors.Is(err, fs.ErrNotExist):
				d.log.Info("no USB bus on this machine", "err", err)
			case err != nil:
				d.log.Warn("USB devices", "err", err)
			}
		}
		// No USB bus at all (a VM, a container) is not a fault; a bus that
		// cannot be read is.
		d.faults.set(led.FaultSerial, "usb", err != nil && !errors.Is(err, fs.ErrNotExist))
		if first || !slices.Equal(keys, last) {
			first = false
			last = keys
			d.send(ctx, update{slot: slotUSB, ids: ids, complete: err == nil, at: began})
		}
		t := time.NewTimer(d.config().USB.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// commandLoop carries out the control room's commands.
func (d *daemon) commandLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-d.mq.Commands():
			if !ok {
				return
			}
			d.log.Info("command", "name", string(c.Name), "by", c.By, "request_id", c.RequestID)
			switch c.Name {
			case mqtt.CmdScan:
				d.requestScan()
			case mqtt.CmdAck:
				d.ack()
			}
		}
	}
}

// buttonLoop: a short press acknowledges, a long one asks for a rescan.
func (d *daemon) buttonLoop(ctx context.Context) {
	name := d.config().LED.Button
	pin, err := led.HostLine(name)
	if d.o.LEDLookup != nil {
		pin, err = d.o.LEDLookup(name)
	}
	if err != nil {
		d.log.Error("button unavailable", "line", name, "err", err)
		return
	}
	b := &led.Button{Pin: pin}
	err = b.Run(ctx, func(p led.Press) {
		if p == led.LongPress {
			d.requestScan()
			return
		}
		d.ack()
	})
	if err != nil && ctx.Err() == nil {
		d.log.Error("button", "err", err)
	}
}

// path joins a path under the injectable root.
func (d *daemon) path(p string) string {
	root := d.o.Root
	if root == "" || root == "/" {
		return "/" + p
	}
	return root + "/" + p
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
