// Package app is the gateway daemon behind `nvrguard run`: it builds the
// sources of firmware/source's table from the configuration and runs them
// under one supervisor, and wires the inventory, the policy and the sinks
// (status LED, MQTT, the persisted state) together.
//
// Run is three steps: build (state dir, board, LED, policy, the restored
// inventory, the sources), run (the sources, the controls and the loop)
// and shutdown (the last state, MQTT "offline", then the LED), within a
// deadline. One goroutine, the loop, owns the inventory: sources send it
// readings over a channel; it classifies, derives events, publishes,
// persists and picks the LED state.
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
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/nvr"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/firmware/register"
	"github.com/nvrguard/nvrguard/firmware/source"
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

// Run runs the daemon until ctx ends. It returns nil after a clean
// shutdown, an error wrapping ErrConfig for a configuration that cannot
// work, and another error for a fault restarting may fix.
func Run(ctx context.Context, o Options) error {
	d, err := build(o)
	if err != nil {
		return err
	}
	defer d.stopLED()
	if err := d.connect(ctx); err != nil {
		return err
	}
	d.run(ctx)
	d.shutdown()
	return nil
}

// build makes the daemon from the options: state dir, board, LED, policy,
// the restored inventory and the sources. Nothing is connected yet.
func build(o Options) (*daemon, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		o.Logger = log
	}
	cfg := o.Config
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	d := &daemon{
		o: o, cfg: cfg, log: log,
		board:    detectBoard(o.Root, cfg.Board, log),
		inv:      inventory.New(cfg.Scan.LostAfter),
		store:    &inventory.Store{Path: filepath.Join(cfg.StateDir, "inventory.json")},
		updates:  make(chan update, 16),
		healthCh: make(chan struct{}, 1),
		ackCh:    make(chan string, 1),
		refusals: &onvif.Refusals{},
		stopLED:  func() {},
	}
	// The LED first: the technician sees the daemon start.
	if err := d.openLED(); err != nil {
		return nil, err
	}
	if err := d.loadPolicy(); err != nil {
		// A policy error shows fault 4 and the embedded default is used:
		// a gateway that flags nothing would be worse than one that flags
		// by the default policy.
		log.Error("policy error; using the embedded default", "profile", cfg.Profile, "err", err)
		d.faults.set(led.FaultPolicy, "policy", true)
		p, perr := policy.Load("")
		if perr != nil {
			d.stopLED()
			return nil, fmt.Errorf("%w: embedded policy: %v", ErrConfig, perr)
		}
		d.pol = p
	}
	if st, err := d.store.Load(); err == nil {
		d.inv.Restore(st.Entries)
		d.restored = true
		log.Info("inventory restored", "devices", d.inv.Len())
	} else if errors.Is(err, inventory.ErrNoState) {
		d.restored = true // a first start: nothing to restore, nothing lost
	} else {
		log.Error("state file unreadable; starting empty", "err", err)
	}
	if err := d.buildSources(); err != nil {
		d.stopLED()
		return nil, err
	}
	return d, nil
}

// openLED opens the status LED (the config's, else the board's) and starts
// it; a missing LED is logged and the daemon runs dark.
func (d *daemon) openLED() error {
	spec := d.cfg.LED.Spec
	if spec == "" {
		spec = d.board.LED
	}
	d.ledSpec = spec
	if spec == "" {
		return nil
	}
	ps, err := led.ParseSpec(spec)
	if err != nil {
		return fmt.Errorf("%w: led: %v", ErrConfig, err)
	}
	out, err := led.Open(ps, led.OpenOptions{Lookup: d.o.LEDLookup, Console: d.o.Console})
	if err != nil {
		// A missing LED must not stop the inventory.
		d.log.Error("status LED unavailable", "led", spec, "err", err)
		return nil
	}
	if c, ok := out.(*led.Class); ok {
		rememberTrigger(c, filepath.Join(d.cfg.StateDir, "led-trigger"), d.log)
	}
	light := led.New(out, d.log.With("component", "led"))
	light.Set(led.Starting)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- light.Run(ctx) }()
	d.light = light
	d.stopLED = func() {
		cancel()
		if err := <-done; err != nil {
			d.log.Warn("status LED", "err", err)
		}
	}
	return nil
}

// buildSources builds the sources of firmware/source's table from the
// configuration, and their supervisor.
func (d *daemon) buildSources() error {
	env := source.Env{
		Config: d.config, Root: d.o.Root, Logger: d.log, ONVIFRefusals: d.onvifRefusals,
	}
	if len(d.cfg.NVR) > 0 {
		g, err := nvr.OpenGuard(filepath.Join(d.cfg.StateDir, "nvr-guard.json"), 0)
		if err != nil {
			// Without the holds a refused account would be tried again
			// early: no recorder is read until the file is repaired.
			return fmt.Errorf("%w: %v (remove the file only when no recorder account is locked)", ErrConfig, err)
		}
		env.Guard = g
	}
	ins, err := source.Build(env)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	d.sup = &source.Supervisor{
		Instances: ins, Config: d.config, Emit: d.send, Changed: d.healthChanged,
		Logger: d.log.With("component", "sources"),
	}
	d.scanNow = func() {
		for _, in := range d.sup.Instances {
			if in.Name == "network" || in.Fault == led.FaultNVR {
				d.sup.Kick(in.Name)
			}
		}
	}
	return nil
}

// connect starts the embedded broker when none is configured and the
// MQTT client, and republishes what the inventory holds.
func (d *daemon) connect(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	d.cancelMQ = cancel
	mcfg := mqttConfig(d.cfg, d.o.Version, d.board)
	if mcfg.UsesEmbedded() {
		b, err := broker.Start(runCtx, mcfg.Embedded, d.log.With("component", "broker"))
		if err != nil {
			return fmt.Errorf("%w: embedded MQTT broker on %s: %v", ErrConfig, mcfg.Embedded.Listen, err)
		}
		d.log.Info("embedded MQTT broker listening", "addr", b.Addr())
		// The client connects to the address the broker got (a :0 port in
		// tests), with the embedded broker's credentials.
		mcfg.Embedded.Listen = b.Addr()
	}
	mq, err := mqtt.New(mcfg, d.log)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := mq.Start(runCtx); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	d.mq, d.client = mq, mq
	d.brokerURL = mcfg.URL()
	if err := d.openRegister(runCtx, mq.Config().GatewayID); err != nil {
		return err
	}
	// Republish what the inventory holds, so that retained state is whole
	// from the first connection on.
	if err := mq.Replace(runCtx, d.inv.Devices()); err != nil {
		d.log.Warn("mqtt: retained devices", "err", err)
	}
	return nil
}

// openRegister opens the removal register, mends it after a crash between
// the inventory's write and its own (only when the inventory was read: an
// inventory that starts empty after a damaged file must not claim every
// device removed), republishes it and takes the acknowledgement it holds.
func (d *daemon) openRegister(ctx context.Context, gateway string) error {
	reg, err := register.Open(filepath.Join(d.cfg.StateDir, register.FileName), gateway)
	switch {
	case errors.Is(err, register.ErrDamaged):
		d.log.Error("register damaged; kept aside, starting a new one", "err", err)
	case err != nil:
		return fmt.Errorf("register: %w", err)
	}
	d.reg = reg
	if d.restored {
		if _, err := reg.Sync(time.Now().UTC(), d.inv.Devices()); err != nil {
			d.log.Error("saving the register", "err", err)
		}
	}
	d.publishRegister(ctx, reg.Entries())
	_, _, d.acked = reg.Acked()
	return nil
}

// run runs the sources, the controls and the loop until ctx ends, then
// waits for every goroutine it started.
func (d *daemon) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := func(name string, f func(context.Context)) {
		wg.Go(func() {
			f(ctx)
			d.log.Debug("stopped", "component", name)
		})
	}
	start("sources", d.sup.Run)
	if d.cfg.LED.Button != "" {
		start("button", d.buttonLoop)
	}
	start("commands", d.commandLoop)
	d.log.Info("nvrguard running", "gateway", d.client.Config().GatewayID, "board", d.board.Name, "led", d.ledSpec,
		"broker", d.brokerURL, "interval", d.cfg.Scan.Interval.String(), "policy", d.pol.Version(),
		"sources", len(d.sup.Instances))
	if d.light != nil {
		d.light.Set(led.Running)
	}
	d.loop(ctx)
	cancel()
	wg.Wait()
}

// shutdown saves the last state and closes MQTT, within the shutdown
// timeout; the LED is halted last (Run's defer).
func (d *daemon) shutdown() {
	timeout := d.o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout*4/5)
	defer cancel()
	if err := d.client.WriteHeld(sctx); err != nil && !errors.Is(err, mqtt.ErrNotStarted) {
		d.log.Error("events held in memory could not be written; the inventory is not saved, so they are found again", "err", err)
	} else if _, err := d.store.Save(d.inv.Entries()); err != nil {
		d.log.Error("saving the inventory", "err", err)
	}
	if err := d.client.Close(sctx); err != nil {
		d.log.Warn("mqtt close", "err", err)
	}
	d.cancelMQ()
	d.log.Info("nvrguard stopped")
}

// detectBoard picks the board profile (boards.Select): the configured
// one, else the one /proc/device-tree/model names, else the generic board.
func detectBoard(root, name string, log *slog.Logger) boards.Profile {
	if root == "" {
		root = "/"
	}
	sel, err := boards.Select(os.DirFS(root), name)
	if err != nil {
		log.Warn("board not recognised; using the generic board", "board", name, "err", err)
	}
	return sel.Profile
}

// mqttConfig is the config file's mqtt section with what the daemon
// knows besides: the gateway id, the board, the version, the state dir.
func mqttConfig(cfg config.Config, version string, board boards.Profile) mqtt.Config {
	c := cfg.MQTT
	c.GatewayID = cfg.GatewayID
	c.Gateway = mqtt.GatewayDescription{Model: board.Title, SWVersion: version}
	c.StateDir = cfg.StateDir
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
