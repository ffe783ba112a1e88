package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/nvrguard/nvrguard/drivers/secret"
	"net/url"
	"os"
	"time"

	"github.com/nvrguard/nvrguard/mqtt/broker"
	"github.com/nvrguard/nvrguard/mqtt/outbox"
)

// Config is the mqtt section of the configuration file. Every field has a
// default (see Normalize), so the zero Config is valid once StateDir is set.
type Config struct {
	// Broker is the broker URL: tcp://, ssl:// (also tls://, mqtts://),
	// ws:// or wss://. Empty means the embedded broker (see Embedded).
	Broker string `yaml:"broker"`
	// Prefix is the first topic level(s) (default "nvrguard").
	Prefix string `yaml:"prefix"`
	// GatewayID names this gateway in topics (default: the host name made
	// topic-safe). It must match [a-z0-9-]{1,64}.
	GatewayID string `yaml:"-"`
	// Username and PasswordFile authenticate to the broker. The password is
	// read from the file at Start, trailing newline removed; it is never
	// logged.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// Password, when set, is used instead of reading PasswordFile (for a
	// caller that has read the file already).
	Password Secret    `yaml:"-"`
	TLS      TLSConfig `yaml:"tls"`
	// KeepAlive is the MQTT keepalive (default 30s).
	KeepAlive time.Duration `yaml:"keepalive"`
	// QoS of the retained topics: status, state, devices, discovery
	// (default 1). Events are always published with QoS 1 at least.
	QoS *byte `yaml:"qos"`
	// ConnectTimeout bounds one connection attempt (default 10s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff
	// between connection attempts (defaults 1s and 60s).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// PublishTimeout bounds the wait for one acknowledgement; a broker that
	// stays silent longer is treated as gone and the connection is redone
	// (default 20s).
	PublishTimeout time.Duration      `yaml:"publish_timeout"`
	HomeAssistant  HomeAssistant      `yaml:"home_assistant"`
	Outbox         OutboxConfig       `yaml:"outbox"`
	Embedded       broker.Config      `yaml:"embedded"`
	Gateway        GatewayDescription `yaml:"-"`
	// StateDir is the daemon's state directory; the outbox lives in
	// StateDir/mqtt-outbox. Set by the daemon (--state-dir).
	StateDir string `yaml:"-"`
}

// TLSConfig configures ssl:// and wss:// connections.
type TLSConfig struct {
	CAFile   string `yaml:"ca_file"`   // PEM CA bundle; default the system roots
	CertFile string `yaml:"cert_file"` // client certificate (PEM), with KeyFile
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate
	// (default the host of the broker URL).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns the certificate check off. Never the default.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// HomeAssistant configures Home Assistant MQTT discovery.
type HomeAssistant struct {
	Enabled bool   `yaml:"enabled"`
	Prefix  string `yaml:"prefix"` // default "homeassistant"
	// PerDevice adds one binary_sensor per restricted device, removed
	// when the device goes or is no longer restricted (default off).
	PerDevice bool `yaml:"per_device"`
}

// OutboxConfig bounds the on-disk event outbox.
type OutboxConfig struct {
	MaxEvents int   `yaml:"max_events"` // default 10000
	MaxBytes  int64 `yaml:"max_bytes"`  // default 16 MiB
}

// GatewayDescription is what Home Assistant's device registry shows for
// the gateway. The daemon fills it from the board profile and the build.
type GatewayDescription struct {
	Model     string // e.g. "Raspberry Pi 4 Model B Rev 1.4"
	SWVersion string // nvrguard version
	MAC       string // the gateway's own MAC, for "connections"
}

// Defaults.
const (
	DefaultPrefix         = "nvrguard"
	DefaultHAPrefix       = "homeassistant"
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultReconnectMin   = time.Second
	DefaultReconnectMax   = time.Minute
	DefaultPublishTimeout = 20 * time.Second
)

// Normalize returns c with every default filled in, and an error naming
// the first invalid field.
func (c Config) Normalize() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if err := checkPrefix("prefix", c.Prefix); err != nil {
		return c, err
	}
	if c.GatewayID == "" {
		h, _ := os.Hostname()
		c.GatewayID = HostID(h)
	}
	if !ValidID(c.GatewayID) {
		return c, fmt.Errorf("mqtt: gateway_id %q must be 1 to 64 of [a-z0-9-]", c.GatewayID)
	}
	if c.HomeAssistant.Prefix == "" {
		c.HomeAssistant.Prefix = DefaultHAPrefix
	}
	if err := checkPrefix("home_assistant.prefix", c.HomeAssistant.Prefix); err != nil {
		return c, err
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.KeepAlive < time.Second || c.KeepAlive > 18*time.Hour {
		return c, fmt.Errorf("mqtt: keepalive must be between 1s and 18h, got %v", c.KeepAlive)
	}
	if c.QoS == nil {
		one := byte(1)
		c.QoS = &one
	}
	if *c.QoS > 2 {
		return c, fmt.Errorf("mqtt: qos must be 0, 1 or 2, got %d", *c.QoS)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"connect_timeout", &c.ConnectTimeout, DefaultConnectTimeout},
		{"reconnect_min", &c.ReconnectMin, DefaultReconnectMin},
		{"reconnect_max", &c.ReconnectMax, DefaultReconnectMax},
		{"publish_timeout", &c.PublishTimeout, DefaultPublishTimeout},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 || *d.v > 24*time.Hour {
			return c, fmt.Errorf("mqtt: %s must be between 0 and 24h, got %v", d.name, *d.v)
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		return c, fmt.Errorf("mqtt: reconnect_max %v is below reconnect_min %v", c.ReconnectMax, c.ReconnectMin)
	}
	if c.Outbox.MaxEvents < 0 || c.Outbox.MaxBytes < 0 {
		return c, errors.New("mqtt: outbox.max_events and outbox.max_bytes must not be negative")
	}
	if c.Outbox.MaxEvents == 0 {
		c.Outbox.MaxEvents = outbox.DefaultMaxEvents
	}
	if c.Outbox.MaxBytes == 0 {
		c.Outbox.MaxBytes = outbox.DefaultMaxBytes
	}
	emb, err := c.Embedded.Normalize()
	if err != nil {
		return c, err
	}
	c.Embedded = emb
	if _, err := brokerURL(c.URL()); err != nil {
		return c, err
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return c, errors.New("mqtt: tls.cert_file and tls.key_file go together")
	}
	return c, nil
}

// UsesEmbedded reports whether the configuration asks for the embedded
// broker: no broker URL is configured.
func (c Config) UsesEmbedded() bool { return c.Broker == "" }

// URL is the broker URL the client connects to: Broker, or the embedded
// broker's listen address. It is safe to log: Normalize refuses a URL
// that holds credentials.
func (c Config) URL() string {
	if c.Broker == "" {
		return "tcp://" + c.Embedded.Listen
	}
	return c.Broker
}

// Secret is a password that prints as "<redacted>".
type Secret = broker.Secret

// credentials are the username and password the client uses: its own, or
// with the embedded broker and none of its own, the embedded broker's. The
// password file is read when no password was given.
func (c Config) credentials() (user, password string, err error) {
	user, pw, pf := c.Username, c.Password, c.PasswordFile
	if c.Broker == "" && c.Username == "" && c.PasswordFile == "" && c.Password == "" {
		user, pw, pf = c.Embedded.Username, c.Embedded.Password, c.Embedded.PasswordFile
	}
	if pw != "" {
		return user, pw.Reveal(), nil
	}
	if pf == "" {
		return user, "", nil
	}
	p, err := secret.ReadFile(pf)
	if err != nil {
		return "", "", fmt.Errorf("mqtt: password_file: %w", err)
	}
	return user, p.Reveal(), nil
}

// brokerURL parses and checks a broker URL.
func brokerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker URL: %w", err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, fmt.Errorf("mqtt: broker URL %q: scheme must be tcp, ssl, ws or wss", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("mqtt: broker URL %q holds credentials: use username and password_file", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("mqtt: broker URL %q has no host", u.Redacted())
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("mqtt: broker URL %q has no port", u.Redacted())
	}
	return u, nil
}

// secure reports whether a URL scheme uses TLS.
func secure(scheme string) bool {
	switch scheme {
	case "ssl", "tls", "mqtts", "wss":
		return true
	}
	return false
}

// tlsConfig builds the TLS configuration for u, or nil for plain schemes.
func (c Config) tlsConfig(u *url.URL) (*tls.Config, error) {
	if !secure(u.Scheme) {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.InsecureSkipVerify}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname() // an IP address is checked against the IP SANs
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: tls.ca_file %s holds no PEM certificate", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
