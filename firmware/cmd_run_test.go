package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunConfigErrorsExit2: a configuration that cannot work is exit 2
// (systemd's RestartPreventExitStatus) with a one-line message naming the
// line, before anything starts.
func TestRunConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown key": "scan:\n  intervall: 5m\n",
		"bad value":   "log_level: loud\n",
		"bad led":     "led:\n  spec: gpio:17\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			os.WriteFile(cfg, []byte(body), 0o644)
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e := &env{stdout: &stdout, stderr: &stderr}
			code, err := cmdRun(ctx, e, []string{"--config", cfg, "--state-dir", t.TempDir()})
			if err == nil || code != exitUsage {
				t.Fatalf("exit %d, err %v; want exit 2 and an error\n%s", code, err, stderr.String())
			}
			if strings.Contains(err.Error(), "\n") && name == "unknown key" {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	var stderr bytes.Buffer
	if code := run([]string{"run", "--config", filepath.Join(dir, "unknown-key.yaml")}, nil, &stderr, &stderr); code != exitUsage {
		t.Errorf("run(): exit %d, want 2\n%s", code, stderr.String())
	} else if !strings.Contains(stderr.String(), "line 2") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr = %q, want one line naming line 2", stderr.String())
	}
}

// TestIntegrationRunReloadAndStop runs the daemon in a network namespace of
// its own (its sweeps stay there): SIGHUP reloads the config and the
// policy, a bad file on SIGHUP is refused and the running one kept, and
// SIGTERM stops it cleanly, well within 5 s.
func TestIntegrationRunReloadAndStop(t *testing.T) {
	needRoot(t)
	nvrguard, _ := buildBinaries(t)
	ns := fmt.Sprintf("nvs%d", os.Getpid()%100000)
	exec.Command("ip", "netns", "del", ns).Run()
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"-n", ns, "addr", "add", "10.98.0.1/24", "dev", "v0"},
		{"-n", ns, "link", "set", "v0", "up"},
		{"-n", ns, "link", "set", "v1", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, b)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	write := func(body string) {
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("profile: ndaa889\nmqtt:\n  embedded:\n    listen: 127.0.0.1:0\n")
	d := startDaemon(t, ns, nvrguard, "--config", cfg, "--led", "console", "--state-dir", t.TempDir())
	waitLog := func(what string) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(d.logs(), what) {
				return
			}
		}
		t.Fatalf("no %q in the daemon's log:\n%s", what, d.logs())
	}
	waitLog("nvrguard running")
	waitLog("sweep done")

	write("profile: uk-nil\nmqtt:\n  embedded:\n    listen: 127.0.0.1:0\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitLog("profile=uk-nil")

	write("scan:\n  intervall: 1m\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitLog("config reload failed; keeping the running configuration")

	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, d.logs())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v, more than 5 s", took)
	}
	if !strings.Contains(d.logs(), "led: off") || !strings.Contains(d.logs(), "nvrguard stopped") {
		t.Errorf("no clean stop in the log:\n%s", d.logs())
	}
}
