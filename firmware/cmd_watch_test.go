package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// lockedBuf is an output buffer the test reads while watch writes.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func watchDevice(id string, v identity.Verdict, model string) identity.Device {
	t := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return identity.Device{ID: id, IP: "10.0.0.9", MAC: "bc:ad:28:00:00:01", Manufacturer: "Hikvision", Model: model,
		Sources: []string{"sadp"}, Verdict: v, Reasons: []identity.Reason{{Source: "sadp", Field: "model", Value: model, Rule: "model/x"}},
		FirstSeen: t, LastSeen: t}
}

// gateway starts a publishing client for gateway id on url.
func gateway(t *testing.T, url, id string, devs ...identity.Device) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Broker: url, GatewayID: id, StateDir: t.TempDir(), ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	if err := c.Replace(t.Context(), devs); err != nil {
		t.Fatal(err)
	}
	c.PublishState(t.Context(), mqtt.State{LED: "fast-blink", PolicyVersion: "p1", LastScan: time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntegrationWatchOnce(t *testing.T) {
	for _, kind := range mqtttest.Kinds {
		t.Run(kind, func(t *testing.T) {
			b := mqtttest.Start(t, kind)
			gateway(t, b.URL(), "gw-a", watchDevice("mac-000000000001", identity.Clear, "AXIS P3245"),
				watchDevice("mac-000000000002", identity.Unknown, "cam"))
			gateway(t, b.URL(), "gw-b", watchDevice("mac-000000000003", identity.Restricted, "DS-2CD2143G0-I\x1b[2J"),
				watchDevice("mac-000000000004", identity.Suspect, "IPC"))
			var out, errb bytes.Buffer
			code := run([]string{"watch", "--broker", b.URL(), "--once"}, nil, &out, &errb)
			if code != exitRestricted {
				t.Fatalf("exit %d, want 3; stderr: %s\n%s", code, errb.String(), out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) < 7 || !strings.HasPrefix(lines[0], "GATEWAY") {
				t.Fatalf("output:\n%s", out.String())
			}
			for i, want := range []string{"restricted", "suspect", "unknown", "clear"} {
				if f := strings.Fields(lines[i+1]); len(f) < 3 || f[1] != want {
					t.Errorf("row %d is %q, want %s (restricted first)", i+1, lines[i+1], want)
				}
			}
			if strings.Contains(out.String(), "\x1b") {
				t.Error("a terminal escape from a device reached the output")
			}
			for _, want := range []string{"gw-a: online, 2 device(s): 0 restricted, 0 suspect, 1 clear, 1 unknown; last scan 2026-11-27T10:05:00Z; LED fast-blink",
				"gw-b: online, 2 device(s): 1 restricted, 1 suspect"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestIntegrationWatchLive(t *testing.T) {
	b := mqtttest.Start(t, "mochi")
	gw := gateway(t, b.URL(), "gw-a", watchDevice("mac-000000000001", identity.Clear, "AXIS"))
	out := &lockedBuf{}
	var errb bytes.Buffer
	e := &env{stdout: out, stderr: &errb, log: slog.New(slog.NewTextHandler(&errb, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() {
		code, err := cmdWatch(ctx, e, []string{"--broker", b.URL(), "--settle", "200ms"})
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	waitOut := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in:\n%s\nstderr: %s", what, out.String(), errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOut("gw-a: online, 1 device(s)")
	d := watchDevice("mac-000000000009", identity.Restricted, "DS-2CD")
	gw.PublishDevice(ctx, d)
	seq, err := gw.Event(ctx, mqtt.DeviceFound, d)
	if err != nil {
		t.Fatal(err)
	}
	waitOut("gw-a !! restricted mac-000000000009 ip=10.0.0.9")
	// A fresh outbox starts above the clock (seq only grows, even across
	// a lost outbox): the line carries whatever seq the event got.
	waitOut(fmt.Sprintf("gw-a event %d device_found: !! restricted mac-000000000009", seq))
	gw.RemoveDevice(ctx, "mac-000000000001")
	waitOut("gw-a gone mac-000000000001")
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop")
	}
}

func TestIntegrationWatchJSON(t *testing.T) {
	b := mqtttest.Start(t, "mochi")
	gateway(t, b.URL(), "gw-a", watchDevice("mac-000000000001", identity.Clear, "AXIS"))
	var out, errb bytes.Buffer
	if code := run([]string{"watch", "--broker", b.URL(), "--once", "--json"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a device line and a gateway line:\n%s", out.String())
	}
	var dev struct {
		Kind    string          `json:"kind"`
		Gateway string          `json:"gateway"`
		Device  identity.Device `json:"device"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &dev); err != nil || dev.Kind != "device" || dev.Gateway != "gw-a" || dev.Device.ID != "mac-000000000001" {
		t.Errorf("device line %s (%v)", lines[0], err)
	}
}

func TestWatchErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--broker", "tcp://" + closed, "--once"}, exitError, "connection refused"},
		{[]string{"--broker", "http://example.com:80"}, exitUsage, "scheme"},
		{[]string{"--prefix", "a/+"}, exitUsage, "prefix"},
		{[]string{"--settle", "0s"}, exitUsage, "settle"},
		{[]string{"extra"}, exitUsage, "unexpected argument"},
		{[]string{"--broker", "ssl://" + closed, "--ca-file", "/nonexistent/ca.pem"}, exitError, "ca_file"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"watch"}, tc.args...), nil, &out, &errb)
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != tc.code || !strings.Contains(first, tc.want) || !strings.HasPrefix(first, "nvrguard: ") {
			t.Errorf("watch %v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
		if tc.code == exitError && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("watch %v: more than one line on stderr: %q", tc.args, errb.String())
		}
	}
}
