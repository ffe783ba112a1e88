package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/source"
)

func envOf(cfg config.Config, root string) source.Env {
	return source.Env{Config: func() config.Config { return cfg }, Root: root}
}

func names(ins []source.Instance) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Name)
	}
	return out
}

// TestBuildFromConfig: the table makes one instance per thing to read,
// and nothing for what is disabled: with usb.enabled false no USB source
// exists, so the fake /sys is never opened.
func TestBuildFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Serial.Ports = []config.SerialPort{{Path: "/dev/ttyUSB0"}, {Path: "/dev/ttyUSB1", Kind: "pelco"}}
	cfg.NVR = []config.NVR{{URL: "http://192.168.1.20", Vendor: "auto", RetryAfter: time.Hour}}
	ins, err := source.Build(envOf(cfg, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	want := "network neighbours listen usb serial:/dev/ttyUSB0 serial:/dev/ttyUSB1 nvr:http://192.168.1.20"
	if got := strings.Join(names(ins), " "); got != want {
		t.Errorf("instances %q, want %q", got, want)
	}
	for _, in := range ins {
		scanOnly := in.Name == "neighbours" || in.Name == "listen"
		if in.Scan == scanOnly || !in.Run {
			t.Errorf("%s: scan %v run %v", in.Name, in.Scan, in.Run)
		}
	}

	cfg.USB.Enabled, cfg.Scan.Listen = false, false
	// A /sys whose USB tree cannot be read at all: a source that opened it
	// would fail.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys/bus/usb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sys/bus/usb/devices"), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	ins, err = source.Build(envOf(cfg, root))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.Slot == source.SlotUSB || in.Name == "listen" {
			t.Errorf("%s built though disabled", in.Name)
		}
	}
	cfg.USB.Enabled = true
	ins, _ = source.Build(envOf(cfg, root))
	for _, in := range ins {
		if in.Name == "usb" {
			if err := in.Read(t.Context(), func(source.Reading) {}); err == nil {
				t.Error("the USB source read an unreadable /sys without error: the test proves nothing")
			}
		}
	}
}

// TestBuildRefusesBadRecorder: a recorder URL that is not one is an error
// of Build, naming the row.
func TestBuildRefusesBadRecorder(t *testing.T) {
	cfg := config.Default()
	cfg.NVR = []config.NVR{{URL: "ftp://nvr", RetryAfter: time.Hour}}
	if _, err := source.Build(envOf(cfg, "")); err == nil || !strings.HasPrefix(err.Error(), "nvr: ") {
		t.Errorf("err %v", err)
	}
}

func poll(name string, every time.Duration, read source.Func) source.Instance {
	return source.Instance{Name: name, Slot: name, Kind: source.Poll, Run: true, Scan: true, Fault: led.FaultNVR,
		Interval: func(config.Config) time.Duration { return every }, Source: read}
}

type sink struct {
	mu       sync.Mutex
	readings map[string][]source.Reading
	health   map[string][]source.Health
}

func (s *sink) emit(_ context.Context, in *source.Instance, r source.Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readings == nil {
		s.readings = map[string][]source.Reading{}
	}
	s.readings[in.Name] = append(s.readings[in.Name], r)
}

func (s *sink) changed(in *source.Instance, h source.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.health == nil {
		s.health = map[string][]source.Health{}
	}
	s.health[in.Name] = append(s.health[in.Name], h)
}

func (s *sink) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.readings[name])
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSupervisor: a polled source is read at once, then every interval or
// when kicked; a failing one is in error with its retry time, and a held
// one waits for its Until; a panic is a failure, not a dead daemon;
// OnlyChanges drops a reading equal to the last.
func TestSupervisor(t *testing.T) {
	var reads, fails, panics, same atomic.Int32
	hik := identity.Identity{Source: identity.SourceARP, MAC: "58:50:ed:1f:e3:85"}
	until := time.Now().Add(6 * time.Hour)
	ins := []source.Instance{
		poll("ok", time.Hour, func(ctx context.Context, emit source.Emit) error {
			reads.Add(1)
			emit(source.Reading{IDs: []identity.Identity{hik}, Complete: true})
			return nil
		}),
		poll("held", time.Hour, func(ctx context.Context, emit source.Emit) error {
			fails.Add(1)
			return &source.Held{Err: errors.New("refused"), Until: until}
		}),
		poll("panics", time.Hour, func(ctx context.Context, emit source.Emit) error {
			panics.Add(1)
			panic("parser bug")
		}),
		poll("same", 10*time.Millisecond, func(ctx context.Context, emit source.Emit) error {
			same.Add(1)
			emit(source.Reading{IDs: []identity.Identity{hik}, Complete: true})
			return nil
		}),
	}
	ins[3].OnlyChanges = true
	var s sink
	sup := &source.Supervisor{Instances: ins, Config: config.Default, Emit: s.emit, Changed: s.changed}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()

	waitFor(t, "the first reads", func() bool { return s.count("ok") == 1 && fails.Load() == 1 && panics.Load() == 1 && same.Load() > 5 })
	if !sup.Kick("ok") || sup.Kick("nothing") {
		t.Error("Kick: wrong answer")
	}
	waitFor(t, "the kicked read", func() bool { return s.count("ok") == 2 })
	if n := s.count("same"); n != 1 {
		t.Errorf("OnlyChanges: %d readings of an unchanged source, want 1", n)
	}
	time.Sleep(50 * time.Millisecond)
	if fails.Load() != 1 || panics.Load() != 1 {
		t.Errorf("a failed source was read again at once: held %d, panics %d", fails.Load(), panics.Load())
	}
	h := sup.Health()
	if h["ok"].Status != "ok" || h["ok"].LastOK.IsZero() {
		t.Errorf("ok: %+v", h["ok"])
	}
	if h["held"].Status != "error" || h["held"].Error != "refused" || !h["held"].RetryAt.After(until.Add(-time.Minute)) {
		t.Errorf("held: %+v, want retry at %v", h["held"], until)
	}
	if p := h["panics"]; p.Status != "error" || !strings.Contains(p.Error, "parser bug") || time.Until(p.RetryAt) < source.BackoffMin/2 {
		t.Errorf("panics: %+v", p)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if hs := s.health["held"]; len(hs) != 1 || !hs[0].Failing() {
		t.Errorf("health changes of held: %+v", hs)
	}
}

// TestSupervisorListenRestarts: a listening source that stops is in error
// and started again after the backoff; one that runs is ok.
func TestSupervisorListenRestarts(t *testing.T) {
	var starts atomic.Int32
	in := source.Instance{Name: "listen", Slot: "listen", Kind: source.Listen, Run: true,
		Source: source.Func(func(ctx context.Context, emit source.Emit) error {
			if starts.Add(1) == 1 {
				return errors.New("no interface")
			}
			<-ctx.Done()
			return nil
		})}
	var s sink
	sup := &source.Supervisor{Instances: []source.Instance{in}, Config: config.Default, Emit: s.emit, Changed: s.changed}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go sup.Run(ctx)
	waitFor(t, "the failure", func() bool { return sup.Health()["listen"].Status == "error" })
	if h := sup.Health()["listen"]; h.Error != "no interface" || time.Until(h.RetryAt) < source.BackoffMin/2 {
		t.Errorf("health %+v", h)
	}
	if starts.Load() != 1 {
		t.Errorf("restarted at once: %d starts", starts.Load())
	}
}

// TestOnce: scan runs every scan source once, all at once; a listening
// source until the deadline; failures are reported, not fatal.
func TestOnce(t *testing.T) {
	hik := identity.Identity{Source: identity.SourceARP, MAC: "58:50:ed:1f:e3:85"}
	ins := []source.Instance{
		poll("a", time.Hour, func(ctx context.Context, emit source.Emit) error {
			emit(source.Reading{IDs: []identity.Identity{hik}, Complete: true})
			return nil
		}),
		poll("b", time.Hour, func(ctx context.Context, emit source.Emit) error { return errors.New("unreachable") }),
		{Name: "c", Kind: source.Listen, Scan: true, Source: source.Func(func(ctx context.Context, emit source.Emit) error {
			emit(source.Reading{IDs: []identity.Identity{hik}})
			emit(source.Reading{IDs: []identity.Identity{hik, hik}})
			<-ctx.Done()
			return nil
		})},
		{Name: "daemon-only", Kind: source.Poll, Run: true, Source: source.Func(func(ctx context.Context, emit source.Emit) error {
			t.Error("a daemon-only source ran in a scan")
			return nil
		})},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	rs := source.Once(ctx, ins)
	if len(rs) != 3 || rs[0].Err != nil || !rs[0].Read || rs[1].Err == nil || rs[1].Read || len(rs[2].Reading.IDs) != 2 {
		t.Errorf("results %+v", rs)
	}
	if n := len(source.IDs(rs)); n != 3 {
		t.Errorf("%d identities, want 3", n)
	}
}
