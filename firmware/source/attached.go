package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/nvrguard/nvrguard/drivers/console"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/pelco"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/firmware/config"
)

// SlotUSB is the evidence slot of the USB bus.
const SlotUSB = "usb"

// SlotSerial is the evidence slot of one serial port.
func SlotSerial(path string) string { return "serial:" + path }

// usbSources reads the USB devices (usb.enabled; scan --no-usb turns it
// off): the bus is not even opened when disabled.
func usbSources(env Env) ([]Instance, error) {
	if !env.Config().USB.Enabled {
		return nil, nil
	}
	r := usb.Reader{Root: env.Root}
	return []Instance{{
		Name: "usb", Slot: SlotUSB, Kind: Poll, OnlyChanges: true, Fault: led.FaultSerial, Scan: true, Run: true,
		Interval: func(c config.Config) time.Duration { return c.USB.Poll },
		Source: Func(func(ctx context.Context, emit Emit) error {
			at := time.Now()
			ids, err := r.Read(ctx)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// No USB bus at all (a VM, a container): nothing attached,
				// not a fault.
				env.log().Debug("no USB bus", "err", err)
				err = nil
			case err != nil:
				return fmt.Errorf("usb: %w", err)
			}
			stamp(ids, at)
			emit(Reading{IDs: ids, Complete: true, At: at})
			return nil
		}),
	}}, nil
}

// serialSources listens to each configured port: a camera console
// (listen-only unless probe: newline) with, on the same line, Pelco
// frames; or, for kind pelco, an RS-485 bus (queried only with query:
// true). No other port is ever opened. In a scan (Env.Scan) a port that
// must never be opened (the gateway's own console, a login prompt, a
// modem) is an error before anything is read; the daemon shows it as a
// fault and checks it again later.
func serialSources(env Env) ([]Instance, error) {
	cfg := env.Config()
	sys := serial.System{Root: env.Root}
	if len(cfg.Serial.Ports) == 0 && env.Scan {
		logCandidates(sys, env)
	}
	var out []Instance
	for _, p := range cfg.Serial.Ports {
		if env.Scan {
			if _, err := sys.Check(p.Path); err != nil && !errors.Is(err, serial.ErrNoDevice) {
				return nil, err
			}
		}
		pr := &portReader{env: env, port: p}
		out = append(out, Instance{
			Name: SlotSerial(p.Path), Slot: SlotSerial(p.Path), Kind: Listen, Fault: led.FaultSerial,
			Scan: true, Run: true, Source: pr,
		})
	}
	return out, nil
}

// logCandidates names the ports an engineer could give --serial; none is
// opened.
func logCandidates(sys serial.System, env Env) {
	log := env.log()
	cands, err := sys.Candidates()
	if err != nil {
		log.Debug("serial ports", "err", err)
		return
	}
	for _, c := range cands {
		if c.Refused != "" {
			log.Debug("serial port never opened", "port", c.Path, "why", c.Refused)
			continue
		}
		log.Info("serial port not opened (name it with --serial)", "port", c.Path, "driver", c.Driver, "usb", c.USB, "on_board", c.OnBoard)
	}
}

// ErrPortGone: the serial port went away; it is re-opened when it comes
// back, and what it printed before is kept.
var ErrPortGone = errors.New("serial port gone; waiting for it to come back")

// portReader reads one serial port for as long as Read runs.
type portReader struct {
	env  Env
	port config.SerialPort
	gone atomic.Bool
}

// Health implements Healther: a port that went away is a fault while the
// listener waits for it.
func (r *portReader) Health() error {
	if r.gone.Load() {
		return ErrPortGone
	}
	return nil
}

// Read implements Source.
func (r *portReader) Read(ctx context.Context, emit Emit) (err error) {
	p := r.port
	log := r.env.log().With("component", "serial", "port", p.Path)
	if _, err := (serial.System{Root: r.env.Root}).Check(p.Path); err != nil {
		if !errors.Is(err, serial.ErrNoDevice) {
			return err
		}
		log.Warn("serial port not present; listening for it", "port", p.Path)
	}
	var w *console.Watcher
	var hs handlers
	b := &pelco.Bus{Port: p.Path, Logger: log}
	if p.Kind == "pelco" {
		if p.Query {
			for _, a := range p.PelcoAddresses {
				b.Query = append(b.Query, byte(a))
			}
		}
	} else {
		probe := console.ProbeNone
		if p.Probe == "newline" {
			probe = console.ProbeNewline
		}
		w = &console.Watcher{Port: p.Path, Probe: probe, Logger: log}
		hs = append(hs, w)
	}
	hs = append(hs, b)
	l := &serial.Listener{
		Path: p.Path, Mode: serial.Mode{Baud: p.Baud}, Open: r.env.OpenSerial,
		Write:  p.Probe == "newline" || len(b.Query) > 0,
		Logger: log,
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			// A parser bug costs this port's evidence, not the gateway.
			if v := recover(); v != nil {
				log.Error("serial port reader failed", "panic", fmt.Sprint(v))
				done <- fmt.Errorf("serial port reader failed: %v", v)
			}
		}()
		done <- l.Run(ctx, tracker{r: r, hs: hs})
	}()
	var last []identity.Identity
	sent := false
	current := func() []identity.Identity {
		var ids []identity.Identity
		if w != nil {
			if id, ok := w.Identity(); ok {
				ids = append(ids, id)
			}
		}
		ids = append(ids, b.Identities()...)
		stamp(ids, time.Now())
		return ids
	}
	flush := func() {
		ids := current()
		if sent && Same(ids, last) {
			return
		}
		if len(ids) == 0 && !sent {
			return
		}
		last, sent = ids, true
		emit(Reading{IDs: ids, At: time.Now()})
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			flush()
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("serial listener stopped")
			}
			return err
		case <-tick.C:
			flush()
		}
	}
}

// tracker hands what one port reads to several handlers and notes when
// the port goes away or comes back.
type tracker struct {
	r  *portReader
	hs handlers
}

func (t tracker) Opened(w io.Writer) { t.r.gone.Store(false); t.hs.Opened(w) }
func (t tracker) Data(p []byte)      { t.hs.Data(p) }
func (t tracker) Idle(now time.Time) { t.hs.Idle(now) }
func (t tracker) Closed(err error) {
	if err != nil {
		t.r.gone.Store(true)
	}
	t.hs.Closed(err)
}

// handlers hands what one port reads to several handlers.
type handlers []serial.Handler

func (hs handlers) Opened(w io.Writer) {
	for _, h := range hs {
		h.Opened(w)
	}
}

func (hs handlers) Data(p []byte) {
	for _, h := range hs {
		h.Data(p)
	}
}

func (hs handlers) Idle(now time.Time) {
	for _, h := range hs {
		h.Idle(now)
	}
}

func (hs handlers) Closed(err error) {
	for _, h := range hs {
		h.Closed(err)
	}
}

// stamp sets the time seen of the identities that have none.
func stamp(ids []identity.Identity, at time.Time) {
	for i := range ids {
		if ids[i].Seen.IsZero() {
			ids[i].Seen = at
		}
	}
}

// Same says whether two readings hold the same identities, whatever their
// times.
func Same(a, b []identity.Identity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Source != y.Source || x.Addr != y.Addr || x.MAC != y.MAC || x.Port != y.Port ||
			(x.Via == nil) != (y.Via == nil) || (x.Via != nil && *x.Via != *y.Via) || len(x.Facts) != len(y.Facts) {
			return false
		}
		for j := range x.Facts {
			if x.Facts[j] != y.Facts[j] {
				return false
			}
		}
	}
	return true
}
