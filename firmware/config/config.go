// Package config is the daemon's configuration: one YAML file
// (/etc/nvrguard/config.yaml when installed), every key with a default so
// that an empty file is valid, unknown keys rejected with their line
// number, secrets read from files and never printed.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nvrguard/nvrguard/drivers/nvr"
	"github.com/nvrguard/nvrguard/drivers/secret"
	"github.com/nvrguard/nvrguard/mqtt"
)

// DefaultPath is where the installed package keeps the config file.
const DefaultPath = "/etc/nvrguard/config.yaml"

// Config is the whole configuration. Field names are the YAML keys.
type Config struct {
	// GatewayID names this gateway in MQTT topics; default: the host name,
	// made topic-safe.
	GatewayID string `yaml:"gateway_id"`
	// StateDir keeps the inventory and the MQTT outbox.
	StateDir string `yaml:"state_dir"`
	// Profile is the policy profile: ndaa889, uk-nil or a policy file.
	Profile string `yaml:"profile"`
	// Board names a board profile; empty means detect it.
	Board string `yaml:"board"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`

	Scan   Scan   `yaml:"scan"`
	USB    USB    `yaml:"usb"`
	Serial Serial `yaml:"serial"`
	LED    LED    `yaml:"led"`
	// MQTT is the control-room connection, decoded straight into the
	// client's own configuration (mqtt.Config: its YAML keys).
	MQTT mqtt.Config `yaml:"mqtt"`
	// NVR lists the recorders whose channel list is read, each with its
	// own account (DESIGN.md "NVR channel list").
	NVR []NVR `yaml:"nvr"`
}

// NVR is one recorder whose channel list is read: the cameras on its own
// PoE ports, which never answer on the LAN. Only GETs and read RPCs are
// sent, with the operator's account; without one it is never logged in to.
type NVR struct {
	// URL is http://host[:port] or https://host[:port].
	URL          string `yaml:"url"`
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	Password     Secret `yaml:"-"`
	// Vendor is auto (from its unauthenticated answer), hikvision or dahua.
	Vendor string `yaml:"vendor"`
	// TLSFingerprint is the SHA-256 of a self-signed certificate to pin;
	// an https recorder the system roots do not verify is refused without.
	TLSFingerprint string `yaml:"tls_fingerprint"`
	// RetryAfter is how long a refused account leaves the recorder alone
	// (at most one failed login per window; never sooner than the
	// recorder's own unlock time).
	RetryAfter time.Duration `yaml:"retry_after"`
}

// Scan configures the network sweeps.
type Scan struct {
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	Ifaces   []string      `yaml:"ifaces"`
	CIDRs    []string      `yaml:"cidrs"`
	Banners  bool          `yaml:"banners"`
	Rate     float64       `yaml:"rate"`
	// LostAfter is how many sweeps in a row may miss a device before it
	// is reported lost.
	LostAfter int `yaml:"lost_after"`
	// NeighbourWatch is how often the neighbour table is read between
	// sweeps.
	NeighbourWatch time.Duration `yaml:"neighbour_watch"`
	// Listen hears, between sweeps, what devices announce unasked
	// (WS-Discovery Hello, SSDP NOTIFY, answers sent to the discovery
	// groups); a device at a new address brings the next sweep forward.
	Listen bool `yaml:"listen"`
	// ONVIF is the operator's ONVIF account, for GetDeviceInformation on
	// the cameras that want one; empty asks anonymously.
	ONVIF ONVIF `yaml:"onvif"`
}

// ONVIF is an ONVIF account (WS-UsernameToken). The password is read from
// a file and never logged.
type ONVIF struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	Password     Secret `yaml:"-"`
}

// USB configures the USB source.
type USB struct {
	Enabled bool `yaml:"enabled"`
	// Poll is how often /sys/bus/usb/devices is compared for changes.
	Poll time.Duration `yaml:"poll"`
}

// Serial configures the serial and RS-485 sources. No port is opened
// unless it is listed here.
type Serial struct {
	Ports []SerialPort `yaml:"ports"`
}

// SerialPort is one port to listen to.
type SerialPort struct {
	Path string `yaml:"path"`
	Baud int    `yaml:"baud"`
	// Kind is "console" (default) or "pelco".
	Kind string `yaml:"kind"`
	// Probe is "none" (default: listen only) or "newline" (send one bare
	// CR to get a prompt). Nothing else is ever sent to a console.
	Probe string `yaml:"probe"`
	// PelcoAddresses are queried when Kind is pelco and Query is set.
	PelcoAddresses []int `yaml:"pelco_addresses"`
	Query          bool  `yaml:"query"`
}

// LED configures the status LED and the button.
type LED struct {
	// Spec is a --led SPEC; empty means the board profile's LED.
	Spec string `yaml:"spec"`
	// Button is a GPIO line name for the acknowledge button; empty: none.
	Button string `yaml:"button"`
}

// Secret is a value read from a file (drivers/secret): it prints as
// "<redacted>" however it is formatted.
type Secret = secret.Secret

// Default returns the configuration an empty file gives.
func Default() Config {
	c := Config{
		StateDir: "/var/lib/nvrguard",
		Profile:  "ndaa889",
		LogLevel: "info",
		Scan: Scan{
			Interval:       5 * time.Minute,
			Timeout:        8 * time.Second,
			Banners:        true,
			Rate:           400,
			LostAfter:      3,
			NeighbourWatch: 30 * time.Second,
			Listen:         true,
		},
		USB: USB{Enabled: true, Poll: 5 * time.Second},
	}
	c.MQTT.Prefix = "nvrguard"
	c.MQTT.KeepAlive = 30 * time.Second
	c.MQTT.HomeAssistant.Prefix = "homeassistant"
	c.MQTT.Outbox.MaxEvents = 10000
	c.MQTT.Outbox.MaxBytes = 16 << 20
	c.MQTT.Embedded.Listen = "127.0.0.1:1883"
	return c
}

// Load reads a config file: defaults, then the file on top, then Validate.
// Secret files named by *_file keys are read relative to the config file's
// directory when not absolute.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(bytes.NewReader(b))
	if err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := c.readSecrets(dirOf(path)); err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return ""
}

// Parse decodes YAML over the defaults and validates the result. Unknown
// keys and type mismatches are errors that name their line.
func Parse(r io.Reader) (Config, error) {
	c := Default()
	dec := yaml.NewDecoder(io.LimitReader(r, 1<<20))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, cleanYAMLError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, errors.New("only one YAML document is allowed")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

var (
	yamlPrefix   = regexp.MustCompile(`^yaml: (unmarshal errors:\s*)?`)
	yamlUnknown  = regexp.MustCompile(`field (\S+) not found in type \S+`)
	yamlTypeName = regexp.MustCompile(` into (time\.Duration|\[\]\S+|\S+\.\S+)`)
)

// cleanYAMLError turns yaml.v3's multi-line errors into one line in the
// file's terms ("line 2: unknown key \"intervall\"").
func cleanYAMLError(err error) error {
	s := yamlPrefix.ReplaceAllString(err.Error(), "")
	s = yamlUnknown.ReplaceAllString(s, `unknown key "$1"`)
	s = yamlTypeName.ReplaceAllStringFunc(s, func(m string) string {
		if strings.Contains(m, "Duration") {
			return " into a duration (like 30s or 5m)"
		}
		return " into the expected type"
	})
	s = strings.Join(strings.Fields(s), " ")
	return errors.New(s)
}

// ReadSecret reads a password file (secret.ReadFile): its one line.
func ReadSecret(path string) (Secret, error) { return secret.ReadFile(path) }

func (c *Config) readSecrets(dir string) error {
	read := func(key, path string) (Secret, error) {
		if path == "" {
			return "", nil
		}
		if !strings.HasPrefix(path, "/") {
			path = dir + path
		}
		sec, err := ReadSecret(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		return sec, nil
	}
	var err error
	if c.MQTT.Password, err = read("mqtt.password_file", c.MQTT.PasswordFile); err != nil {
		return err
	}
	if c.MQTT.Embedded.Password, err = read("mqtt.embedded.password_file", c.MQTT.Embedded.PasswordFile); err != nil {
		return err
	}
	if c.Scan.ONVIF.Password, err = read("scan.onvif.password_file", c.Scan.ONVIF.PasswordFile); err != nil {
		return err
	}
	for i := range c.NVR {
		if c.NVR[i].Password, err = read(fmt.Sprintf("nvr[%d].password_file", i), c.NVR[i].PasswordFile); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks every value a typo could break.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.StateDir == "" {
		bad("state_dir must not be empty")
	}
	if c.Scan.Interval < 10*time.Second {
		bad("scan.interval must be at least 10s, got %v", c.Scan.Interval)
	}
	if c.Scan.Timeout <= 0 || c.Scan.Timeout > c.Scan.Interval {
		bad("scan.timeout must be positive and at most scan.interval, got %v", c.Scan.Timeout)
	}
	if c.Scan.Rate <= 0 || c.Scan.Rate > 10000 {
		bad("scan.rate must be between 0 and 10000 datagrams/s, got %v", c.Scan.Rate)
	}
	if c.Scan.LostAfter < 1 {
		bad("scan.lost_after must be at least 1, got %d", c.Scan.LostAfter)
	}
	if c.Scan.NeighbourWatch < time.Second {
		bad("scan.neighbour_watch must be at least 1s, got %v", c.Scan.NeighbourWatch)
	}
	if (c.Scan.ONVIF.Username == "") != (c.Scan.ONVIF.PasswordFile == "") {
		bad("scan.onvif needs both username and password_file, or neither")
	}
	for _, s := range c.Scan.CIDRs {
		if p, err := netip.ParsePrefix(s); err != nil || !p.Addr().Is4() {
			bad("scan.cidrs: %q is not an IPv4 CIDR", s)
		}
	}
	if c.USB.Poll < 100*time.Millisecond {
		bad("usb.poll must be at least 100ms, got %v", c.USB.Poll)
	}
	for i, p := range c.Serial.Ports {
		if !strings.HasPrefix(p.Path, "/dev/") {
			bad("serial.ports[%d].path must be a /dev path, got %q", i, p.Path)
		}
		switch p.Kind {
		case "", "console", "pelco":
		default:
			bad("serial.ports[%d].kind must be console or pelco, not %q", i, p.Kind)
		}
		switch p.Probe {
		case "", "none", "newline":
		default:
			bad("serial.ports[%d].probe must be none or newline, not %q", i, p.Probe)
		}
		if p.Baud < 0 || p.Baud > 4000000 {
			bad("serial.ports[%d].baud out of range: %d", i, p.Baud)
		}
		for _, a := range p.PelcoAddresses {
			if a < 1 || a > 255 {
				bad("serial.ports[%d].pelco_addresses: %d is not 1..255", i, a)
			}
		}
	}
	seenNVR := map[string]bool{}
	for i := range c.NVR {
		n := &c.NVR[i]
		if n.Vendor == "" {
			n.Vendor = "auto"
		}
		if n.RetryAfter == 0 {
			n.RetryAfter = 6 * time.Hour
		}
		if err := ValidateNVR(*n); err != nil {
			bad("nvr[%d]: %v", i, err)
		}
		if seenNVR[n.URL] {
			bad("nvr[%d]: %s is listed twice", i, n.URL)
		}
		seenNVR[n.URL] = true
	}
	if u := c.MQTT.Broker; u != "" {
		ok := false
		for _, s := range []string{"tcp://", "ssl://", "tls://", "mqtts://", "ws://", "wss://", "mqtt://"} {
			ok = ok || strings.HasPrefix(u, s)
		}
		if !ok {
			bad("mqtt.broker must be a tcp://, ssl://, ws:// or wss:// URL, got %q", u)
		}
	}
	if !topicLevel.MatchString(c.MQTT.Prefix) {
		bad("mqtt.prefix must be one or more topic levels of [a-zA-Z0-9_-], got %q", c.MQTT.Prefix)
	}
	if !topicLevel.MatchString(c.MQTT.HomeAssistant.Prefix) {
		bad("mqtt.home_assistant.prefix must be topic levels of [a-zA-Z0-9_-], got %q", c.MQTT.HomeAssistant.Prefix)
	}
	if c.GatewayID != "" && !gatewayID.MatchString(c.GatewayID) {
		bad("gateway_id must be [a-z0-9-], 1 to 64 characters, got %q", c.GatewayID)
	}
	if c.MQTT.Outbox.MaxEvents < 1 || c.MQTT.Outbox.MaxBytes < 1024 {
		bad("mqtt.outbox needs max_events >= 1 and max_bytes >= 1024")
	}
	if _, err := netip.ParseAddrPort(c.MQTT.Embedded.Listen); err != nil {
		bad("mqtt.embedded.listen must be ADDRESS:PORT, got %q", c.MQTT.Embedded.Listen)
	}
	if len(errs) == 0 {
		// What the client itself checks (qos, timeouts, TLS files named
		// without their pair), before the daemon starts.
		m := c.MQTT
		m.GatewayID, m.StateDir = c.GatewayID, c.StateDir
		if _, err := m.Normalize(); err != nil {
			bad("mqtt.%s", strings.TrimPrefix(err.Error(), "mqtt: "))
		}
	}
	return errors.Join(errs...)
}

var (
	topicLevel = regexp.MustCompile(`^[a-zA-Z0-9_-]+(/[a-zA-Z0-9_-]+)*$`)
	gatewayID  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
)

// ValidateNVR checks one recorder's entry without contacting it.
func ValidateNVR(n NVR) error {
	switch {
	case n.URL == "":
		return errors.New("url is required")
	case (n.Username == "") != (n.PasswordFile == ""):
		return errors.New("needs both username and password_file, or neither")
	case n.RetryAfter < time.Minute:
		return fmt.Errorf("retry_after must be at least 1m, got %v", n.RetryAfter)
	}
	return nvr.Config{URL: n.URL, Vendor: n.Vendor, TLSFingerprint: n.TLSFingerprint}.Validate()
}
