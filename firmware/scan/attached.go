package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/console"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/pelco"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/usb"
)

// SerialPort is one port a scan listens to: a camera console or an RS-485
// PTZ line. Only the ports listed in Options.Serial are ever opened.
type SerialPort struct {
	Path string
	// Baud is the line speed (serial.DefaultBaud when zero).
	Baud int
	// Probe is console.ProbeNewline to send one carriage return to a quiet
	// console (opt-in); listen-only otherwise.
	Probe console.Probe
	// Query lists Pelco-D addresses to query on a silent bus (opt-in).
	Query []byte
}

// AttachedStats counts what the attached sources did.
type AttachedStats struct {
	USBDevices  int
	SerialPorts int // ports listened to
}

// Attached reads the sources wired to the gateway: the USB devices (unless
// o.NoUSB), and each port of o.Serial, listened to until ctx ends: pass a
// context with the scan's deadline. It opens no other port, and none that
// serial.System.Check refuses (the gateway's console, a login prompt, a
// modem, Bluetooth, a port locked by another program): that is an error
// before anything is read. A port that is missing or goes away is waited
// for and re-opened; what it printed before is kept.
func Attached(ctx context.Context, o Options) ([]identity.Identity, AttachedStats, error) {
	log := logger(o)
	if err := checkSerial(serial.System{Root: o.SysRoot}, o.Serial, log); err != nil {
		return nil, AttachedStats{}, err
	}
	ids, st := attached(ctx, o, log)
	return ids, st, nil
}

func logger(o Options) *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// attached reads the attached sources of checked options.
func attached(ctx context.Context, o Options, log *slog.Logger) ([]identity.Identity, AttachedStats) {
	var st AttachedStats
	if len(o.Serial) == 0 {
		logCandidates(serial.System{Root: o.SysRoot}, log)
	}
	var ids []identity.Identity
	if !o.NoUSB {
		u, err := usb.Reader{Root: o.SysRoot}.Read(ctx)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			log.Debug("no USB bus", "err", err) // a machine without USB
		case err != nil:
			log.Warn("USB devices", "err", err)
		}
		st.USBDevices = len(u)
		ids = append(ids, u...)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, sp := range o.Serial {
		st.SerialPorts++
		wg.Go(func() {
			found := listen(ctx, sp, o.OpenSerial, log)
			mu.Lock()
			ids = append(ids, found...)
			mu.Unlock()
		})
	}
	wg.Wait()
	now := time.Now()
	for i := range ids {
		if ids[i].Seen.IsZero() {
			ids[i].Seen = now
		}
	}
	return ids, st
}

// checkSerial refuses the ports that must never be opened; a missing port
// is only a warning (the adapter may be plugged in during the scan).
func checkSerial(sys serial.System, ports []SerialPort, log *slog.Logger) error {
	for _, sp := range ports {
		c, err := sys.Check(sp.Path)
		switch {
		case errors.Is(err, serial.ErrNoDevice):
			log.Warn("serial port not present; listening for it until the scan ends", "port", sp.Path)
		case err != nil:
			return fmt.Errorf("scan: %w", err)
		default:
			log.Debug("serial port", "port", sp.Path, "tty", c.Name, "driver", c.Driver, "usb", c.USB)
		}
	}
	return nil
}

// logCandidates names the ports an engineer could give --serial; none is
// opened.
func logCandidates(sys serial.System, log *slog.Logger) {
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

// listen reads one port until ctx ends, as a console and as a PTZ bus.
func listen(ctx context.Context, sp SerialPort, open serial.Opener, log *slog.Logger) (out []identity.Identity) {
	w := &console.Watcher{Port: sp.Path, Probe: sp.Probe, Logger: log}
	b := &pelco.Bus{Port: sp.Path, Query: sp.Query, Logger: log}
	defer func() {
		// A parser bug costs this port's evidence, not the scan.
		if r := recover(); r != nil {
			log.Error("serial port reader failed", "port", sp.Path, "panic", fmt.Sprint(r))
			out = nil
		}
	}()
	l := &serial.Listener{
		Path:   sp.Path,
		Mode:   serial.Mode{Baud: sp.Baud},
		Open:   open,
		Write:  sp.Probe == console.ProbeNewline || len(sp.Query) > 0,
		Logger: log,
	}
	if err := l.Run(ctx, tee{w, b}); err != nil {
		log.Warn("serial port", "port", sp.Path, "err", err)
	}
	if id, ok := w.Identity(); ok {
		out = append(out, id)
	}
	return append(out, b.Identities()...)
}

// tee hands what one port reads to several handlers.
type tee []serial.Handler

func (t tee) Opened(w io.Writer) {
	for _, h := range t {
		h.Opened(w)
	}
}

func (t tee) Data(p []byte) {
	for _, h := range t {
		h.Data(p)
	}
}

func (t tee) Idle(now time.Time) {
	for _, h := range t {
		h.Idle(now)
	}
}

func (t tee) Closed(err error) {
	for _, h := range t {
		h.Closed(err)
	}
}
