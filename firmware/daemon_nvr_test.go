package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nvrguard/nvrguard/drivers/camsim"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/nvr/nvrtest"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// listenInNetns opens a TCP listener inside the network namespace ns (as
// `ip netns add` names it), while the test stays where it is.
func listenInNetns(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	err := camsim.InNetns("/run/netns/"+ns, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s on %s: %v", ns, addr, err)
	}
	return l
}

// poeChannels is the Hikvision recorder's channel list: the cameras on its
// PoE ports, on its own 192.168.254.0/24 (the shape of the corpus's
// derived-isapi-inputproxy-channels-001.xml).
const poeChannels = `<?xml version="1.0" encoding="UTF-8"?>
<InputProxyChannelList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema" size="8">
  <InputProxyChannel><id>1</id><name>gate</name><sourceInputPortDescriptor>
    <proxyProtocol>HIKVISION</proxyProtocol><addressingFormatType>ipaddress</addressingFormatType>
    <ipAddress>192.168.254.2</ipAddress><managePortNo>8000</managePortNo><srcInputPort>1</srcInputPort>
    <userName>admin</userName><connMode>plugplay</connMode><streamType>auto</streamType>
    <model>DS-2CD2143G0-I</model><serialNumber>DS-2CD2143G0-I20190312AAWRD12345678</serialNumber>
    <firmwareVersion>V5.6.3 build 190923</firmwareVersion></sourceInputPortDescriptor></InputProxyChannel>
  <InputProxyChannel><id>2</id><name>yard</name><sourceInputPortDescriptor>
    <proxyProtocol>ONVIF</proxyProtocol><addressingFormatType>ipaddress</addressingFormatType>
    <ipAddress>192.168.254.3</ipAddress><managePortNo>80</managePortNo><srcInputPort>1</srcInputPort>
    <userName>admin</userName><connMode>manual</connMode><streamType>auto</streamType>
    <model>IPC-HDW1230S</model><serialNumber>6G0A1B2PAZ00042</serialNumber></sourceInputPortDescriptor></InputProxyChannel>
  <InputProxyChannel><id>3</id><name>lobby</name><sourceInputPortDescriptor>
    <proxyProtocol>ONVIF</proxyProtocol><addressingFormatType>ipaddress</addressingFormatType>
    <ipAddress>192.168.254.4</ipAddress><managePortNo>80</managePortNo><srcInputPort>1</srcInputPort>
    <userName>admin</userName><connMode>manual</connMode><streamType>auto</streamType>
    <model>AXIS P3245-LV</model><serialNumber>ACCC8E270AD9</serialNumber></sourceInputPortDescriptor></InputProxyChannel>
</InputProxyChannelList>
`

// TestIntegrationDaemonNVR: a Hikvision recorder on the LAN has a second,
// PoE-side network (192.168.254.0/24) with simulated cameras the gateway
// cannot reach; a Dahua recorder beside it is given a wrong password. The
// daemon reads the Hikvision channel list with the operator's account: the
// PoE cameras are found only through it, restricted where they are, with
// "via"; the recorder is a record of its own. The wrong password is tried
// once across three sweeps, a SIGHUP and a restart (the recorder's own
// counter), is fault 5 and a "sources" line; nothing but GETs reaches
// either recorder, and a canary password inside the answers never comes
// out.
func TestIntegrationDaemonNVR(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	prefix := fmt.Sprintf("nvn%d", os.Getpid()%100000)
	poe := prefix + "p"
	lanSpec := camLAN(t, prefix, []string{
		prefix + "-c0,hikvision,58:50:ed:1f:e3:85,10.99.0.11",
		prefix + "-c1,axis,ac:cc:8e:27:0a:d8,10.99.0.14",
	})
	// The PoE side: a LAN of its own whose gateway namespace is the
	// recorder's. Its cameras answer discovery there, never on the LAN.
	poeSpec := filepath.Join(t.TempDir(), "poe.spec")
	os.WriteFile(poeSpec, []byte(strings.Join([]string{
		poe + "-c0,hikvision,c0:56:e3:11:22:33,192.168.254.2",
		poe + "-c1,dahua,4c:11:bf:44:55:66,192.168.254.3",
		poe + "-c2,axis,ac:cc:8e:27:0a:d9,192.168.254.4",
	}, "\n")+"\n"), 0o644)
	down := func() { _ = exec.Command("../scripts/camlan.sh", "down", poe).Run() }
	down()
	t.Cleanup(down)
	up := exec.Command("../scripts/camlan.sh", "up", poe, poeSpec)
	up.Env = append(os.Environ(), "GW_ADDR=192.168.254.1/24")
	if b, err := up.CombinedOutput(); err != nil {
		t.Fatalf("camlan.sh up (PoE side): %v\n%s", err, b)
	}
	recNS := poe + "-gw"
	for i, r := range []struct{ mac, addr string }{{"58:50:ed:20:20:20", "10.99.0.20"}, {"4c:11:bf:21:21:21", "10.99.0.21"}} {
		dev := fmt.Sprintf("lan%d", i)
		peer := fmt.Sprintf("nvr%d", i)
		for _, args := range [][]string{
			{"link", "add", dev, "netns", recNS, "address", r.mac, "type", "veth", "peer", "name", peer, "netns", prefix + "-lan"},
			{"-n", prefix + "-lan", "link", "set", peer, "master", "br0", "up"},
			{"-n", recNS, "addr", "add", r.addr + "/16", "dev", dev},
			{"-n", recNS, "link", "set", dev, "up"},
		} {
			if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v: %v\n%s", args, err, b)
			}
		}
	}
	// Two interfaces on one /16 in the recorder namespace: each address
	// answers ARP only on its own link, as two separate boxes would.
	for _, k := range []string{"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"} {
		exec.Command("ip", "netns", "exec", recNS, "sysctl", "-q", "-w", k).Run()
	}
	const canary = "CANARY-pw-4711"
	hik := nvrtest.NewHikvision(t, nvrtest.Options{Listener: listenInNetns(t, recNS, "10.99.0.20:80"), Canary: canary,
		Bodies: map[string][]byte{nvrtest.PathChannels: []byte(poeChannels)}})
	dahua := nvrtest.NewDahua(t, nvrtest.Options{Listener: listenInNetns(t, recNS, "10.99.0.21:80"), Canary: canary})

	broker := startMosquittoOn(t, uplink(t, prefix))
	base := "nvrguard/gwn"
	rec := mqtttest.Subscribe(t, broker, mqtttest.RecorderOptions{ClientID: "nvr-watch"}, "nvrguard/#")
	defer rec.Close()
	startCameras(t, camsimBin, lanSpec)
	startCameras(t, camsimBin, poeSpec)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.secret"), []byte(nvrtest.DefaultPassword+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "wrong.secret"), []byte("not the password\n"), 0o600)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(`log_level: debug
scan: {interval: 10s, timeout: 4s, lost_after: 2, listen: false}
usb: {enabled: false}
nvr:
  - url: http://10.99.0.20
    username: `+nvrtest.DefaultUser+`
    password_file: good.secret
  - url: http://10.99.0.21
    username: `+nvrtest.DefaultUser+`
    password_file: wrong.secret
    vendor: dahua
`), 0o644)
	stateDir := t.TempDir()
	args := []string{"--config", cfg, "--broker", broker, "--gateway-id", "gwn", "--iface", "gw0", "--led", "console", "--state-dir", stateDir}
	d := startDaemon(t, prefix+"-gw", nvrguard, args...)
	var d2 *daemonProc
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs())
			if d2 != nil {
				t.Logf("restarted daemon log:\n%s", d2.logs())
			}
		}
	}()

	// The channel cameras, each once, through the recorder only.
	records := func() map[string]identity.Device {
		out := map[string]identity.Device{}
		for _, m := range rec.Messages() {
			if !strings.HasPrefix(m.Topic, base+"/devices/") {
				continue
			}
			last, _ := rec.Last(m.Topic)
			var dev identity.Device
			if len(last.Payload) > 0 && json.Unmarshal(last.Payload, &dev) == nil {
				out[dev.ID] = dev
			}
		}
		return out
	}
	byIP := func(devs map[string]identity.Device, ip string) []identity.Device {
		var out []identity.Device
		for _, dv := range devs {
			if dv.IP == ip {
				out = append(out, dv)
			}
		}
		return out
	}
	rec.WaitFor(60*time.Second, "the three channel cameras and the LAN's", func([]mqtttest.Msg) bool {
		devs := records()
		for _, ip := range []string{"192.168.254.2", "192.168.254.3", "192.168.254.4", "10.99.0.11", "10.99.0.14"} {
			if len(byIP(devs, ip)) == 0 {
				return false
			}
		}
		return true
	})
	devs := records()
	recorders := byIP(devs, "10.99.0.20")
	if len(recorders) != 1 || recorders[0].Verdict != identity.Restricted || !strings.HasPrefix(recorders[0].Model, "DS-76") {
		t.Fatalf("the recorder's own record: %+v", recorders)
	}
	nvrID := recorders[0].ID
	for _, c := range []struct {
		ip      string
		channel int
		verdict identity.Verdict
		maker   string
	}{
		{"192.168.254.2", 1, identity.Restricted, "Hikvision"},
		{"192.168.254.3", 2, identity.Restricted, "Dahua"},
		{"192.168.254.4", 3, identity.Clear, "Axis"},
	} {
		got := byIP(devs, c.ip)
		if len(got) != 1 {
			t.Errorf("%s: %d records, want 1: %+v", c.ip, len(got), got)
			continue
		}
		dv := got[0]
		if dv.Verdict != c.verdict || dv.Manufacturer != c.maker {
			t.Errorf("%s: %s by %q, want %s by %q (reasons %+v)", c.ip, dv.Verdict, dv.Manufacturer, c.verdict, c.maker, dv.Reasons)
		}
		if dv.Via == nil || dv.Via.NVR != nvrID || dv.Via.Channel != c.channel {
			t.Errorf("%s: via %+v, want recorder %s channel %d", c.ip, dv.Via, nvrID, c.channel)
		}
		if !slices.Equal(dv.Sources, []string{identity.SourceNVR}) {
			t.Errorf("%s: sources %v: the gateway reached a PoE-side camera itself", c.ip, dv.Sources)
		}
	}
	if got := byIP(devs, "10.99.0.11"); len(got) != 1 || got[0].Verdict != identity.Restricted {
		t.Errorf("the LAN's own Hikvision camera: %+v", got)
	}

	// The wrong password: fault 5 and a line in "sources", one failed login.
	rec.WaitFor(30*time.Second, "the Dahua recorder's failure in the state topic", func([]mqtttest.Msg) bool {
		m, ok := rec.Last(base + "/state")
		return ok && strings.Contains(string(m.Payload), `"nvr:http://10.99.0.21":{"status":"error"`)
	})
	// The alarm outranks faults on the LED; acknowledged, fault 5 shows.
	rec.Publish(t, base+"/cmd/ack", false, `{"by": "tech"}`)
	d.waitLog(t, "fault 5 on the LED", "led: fault-5: ", 15*time.Second)
	for i := 0; i < 3; i++ {
		rec.Publish(t, base+"/cmd/scan", false, "")
		time.Sleep(6 * time.Second) // a sweep
	}
	d.cmd.Process.Signal(unix.SIGHUP)
	d.waitLog(t, "the reload", "reloading the configuration", 10*time.Second)
	time.Sleep(6 * time.Second)
	d.cmd.Process.Kill()
	d.cmd.Wait()
	d2 = startDaemon(t, prefix+"-gw", nvrguard, args...)
	d2.waitLog(t, "the first sweep after the restart", `msg="sweep done"`, 30*time.Second)
	time.Sleep(2 * time.Second)
	sweeps := strings.Count(d.logs(), `msg="sweep done"`) + strings.Count(d2.logs(), `msg="sweep done"`)
	if c := dahua.Counters(); c.FailedLogins != 1 || len(c.WriteAttempts) > 0 {
		t.Errorf("Dahua recorder after %d sweeps, a SIGHUP and a restart: %d failed logins (want 1), writes %v", sweeps, c.FailedLogins, c.WriteAttempts)
	}
	if sweeps < 5 {
		t.Errorf("%d sweeps: the test did not give the daemon the chances it claims", sweeps)
	}
	hc := hik.Counters()
	if hc.FailedLogins != 0 || len(hc.WriteAttempts) > 0 || hc.SuccessfulLogins == 0 {
		t.Errorf("Hikvision recorder: %+v", hc)
	}
	for m, n := range hc.ByMethod {
		if m != "GET" {
			t.Errorf("Hikvision recorder got %d %s requests", n, m)
		}
	}

	// The canary password in the answers never comes out.
	var all strings.Builder
	all.WriteString(d.logs() + d2.logs())
	for _, m := range rec.Messages() {
		all.WriteString(m.Topic + " " + string(m.Payload) + "\n")
	}
	filepath.Walk(stateDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	for _, secret := range []string{canary, nvrtest.DefaultPassword, "not the password"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("%q is in the logs, the state or MQTT", secret)
		}
	}
}
