// Package mqtttest starts real MQTT brokers for tests: mosquitto on a free
// loopback port with its own configuration file (and, on request, its own
// CA, client certificates, password file and persistence), and the
// embedded mochi broker in-process. It also has a recording subscriber.
//
// A test that needs mosquitto skips when it is not installed, except under
// NVRGUARD_CI=1, where that is a failure.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NeedMosquitto returns the path of the mosquitto binary, skipping t when
// it is missing (failing under NVRGUARD_CI=1).
func NeedMosquitto(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, err2 := os.Stat(p); err2 == nil {
				path, err = p, nil
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("NVRGUARD_CI") == "1" {
			t.Fatal("needs mosquitto (apt-get install mosquitto mosquitto-clients), and NVRGUARD_CI=1 forbids skipping")
		}
		t.Skip("needs mosquitto (apt-get install mosquitto mosquitto-clients)")
	}
	return path
}

// TLSFiles configure a TLS listener.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
	RequireClientCert         bool
}

// MosquittoOptions configure StartMosquitto.
type MosquittoOptions struct {
	TLS *TLSFiles
	// Users, when set, turns anonymous access off and writes a password
	// file with these users (via mosquitto_passwd).
	Users map[string]string
	// Persistence keeps retained messages and persistent sessions across
	// Stop and Start (saved on SIGTERM).
	Persistence bool
}

// Mosquitto is a mosquitto process owned by a test.
type Mosquitto struct {
	t    testing.TB
	bin  string
	Dir  string
	Port int
	conf string
	opt  MosquittoOptions

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// StartMosquitto starts mosquitto on a free loopback port with a
// configuration file of its own; it is killed when the test ends.
func StartMosquitto(t testing.TB, opt MosquittoOptions) *Mosquitto {
	t.Helper()
	m := &Mosquitto{t: t, bin: NeedMosquitto(t), Dir: t.TempDir(), opt: opt}
	t.Cleanup(m.Kill)
	var err error
	for range 5 {
		m.Port, err = freePort()
		if err != nil {
			t.Fatal(err)
		}
		m.writeConfig()
		if err = m.start(); err == nil {
			return m
		}
	}
	t.Fatalf("mosquitto: %v", err)
	return nil
}

// URL is the broker's URL: tcp:// or, with TLS, ssl://.
func (m *Mosquitto) URL() string {
	scheme := "tcp"
	if m.opt.TLS != nil {
		scheme = "ssl"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, m.Port)
}

// Log returns what mosquitto wrote so far.
func (m *Mosquitto) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out == nil {
		return ""
	}
	return m.out.String()
}

func (m *Mosquitto) writeConfig() {
	var b strings.Builder
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", m.Port)
	b.WriteString("log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
	b.WriteString("max_queued_messages 100000\nmax_inflight_messages 100\n")
	if os.Geteuid() == 0 {
		b.WriteString("user root\n") // files in the test's 0700 temporary directory
	}
	if m.opt.Persistence {
		fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval 0\n", m.Dir)
	}
	if len(m.opt.Users) > 0 {
		pw := filepath.Join(m.Dir, "passwd")
		if _, err := os.Stat(pw); err != nil {
			if err := os.WriteFile(pw, nil, 0o600); err != nil {
				m.t.Fatal(err)
			}
			for u, p := range m.opt.Users {
				if out, err := exec.Command("mosquitto_passwd", "-b", pw, u, p).CombinedOutput(); err != nil {
					m.t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
				}
			}
		}
		fmt.Fprintf(&b, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		b.WriteString("allow_anonymous true\n")
	}
	if tl := m.opt.TLS; tl != nil {
		fmt.Fprintf(&b, "cafile %s\ncertfile %s\nkeyfile %s\n", tl.CAFile, tl.CertFile, tl.KeyFile)
		fmt.Fprintf(&b, "require_certificate %v\n", tl.RequireClientCert)
	}
	m.conf = filepath.Join(m.Dir, "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(b.String()), 0o600); err != nil {
		m.t.Fatal(err)
	}
}

// start runs mosquitto and waits until it accepts connections.
func (m *Mosquitto) start() error {
	cmd := exec.Command(m.bin, "-c", m.conf)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("mosquitto exited: %v\n%s", werr, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(m.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			m.mu.Lock()
			m.cmd, m.done, m.out = cmd, done, out
			m.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("mosquitto did not listen on port %d within 10s\n%s", m.Port, out.String())
}

// Stop stops mosquitto with SIGTERM (it saves its persistence file) and
// waits for it to exit.
func (m *Mosquitto) Stop() { m.signal(syscall.SIGTERM) }

// Kill stops mosquitto with SIGKILL.
func (m *Mosquitto) Kill() { m.signal(syscall.SIGKILL) }

func (m *Mosquitto) signal(sig syscall.Signal) {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Start starts mosquitto again, on the same port with the same
// configuration.
func (m *Mosquitto) Start() {
	m.t.Helper()
	var err error
	for range 50 { // the port may linger for a moment
		if err = m.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.t.Fatalf("restart mosquitto: %v", err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
