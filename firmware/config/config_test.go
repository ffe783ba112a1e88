package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n"} {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if c.Scan.Interval != 5*time.Minute || c.MQTT.Prefix != "nvrguard" || !c.USB.Enabled || !c.Scan.Banners {
			t.Errorf("Parse(%q) = %+v, want the defaults", in, c)
		}
	}
}

func TestValuesOverrideDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader(`
gateway_id: site-7-gw
scan:
  interval: 2m
  cidrs: [10.20.30.0/24]
serial:
  ports:
    - path: /dev/serial/by-id/usb-FTDI_FT232R-if00-port0
      baud: 57600
      probe: newline
mqtt:
  broker: ssl://broker.example:8883
  home_assistant:
    enabled: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.GatewayID != "site-7-gw" || c.Scan.Interval != 2*time.Minute || c.Scan.Timeout != 8*time.Second ||
		len(c.Serial.Ports) != 1 || c.Serial.Ports[0].Baud != 57600 || !c.MQTT.HomeAssistant.Enabled ||
		c.MQTT.HomeAssistant.Prefix != "homeassistant" {
		t.Errorf("got %+v", c)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	cases := map[string]string{
		"scan:\n  intervall: 5m\n":                                  "line 2",
		"mqtt:\n  broker: [1, 2]\n":                                 "line 2",
		"scan:\n  interval: soon\n":                                 "line 2",
		"log_level: loud\n":                                         "log_level",
		"scan:\n  interval: 1s\n":                                   "scan.interval",
		"scan:\n  cidrs: [10.0.0.0/33]\n":                           "scan.cidrs",
		"serial:\n  ports: [{path: COM1}]\n":                        "serial.ports[0].path",
		"serial:\n  ports: [{path: /dev/ttyUSB0, probe: ctrl-u}]\n": "probe",
		"mqtt:\n  prefix: a/+/b\n":                                  "mqtt.prefix",
		"gateway_id: ../etc\n":                                      "gateway_id",
		"a: 1\n---\nb: 2\n":                                         "line 1",
		"mqtt: {broker: http://x}\n":                                "mqtt.broker",
	}
	for in, want := range cases {
		_, err := Parse(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to mention %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") && !strings.Contains(in, "---") && want == "line 2" {
			t.Errorf("Parse(%q) error spans lines: %q", in, err)
		}
	}
}

func TestSecretsFromFilesNeverPrint(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mqtt.pass"), []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("mqtt:\n  username: gw\n  password_file: mqtt.pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Password.Reveal() != "hunter2" {
		t.Errorf("password = %q", c.MQTT.Password.Reveal())
	}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", c.MQTT.Password)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
	}
	os.Remove(filepath.Join(dir, "mqtt.pass"))
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "mqtt.password_file") {
		t.Errorf("missing secret file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("scan:\n  interval: 5m\n")
	f.Add("mqtt: {broker: tcp://127.0.0.1:1883, outbox: {max_events: 5, max_bytes: 4096}}\n")
	f.Add("serial:\n  ports:\n    - {path: /dev/ttyUSB0, kind: pelco, pelco_addresses: [1, 2], query: true}\n")
	f.Add("&a [*a]")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
	})
}

// TestPackagedConfigIsTheDefaults keeps the commented file the .deb
// installs in step with Default: uncommenting nothing changes nothing.
func TestPackagedConfigIsTheDefaults(t *testing.T) {
	b, err := os.ReadFile("../../scripts/packaging/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("the packaged config does not parse: %v", err)
	}
	if fmt.Sprintf("%+v", c) != fmt.Sprintf("%+v", Default()) {
		t.Errorf("the packaged config is not the defaults:\n%+v\n%+v", c, Default())
	}
	// Every commented default line, uncommented, must parse too.
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimLeft(l, " ")
		indent := l[:len(l)-len(trimmed)]
		if strings.HasPrefix(trimmed, "#") && strings.Contains(trimmed, ":") && !strings.HasPrefix(trimmed, "# ") && !strings.HasPrefix(trimmed, "#  -") && !strings.HasPrefix(trimmed, "#    ") {
			lines = append(lines, indent+strings.TrimPrefix(trimmed, "#"))
			continue
		}
		lines = append(lines, l)
	}
	if _, err := Parse(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Errorf("the packaged config with its defaults uncommented does not parse: %v", err)
	}
}

// TestONVIFAccount: the ONVIF password comes from its file, never prints,
// and an account needs both halves.
func TestONVIFAccount(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "onvif.pass"), []byte("c4m3ra!\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("scan:\n  onvif:\n    username: operator\n    password_file: onvif.pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scan.ONVIF.Username != "operator" || c.Scan.ONVIF.Password.Reveal() != "c4m3ra!" {
		t.Errorf("account %q / %q", c.Scan.ONVIF.Username, c.Scan.ONVIF.Password.Reveal())
	}
	if s := fmt.Sprintf("%+v %#v", c, c); strings.Contains(s, "c4m3ra") {
		t.Fatalf("secret printed: %s", s)
	}
	for _, in := range []string{"scan:\n  onvif:\n    username: operator\n", "scan:\n  onvif:\n    password_file: onvif.pass\n"} {
		if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "scan.onvif needs both") {
			t.Errorf("%q: err %v", in, err)
		}
	}
	os.Remove(filepath.Join(dir, "onvif.pass"))
	if err := os.WriteFile(path, []byte("scan:\n  onvif:\n    username: operator\n    password_file: onvif.pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "scan.onvif.password_file") {
		t.Errorf("missing secret file: %v", err)
	}
}

// TestNVRSection: each recorder gets its defaults and its own secret
// file; a bad entry is an error naming it, and the password never prints.
func TestNVRSection(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "front.secret"), []byte("s3cret-nvr\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	yaml := "nvr:\n  - url: http://192.168.1.20\n    username: audit\n    password_file: front.secret\n  - url: https://10.0.0.5:8443\n    vendor: dahua\n    retry_after: 12h\n"
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.NVR) != 2 || c.NVR[0].Password.Reveal() != "s3cret-nvr" || c.NVR[0].Vendor != "auto" || c.NVR[0].RetryAfter != 6*time.Hour ||
		c.NVR[1].Vendor != "dahua" || c.NVR[1].RetryAfter != 12*time.Hour || c.NVR[1].Password != "" {
		t.Fatalf("nvr %+v", c.NVR)
	}
	if s := fmt.Sprintf("%+v %#v", c, c); strings.Contains(s, "s3cret-nvr") {
		t.Fatal("the recorder password printed")
	}
	for in, want := range map[string]string{
		"nvr:\n  - url: ftp://x\n":                                                          "nvr[0]",
		"nvr:\n  - url: http://a\n  - url: http://a\n":                                      "listed twice",
		"nvr:\n  - url: http://a\n    username: u\n":                                        "password_file",
		"nvr:\n  - url: http://admin:x@a\n":                                                 "credentials",
		"nvr:\n  - url: http://a\n    vendor: uniview\n":                                    "vendor",
		"nvr:\n  - url: http://a\n    retry_after: 1s\n":                                    "retry_after",
		"nvr:\n  - url: http://a\n    tls_fingerprint: abc\n":                               "fingerprint",
		"nvr:\n  - {url: http://a, passwd: x}\n":                                            "unknown key",
		"nvr:\n  - url: https://a\n    tls_fingerprint: " + strings.Repeat("ab", 32) + "\n": "",
	} {
		_, err := Parse(strings.NewReader(in))
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: err %v, want one naming %q", in, err, want)
		}
	}
}

// TestMQTTDecodedOnce: the mqtt section is the client's own config type,
// with the documented keys (embedded, not embedded_broker) and the
// client's checks run when the file is read.
func TestMQTTDecodedOnce(t *testing.T) {
	c, err := Parse(strings.NewReader("mqtt:\n  qos: 0\n  reconnect_max: 2m\n  embedded:\n    listen: 127.0.0.1:1884\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.QoS == nil || *c.MQTT.QoS != 0 || c.MQTT.ReconnectMax != 2*time.Minute || c.MQTT.Embedded.Listen != "127.0.0.1:1884" {
		t.Errorf("mqtt %+v", c.MQTT)
	}
	for in, want := range map[string]string{
		"mqtt:\n  embedded_broker: {listen: 127.0.0.1:1}\n": "unknown key",
		"mqtt:\n  gateway_id: x\n":                          "unknown key",
		"mqtt:\n  qos: 3\n":                                 "mqtt.qos",
		"mqtt:\n  tls: {cert_file: /c.pem}\n":               "mqtt.tls.cert_file and tls.key_file",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
