package serial_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
)

var ptyMode = serial.Mode{Baud: 115200, ReadTimeout: 100 * time.Millisecond}

// TestIntegrationTarmTimeoutAndHangup: the real tarm/serial on a real pty
// tells a quiet port (ErrTimeout after the read timeout) from a hung-up one
// (ErrGone within a few reads).
func TestIntegrationTarmTimeoutAndHangup(t *testing.T) {
	p := serialtest.NewPTY(t, serialtest.TempLink(t, "ttyUSB0"))
	port, err := serial.OpenTarm(p.Path, ptyMode)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	buf := make([]byte, 64)
	start := time.Now()
	if n, err := port.Read(buf); n != 0 || !errors.Is(err, serial.ErrTimeout) {
		t.Fatalf("quiet read = %d, %v; want ErrTimeout", n, err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("quiet read returned after %v, before the read timeout", d)
	}
	p.Write([]byte("U-Boot 2010.06\r\n"))
	if n, err := port.Read(buf); err != nil || string(buf[:n]) != "U-Boot 2010.06\r\n" {
		t.Fatalf("read = %q, %v", buf[:n], err)
	}
	p.Unplug()
	start = time.Now()
	for i := 0; ; i++ {
		_, err := port.Read(buf)
		if errors.Is(err, serial.ErrGone) {
			break
		}
		if !errors.Is(err, serial.ErrTimeout) || i > 5 {
			t.Fatalf("read %d after hangup: %v", i, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("hangup noticed after %v", d)
	}
}

func TestIntegrationOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := serial.OpenTarm(filepath.Join(dir, "ttyUSB9"), ptyMode); !errors.Is(err, serial.ErrNoDevice) {
		t.Errorf("missing port: %v, want ErrNoDevice", err)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	_, err := serial.OpenTarm(plain, ptyMode)
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") || !strings.HasPrefix(err.Error(), "serial: ") {
		t.Errorf("a regular file opened as a port: %v", err)
	}
	if _, err := serial.OpenTarm(plain, serial.Mode{Baud: 1234}); err == nil {
		t.Error("an unsupported rate was accepted")
	}
}

// TestIntegrationUnplugAndReplug: the master is closed in the middle of a
// read; the Listener reports the port gone within 2 s, re-opens it when a
// new pty appears at the same path (the link is moved, as udev does), reads
// on, and leaves no goroutine behind when cancelled.
func TestIntegrationUnplugAndReplug(t *testing.T) {
	serialtest.NoLeak(t)
	link := serialtest.TempLink(t, "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0")
	p1 := serialtest.NewPTY(t, link)
	h := &recorder{}
	l := &serial.Listener{Path: link, Mode: ptyMode, MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}
	stop := run(t, l, h)
	waitFor(t, 2*time.Second, "first open", func() bool { _, o, _ := h.snapshot(); return o == 1 })
	p1.Write([]byte("U-Boot 1.3.4-30623 (Dec 6 2012 - 11:05:48)\r\n"))
	waitFor(t, 2*time.Second, "first data", func() bool { d, _, _ := h.snapshot(); return bytes.HasSuffix(d, []byte("11:05:48)\r\n")) })

	time.Sleep(30 * time.Millisecond) // the Listener is now blocked in a read
	unplugged := time.Now()
	p1.Unplug()
	waitFor(t, 3*time.Second, "the port reported gone", func() bool { _, _, c := h.snapshot(); return len(c) == 1 })
	_, _, closed := h.snapshot()
	if !errors.Is(closed[0], serial.ErrGone) {
		t.Fatalf("Closed(%v), want ErrGone", closed[0])
	}
	h.mu.Lock()
	took := h.goneAt[0].Sub(unplugged)
	h.mu.Unlock()
	if took > 2*time.Second {
		t.Errorf("port reported gone %v after the unplug, want within 2 s", took)
	}
	t.Logf("gone reported %v after the unplug", took)

	time.Sleep(100 * time.Millisecond) // a few failed re-opens: the link is gone
	p2 := serialtest.NewPTY(t, link)
	waitFor(t, 3*time.Second, "re-open on the new pty", func() bool { _, o, _ := h.snapshot(); return o == 2 })
	p2.Write([]byte("Hit Ctrl+u to stop autoboot: 0\n"))
	waitFor(t, 2*time.Second, "data after re-open", func() bool { d, _, _ := h.snapshot(); return bytes.HasSuffix(d, []byte("autoboot: 0\n")) })
	stop()
	if _, _, c := h.snapshot(); len(c) != 2 || c[1] != nil {
		t.Errorf("Closed calls %v, want gone then nil", c)
	}
}

// TestIntegrationShutdownSilentPort: cancelling a Listener on a port that
// never speaks returns in under 1 s.
func TestIntegrationShutdownSilentPort(t *testing.T) {
	serialtest.NoLeak(t)
	p := serialtest.NewPTY(t, serialtest.TempLink(t, "ttyUSB0"))
	h := &recorder{}
	stop := run(t, &serial.Listener{Path: p.Path, Mode: ptyMode}, h)
	waitFor(t, 2*time.Second, "open", func() bool { _, o, _ := h.snapshot(); return o == 1 })
	time.Sleep(250 * time.Millisecond)
	if d := stop(); d >= time.Second {
		t.Errorf("shutdown took %v, want under 1 s", d)
	} else {
		t.Logf("shutdown took %v", d)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idle == 0 {
		t.Error("no idle reads were reported on a silent port")
	}
}

// TestIntegrationListenOnly: a Listener that is not allowed to write sends
// not one byte to the device, even when its handler tries to send the
// bootloader-interrupt keys; the same handler on a writable Listener does
// reach the master, so the check can fail.
func TestIntegrationListenOnly(t *testing.T) {
	boot, err := os.ReadFile("../../firmware/testdata/classify-serial/hik_ipc_ds2cd2132_uart_boot.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []bool{false, true} {
		p := serialtest.NewPTY(t, serialtest.TempLink(t, "ttyUSB0"))
		h := &recorder{onOpen: func(w io.Writer) {
			for _, k := range []string{"\x15", "*", "\r"} {
				w.Write([]byte(k))
			}
		}}
		stop := run(t, &serial.Listener{Path: p.Path, Mode: ptyMode, Write: write}, h)
		waitFor(t, 2*time.Second, "open", func() bool { _, o, _ := h.snapshot(); return o == 1 })
		if err := p.Replay(t.Context(), boot, 115200, 48); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 3*time.Second, "the whole log", func() bool { d, _, _ := h.snapshot(); return len(d) == len(boot) })
		got, err := p.ReadFor(300 * time.Millisecond)
		stop()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !write && len(got) != 0:
			t.Errorf("listen-only: %d bytes reached the device: %q", len(got), got)
		case write && string(got) != "\x15*\r":
			t.Errorf("writable: the device got %q, want the three keys (the check must be able to fail)", got)
		}
	}
}
