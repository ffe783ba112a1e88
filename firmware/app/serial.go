package app

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/nvrguard/nvrguard/drivers/console"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/pelco"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/firmware/config"
)

// serialLoop listens to one configured port for as long as the daemon
// runs: a camera console (listen-only unless probe: newline) and, on the
// same line, Pelco frames; or, for kind pelco, an RS-485 bus (queried only
// with query: true). The port is re-opened when it comes back; a port the
// gateway must never open (its own console, a modem) is refused.
func (d *daemon) serialLoop(ctx context.Context, p config.SerialPort) {
	log := d.log.With("component", "serial", "port", p.Path)
	if _, err := (serial.System{Root: d.o.Root}).Check(p.Path); err != nil && !isNoDevice(err) {
		log.Error("serial port refused", "err", err)
		d.faults.set(led.FaultSerial, p.Path, true)
		return
	}
	var handlers []serial.Handler
	var w *console.Watcher
	b := &pelco.Bus{Port: p.Path, Logger: log}
	if p.Kind == "pelco" {
		if p.Query {
			for _, a := range p.PelcoAddresses {
				b.Query = append(b.Query, byte(a))
			}
		}
	} else {
		w = &console.Watcher{Port: p.Path, Probe: console.Probe(probeOf(p.Probe)), Logger: log}
		handlers = append(handlers, w)
	}
	handlers = append(handlers, b)
	st := &portState{}
	l := &serial.Listener{
		Path:   p.Path,
		Mode:   serial.Mode{Baud: p.Baud},
		Write:  p.Probe == "newline" || len(b.Query) > 0,
		Logger: log,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := l.Run(ctx, handlerList{st: st, hs: handlers}); err != nil && ctx.Err() == nil {
			log.Error("serial listener", "err", err)
			st.gone.Store(true)
		}
	}()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var last []identity.Identity
	for {
		select {
		case <-ctx.Done():
			<-done
			return
		case <-done:
			d.faults.set(led.FaultSerial, p.Path, true)
			return
		case <-tick.C:
		}
		d.faults.set(led.FaultSerial, p.Path, st.gone.Load())
		var ids []identity.Identity
		if w != nil {
			if id, ok := w.Identity(); ok {
				ids = append(ids, id)
			}
		}
		ids = append(ids, b.Identities()...)
		if sameIdentities(ids, last) {
			continue
		}
		last = ids
		d.send(ctx, update{slot: slotSerial(p.Path), ids: ids, at: time.Now()})
	}
}

func probeOf(s string) string {
	if s == "newline" {
		return string(console.ProbeNewline)
	}
	return string(console.ProbeNone)
}

// portState is what the daemon needs to know of a port: whether it is gone.
type portState struct{ gone atomic.Bool }

// handlerList hands what one port reads to several handlers and notes when
// the port goes away or comes back.
type handlerList struct {
	st *portState
	hs []serial.Handler
}

func (t handlerList) Opened(w io.Writer) {
	t.st.gone.Store(false)
	for _, h := range t.hs {
		h.Opened(w)
	}
}

func (t handlerList) Data(p []byte) {
	for _, h := range t.hs {
		h.Data(p)
	}
}

func (t handlerList) Idle(now time.Time) {
	for _, h := range t.hs {
		h.Idle(now)
	}
}

func (t handlerList) Closed(err error) {
	if err != nil {
		t.st.gone.Store(true)
	}
	for _, h := range t.hs {
		h.Closed(err)
	}
}

func sameIdentities(a, b []identity.Identity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Source != b[i].Source || len(a[i].Facts) != len(b[i].Facts) {
			return false
		}
		for j := range a[i].Facts {
			if a[i].Facts[j] != b[i].Facts[j] {
				return false
			}
		}
	}
	return true
}

// isNoDevice: a port that is not there yet is waited for, not refused.
func isNoDevice(err error) bool { return errors.Is(err, serial.ErrNoDevice) }
