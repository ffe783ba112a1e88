package source_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
)

// hikFrames is Hikvision PTZ traffic: up, stop, goto preset 3, to dome 1.
func hikFrames() []byte {
	var out []byte
	for _, f := range [][]byte{{0xB5, 1, 0x06, 0x20, 0, 0, 0}, {0xB5, 1, 0x14, 0, 0, 0, 0}, {0xB5, 1, 0x17, 3, 0, 0, 0}} {
		var s byte
		for _, c := range f {
			s += c
		}
		out = append(out, append(f, s)...)
	}
	return out
}

// lineEnds rewrites the line ends of b as end.
func lineEnds(b []byte, end string) []byte {
	lf := bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	return bytes.ReplaceAll(lf, []byte("\n"), []byte(end))
}

// TestIntegrationSerialReplay: simulated consoles replay the corpus boot
// logs over real pseudo-terminals at 115200 baud (CRLF, LF and CR line
// ends, writes of varying size) while a simulated RS-485 bus carries
// Hikvision PTZ frames at 9600; the scan's attached step, listening to both
// ports through tarm/serial, identifies each one with the corpus verdict.
func TestIntegrationSerialReplay(t *testing.T) {
	serialtest.NoLeak(t)
	p := mustPolicy(t)
	for _, s := range consoleSamples(t) {
		for i, end := range []string{"\r\n", "\n", "\r"} {
			t.Run(s.file+"/"+strings.NewReplacer("\r", "CR", "\n", "LF").Replace(end), func(t *testing.T) {
				t.Parallel()
				log, err := os.ReadFile(filepath.Join(corpus, s.file))
				if err != nil {
					t.Fatal(err)
				}
				cons := serialtest.NewPTY(t, serialtest.TempLink(t, "usb-FTDI_FT232R_A50285BI-if00-port0"))
				bus := serialtest.NewPTY(t, serialtest.TempLink(t, "usb-1a86_USB_Serial-if00-port0"))
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				type result struct {
					ids []identity.Identity
					err error
				}
				done := make(chan result, 1)
				go func() {
					ids, _, err := attached(ctx, opts{NoUSB: true, Ports: []config.SerialPort{
						{Path: cons.Path}, {Path: bus.Path, Baud: 9600}}})
					done <- result{ids, err}
				}()
				time.Sleep(300 * time.Millisecond) // both ports open
				go bus.Replay(ctx, bytes.Repeat(hikFrames(), 2), 9600, 5)
				if err := cons.Replay(ctx, lineEnds(log, end), 115200, 5+i*11); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond)
				cancel()
				r := <-done
				if r.err != nil {
					t.Fatal(r.err)
				}
				var console, ptz []identity.Device
				for _, d := range inventory.Records(r.ids, p) {
					if slices.Contains(d.Sources, identity.SourceConsole) {
						console = append(console, d)
					} else {
						ptz = append(ptz, d)
					}
				}
				if len(console) != 1 {
					t.Fatalf("%d console devices: %+v", len(console), console)
				}
				d := console[0]
				if s.expect != "" {
					if d.Verdict != s.expect {
						t.Errorf("console: %s by %q; corpus expects %s from this log (%s); reasons %+v", d.Verdict, d.Manufacturer, s.expect, s.maker, d.Reasons)
					}
				} else if s.restricted != (d.Verdict == identity.Restricted) || (s.restricted && !strings.HasPrefix(s.maker, d.Manufacturer)) {
					t.Errorf("console: %s by %q; corpus: restricted=%v, %s; reasons %+v", d.Verdict, d.Manufacturer, s.restricted, s.maker, d.Reasons)
				}
				if d.Port != cons.Path && d.MAC == "" {
					t.Errorf("console device at %q, want %q", d.Port, cons.Path)
				}
				if len(ptz) != 1 || ptz[0].Verdict != identity.Restricted || ptz[0].Manufacturer != "Hikvision" ||
					ptz[0].Port != bus.Path+" hikvision-ptz controller" {
					t.Errorf("PTZ bus: %+v", ptz)
				}
			})
		}
	}
}

// TestIntegrationUnplugKeepsEvidence: an adapter pulled in the middle of a
// scan loses nothing already read, and the scan ends on time.
func TestIntegrationUnplugKeepsEvidence(t *testing.T) {
	serialtest.NoLeak(t)
	log, err := os.ReadFile(filepath.Join(corpus, "hik_nvr_ds7732ni_hkvs_prompt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cons := serialtest.NewPTY(t, serialtest.TempLink(t, "ttyUSB0"))
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(300 * time.Millisecond)
		cons.Replay(ctx, log, 115200, 64)
		cons.Unplug()
	}()
	start := time.Now()
	ids, st, err := attached(ctx, opts{NoUSB: true, Ports: []config.SerialPort{{Path: cons.Path}}})
	if err != nil || st.SerialPorts != 1 {
		t.Fatal(st, err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("the scan took %v past its 1.5 s deadline", d)
	}
	devs := inventory.Records(ids, mustPolicy(t))
	if len(devs) != 1 || devs[0].Verdict != identity.Restricted || devs[0].MAC != "08:a1:89:0e:18:97" {
		t.Errorf("after the unplug: %+v", devs)
	}
}
