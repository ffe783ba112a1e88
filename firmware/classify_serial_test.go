package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// TestClassifySerialCorpus: `nvrguard classify --protocol console|pelco|usb`
// on every serial, PTZ and USB sample: exit 3 and a restricted record for
// restricted=yes, exit 0 and no restricted record otherwise; a JSON array
// when the input holds several devices.
func TestClassifySerialCorpus(t *testing.T) {
	b, err := os.ReadFile("testdata/classify-serial/INDEX.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, "\t")
		proto := map[string]string{"uart": "console", "usb": "usb", "ptz": "pelco"}[strings.SplitN(f[1], "_", 2)[0]]
		t.Run(f[0], func(t *testing.T) {
			code, out, stderr := classifyCLI(t, []string{"--protocol", proto, filepath.Join("testdata/classify-serial", f[0])}, nil)
			var devs []identity.Device
			if bytes.HasPrefix(out, []byte("[")) {
				err = json.Unmarshal(out, &devs)
			} else {
				var d identity.Device
				err = json.Unmarshal(out, &d)
				devs = append(devs, d)
			}
			if err != nil || len(devs) == 0 {
				t.Fatalf("exit %d, output is not device records: %v\nstderr: %s", code, err, stderr)
			}
			restricted := false
			for _, d := range devs {
				restricted = restricted || d.Verdict == identity.Restricted
			}
			want := f[3] == "yes"
			if len(f) > 6 && f[6] != "" && f[6] != string(identity.Restricted) {
				want = false // the evidence supports only suspect or unknown
			}
			if restricted != want || (want && code != exitRestricted) || (!want && code != exitOK) {
				t.Errorf("exit %d, restricted %v; corpus says restricted=%s: %s", code, restricted, f[3], out)
			}
			if f[0] == "usb_lsusb_rpi_gembird_webcam.txt" && len(devs) != 5 {
				t.Errorf("%d records for an lsusb of five devices", len(devs))
			}
		})
	}
}

// TestClassifyAttachedBadInput: empty, oversized, binary and wrong-format
// inputs to the attached formats get exit 1 and one line on stderr.
func TestClassifyAttachedBadInput(t *testing.T) {
	boot, err := os.ReadFile("testdata/classify-serial/hik_ipc_ds2cd2132_uart_boot.txt")
	if err != nil {
		t.Fatal(err)
	}
	lsusb, err := os.ReadFile("testdata/classify-serial/usb_hik_2k_camera_lsusb_line.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"blank":     []byte(" \n\r\n"),
		"oversized": bytes.Repeat([]byte("A"), 1<<20+1),
		"non-utf8":  {0xff, 0xfe, 0xfd, 0x00, 0xc3, 0x28, 0xa0, 0xa1},
		"binary":    []byte("\x00\x01\x02\x03DHIP\x00\x00\x00\xff"),
	}
	for _, proto := range []string{"console", "pelco", "usb"} {
		for name, in := range cases {
			checkBad(t, proto+"/"+name, proto, in)
		}
	}
	checkBad(t, "usb/console text", "usb", boot)
	checkBad(t, "pelco/console text", "pelco", boot)
	checkBad(t, "pelco/lsusb", "pelco", lsusb)
	checkBad(t, "pelco/corrupt frame", "pelco", []byte("FF 01 00 04 20 00 26\n"))
	checkBad(t, "usb/bad vendor id", "usb", []byte("idVendor=2bdg\nidProduct=0281\n"))
	checkBad(t, "console/hex", "console", []byte("FF 01 00 04 20 00 25\n"))
}

func checkBad(t *testing.T, name, proto string, in []byte) {
	t.Run(name, func(t *testing.T) {
		code, out, stderr := classifyCLI(t, []string{"--protocol", proto, "-"}, in)
		if code != exitError || len(out) != 0 {
			t.Fatalf("exit %d, want 1; stdout %.200s", code, out)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "nvrguard: ") {
			t.Errorf("stderr is not one line: %q", stderr)
		}
	})
}

// TestScanSerialFlag: a malformed --serial is a usage error (exit 2); the
// gateway's own console is refused (exit 1, one line) before anything is
// opened or sent.
func TestScanSerialFlag(t *testing.T) {
	for _, spec := range []string{"/dev/ttyUSB0:12345", "", "/dev/tty USB0", "usb/ttyUSB0"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"scan", "--serial", spec, "--no-usb"}, nil, &stdout, &stderr); code != exitUsage {
			t.Errorf("--serial %q: exit %d, want 2 (%s)", spec, code, stderr.String())
		}
	}
	console := ""
	if b, err := os.ReadFile("/proc/cmdline"); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if v, ok := strings.CutPrefix(f, "console="); ok {
				v, _, _ = strings.Cut(v, ",")
				if _, err := os.Stat("/dev/" + v); err == nil && !strings.HasPrefix(v, "tty0") {
					console = "/dev/" + v
				}
			}
		}
	}
	if console == "" {
		t.Skip("this machine names no serial console on its command line")
	}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run([]string{"scan", "--serial", console, "--timeout", "5s"}, nil, &stdout, &stderr)
	if code != exitError || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "console") {
		t.Errorf("--serial %s (this machine's console): exit %d, stderr %q", console, code, stderr.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the refusal took %v: it must come before the scan", d)
	}
}

// TestScanONVIFFlags: an ONVIF account needs both flags and a readable
// password file; each mistake is a usage error before anything is sent.
func TestScanONVIFFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--onvif-user", "operator"}, "go together"},
		{[]string{"--onvif-password-file", "/nonexistent"}, "go together"},
		{[]string{"--onvif-user", "operator", "--onvif-password-file", filepath.Join(t.TempDir(), "missing")}, "--onvif-password-file"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"scan", "--no-usb"}, c.args...), nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("scan %q: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), exitUsage, c.want)
		}
	}
}
