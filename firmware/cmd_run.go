package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/firmware/app"
	"github.com/nvrguard/nvrguard/firmware/config"
)

// cmdRun is `nvrguard run`: the gateway daemon. Flags override the config
// file; without --config every setting is its default (an empty file).
// Exit status: 0 after SIGTERM/SIGINT, 2 for a configuration that cannot
// work (systemd does not restart it), 1 for a fault a restart may fix.
func cmdRun(ctx context.Context, e *env, args []string) (int, error) {
	fs := newFlags("run", e.stderr)
	cfgPath := fs.String("config", "", "config file (YAML; "+config.DefaultPath+" when installed)")
	broker := fs.String("broker", "", "MQTT broker URL (tcp://, ssl://, ws://, wss://); default: the embedded broker")
	gateway := fs.String("gateway-id", "", "this gateway's id in MQTT topics ([a-z0-9-])")
	interval := fs.Duration("interval", 0, "time between network sweeps")
	ledSpec := fs.String("led", "", "status LED: gpio:GPIO17[,active-low], sysfs:/sys/class/leds/ACT[,invert] or console")
	stateDir := fs.String("state-dir", "", "state directory (inventory, MQTT outbox)")
	root := fs.String("root", "", "read /proc, /sys and /dev under this directory (tests; hidden from --help)")
	var ifaces, cidrs, serials multi
	fs.Var(&ifaces, "iface", "probe from this interface only (repeatable)")
	fs.Var(&cidrs, "cidr", "also sweep this CIDR by unicast (repeatable)")
	fs.Var(&serials, "serial", "listen to this serial port, PORT[:BAUD] (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return 0, err
	}
	if len(pos) > 0 {
		return 0, usagef("run: unexpected argument %q", pos[0])
	}
	cfg := config.Default()
	if *cfgPath != "" {
		if cfg, err = config.Load(*cfgPath); err != nil {
			return exitUsage, err
		}
	}
	// Flags override the file.
	if *broker != "" {
		cfg.MQTT.Broker = *broker
	}
	if *gateway != "" {
		cfg.GatewayID = *gateway
	}
	if *interval != 0 {
		cfg.Scan.Interval = *interval
		cfg.Scan.Timeout = min(cfg.Scan.Timeout, *interval)
	}
	if *ledSpec != "" {
		cfg.LED.Spec = *ledSpec
	}
	if *stateDir != "" {
		cfg.StateDir = *stateDir
	}
	if len(ifaces) > 0 {
		cfg.Scan.Ifaces = ifaces
	}
	for _, c := range cidrs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return 0, usagef("run: --cidr %q is not a CIDR", c)
		}
		cfg.Scan.CIDRs = append(cfg.Scan.CIDRs, c)
	}
	for _, s := range serials {
		// The same PORT[:BAUD] grammar as scan --serial (by-path names hold colons).
		sp, err := serial.ParseSpec(s)
		if err != nil {
			return 0, usagef("run: --serial: %v", err)
		}
		cfg.Serial.Ports = append(cfg.Serial.Ports, config.SerialPort{Path: sp.Path, Baud: sp.Baud})
	}
	if err := cfg.Validate(); err != nil {
		return exitUsage, fmt.Errorf("config: %w", err)
	}
	if cfg.LED.Spec != "" {
		if _, err := led.ParseSpec(cfg.LED.Spec); err != nil {
			return exitUsage, usageError{msg: err.Error(), cmd: "run"}
		}
	}
	if err := embeddedPortFree(cfg); err != nil {
		return exitUsage, err
	}

	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: runLevel(cfg.LogLevel)}))
	// paho logs through package globals: route them into slog once, at
	// info (its errors are per-attempt connection noise; the client logs
	// the state changes that matter).
	bridgePahoLogs(log)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-rctx.Done():
				return
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()
	err = app.Run(rctx, app.Options{
		Config: cfg, ConfigPath: *cfgPath, Version: version, Logger: log, Console: e.stderr,
		Root: *root, Reload: reload, ShutdownTimeout: 5 * time.Second,
	})
	switch {
	case err == nil:
		return exitOK, nil
	case errors.Is(err, app.ErrConfig):
		return exitUsage, err
	}
	return exitError, err
}

func runLevel(s string) slog.Level {
	if env := os.Getenv("NVRGUARD_LOG"); env != "" {
		return logLevel()
	}
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// embeddedPortFree checks, when the configuration asks for the embedded
// broker, that its address is free. Taken (typically by a mosquitto
// installed as a package), run stops with one line naming --broker rather
// than publish to a broker nobody configured.
func embeddedPortFree(cfg config.Config) error {
	m, err := cfg.MQTT.Normalize()
	if err != nil || !m.UsesEmbedded() {
		return nil // Validate and the daemon report a bad configuration
	}
	addr := m.Embedded.Listen
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("run: %s is already in use (another MQTT broker?): use it with --broker tcp://%s, or set mqtt.embedded.listen to a free address", addr, addr)
		}
		return fmt.Errorf("run: embedded MQTT broker on %s: %w", addr, err)
	}
	return l.Close()
}
