package mqtt

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// TestMain turns the test binary into the test publisher when
// NVRGUARD_TESTPUB=1: a separate process the tests can kill -9.
func TestMain(m *testing.M) {
	if os.Getenv("NVRGUARD_TESTPUB") == "1" {
		os.Exit(testPublisher(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// testDevice is the device of event or record n.
func testDevice(n int, v identity.Verdict) identity.Device {
	t := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return identity.Device{
		ID: fmt.Sprintf("mac-bcad28%06x", n), IP: fmt.Sprintf("10.0.%d.%d", n/250, n%250+1),
		MAC: fmt.Sprintf("bc:ad:28:%02x:%02x:%02x", n>>16&255, n>>8&255, n&255), Manufacturer: "Hikvision",
		Model: "DS-2CD2143G0-I", Sources: []string{"sadp"}, Verdict: v, Entity: "Hikvision",
		Reasons:   []identity.Reason{{Source: "sadp", Field: "model", Value: "DS-2CD2143G0-I", Rule: "model/hikvision-ds"}},
		FirstSeen: t, LastSeen: t,
	}
}

// testPublisher runs a Client configured from the environment and obeys
// one command per line of in, answering "ok …" or "error …" on out:
//
//	events N           N device_found events
//	device ID VERDICT  PublishDevice
//	remove ID          RemoveDevice
//	replace ID,ID,...  Replace (restricted devices)
//	flush              Flush (60 s at most)
//	close              Close, then exit
//
// At the end of in it waits for a signal.
func testPublisher(in io.Reader, out io.Writer) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{
		Broker:       os.Getenv("TESTPUB_BROKER"),
		GatewayID:    os.Getenv("TESTPUB_GATEWAY"),
		StateDir:     os.Getenv("TESTPUB_STATE"),
		ReconnectMin: 50 * time.Millisecond,
		ReconnectMax: 300 * time.Millisecond,
		KeepAlive:    5 * time.Second,
	}
	if n, err := strconv.Atoi(os.Getenv("TESTPUB_MAX_EVENTS")); err == nil {
		cfg.Outbox.MaxEvents = n
	}
	ctx := context.Background()
	c, err := New(cfg, log)
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	fmt.Fprintln(out, "started")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		reply := "ok"
		switch f[0] {
		case "events":
			n, _ := strconv.Atoi(f[1])
			var seq uint64
			for i := 0; i < n && err == nil; i++ {
				seq, err = c.Event(ctx, DeviceFound, testDevice(i, identity.Restricted))
			}
			reply = fmt.Sprintf("ok %d", seq)
		case "device":
			d := testDevice(0, identity.Verdict(f[2]))
			d.ID = f[1]
			err = c.PublishDevice(ctx, d)
		case "remove":
			err = c.RemoveDevice(ctx, f[1])
		case "replace":
			var devs []identity.Device
			for i, id := range strings.Split(f[1], ",") {
				d := testDevice(i, identity.Restricted)
				d.ID = id
				devs = append(devs, d)
			}
			err = c.Replace(ctx, devs)
		case "flush":
			fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			err = c.Flush(fctx)
			cancel()
		case "health":
			b, _ := json.Marshal(c.Health())
			reply = "ok " + string(b)
		case "close":
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err = c.Close(fctx)
			cancel()
			if err == nil {
				fmt.Fprintln(out, "ok")
				return 0
			}
		default:
			err = fmt.Errorf("unknown command %q", f[0])
		}
		if err != nil {
			reply = "error " + err.Error()
		}
		fmt.Fprintln(out, reply)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return 0
}

// pubProc is a test publisher process.
type pubProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	done  chan struct{}
}

// startPub starts the test binary as a publisher and waits for "started".
func startPub(t *testing.T, broker, gateway, stateDir string, env ...string) *pubProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NVRGUARD_TESTPUB=1", "TESTPUB_BROKER="+broker, "TESTPUB_GATEWAY="+gateway, "TESTPUB_STATE="+stateDir)
	cmd.Env = append(cmd.Env, env...)
	stderr := &strings.Builder{}
	cmd.Stderr = &lockedWriter{w: stderr}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pubProc{t: t, cmd: cmd, in: in, lines: make(chan string, 16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(outp)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill9()
		if t.Failed() {
			t.Logf("publisher %d stderr (tail):\n%s", cmd.Process.Pid, tail(cmd.Stderr.(*lockedWriter).String(), 4000))
		}
	})
	if got := p.next(30 * time.Second); got != "started" {
		t.Fatalf("publisher: %q", got)
	}
	return p
}

func (p *pubProc) next(d time.Duration) string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.t.Fatal("publisher exited")
		}
		return l
	case <-time.After(d):
		p.t.Fatalf("publisher silent for %v", d)
	}
	return ""
}

// do sends one command and returns the reply, failing on "error".
func (p *pubProc) do(cmd string) string {
	p.t.Helper()
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		p.t.Fatal(err)
	}
	r := p.next(90 * time.Second)
	if !strings.HasPrefix(r, "ok") {
		p.t.Fatalf("publisher %q: %s", cmd, r)
	}
	return r
}

// kill9 kills the publisher with SIGKILL and waits for it.
func (p *pubProc) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
