package console

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseOne(t testing.TB, b []byte) identity.Identity {
	t.Helper()
	ids, err := Parse(b)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Parse = %d identities, %v; want 1", len(ids), err)
	}
	if ids[0].Source != identity.SourceConsole {
		t.Errorf("source %q", ids[0].Source)
	}
	return ids[0]
}

func hasFact(id identity.Identity, field, value string) bool {
	return slices.Contains(id.Facts, identity.Fact{Field: field, Value: value})
}

// TestParseCorpus: the lines that carry each real log's identity are kept,
// with the SoC and MAC they print.
func TestParseCorpus(t *testing.T) {
	cases := map[string][]identity.Fact{
		"hik_ipc_ds2cd2132_uart_boot.txt": {
			{Field: "text", Value: "U-Boot 1.3.4-30623 (Dec 6 2012 - 11:05:48)"},
			{Field: "text", Value: "Hit Ctrl+u to stop autoboot: 0"},
			{Field: "text", Value: "Check dir /dav ok! (0)"},
		},
		"hik_nvr_ds7732ni_hkvs_prompt.txt": {
			{Field: "mac", Value: "08:a1:89:0e:18:97"},
			{Field: "text", Value: "HKVS $ setenv ipaddr 192.0.0.64"},
			{Field: "text", Value: "TFTP from server 192.0.0.128; our IP address is 192.0.0.64"},
			{Field: "text", Value: "Download Filename 'digicap.dav'."},
		},
		"dahua_ipc_uboot_2010_svn3089_help.txt": {
			{Field: "text", Value: "U-Boot 2010.06-svn3089 (Jul 22 2016 - 19:15:59)"},
			{Field: "text", Value: "gBootLogPtr:80b80008."},
			{Field: "text", Value: "partition file version 2"},
			{Field: "text", Value: "cfgRestore- erase config and backup partition."},
			{Field: "text", Value: "flwrite - flwrite - write data into FLASH memory"},
		},
		"openipc_hi3516ev300_kernel_boot.txt": {
			{Field: "soc", Value: "hi3516ev300"},
			{Field: "text", Value: "OF: fdt:Machine model: Hisilicon HI3516EV300 DEMO Board"},
		},
		"xm_hi3516ev200_uboot.txt": {
			{Field: "soc", Value: "hi3516ev200"},
			{Field: "text", Value: "Flash Name: XM_XT25F64B-S{0xB4017), 0x800000."},
		},
		"oem_hi3518ev200_hisilicon_prompt.txt": {
			{Field: "text", Value: "hisilicon #"},
		},
		"dahua_ipc_hdw3666_xs7320_miniboot.txt": {
			{Field: "text", Value: "Key hash pass!"},
			{Field: "text", Value: "Imgsign pass"},
			{Field: "text", Value: "Info: write leveling start"},
			{Field: "text", Value: "PreImgHeaderBase = 0x0010FE78"},
		},
		"chipup_xs7320_miniboot_demo.txt": {
			{Field: "text", Value: "SpiNand : Scan Uimg @0x00100000"},
			{Field: "text", Value: "$Tch SpiNand"},
		},
		"hik_nvr_ds7108ni_tftp_recovery_prompts.txt": {
			{Field: "text", Value: "File system error, please upgrade by TFTP"},
			{Field: "text", Value: "Please input ip address of device:"},
			{Field: "text", Value: "Please input ip address of upgrade server:"},
		},
		"hik_nvr_ds7108ni_upgrade_mismatch.txt": {
			{Field: "text", Value: "upgrade packet mismatch, please select correct packet"},
			{Field: "text", Value: "Can not find correct packet for upgrade, give up!!!"},
		},
		"hik_ipc_ds2cd2032_hkvs_update_fail.txt": {
			{Field: "text", Value: "[ERROR][MIN]BURN: upgrade_from_digicap failed"},
			{Field: "text", Value: "[ERROR][MIN]BURN: update_flash:writing /dav failed"},
			{Field: "text", Value: "!!!!! UPDATE FAIL !!!!!"},
		},
		"dahua_c08_hi3518_uboot_svn2464.txt": {
			{Field: "text", Value: "gBootLogPtr:80b80008."},
			{Field: "text", Value: "partition file version 2"},
		},
		"fullhan_fh86xx_uboot_rom.txt": {
			{Field: "text", Value: "ROM: Init DDR..Training done."},
		},
		"ingenic_t31_pesita_x09_stock_boot.txt": {
			{Field: "text", Value: "Board: ISVP (Ingenic XBurst T31 SoC)"},
		},
		"rpi5_bootloader_uart.txt": {
			{Field: "text", Value: "1.96 RPi: BOOTSYS release VERSION:26826259 DATE: 2024/09/23 TIME: 14:02:56"},
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			id := parseOne(t, read(t, name))
			for _, f := range want {
				if !hasFact(id, f.Field, f.Value) {
					t.Errorf("missing %s %q in %v", f.Field, f.Value, id.Facts)
				}
			}
		})
	}
}

// variants rewrites the line ends of b: CRLF, LF, CR alone, LFCR.
func variants(b []byte) map[string][]byte {
	lf := bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	return map[string][]byte{
		"lf":   lf,
		"crlf": bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n")),
		"cr":   bytes.ReplaceAll(lf, []byte("\n"), []byte("\r")),
		"lfcr": bytes.ReplaceAll(lf, []byte("\n"), []byte("\n\r")),
	}
}

// TestLineEndsAndSplitWrites: whatever the line ends and however the bytes
// arrive, a Watcher gathers the same identity as Parse of the whole text.
func TestLineEndsAndSplitWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		want := parseOne(t, read(t, e.Name())).Facts
		for vname, v := range variants(read(t, e.Name())) {
			w := &Watcher{}
			w.Opened(nil)
			for rest := v; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(17))
				w.Data(rest[:n])
				rest = rest[n:]
			}
			w.Closed(nil)
			got, ok := w.Identity()
			if !ok || !slices.Equal(got.Facts, want) {
				t.Errorf("%s (%s, split writes):\n got %v\nwant %v", e.Name(), vname, got.Facts, want)
			}
		}
	}
}

func TestStructuredFacts(t *testing.T) {
	text := strings.Join([]string{
		"\x1b[0;32m[    0.000000] Machine: hi3518ev200\x1b[0m",
		"Model: DS-2CD2143G0-I",
		"Serial No: DS-2CD2143G0-I20170321AAWR733050127",
		"Firmware version: V5.5.0 build 170725",
		"Manufacturer: Hikvision",
		"eth0: MAC address 44:19:b6:11:22:33",
		"Serial          : 0000000000000000",
		"app started, version V2.800.0000000.16.R, build 2019",
		"CPU: Ingenic T31 rev 1",
		"no identity here at all, just words",
	}, "\r\n")
	id := parseOne(t, []byte(text))
	for _, f := range []identity.Fact{
		{Field: "soc", Value: "hi3518ev200"},
		{Field: "model", Value: "DS-2CD2143G0-I"},
		{Field: "serial", Value: "DS-2CD2143G0-I20170321AAWR733050127"},
		{Field: "firmware", Value: "V5.5.0 build 170725"},
		{Field: "firmware", Value: "V2.800.0000000.16.R"},
		{Field: "manufacturer", Value: "Hikvision"},
		{Field: "mac", Value: "44:19:b6:11:22:33"},
		{Field: "soc", Value: "t31"},
		{Field: "text", Value: "Machine: hi3518ev200"},
	} {
		if !hasFact(id, f.Field, f.Value) {
			t.Errorf("missing %s %q in %v", f.Field, f.Value, id.Facts)
		}
	}
	if hasFact(id, "serial", "0000000000000000") || hasFact(id, "text", "no identity here at all, just words") {
		t.Errorf("kept noise: %v", id.Facts)
	}
}

// TestFloodIsBounded: a console that prints endless distinct lines, or one
// endless line, yields a bounded identity.
func TestFloodIsBounded(t *testing.T) {
	var b bytes.Buffer
	for i := range 10000 {
		b.WriteString("U-Boot 2010.06-svn")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString(" hisilicon hi3516cv300 line\n")
	}
	b.WriteString(strings.Repeat("A", 200000))
	id := parseOne(t, b.Bytes())
	if len(id.Facts) > identity.MaxFacts {
		t.Errorf("%d facts", len(id.Facts))
	}
	for _, f := range id.Facts {
		if len(f.Value) > identity.MaxValueLen {
			t.Errorf("fact of %d bytes", len(f.Value))
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":     nil,
		"blank":     []byte(" \r\n\r\n"),
		"binary":    {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0},
		"non-utf8":  {0xff, 0xfe, 0xfd, 0x00, 0xc3, 0x28, 0xa0, 0xa1},
		"noise":     bytes.Repeat([]byte{0xc3, 0x28, 0x01, 0x02}, 100),
		"hex only":  []byte("FF 01 00 04 20 00 25\n"),
		"oversized": bytes.Repeat([]byte("U-Boot\n"), MaxInput/7+1),
	} {
		ids, err := Parse(in)
		if err == nil || ids != nil || (name != "oversized" && !errors.Is(err, ErrNotText)) || !strings.HasPrefix(err.Error(), "console: ") || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s: Parse = %v, %v; want one-line console error", name, ids, err)
		}
	}
	// Line noise from a rate mismatch before the text is still a console.
	noisy := append([]byte("\xe3\x80\xff\xfe\r\n\r\nSystem startup\r\n"), read(t, "oem_hi3518ev200_hisilicon_prompt.txt")...)
	if id := parseOne(t, noisy); !hasFact(id, "text", "hisilicon #") {
		t.Errorf("noisy console: %v", id.Facts)
	}
}

// recorder is a writer that keeps what a Watcher writes.
type recorder struct{ bytes.Buffer }

// TestWatcherNeverSendsByDefault: listen-only unless ProbeNewline.
func TestWatcherNeverSendsByDefault(t *testing.T) {
	var rec recorder
	w := &Watcher{QuietFor: time.Millisecond}
	w.Opened(&rec)
	w.Data([]byte("Hit any key to stop autoboot:  1 "))
	for i := range 10 {
		w.Idle(time.Now().Add(time.Duration(i) * time.Hour))
	}
	if rec.Len() != 0 {
		t.Errorf("a listen-only Watcher wrote %q", rec.Bytes())
	}
}

// TestWatcherProbeNewline: one carriage return, only after QuietFor of
// silence since the opening and the last byte, once per opening; never
// while the device prints (a boot loader's countdown).
func TestWatcherProbeNewline(t *testing.T) {
	var rec recorder
	w := &Watcher{Probe: ProbeNewline, QuietFor: 5 * time.Second}
	w.Opened(&rec)
	t0 := time.Now()
	w.Idle(t0.Add(4 * time.Second)) // opened 4 s ago: too soon
	if rec.Len() != 0 {
		t.Fatalf("sent %q 4 s after opening", rec.Bytes())
	}
	w.Data([]byte("Hit any key to stop autoboot:  2 "))
	w.Idle(time.Now().Add(3 * time.Second)) // data 3 s ago: countdown may run
	if rec.Len() != 0 {
		t.Fatalf("sent %q 3 s after console output", rec.Bytes())
	}
	w.Idle(time.Now().Add(6 * time.Second))
	w.Idle(time.Now().Add(60 * time.Second))
	if rec.String() != "\r" {
		t.Fatalf("sent %q, want exactly one CR", rec.Bytes())
	}
	w.Closed(errors.New("gone"))
	w.Opened(&rec) // re-plugged: one more, after the quiet time
	w.Idle(time.Now().Add(6 * time.Second))
	if rec.String() != "\r\r" {
		t.Errorf("after re-open sent %q, want a second CR", rec.Bytes())
	}
	for _, c := range rec.Bytes() {
		if c != '\r' {
			t.Errorf("sent byte %#x: only a carriage return may ever be sent", c)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts is one console identity
// with clean, capped facts; and a Watcher fed the same bytes in two writes,
// cut anywhere, gathers the same facts.
func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".txt") {
			f.Add(read(f, e.Name()), uint16(17))
		}
	}
	f.Add([]byte("HKVS $ \r\n\x1b[1;31mHit Ctrl+u to stop autoboot: 1\r"), uint16(3))
	f.Add([]byte("\xff\xfe\r\n[   0.1] Machine: hi3516cv300\n\rMAC: 00-11-22-33-44-55"), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		ids, err := Parse(b)
		if err != nil {
			if ids != nil || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error %q with %v", err, ids)
			}
			return
		}
		if len(ids) != 1 || ids[0].Source != identity.SourceConsole || len(ids[0].Facts) > identity.MaxFacts {
			t.Fatalf("Parse = %+v", ids)
		}
		for _, fa := range ids[0].Facts {
			if fa.Value == "" || fa.Value != identity.Clean(fa.Value) || len(fa.Value) > identity.MaxValueLen {
				t.Fatalf("unclean fact %+v", fa)
			}
		}
		w := &Watcher{}
		w.Opened(nil)
		c := int(cut) % (len(b) + 1)
		w.Data(b[:c])
		w.Data(b[c:])
		w.Closed(nil)
		got, _ := w.Identity()
		if !slices.Equal(got.Facts, ids[0].Facts) {
			t.Fatalf("split at %d:\n got %v\nwant %v", c, got.Facts, ids[0].Facts)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var in []byte
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".txt") {
			in = append(in, read(b, e.Name())...)
		}
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
