package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// Fleet size of BenchmarkFleet: the control room of issue 12.
const (
	fleetGateways = 200
	fleetDevices  = 50
)

// publishFleet publishes, retained, what fleetGateways gateways of
// fleetDevices devices each would: status, state summary, device records
// (5 restricted, 5 suspect, the rest clear or unknown) and register
// entries (the 10 restricted and suspect ones, and 2 removed cameras).
// It returns the number of messages.
func publishFleet(tb testing.TB, url string) int {
	tb.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID("fleet-publisher").SetCleanSession(true).
		SetWriteTimeout(10 * time.Second).SetConnectTimeout(10 * time.Second)
	o.SetProtocolVersion(4)
	cl := paho.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("connect: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var toks []paho.Token
	pub := func(topic string, v any) {
		var p []byte
		switch x := v.(type) {
		case string:
			p = []byte(x)
		default:
			var err error
			if p, err = json.Marshal(v); err != nil {
				tb.Fatal(err)
			}
		}
		toks = append(toks, cl.Publish(topic, 1, true, p))
		if len(toks) >= 256 {
			for _, t := range toks {
				if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
					tb.Fatalf("publish: %v", t.Error())
				}
			}
			toks = toks[:0]
		}
	}
	n := 0
	for g := range fleetGateways {
		gw := fmt.Sprintf("site-%03d", g)
		base := "nvrguard/" + gw
		last := t0.Add(time.Duration(g) * time.Minute)
		fail := last.Add(-time.Hour)
		pub(base+"/status", "online")
		pub(base+"/state", mqtt.Summary{Gateway: gw, Devices: fleetDevices, LastScan: &last, PolicyVersion: "2026.11.1", LED: "fast-blink",
			Counts: mqtt.Counts{Restricted: 5, Suspect: 5, Clear: 30, Unknown: 10},
			Sources: map[string]mqtt.SourceHealth{"sadp": {Status: "ok", LastOK: &last}, "wsd": {Status: "ok"},
				"nvr:10.0.0.20": {Status: "error", Error: "login refused", LastRun: &fail, RetryAt: &last}}, Time: last})
		n += 2
		reg := func(d identity.Device, st mqtt.RegisterStatus, removed time.Time) {
			e := mqtt.RegisterEntry{ID: d.ID, Status: st, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, RemovedAt: removed,
				Presence: []mqtt.Interval{{From: d.FirstSeen, To: removed}}, Device: d}
			pub(base+"/register/"+d.ID, e)
			n++
		}
		for i := range fleetDevices + 2 {
			v := identity.Clear
			switch {
			case i < 5 || i >= fleetDevices:
				v = identity.Restricted
			case i < 10:
				v = identity.Suspect
			case i < 20:
				v = identity.Unknown
			}
			mac := fmt.Sprintf("bc:ad:%02x:%02x:%02x:%02x", g>>8, g&255, i>>8, i&255)
			d := identity.Device{ID: identity.MACID(mac), IP: fmt.Sprintf("10.%d.%d.%d", g/250, g%250, i+10), MAC: mac,
				Manufacturer: "Hikvision", Model: "DS-2CD2143G0-I", Serial: fmt.Sprintf("DS-2CD2143G0-I20200414AAWR%09d", g*100+i),
				Firmware: "V5.5.0 build 170725", Sources: []string{"sadp", "wsd", "oui"}, Verdict: v, Profile: "ndaa889",
				Reasons: []identity.Reason{{Source: "sadp", Field: "model", Value: "DS-2CD2143G0-I", Rule: "model/hikvision-ds"},
					{Source: "oui", Field: "mac", Value: mac, Rule: "oui/BCAD28"}},
				FirstSeen: t0, LastSeen: last}
			if v == identity.Restricted || v == identity.Suspect {
				d.Entity = "Hikvision"
			}
			if i >= fleetDevices { // removed: in the register only
				reg(d, mqtt.Removed, last.Add(-24*time.Hour))
				continue
			}
			pub(base+"/devices/"+d.ID, d)
			n++
			if v == identity.Restricted || v == identity.Suspect {
				reg(d, mqtt.Present, time.Time{})
			}
		}
	}
	for _, t := range toks {
		if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
			tb.Fatalf("publish: %v", t.Error())
		}
	}
	return n
}

// timed runs bin with args under /usr/bin/time -v and returns the wall
// time and the peak RSS in MB.
func timed(tb testing.TB, bin string, args ...string) (time.Duration, float64, []byte) {
	tb.Helper()
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", bin}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			tb.Fatalf("%v: %v", args, err)
		}
	}
	var wall time.Duration
	var rssKB float64
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(l, "Maximum resident set size (kbytes): "); ok {
			rssKB, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			parts := strings.Split(v, ":")
			var secs float64
			for _, p := range parts {
				f, _ := strconv.ParseFloat(p, 64)
				secs = secs*60 + f
			}
			wall = time.Duration(secs * float64(time.Second))
		}
	}
	if rssKB == 0 {
		tb.Fatalf("no figures from /usr/bin/time:\n%s", stderr.String())
	}
	return wall, rssKB / 1024, out
}

// BenchmarkFleet: 200 simulated gateways of 50 devices each retain their
// findings on a real mosquitto; `nvrguard report --broker` (HTML and
// CSV) and `nvrguard watch --once` run over it as separate processes,
// timed with /usr/bin/time -v. Goal (issue 12): report <= 5 s and
// <= 100 MB RSS. scripts/bench-fleet.sh runs it.
func BenchmarkFleet(b *testing.B) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skip("needs /usr/bin/time (apt-get install time)")
	}
	m := mqtttest.StartMosquitto(b, mqtttest.MosquittoOptions{})
	start := time.Now()
	n := publishFleet(b, m.URL())
	b.Logf("published %d retained messages for %d gateways in %v", n, fleetGateways, time.Since(start).Round(time.Millisecond))
	bin := filepath.Join(b.TempDir(), "nvrguard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(b.TempDir(), "fleet.html")
	var worstWall time.Duration
	var worstRSS float64
	b.ResetTimer()
	for b.Loop() {
		for _, run := range []struct {
			name string
			args []string
		}{
			{"report-html", []string{"report", "--broker", m.URL(), "--output", out}},
			{"report-csv", []string{"report", "--broker", m.URL(), "--format", "csv", "--output", out + ".csv"}},
			{"watch-once", []string{"watch", "--broker", m.URL(), "--once"}},
		} {
			wall, rss, _ := timed(b, bin, run.args...)
			b.Logf("%s: %v wall, %.1f MB peak RSS", run.name, wall.Round(time.Millisecond), rss)
			if strings.HasPrefix(run.name, "report") {
				worstWall, worstRSS = max(worstWall, wall), max(worstRSS, rss)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(worstWall.Seconds(), "s/report")
	b.ReportMetric(worstRSS, "MB-rss/report")
	st, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	html, _ := os.ReadFile(out)
	for _, want := range []string{"site-000", "site-199", `id="kpi-present">1000<`, `id="kpi-removed">400<`} {
		if !strings.Contains(string(html), want) {
			b.Errorf("the fleet report lacks %q", want)
		}
	}
	b.Logf("HTML report %d KB", st.Size()/1024)
	if worstWall > 5*time.Second || worstRSS > 100 {
		b.Errorf("report over the goal: %v, %.1f MB (goal 5 s, 100 MB)", worstWall, worstRSS)
	}
}
