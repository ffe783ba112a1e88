package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led/ledtest"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// startMosquittoOn runs mosquitto on addr:port (a veth address the gateway
// namespace can reach) with its own config file, until the test ends.
func startMosquittoOn(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return runMosquitto(t, "", net.JoinHostPort(addr, fmt.Sprint(port)), addr)
}

// runMosquitto runs mosquitto listening on listen (ADDRESS:PORT), inside
// the namespace ns ("" this one), until the test ends, and returns its URL
// as this test reaches it: at dial, on the same port.
func runMosquitto(t *testing.T, ns, listen, dial string) string {
	t.Helper()
	bin := mqtttest.NeedMosquitto(t)
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	body := fmt.Sprintf("listener %s %s\nallow_anonymous true\nlog_dest stderr\npersistence false\n", port, host)
	if os.Geteuid() == 0 {
		body += "user root\n"
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if ns != "" {
		cmd = exec.Command("ip", "netns", "exec", ns, bin, "-c", conf)
	}
	out := &daemonProc{} // a locked buffer: mosquitto writes while the test waits
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", net.JoinHostPort(dial, port)); err == nil {
			c.Close()
			return fmt.Sprintf("tcp://%s:%s", dial, port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("mosquitto did not start:\n%s", out.logs())
	return ""
}

// daemonProc is one `nvrguard run` inside the gateway namespace.
type daemonProc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

func (p *daemonProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *daemonProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLog waits until the daemon's log holds needle; a test error names
// what was awaited when it does not within the time given.
func (p *daemonProc) waitLog(t *testing.T, what, needle string, within time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(p.logs(), needle) {
			return true
		}
	}
	if strings.Contains(p.logs(), needle) {
		return true
	}
	t.Errorf("after %v, still waiting for %s", within, what)
	return false
}

func startDaemon(t *testing.T, ns, bin string, args ...string) *daemonProc {
	t.Helper()
	p := &daemonProc{}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin, "run"}, args...)...)
	p.cmd.Stderr = p
	p.cmd.Stdout = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// uplink links this namespace to the camera LAN's gateway namespace (for
// the broker) and returns this end's address.
func uplink(t *testing.T, prefix string) string {
	t.Helper()
	host := "nvh" + strings.TrimPrefix(prefix, "nv")
	hostIP, gwIP := uplinkAddrs(prefix)
	for _, args := range [][]string{
		{"link", "add", host, "type", "veth", "peer", "name", "up0", "netns", prefix + "-gw"},
		{"addr", "add", hostIP + "/30", "dev", host},
		{"link", "set", host, "up"},
		{"-n", prefix + "-gw", "addr", "add", gwIP + "/30", "dev", "up0"},
		{"-n", prefix + "-gw", "link", "set", "up0", "up"},
	} {
		if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, b)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	return hostIP
}

// uplinkAddrs are the two ends of uplink(t, prefix): this namespace's and
// the gateway namespace's.
func uplinkAddrs(prefix string) (host, gateway string) {
	n := os.Getpid() % 250
	if strings.HasPrefix(prefix, "nvf") {
		n = (n + 1) % 250
	}
	return fmt.Sprintf("10.250.%d.1", n), fmt.Sprintf("10.250.%d.2", n)
}

type eventMsg struct {
	Seq    uint64          `json:"seq"`
	Type   string          `json:"type"`
	Device identity.Device `json:"device"`
}

// events are the gateway's events, each once by seq: QoS 1 may deliver one
// again after a restart, and a subscriber dedupes by seq (README).
func events(rec *mqtttest.Recorder, base string) []eventMsg {
	var out []eventMsg
	seen := map[uint64]bool{}
	for _, m := range rec.On(base + "/events") {
		var e eventMsg
		if json.Unmarshal(m.Payload, &e) == nil && !seen[e.Seq] {
			seen[e.Seq] = true
			out = append(out, e)
		}
	}
	return out
}

// toggles counts the changes of an LED-class brightness file over d.
func toggles(t *testing.T, dir string, d time.Duration) int {
	t.Helper()
	n, last := 0, ""
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(dir, "brightness"))
		if err != nil {
			t.Fatal(err)
		}
		v := strings.TrimSpace(string(b))
		if last != "" && v != last {
			n++
		}
		last = v
	}
	return n
}

func stateLED(rec *mqtttest.Recorder, base string) string {
	m, ok := rec.Last(base + "/state")
	if !ok {
		return ""
	}
	var st struct {
		LED string `json:"led"`
	}
	json.Unmarshal(m.Payload, &st)
	return st.LED
}

// TestIntegrationDaemon is the end-to-end test of `nvrguard run`: the
// simulated camera LAN, a real mosquitto, an LED-class directory. Every
// camera is published with its verdict; the LED blinks fast for the
// restricted cameras; cmd/ack slows it; a camera taken off the LAN is
// reported lost with an empty retained record; kill -9 and a restart keep
// the inventory, with no second device_found.
func TestIntegrationDaemon(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	prefix := fmt.Sprintf("nvd%d", os.Getpid()%100000)
	cams := []struct{ profile, mac, ip string }{
		{"hikvision", "58:50:ed:1f:e3:85", "10.99.0.11"},
		{"axis", "ac:cc:8e:27:0a:d8", "10.99.0.14"},
		{"dahua", "4c:11:bf:c2:0b:9d", "10.99.0.12"},
	}
	var spec []string
	for i, c := range cams {
		spec = append(spec, fmt.Sprintf("%s-c%d,%s,%s,%s", prefix, i, c.profile, c.mac, c.ip))
	}
	specFile := camLAN(t, prefix, spec)

	hostIP := uplink(t, prefix)
	// A camera taken off the LAN stays in the gateway's neighbour table
	// until the kernel's own timers fail the entry: reachable for 15-45 s
	// after the last confirmation (base_reachable_time 30 s), then 5 s of
	// delay and 3 s of probes once traffic needs it. device_lost cannot
	// come sooner (README, troubleshooting). The test shortens these timers
	// on the gateway's LAN interface, so that the loss is a matter of the
	// daemon's sweeps and not of a random kernel timer.
	if b, err := exec.Command("ip", "netns", "exec", prefix+"-gw", "sysctl", "-q", "-w",
		"net.ipv4.neigh.gw0.base_reachable_time_ms=2000", "net.ipv4.neigh.gw0.delay_first_probe_time=1").CombinedOutput(); err != nil {
		t.Fatalf("neighbour timers: %v\n%s", err, b)
	}
	broker := startMosquittoOn(t, hostIP)
	base := "nvrguard/gw1"
	rec := mqtttest.Subscribe(t, broker, mqtttest.RecorderOptions{ClientID: "e2e-watch"}, "nvrguard/#")
	defer rec.Close()

	// The cameras' ONVIF device services want an account the daemon does
	// not have: refused, logged at debug, the discovery evidence stands.
	pass := filepath.Join(t.TempDir(), "onvif.pass")
	if err := os.WriteFile(pass, []byte("c4m3ra!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startCameras(t, camsimBin, specFile, "--onvif-user", "operator", "--onvif-password-file", pass)
	ledDir := ledtest.ClassDir(t, "ACT", 1, "none [mmc0] heartbeat")
	stateDir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("log_level: debug\nscan:\n  interval: 10s\n  lost_after: 1\n  neighbour_watch: 2s\nusb:\n  enabled: false\n"), 0o644)
	args := []string{"--config", cfg, "--broker", broker, "--gateway-id", "gw1", "--iface", "gw0",
		"--cidr", "10.99.0.0/24", "--led", "sysfs:" + ledDir, "--state-dir", stateDir}
	started := time.Now()
	d := startDaemon(t, prefix+"-gw", nvrguard, args...)
	var d2 *daemonProc
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s\nrecorded:\n%d messages", d.logs(), len(rec.Messages()))
			if d2 != nil {
				t.Logf("restarted daemon log:\n%s", d2.logs())
			}
		}
	}()

	// Every camera is published with its verdict.
	want := map[string]identity.Verdict{
		"mac-5850ed1fe385": identity.Restricted, "mac-accc8e270ad8": identity.Clear, "mac-4c11bfc20b9d": identity.Restricted,
	}
	rec.WaitFor(30*time.Second, "every camera's retained record", func([]mqtttest.Msg) bool {
		for id, v := range want {
			m, ok := rec.Last(base + "/devices/" + id)
			var dev identity.Device
			if !ok || json.Unmarshal(m.Payload, &dev) != nil || dev.Verdict != v {
				return false
			}
		}
		return true
	})
	rec.WaitFor(10*time.Second, "the alarm in the state summary", func([]mqtttest.Msg) bool { return stateLED(rec, base) == "alarm" })
	// A subscriber that comes later gets the same records, retained.
	late := mqtttest.Subscribe(t, broker, mqtttest.RecorderOptions{ClientID: "e2e-late"}, base+"/devices/+")
	late.WaitFor(10*time.Second, "the retained records", func(ms []mqtttest.Msg) bool {
		n := 0
		for _, m := range ms {
			if m.Retained && len(m.Payload) > 0 {
				n++
			}
		}
		return n >= len(want)
	})
	late.Close()
	t.Logf("restricted cameras published and the LED set to alarm %v after the daemon started", time.Since(started).Round(time.Millisecond))
	refusal := `msg="ONVIF GetDeviceInformation" component=scan addr=10.99.0.12 err="onvif: SOAP fault: env:Sender/ter:NotAuthorized"`
	d.waitLog(t, "the debug line for the ONVIF refusal of the Dahua camera in the first sweep", refusal, 15*time.Second)
	// A plain file stands for the kernel's trigger attribute: it holds what
	// was last written ("none" while nvrguard drives the LED).
	if trig := ledtest.Attr(t, ledDir, "trigger"); trig != "none" && !strings.Contains(trig, "[none]") {
		t.Errorf("LED trigger while running = %q, want none", trig)
	}
	// Fast blink: 4 Hz is 8 changes a second.
	if n := toggles(t, ledDir, 2*time.Second); n < 12 || n > 20 {
		t.Errorf("alarm: %d brightness changes in 2 s, want about 16 (fast blink)", n)
	}

	// cmd/ack: slow blink.
	rec.Publish(t, base+"/cmd/ack", false, "")
	rec.WaitFor(10*time.Second, "the acknowledged state", func([]mqtttest.Msg) bool { return stateLED(rec, base) == "acked" })
	if n := toggles(t, ledDir, 3*time.Second); n < 4 || n > 8 {
		t.Errorf("acknowledged: %d brightness changes in 3 s, want about 6 (slow blink)", n)
	}

	// Take the Axis camera off the LAN: device_lost and an empty retained record.
	if b, err := exec.Command("ip", "-n", prefix+"-lan", "link", "del", "c2").CombinedOutput(); err != nil {
		t.Fatalf("unplug: %v\n%s", err, b)
	}
	unplugged := time.Now()
	rec.Publish(t, base+"/cmd/scan", false, "")
	rec.WaitFor(60*time.Second, "device_lost of the Axis camera and its empty retained record", func([]mqtttest.Msg) bool {
		lost := false
		for _, e := range events(rec, base) {
			lost = lost || (e.Type == "device_lost" && e.Device.ID == "mac-accc8e270ad8")
		}
		m, ok := rec.Last(base + "/devices/mac-accc8e270ad8")
		return lost && ok && len(m.Payload) == 0
	})
	t.Logf("device_lost and the empty record %v after the camera was unplugged (sweeps every 10 s, lost_after 1)", time.Since(unplugged).Round(time.Millisecond))

	// kill -9 and a restart: the inventory is intact, nothing is found twice.
	d.cmd.Process.Kill()
	d.cmd.Wait()
	rec.WaitFor(15*time.Second, "the last will", func([]mqtttest.Msg) bool {
		m, ok := rec.Last(base + "/status")
		return ok && string(m.Payload) == "offline"
	})
	before := len(events(rec, base))
	d2 = startDaemon(t, prefix+"-gw", nvrguard, args...)
	rec.WaitFor(20*time.Second, "online again and a sweep", func([]mqtttest.Msg) bool {
		m, ok := rec.Last(base + "/status")
		return ok && string(m.Payload) == "online" && strings.Contains(d2.logs(), "sweep done")
	})
	time.Sleep(time.Second)
	found := map[string]int{}
	for _, e := range events(rec, base) {
		if e.Type == "device_found" {
			found[e.Device.ID]++
		}
	}
	for id, n := range found {
		if n != 1 {
			t.Errorf("%s found %d times, want once (restart included)", id, n)
		}
	}
	if after := len(events(rec, base)); after != before {
		t.Errorf("%d events after the restart, want none: %+v", after-before, events(rec, base)[before:])
	}
	if !strings.Contains(d2.logs(), "inventory restored") {
		t.Errorf("the restarted daemon did not restore its inventory:\n%s", d2.logs())
	}
	// seq keeps growing across the restart.
	var last uint64
	for _, e := range events(rec, base) {
		if e.Seq <= last {
			t.Errorf("event seq %d after %d", e.Seq, last)
		}
		last = e.Seq
	}

	// SIGTERM: a clean stop, status offline, LED off and its trigger restored.
	d2.cmd.Process.Signal(os.Interrupt)
	if err := d2.cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGINT: %v\n%s", err, d2.logs())
	}
	if got := ledtest.Attr(t, ledDir, "brightness"); got != "0" {
		t.Errorf("brightness after exit = %q, want 0", got)
	}
	if trig := ledtest.Attr(t, ledDir, "trigger"); trig != "mmc0" && !strings.Contains(trig, "[mmc0]") {
		t.Errorf("trigger after exit = %q, want mmc0 restored", trig)
	}
	rec.WaitLast(10*time.Second, base+"/status", "offline")
}
