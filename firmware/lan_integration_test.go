package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/camsim"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// needRoot skips a test that needs root and iproute2, except under
// NVRGUARD_CI=1 where a missing tool is a failure.
func needRoot(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root (network namespaces)"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2 (ip)"
	}
	if why == "" {
		return
	}
	if os.Getenv("NVRGUARD_CI") == "1" {
		t.Fatalf("%s, and NVRGUARD_CI=1 forbids skipping", why)
	}
	t.Skip(why)
}

// buildBinaries builds nvrguard and camsim into a temporary directory.
func buildBinaries(t *testing.T) (nvrguard, camsimBin string) {
	t.Helper()
	dir := t.TempDir()
	nvrguard = filepath.Join(dir, "nvrguard")
	camsimBin = filepath.Join(dir, "camsim")
	for out, pkg := range map[string]string{nvrguard: ".", camsimBin: "../drivers/camsim/cmd/camsim"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return nvrguard, camsimBin
}

// camLAN builds the namespaces of a spec with scripts/camlan.sh and removes
// them when the test ends.
func camLAN(t *testing.T, prefix string, spec []string) string {
	t.Helper()
	specFile := filepath.Join(t.TempDir(), "spec")
	if err := os.WriteFile(specFile, []byte(strings.Join(spec, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	down := func() { _ = exec.Command("../scripts/camlan.sh", "down", prefix).Run() }
	down()
	t.Cleanup(down)
	if b, err := exec.Command("../scripts/camlan.sh", "up", prefix, specFile).CombinedOutput(); err != nil {
		t.Fatalf("camlan.sh up: %v\n%s", err, b)
	}
	return specFile
}

// startCameras runs camsim on a spec until the test ends.
func startCameras(t *testing.T, bin, specFile string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--spec", specFile}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready") {
				ready <- nil
				return
			}
		}
		ready <- errors.New("camsim exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("camsim not ready after 60s")
	}
}

// scanIn runs `nvrguard scan --json` inside a namespace, with debug logs.
func scanIn(t *testing.T, bin, ns string, args ...string) ([]identity.Device, int, time.Duration, string) {
	t.Helper()
	devs, code, took, _, logs := scanRun(t, bin, ns, args...)
	return devs, code, took, logs
}

// scanRun is scanIn that also returns the scan's peak RSS in bytes (ip
// netns exec execs the scan: the child's rusage is the scan's).
func scanRun(t *testing.T, bin, ns string, args ...string) (devs []identity.Device, code int, took time.Duration, rss int64, logs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, bin, "scan", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "NVRGUARD_LOG=debug")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	took = time.Since(start)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("scan: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, &devs); err != nil {
		t.Fatalf("scan output is not a JSON array of devices: %v\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10 // KiB on Linux
	}
	return devs, code, took, rss, stderr.String()
}

func TestIntegrationCameraLAN(t *testing.T) {
	needRoot(t)
	nvrguard, camsimBin := buildBinaries(t)
	prefix := fmt.Sprintf("nvg%d", os.Getpid()%100000)
	type cam struct{ profile, mac, ip string }
	cams := []cam{
		{"hikvision", "58:50:ed:1f:e3:85", "10.99.0.11"},
		{"dahua", "4c:11:bf:c2:0b:9d", "10.99.0.12"},
		{"lorex", "00:1f:54:a9:2e:58", "10.99.0.13"},   // a Dahua OEM rebrand
		{"axis", "ac:cc:8e:27:0a:d8", "10.99.0.14"},    // not restricted
		{"silent", "02:5e:00:00:00:15", "10.99.0.15"},  // answers nothing but ARP
		{"hostile", "02:5e:00:00:00:16", "10.99.0.16"}, // answers junk to everything
	}
	var spec []string
	for i, c := range cams {
		spec = append(spec, fmt.Sprintf("%s-c%d,%s,%s,%s", prefix, i, c.profile, c.mac, c.ip))
	}
	specFile := camLAN(t, prefix, spec)
	// The cameras' ONVIF device services want an account; the scan has it.
	pass := filepath.Join(t.TempDir(), "onvif.pass")
	if err := os.WriteFile(pass, []byte("c4m3ra!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startCameras(t, camsimBin, specFile, "--onvif-user", "operator", "--onvif-password-file", pass)

	devs, code, took, logs := scanIn(t, nvrguard, prefix+"-gw", "--timeout", "8s", "--cidr", "10.99.0.0/24",
		"--onvif-user", "operator", "--onvif-password-file", pass)
	t.Logf("scan of %d cameras took %v", len(cams), took)
	if code != exitRestricted {
		t.Errorf("exit status %d, want %d (restricted hardware present)", code, exitRestricted)
	}
	byMAC := map[string]identity.Device{}
	for _, d := range devs {
		if d.MAC == "" {
			t.Errorf("device without a MAC: %+v", d)
			continue
		}
		byMAC[d.MAC] = d
	}
	profiles := camsim.Profiles()
	for _, c := range cams {
		d, ok := byMAC[c.mac]
		if !ok {
			t.Errorf("%s camera %s (%s) not found", c.profile, c.ip, c.mac)
			continue
		}
		want := profiles[c.profile].Want
		got := camsim.Want{Verdict: string(d.Verdict), Manufacturer: d.Manufacturer, Brand: d.Brand, Entity: d.Entity}
		if got != want || d.IP != c.ip {
			t.Errorf("%s camera: got %+v at %s, want %+v at %s\nrecord: %s", c.profile, got, d.IP, want, c.ip, mustJSON(d))
		}
		if d.Verdict != identity.Unknown && len(d.Reasons) == 0 {
			t.Errorf("%s camera: verdict %s without reasons", c.profile, d.Verdict)
		}
	}
	// GetDeviceInformation with the account: the Dahua camera's record
	// carries its ONVIF identity, merged by address with the discovery one.
	if d := byMAC["4c:11:bf:c2:0b:9d"]; !slices.Contains(d.Sources, identity.SourceONVIF) || d.Serial != "1F006E4PAX00075" {
		t.Errorf("dahua camera: sources %v, serial %q; want the onvif source and serial 1F006E4PAX00075", d.Sources, d.Serial)
	}
	if strings.Contains(logs, "c4m3ra") {
		t.Error("the ONVIF password is in the scan's log")
	}
	if len(devs) != len(cams) {
		t.Errorf("found %d devices, want exactly %d:\n%s", len(devs), len(cams), mustJSON(devs))
	}
	// The hostile camera's answers were dropped, each with a debug line.
	for _, proto := range []string{"sadp", "dhip", "wsd", "ssdp"} {
		if !strings.Contains(logs, "msg=\"dropped datagram\" component=scan protocol="+proto+" from=10.99.0.16:") {
			t.Errorf("no debug line for the hostile %s answer; logs:\n%s", proto, logs)
		}
	}
	if strings.Contains(logs, "panic") {
		t.Errorf("the scan panicked:\n%s", logs)
	}
}

func TestIntegrationEmptyLAN(t *testing.T) {
	needRoot(t)
	nvrguard, _ := buildBinaries(t)
	prefix := fmt.Sprintf("nve%d", os.Getpid()%100000)
	camLAN(t, prefix, nil)
	devs, code, took, _ := scanIn(t, nvrguard, prefix+"-gw", "--timeout", "3s")
	if code != exitOK || len(devs) != 0 {
		t.Errorf("scan of an empty LAN: exit %d, %d devices; want exit 0 and []", code, len(devs))
	}
	// The deadline is the scan's own; allow process start and build noise.
	if took > 10*time.Second {
		t.Errorf("scan with --timeout 3s took %v", took)
	}
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
