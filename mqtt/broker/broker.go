// Package broker provides the embedded MQTT broker (mochi-mqtt) that
// `nvrguard run` starts when no broker URL is configured, so that a fresh
// install works out of the box and a technician's laptop can subscribe.
package broker

import (
	"context"
	"errors"
	"fmt"
	"github.com/nvrguard/nvrguard/drivers/secret"
	"log/slog"
	"net"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// DefaultListen is the embedded broker's default address: loopback only.
const DefaultListen = "127.0.0.1:1883"

// Config is the embedded section of the configuration.
type Config struct {
	// Listen is the TCP address to listen on (default 127.0.0.1:1883).
	// Use 0.0.0.0:1883 to let a laptop on the LAN subscribe.
	Listen string `yaml:"listen"`
	// Username and PasswordFile, when set, are required of every client.
	// Without them, clients from loopback may publish and subscribe and
	// clients from elsewhere may only subscribe.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// Password, when set, is used instead of reading PasswordFile (for a
	// caller that has read the file already).
	Password Secret `yaml:"-"`
}

// Normalize returns c with its defaults filled in, or an error naming the
// invalid field.
func (c Config) Normalize() (Config, error) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		return c, fmt.Errorf("broker: embedded.listen %q is not host:port", c.Listen)
	}
	if host != "" && net.ParseIP(host) == nil {
		return c, fmt.Errorf("broker: embedded.listen %q: host must be an IP address", c.Listen)
	}
	if (c.Username == "") != (c.PasswordFile == "" && c.Password == "") {
		return c, errors.New("broker: embedded.username and password_file go together")
	}
	return c, nil
}

// Broker is a running embedded broker.
type Broker struct {
	srv  *mochi.Server
	addr net.Addr
}

// Start starts the broker on cfg.Listen. It returns once the listener is
// bound; the broker runs until Close.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pass := cfg.Password.Reveal()
	if pass == "" && cfg.PasswordFile != "" {
		sec, err := secret.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("broker: embedded.password_file: %w", err)
		}
		pass = sec.Reveal()
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = 1 << 20
	caps.MaximumClients = 256
	srv := mochi.New(&mochi.Options{
		Capabilities:           caps,
		Logger:                 log,
		SysTopicResendInterval: 60,
	})
	if err := srv.AddHook(&auth{user: cfg.Username, pass: pass}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: cfg.Listen})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Listen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	b := &Broker{srv: srv}
	b.addr, _ = net.ResolveTCPAddr("tcp", tcp.Address())
	if cfg.Username == "" && !isLoopback(cfg.Listen) {
		log.Warn("embedded broker listens beyond loopback without a password: anyone on the network can read the findings", "listen", cfg.Listen)
	}
	return b, nil
}

// Addr is the address the broker listens on (with the real port when the
// configured one was 0).
func (b *Broker) Addr() string { return b.addr.String() }

// URL is a tcp:// URL for the broker.
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.srv.Close() }

func isLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
