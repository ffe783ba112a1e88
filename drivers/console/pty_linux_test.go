package console

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
)

// listenPTY runs a Listener with w on a fresh pty until the returned stop
// is called.
func listenPTY(t *testing.T, w *Watcher, write bool) (*serialtest.PTY, func()) {
	t.Helper()
	p := serialtest.NewPTY(t, serialtest.TempLink(t, "ttyUSB0"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	l := &serial.Listener{Path: p.Path, Mode: serial.Mode{Baud: 115200, ReadTimeout: 100 * time.Millisecond}, Write: write}
	go func() {
		defer close(done)
		l.Run(ctx, w)
	}()
	// The Listener reports nothing until it has opened the port; wait for
	// the slave to be open by writing nothing and giving it a moment.
	time.Sleep(150 * time.Millisecond)
	return p, func() {
		cancel()
		<-done
	}
}

// TestIntegrationConsoleReplay: a simulated console replays real boot logs
// over a real pty at 115200 baud, with each kind of line end and in small
// writes; the Watcher reading it through tarm/serial gathers the same
// identity as Parse of the file.
func TestIntegrationConsoleReplay(t *testing.T) {
	serialtest.NoLeak(t)
	for _, name := range []string{"hik_ipc_ds2cd2132_uart_boot.txt", "dahua_ipc_uboot_2010_svn3089_help.txt", "xm_hi3516ev200_uboot.txt"} {
		want := parseOne(t, read(t, name)).Facts
		for vname, v := range variants(read(t, name)) {
			t.Run(name+"/"+vname, func(t *testing.T) {
				t.Parallel()
				w := &Watcher{Port: "/dev/ttyUSB0"}
				p, stop := listenPTY(t, w, false)
				if err := p.Replay(t.Context(), v, 115200, 7); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
				stop()
				got, ok := w.Identity()
				if !ok || !slices.Equal(got.Facts, want) {
					t.Errorf("over the pty:\n got %v\nwant %v", got.Facts, want)
				}
				if got.Port != "/dev/ttyUSB0" || got.Seen.IsZero() {
					t.Errorf("port %q seen %v", got.Port, got.Seen)
				}
			})
		}
	}
}

// TestIntegrationProbeNewline: with the opt-in probe, nothing is sent while
// the device keeps printing (a countdown); once it is quiet, exactly one
// carriage return reaches it, and the prompt it prints is read.
func TestIntegrationProbeNewline(t *testing.T) {
	w := &Watcher{Probe: ProbeNewline, QuietFor: 400 * time.Millisecond}
	p, stop := listenPTY(t, w, true)
	defer stop()
	for i := 5; i > 0; i-- {
		p.Write([]byte("Hit any key to stop autoboot: " + strings.Repeat(" ", i) + "\r"))
		got, err := p.ReadFor(150 * time.Millisecond)
		if err != nil || len(got) != 0 {
			t.Fatalf("during the countdown the device got %q (%v)", got, err)
		}
	}
	got, err := p.ReadFor(1500 * time.Millisecond)
	if err != nil || string(got) != "\r" {
		t.Fatalf("after the quiet time the device got %q (%v), want one CR", got, err)
	}
	p.Write([]byte("\r\nHKVS $ "))
	if more, _ := p.ReadFor(1200 * time.Millisecond); len(more) != 0 {
		t.Errorf("a second probe was sent: %q", more)
	}
	stop()
	id, _ := w.Identity()
	if !hasFact(id, "text", "HKVS $") {
		t.Errorf("prompt not read: %v", id.Facts)
	}
}
