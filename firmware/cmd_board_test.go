package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// boardRoot makes a root directory whose /proc/device-tree/model holds
// model (with the kernel's trailing NUL); an empty model makes a root
// without a device tree.
func boardRoot(t *testing.T, model string) string {
	t.Helper()
	root := t.TempDir()
	if model == "" {
		return root
	}
	dir := filepath.Join(root, "proc", "device-tree")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model"), []byte(model+"\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func boardCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestBoardText(t *testing.T) {
	cases := []struct {
		model string
		want  []string
	}{
		{"Raspberry Pi 5 Model B Rev 1.0", []string{"model:   Raspberry Pi 5 Model B Rev 1.0\n", "profile: rpi5 (Raspberry Pi 5 / 500)\n",
			"led:     sysfs:/sys/class/leds/ACT\n", "button:  none\n", "serial:  /dev/ttyAMA0 /dev/ttyAMA10 /dev/ttyUSB* /dev/ttyACM*\n",
			"build:   linux/arm64 (this binary: "}},
		{"Raspberry Pi Zero W Rev 1.1", []string{"profile: rpi-zero-w", "build:   linux/arm GOARM=6"}},
		{"Raspberry Pi Compute Module 4 Rev 1.1", []string{"profile: cm4"}},
		{"OrangePi Zero 2W", []string{"model:   OrangePi Zero 2W (unknown: generic profile)", "profile: generic", "led:     none"}},
		{"", []string{"model:   none (no /proc/device-tree/model)", "profile: generic", "build:   any"}},
	}
	for _, c := range cases {
		code, out, errs := boardCLI("board", "--root", boardRoot(t, c.model))
		if code != exitOK || errs != "" {
			t.Errorf("board %q: exit %d, stderr %q", c.model, code, errs)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("board %q: output lacks %q:\n%s", c.model, w, out)
			}
		}
	}
}

func TestBoardJSON(t *testing.T) {
	code, out, _ := boardCLI("board", "--json", "--root", boardRoot(t, "Raspberry Pi Zero 2 W Rev 1.0"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var info struct {
		Model    string `json:"model"`
		Detected bool   `json:"detected"`
		Profile  struct {
			Name        string   `json:"name"`
			LED         string   `json:"led"`
			SerialPorts []string `json:"serial_ports"`
			GOARCH      string   `json:"goarch"`
		} `json:"profile"`
		Binary string `json:"binary"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if info.Model != "Raspberry Pi Zero 2 W Rev 1.0" || !info.Detected || info.Profile.Name != "rpi-zero-2-w" ||
		info.Profile.GOARCH != "arm64" || info.Profile.LED == "" || len(info.Profile.SerialPorts) == 0 || info.Binary == "" {
		t.Errorf("board --json = %+v", info)
	}
	code, out, _ = boardCLI("board", "--list", "--json")
	var all []struct{ Name string }
	if code != exitOK || json.Unmarshal([]byte(out), &all) != nil || len(all) < 7 {
		t.Errorf("board --list --json: exit %d\n%s", code, out)
	}
	code, out, _ = boardCLI("board", "--list")
	for _, name := range []string{"rpi-zero-w", "rpi-zero-2-w", "rpi3", "rpi4", "rpi5", "cm4", "generic"} {
		if code != exitOK || !strings.Contains(out, name) {
			t.Errorf("board --list lacks %s:\n%s", name, out)
		}
	}
}

func TestBoardErrors(t *testing.T) {
	root := boardRoot(t, "Raspberry\x01Pi")
	code, _, errs := boardCLI("board", "--root", root)
	if code != exitError || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "control character") ||
		!strings.Contains(errs, "/proc/device-tree/model") {
		t.Errorf("malformed model: exit %d, stderr %q", code, errs)
	}
	for _, args := range [][]string{{"board", "rpi4"}, {"board", "--bogus"}} {
		if code, _, _ := boardCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
