package boards_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nvrguard/nvrguard/boards"
	"github.com/nvrguard/nvrguard/drivers/led"
)

// TestDetectRealModels runs Detect over every real model string in
// testdata/models.tsv, as read from the file (with its trailing NUL).
func TestDetectRealModels(t *testing.T) {
	f, err := os.Open("testdata/models.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 || cols[2] == "" {
			t.Fatalf("bad line %q: want model, profile and source", line)
		}
		model, want := cols[0], cols[1]
		raw := []byte(model + "\x00") // as /proc/device-tree/model holds it
		m, err := boards.ParseModel(raw)
		if err != nil {
			t.Errorf("ParseModel(%q): %v", raw, err)
			continue
		}
		p, ok := boards.Detect(m)
		if p.Name != want {
			t.Errorf("Detect(%q) = %s, want %s", model, p.Name, want)
		}
		if ok != (want != "generic") {
			t.Errorf("Detect(%q) matched=%v", model, ok)
		}
		if p2, _ := boards.Detect(string(raw)); p2.Name != want {
			t.Errorf("Detect with the NUL = %s, want %s", p2.Name, want)
		}
		seen[want] = true
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range boards.Names() {
		if !seen[name] {
			t.Errorf("no real model string in testdata/models.tsv detects %s", name)
		}
	}
	if n < 20 {
		t.Errorf("only %d model strings", n)
	}
}

// TestProfiles checks the table: every profile valid, its LED a spec the
// led package accepts, the build targets of DESIGN.md.
func TestProfiles(t *testing.T) {
	want := map[string]string{
		"rpi-zero-w": "linux/arm GOARM=6", "rpi-zero-2-w": "linux/arm64", "rpi3": "linux/arm64",
		"rpi4": "linux/arm64", "rpi5": "linux/arm64", "cm4": "linux/arm64", "rpi-other": "linux/arm GOARM=6",
		"generic": "any",
	}
	all := boards.All()
	if len(all) != len(want) {
		t.Errorf("%d profiles, want %d", len(all), len(want))
	}
	for _, p := range all {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if p.Build() != want[p.Name] {
			t.Errorf("%s builds %q, want %q", p.Name, p.Build(), want[p.Name])
		}
		if p.LED != "" {
			if _, err := led.ParseSpec(p.LED); err != nil {
				t.Errorf("%s: LED %v", p.Name, err)
			}
		} else if p.Name != "generic" {
			t.Errorf("%s has no LED", p.Name)
		}
		if len(p.SerialPorts) == 0 {
			t.Errorf("%s has no serial ports", p.Name)
		}
		if q, ok := boards.Lookup(p.Name); !ok || !reflect.DeepEqual(p, q) {
			t.Errorf("Lookup(%s) = %+v, %v", p.Name, q, ok)
		}
	}
	if _, ok := boards.Lookup("rpi6"); ok {
		t.Error("Lookup(rpi6) found something")
	}
	p5, _ := boards.Lookup("rpi5")
	if !slices.Contains(p5.SerialPorts, "/dev/ttyAMA10") || p5.LED != "sysfs:/sys/class/leds/ACT" {
		t.Errorf("rpi5 = %+v", p5)
	}
}

// TestProfilesAreCopies: changing a returned profile never changes the
// table.
func TestProfilesAreCopies(t *testing.T) {
	p, _ := boards.Lookup("rpi4")
	p.SerialPorts[0] = "/dev/evil"
	p.LED = "console"
	q, _ := boards.Detect("Raspberry Pi 4 Model B Rev 1.4")
	if q.SerialPorts[0] != "/dev/serial0" || q.LED != "sysfs:/sys/class/leds/ACT" {
		t.Errorf("table changed through a copy: %+v", q)
	}
	all := boards.All()
	all[0].SerialPorts[0] = "/dev/evil"
	if boards.All()[0].SerialPorts[0] == "/dev/evil" {
		t.Error("All shares slices")
	}
}

func ptr(s string) *string { return &s }

// TestOverride changes fields as a configuration file will.
func TestOverride(t *testing.T) {
	base, _ := boards.Lookup("rpi-zero-w")
	cases := []struct {
		name string
		o    boards.Override
		want func(p *boards.Profile)
		err  string
	}{
		{"nothing", boards.Override{}, func(p *boards.Profile) {}, ""},
		{"external LED and button", boards.Override{LED: ptr("gpio:GPIO17,active-low"), Button: ptr("GPIO27")},
			func(p *boards.Profile) { p.LED, p.Button = "gpio:GPIO17,active-low", "GPIO27" }, ""},
		{"inverted ACT", boards.Override{LED: ptr("sysfs:/sys/class/leds/ACT,invert")},
			func(p *boards.Profile) { p.LED = "sysfs:/sys/class/leds/ACT,invert" }, ""},
		{"no LED", boards.Override{LED: ptr("")}, func(p *boards.Profile) { p.LED = "" }, ""},
		{"serial ports", boards.Override{SerialPorts: []string{"/dev/ttyUSB0"}},
			func(p *boards.Profile) { p.SerialPorts = []string{"/dev/ttyUSB0"} }, ""},
		{"no serial ports", boards.Override{SerialPorts: []string{}}, func(p *boards.Profile) { p.SerialPorts = []string{} }, ""},
		{"arm64 drops GOARM", boards.Override{GOARCH: ptr("arm64")}, func(p *boards.Profile) { p.GOARCH, p.GOARM = "arm64", "" }, ""},
		{"GOARM 7", boards.Override{GOARM: ptr("7")}, func(p *boards.Profile) { p.GOARM = "7" }, ""},
		{"title", boards.Override{Title: ptr("Gate 3 gateway")}, func(p *boards.Profile) { p.Title = "Gate 3 gateway" }, ""},
		{"bad LED", boards.Override{LED: ptr("GPIO17")}, nil, "led \"GPIO17\""},
		{"numeric button", boards.Override{Button: ptr("27")}, nil, "is a number"},
		{"odd button", boards.Override{Button: ptr("GPIO 27")}, nil, "has a ' '"},
		{"relative port", boards.Override{SerialPorts: []string{"ttyUSB0"}}, nil, "absolute path"},
		{"bad glob", boards.Override{SerialPorts: []string{"/dev/tty[USB"}}, nil, "glob"},
		{"GOARM 8", boards.Override{GOARM: ptr("8")}, nil, "want 5, 6 or 7"},
		{"GOARM on arm64", boards.Override{GOARCH: ptr("arm64"), GOARM: ptr("7")}, nil, "only arm"},
		{"GOARCH typo", boards.Override{GOARCH: ptr("aarch64")}, nil, "not a Linux GOARCH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := base.Override(c.o)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Override: %v, want error %q", err, c.err)
				}
				if !reflect.DeepEqual(got, base) {
					t.Errorf("failed Override changed the profile: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := boards.Lookup("rpi-zero-w")
			c.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Override = %+v\nwant %+v", got, want)
			}
		})
	}
	o := boards.Override{SerialPorts: []string{"/dev/ttyUSB0"}}
	got, _ := base.Override(o)
	o.SerialPorts[0] = "/dev/changed"
	if got.SerialPorts[0] != "/dev/ttyUSB0" {
		t.Error("Override shares the override's slice")
	}
}

// TestOverrideFromJSON decodes an override the way a config decoder does:
// absent keys keep the profile's values.
func TestOverrideFromJSON(t *testing.T) {
	var o boards.Override
	if err := json.Unmarshal([]byte(`{"led": "gpio:GPIO17", "button": ""}`), &o); err != nil {
		t.Fatal(err)
	}
	p, _ := boards.Lookup("rpi4")
	q, err := p.Override(o)
	if err != nil {
		t.Fatal(err)
	}
	if q.LED != "gpio:GPIO17" || q.Button != "" || q.GOARCH != "arm64" || len(q.SerialPorts) != 3 {
		t.Errorf("Override = %+v", q)
	}
}

func TestReadModel(t *testing.T) {
	for dir, want := range map[string]string{
		"testdata/root-rpi5":   "Raspberry Pi 5 Model B Rev 1.0",
		"testdata/root-zero-w": "Raspberry Pi Zero W Rev 1.1", // only /sys/firmware/devicetree/base/model
	} {
		got, err := boards.ReadModel(os.DirFS(dir))
		if err != nil || got != want {
			t.Errorf("ReadModel(%s) = %q, %v; want %q", dir, got, err, want)
		}
	}
	if _, err := boards.ReadModel(os.DirFS("testdata/root-pc")); !errors.Is(err, boards.ErrNoModel) {
		t.Errorf("ReadModel of a PC: %v, want ErrNoModel", err)
	}
	bad := fstest.MapFS{"proc/device-tree/model": {Data: []byte("Raspberry Pi\x00Evil\x00")}}
	if _, err := boards.ReadModel(bad); err == nil || !strings.Contains(err.Error(), "/proc/device-tree/model") ||
		!strings.Contains(err.Error(), "several") {
		t.Errorf("ReadModel of a string list: %v", err)
	}
	dir := fstest.MapFS{"proc/device-tree/model": {Mode: fs.ModeDir | 0o755}}
	if _, err := boards.ReadModel(dir); err == nil {
		t.Error("ReadModel of a directory succeeded")
	}
}

func TestParseModelErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "empty"},
		{"\x00", "empty"},
		{" \n\x00", "empty"},
		{"Raspberry Pi\x00Model\x00", "several"},
		{"Raspberry\x01Pi\x00", "control character at byte 9"},
		{"Raspberry\nPi", "control character"},
		{"\xff\xfe\x00", "not UTF-8"},
		{strings.Repeat("x", 300), "longer than 256"},
	}
	for _, c := range cases {
		_, err := boards.ParseModel([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseModel(%q): %v, want one line containing %q", c.in, err, c.want)
		}
	}
	if m, err := boards.ParseModel([]byte("Raspberry Pi 4 Model B Rev 1.4\n")); err != nil || m != "Raspberry Pi 4 Model B Rev 1.4" {
		t.Errorf("trailing newline: %q, %v", m, err)
	}
}

// FuzzParseModel: ParseModel never panics, errors are one line, an accepted
// model is clean printable text that Detect maps to a valid profile.
func FuzzParseModel(f *testing.F) {
	for _, s := range []string{"Raspberry Pi 4 Model B Rev 1.4\x00", "Raspberry Pi Zero 2 W Rev 1.0\x00",
		"Raspberry Pi\x00Evil\x00", "\x00", "linux,dummy-virt\x00", "Raspberry\x01Pi"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := boards.ParseModel(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if m == "" || strings.ContainsAny(m, "\x00\n\r") || strings.TrimSpace(m) != m {
			t.Fatalf("ParseModel(%q) = %q", b, m)
		}
		p, _ := boards.Detect(m)
		if err := p.Validate(); err != nil {
			t.Fatalf("Detect(%q) gave an invalid profile: %v", m, err)
		}
	})
}

// TestSelect: a named profile wins; an unknown name is generic with an
// error; otherwise the model decides, and no model at all is generic.
func TestSelect(t *testing.T) {
	pi4 := fstest.MapFS{boards.ModelPath: {Data: []byte("Raspberry Pi 4 Model B Rev 1.4\x00")}}
	if s, err := boards.Select(pi4, ""); err != nil || s.Profile.Name != "rpi4" || !s.Detected || s.Configured || s.Model == "" {
		t.Errorf("detected: %+v, %v", s, err)
	}
	if s, err := boards.Select(pi4, "rpi3"); err != nil || s.Profile.Name != "rpi3" || !s.Configured {
		t.Errorf("configured: %+v, %v", s, err)
	}
	if s, err := boards.Select(pi4, "rpi9"); !errors.Is(err, boards.ErrUnknownBoard) || s.Profile.Name != boards.Generic().Name {
		t.Errorf("unknown name: %+v, %v", s, err)
	}
	if s, err := boards.Select(fstest.MapFS{}, ""); err != nil || s.Profile.Name != boards.Generic().Name || s.Detected {
		t.Errorf("no model: %+v, %v", s, err)
	}
	bad := fstest.MapFS{boards.ModelPath: {Data: []byte("Raspberry\x01Pi")}}
	if s, err := boards.Select(bad, ""); err == nil || s.Profile.Name != boards.Generic().Name {
		t.Errorf("bad model: %+v, %v", s, err)
	}
}
