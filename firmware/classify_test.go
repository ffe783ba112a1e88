package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/classify/classifytest"
)

func loadCorpus(t *testing.T) []classifytest.Sample {
	t.Helper()
	out, err := classifytest.Load("testdata/classify")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 35 {
		t.Fatalf("only %d classifiable samples in testdata/classify", len(out))
	}
	return out
}

func classifyCLI(t *testing.T, args []string, stdin []byte) (int, []byte, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"classify"}, args...), bytes.NewReader(stdin), &stdout, &stderr)
	return code, stdout.Bytes(), stderr.String()
}

// TestClassifyCorpus: every real sample gets the right verdict:
// restricted=yes -> restricted (exit 3); no -> clear or unknown, never
// restricted (exit 0); and the maker it names is the true one.
func TestClassifyCorpus(t *testing.T) {
	for _, s := range loadCorpus(t) {
		t.Run(s.File, func(t *testing.T) {
			code, out, stderr := classifyCLI(t, []string{"--protocol", s.Protocol, filepath.Join("testdata/classify", s.File)}, nil)
			var d identity.Device
			if err := json.Unmarshal(out, &d); err != nil {
				t.Fatalf("exit %d, output is not one device record: %v\nstderr: %s", code, err, stderr)
			}
			if s.Restricted {
				if d.Verdict != identity.Restricted || code != exitRestricted {
					t.Errorf("verdict %s (exit %d), want restricted (exit 3); reasons %+v", d.Verdict, code, d.Reasons)
				}
				if d.Manufacturer != s.Maker || d.Entity != s.Maker {
					t.Errorf("manufacturer %q entity %q, want %q", d.Manufacturer, d.Entity, s.Maker)
				}
				if len(d.Reasons) == 0 {
					t.Error("restricted without reasons")
				}
				return
			}
			if d.Verdict == identity.Restricted || d.Verdict == identity.Suspect || code != exitOK {
				t.Errorf("verdict %s (exit %d), want clear or unknown (exit 0); reasons %+v", d.Verdict, code, d.Reasons)
			}
			if d.Verdict == identity.Clear && !sameMaker(d.Manufacturer, s.Maker) {
				t.Errorf("manufacturer %q, want %q", d.Manufacturer, s.Maker)
			}
		})
	}
}

// sameMaker compares a policy maker name with the corpus' longer form
// ("Xiongmai" and "Xiongmai Technology", "ReeCam" and "Shenzhen ReeCam").
func sameMaker(got, want string) bool {
	g, w := strings.ToLower(got), strings.ToLower(want)
	return g != "" && (strings.Contains(w, g) || strings.Contains(g, w))
}

// TestClassifyBadInput: truncated, oversized, non-UTF-8, empty and
// wrong-protocol inputs get exit 1 and exactly one line on stderr, never a
// record and never a panic.
func TestClassifyBadInput(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata/classify", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	samples := map[string][]byte{
		"sadp":  read("sadp-001.xml"),
		"dhip":  read("dhip-001.json"),
		"wsd":   read("wsd-001.xml"),
		"ssdp":  read("ssdp-001.txt"),
		"upnp":  read("upnp-desc-001.xml"),
		"onvif": read("onvif-caps-001.xml"),
		"http":  read("http-hik-401-001.txt"),
		"rtsp":  read("rtsp-003.txt"),
		"tls":   read("recog-tls-x509-subject-001.txt"),
		"mac":   []byte("58:50:ed:1f:e3:85\n"),
	}
	type bad struct {
		name, protocol string
		in             []byte
	}
	var cases []bad
	for p := range samples {
		cases = append(cases,
			bad{"empty", p, nil},
			bad{"blank", p, []byte(" \n\r\n")},
			bad{"oversized", p, bytes.Repeat([]byte("A"), 1<<20+1)},
			bad{"non-utf8", p, []byte{0xff, 0xfe, 0xfd, 0x00, 0xc3, 0x28, 0xa0, 0xa1}},
			bad{"binary", p, []byte("\x00\x01\x02\x03DHIP\x00\x00\x00\xff")},
		)
		for q, other := range samples {
			if q != p {
				cases = append(cases, bad{"wrong protocol " + q, p, other})
			}
		}
	}
	// Truncation breaks the structured formats (a header block cut short
	// is still a header block, so http, rtsp and ssdp are not listed).
	for _, p := range []string{"sadp", "dhip", "wsd", "upnp", "onvif"} {
		s := samples[p]
		cases = append(cases, bad{"truncated", p, s[:len(s)/2]})
	}
	for _, c := range cases {
		t.Run(c.protocol+"/"+c.name, func(t *testing.T) {
			code, out, stderr := classifyCLI(t, []string{"--protocol", c.protocol, "-"}, c.in)
			if code != exitError {
				t.Fatalf("exit %d, want 1; stdout %.200s", code, out)
			}
			if len(out) != 0 {
				t.Errorf("stdout not empty: %.200s", out)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "nvrguard: ") {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
}

func TestClassifyUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--protocol", "smtp", "-"}, {"--protocol", "sadp", "a", "b"}, {"--bogus"}} {
		code, _, stderr := classifyCLI(t, args, []byte("x"))
		if code != exitUsage {
			t.Errorf("classify %v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
	}
}

func TestClassifySeveralDevices(t *testing.T) {
	// A Shadowserver CSV with two rows is two devices: a JSON array.
	b, err := os.ReadFile("testdata/classify/dhip-005.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	second := strings.ReplaceAll(lines[1], "58:10:8c:19:bf:fb", "58:10:8c:19:bf:fc")
	second = strings.ReplaceAll(second, "BFBE29078050F", "BFBE29078050G")
	in := lines[0] + "\n" + lines[1] + "\n" + second + "\n"
	code, out, stderr := classifyCLI(t, []string{"--protocol", "dhip"}, []byte(in))
	var devs []identity.Device
	if err := json.Unmarshal(out, &devs); err != nil || len(devs) != 2 || code != exitRestricted {
		t.Fatalf("exit %d, %d devices, err %v; stderr %s", code, len(devs), err, stderr)
	}
}

func TestPolicyAndVersionCommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"policy", "show"}, nil, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "Hikvision") {
		t.Errorf("policy show: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"version"}, nil, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "policy 2") {
		t.Errorf("version: exit %d\n%s", code, stdout.String())
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	badf := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"version":"x","extends":"uk-nil"}`), 0o644)
	os.WriteFile(badf, []byte(`{"version":"x","rules":[{"id":"r","field":"server","pattern":"(","maker":"Axis","weight":"strong"}]}`), 0o644)
	stderr.Reset()
	if code := run([]string{"policy", "check", good}, nil, &stdout, &stderr); code != exitOK {
		t.Errorf("policy check good: exit %d %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"policy", "check", badf}, nil, &stdout, &stderr); code != exitError || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("policy check bad: exit %d %q", code, stderr.String())
	}
}
