// Package app is the gateway daemon behind `nvrguard run`: it wires the
// sources (network sweeps on a schedule, the neighbour table between them,
// USB on change, serial listeners), the inventory, the policy and the sinks
// (status LED, MQTT, the persisted state) together and supervises them.
//
// One goroutine owns the inventory; sources send it observations over a
// channel, it classifies, derives events, publishes, persists and picks the
// LED state. Shutdown (ctx ends) stops the sources, publishes "offline",
// closes the MQTT client and halts the LED, within a deadline.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/boards"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/mqtt"
	"github.com/nvrguard/nvrguard/mqtt/broker"
)

// Options are what `nvrguard run` hands the daemon besides the config.
type Options struct {
	Config     config.Config
	ConfigPath string // re-read on SIGHUP; empty: nothing to re-read
	Version    string
	Logger     *slog.Logger
	// Console is where a console LED writes (stderr).
	Console io.Writer
	// Root is where /proc, /sys and /dev are found ("/" when empty; tests
	// give a temporary tree).
	Root string
	// Reload receives a value for each SIGHUP.
	Reload <-chan struct{}
	// LEDLookup finds GPIO lines (tests give gpiotest pins); nil: the host.
	LEDLookup led.LineLookup
	// ShutdownTimeout bounds the shutdown (default 5s).
	ShutdownTimeout time.Duration
}

// ErrConfig wraps errors that restarting would not fix: the daemon exits 2
// and systemd does not restart it (RestartPreventExitStatus=2).
var ErrConfig = errors.New("configuration error")

// The slots of the daemon's sources: evidence is kept per slot (and per
// source within it), so a reading replaces only what its own slot saw.
const (
	slotNetwork = "network" // the sweeps, and the neighbour table between them
	slotUSB     = "usb"
)

// slotSerial is the slot of one serial port.
func slotSerial(path string) string { return "serial:" + path }

// update is one reading of a source.
type update struct {
	slot     string
	ids      []identity.Identity
	complete bool      // a full reading of the slot (a sweep, a USB read)
	at       time.Time // when the reading began
	heard    bool      // announcements heard between sweeps: they only bring the sweep forward
	err      error
}

// Run runs the daemon until ctx ends. It returns nil after a clean
// shutdown, an error wrapping ErrConfig for a configuration that cannot
// work, and another error for a fault restarting may fix.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := o.Config
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	board := detectBoard(o.Root, cfg.Board, log)

	// The LED first: the technician sees the daemon start.
	ledSpec := cfg.LED.Spec
	if ledSpec == "" {
		ledSpec = board.LED
	}
	var light *led.LED
	ledCtx, stopLED := context.WithCancel(context.Background())
	ledDone := make(chan error, 1)
	if ledSpec != "" {
		spec, err := led.ParseSpec(ledSpec)
		if err != nil {
			stopLED()
			return fmt.Errorf("%w: led: %v", ErrConfig, err)
		}
		out, err := led.Open(spec, led.OpenOptions{Lookup: o.LEDLookup, Console: o.Console})
		if err != nil {
			// A missing LED must not stop the inventory: log it, run dark.
			log.Error("status LED unavailable", "led", ledSpec, "err", err)
		} else {
			if c, ok := out.(*led.Class); ok {
				rememberTrigger(c, filepath.Join(cfg.StateDir, "led-trigger"), log)
			}
			light = led.New(out, log.With("component", "led"))
			light.Set(led.Starting)
			go func() { ledDone <- light.Run(ledCtx) }()
		}
	}
	if light == nil {
		ledDone <- nil
	}
	defer func() {
		stopLED()
		if err := <-ledDone; err != nil {
			log.Warn("status LED", "err", err)
		}
	}()

	d := &daemon{
		o: o, cfg: cfg, log: log, light: light, board: board,
		inv:      inventory.New(cfg.Scan.LostAfter),
		store:    &inventory.Store{Path: filepath.Join(cfg.StateDir, "inventory.json")},
		updates:  make(chan update, 16),
		ackCh:    make(chan struct{}, 1),
		rescan:   make(chan struct{}, 1),
		refusals: &onvif.Refusals{},
	}
	if err := d.loadPolicy(); err != nil {
		// A policy error shows fault 4 and the embedded default is used:
		// a gateway that flags nothing would be worse than one that flags
		// by the default policy.
		log.Error("policy error; using the embedded default", "profile", cfg.Profile, "err", err)
		d.faults.set(led.FaultPolicy, "policy", true)
		p, perr := policy.Load("")
		if perr != nil {
			return fmt.Errorf("%w: embedded policy: %v", ErrConfig, perr)
		}
		d.pol = p
	}
	if st, err := d.store.Load(); err == nil {
		d.inv.Restore(st.Entries)
		log.Info("inventory restored", "devices", d.inv.Len())
	} else if !errors.Is(err, inventory.ErrNoState) {
		log.Error("state file unreadable; starting empty", "err", err)
	}

	// MQTT: the embedded broker when none is configured.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	mcfg := mqttConfig(cfg, o.Version, board)
	if mcfg.UsesEmbedded() {
		b, err := broker.Start(runCtx, mcfg.Embedded, log.With("component", "broker"))
		if err != nil {
			return fmt.Errorf("%w: embedded MQTT broker on %s: %v", ErrConfig, mcfg.Embedded.Listen, err)
		}
		log.Info("embedded MQTT broker listening", "addr", b.Addr())
		// The client connects to the address the broker got (a :0 port in
		// tests), with the embedded broker's credentials.
		mcfg.Embedded.Listen = b.Addr()
	}
	mq, err := mqtt.New(mcfg, log)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := mq.Start(runCtx); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	d.mq = mq
	// Republish what the inventory holds, so that retained state is whole
	// from the first connection on.
	if err := mq.Replace(runCtx, d.inv.Devices()); err != nil {
		log.Warn("mqtt: retained devices", "err", err)
	}

	var wg sync.WaitGroup
	start := func(name string, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(runCtx)
			log.Debug("stopped", "component", name)
		}()
	}
	start("scan", d.scanLoop)
	start("neighbours", d.neighbourLoop)
	if cfg.Scan.Listen {
		start("listen", d.listenLoop)
	}
	if cfg.USB.Enabled {
		start("usb", d.usbLoop)
	}
	for _, p := range cfg.Serial.Ports {
		start("serial", func(ctx context.Context) { d.serialLoop(ctx, p) })
	}
	if cfg.LED.Button != "" {
		start("button", d.buttonLoop)
	}
	start("commands", d.commandLoop)
	log.Info("nvrguard running", "gateway", mq.Config().GatewayID, "board", board.Name, "led", ledSpec,
		"broker", mcfg.URL(), "interval", cfg.Scan.Interval.String(), "policy", d.pol.Version())
	if light != nil {
		light.Set(led.Running)
	}
	d.loop(runCtx)

	// Shutdown: sources first, then the last state, then MQTT, then the LED.
	cancel()
	wg.Wait()
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, scancel := context.WithTimeout(context.Background(), timeout*4/5)
	defer scancel()
	if _, err := d.store.Save(d.inv.Entries()); err != nil {
		log.Error("saving the inventory", "err", err)
	}
	if err := mq.Close(sctx); err != nil {
		log.Warn("mqtt close", "err", err)
	}
	log.Info("nvrguard stopped")
	return nil
}

// detectBoard picks the board profile: the configured one, else the one
// /proc/device-tree/model names, else the generic board.
func detectBoard(root, name string, log *slog.Logger) boards.Profile {
	if name != "" {
		if p, ok := boards.Lookup(name); ok {
			return p
		}
		log.Warn("unknown board in the config; using the generic board", "board", name)
		return boards.Generic()
	}
	if root == "" {
		root = "/"
	}
	model, err := boards.ReadModel(os.DirFS(root))
	if err != nil {
		log.Debug("no device-tree model; generic board", "err", err)
		return boards.Generic()
	}
	p, ok := boards.Detect(model)
	if !ok {
		return boards.Generic()
	}
	return p
}

// mqttConfig maps the config file's mqtt section onto the MQTT client's.
func mqttConfig(cfg config.Config, version string, board boards.Profile) mqtt.Config {
	m := cfg.MQTT
	c := mqtt.Config{
		Broker:       m.Broker,
		Prefix:       m.Prefix,
		GatewayID:    cfg.GatewayID,
		Username:     m.Username,
		PasswordFile: m.PasswordFile,
		Password:     mqtt.Secret(m.Password.Reveal()),
		KeepAlive:    m.KeepAlive,
		TLS: mqtt.TLSConfig{
			CAFile: m.TLS.CAFile, CertFile: m.TLS.CertFile, KeyFile: m.TLS.KeyFile,
			ServerName: m.TLS.ServerName, InsecureSkipVerify: m.TLS.InsecureSkipVerify,
		},
		HomeAssistant: mqtt.HomeAssistant{Enabled: m.HomeAssistant.Enabled, Prefix: m.HomeAssistant.Prefix},
		Outbox:        mqtt.OutboxConfig{MaxEvents: m.Outbox.MaxEvents, MaxBytes: m.Outbox.MaxBytes},
		Embedded: broker.Config{
			Listen: m.Embedded.Listen, Username: m.Embedded.Username,
			PasswordFile: m.Embedded.PasswordFile, Password: broker.Secret(m.Embedded.Password.Reveal()),
		},
		Gateway:  mqtt.GatewayDescription{Model: board.Title, SWVersion: version},
		StateDir: cfg.StateDir,
	}
	return c
}

// rememberTrigger keeps the LED-class trigger nvrguard found in the state
// directory, so that after a kill -9 (which leaves the trigger at "none")
// the next clean exit still gives the LED back to its original trigger.
func rememberTrigger(c *led.Class, path string, log *slog.Logger) {
	found := c.Trigger()
	if found != "none" {
		if err := inventory.WriteFileAtomic(path, []byte(found+"\n"), 0o640); err != nil {
			log.Warn("remembering the LED trigger", "err", err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	saved := strings.TrimSpace(string(b))
	if err := c.RestoreTo(saved); err != nil {
		log.Warn("remembered LED trigger", "err", err)
		return
	}
	log.Info("LED trigger was left at none by an earlier run; restoring the remembered one at exit", "trigger", saved)
}
