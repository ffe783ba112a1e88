package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs nvrguard with args and returns the exit status and streams.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelpEveryCommand: --help, -h and 'help CMD' print the command's
// usage with its flags written --flag and their defaults, on stdout, exit
// 0, nothing on stderr; test-only flags are not shown.
func TestHelpEveryCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // in stdout
		not  []string // not in stdout
	}{
		{[]string{"scan", "--help"}, []string{"Usage:\n  nvrguard scan", "--timeout DURATION", "(default 8s)", "--no-banners", "--onvif-user", "--nvr-password-file", "(default ndaa889)"}, []string{"\n  -timeout"}},
		{[]string{"scan", "-h"}, []string{"nvrguard scan", "--json"}, nil},
		{[]string{"help", "scan"}, []string{"nvrguard scan", "--json"}, []string{"nvrguard classify"}},
		{[]string{"classify", "--help"}, []string{"nvrguard classify --protocol P", "--profile"}, nil},
		{[]string{"help", "policy"}, []string{"nvrguard policy show", "nvrguard policy check FILE"}, nil},
		{[]string{"policy", "show", "--help"}, []string{"--json", "--profile"}, nil},
		{[]string{"policy", "check", "--help"}, []string{"nvrguard policy check FILE"}, nil},
		{[]string{"run", "--help"}, []string{"nvrguard run", "--broker URL", "--interval DURATION", "--state-dir"}, []string{"--root"}},
		{[]string{"led", "test", "--help"}, []string{"nvrguard led test", "--each DURATION", "--button"}, []string{"--root"}},
		{[]string{"help", "led"}, []string{"nvrguard led test"}, nil},
		{[]string{"board", "--help"}, []string{"nvrguard board", "--list"}, nil},
		{[]string{"watch", "--help"}, []string{"nvrguard watch", "--ca-file", "--server-name", "--settle DURATION", "(default 500ms)"}, nil},
		{[]string{"report", "--help"}, []string{"nvrguard report [--state-dir DIR | --broker URL [--prefix P]]", "--format", "(default html)"}, nil},
		{[]string{"help", "version"}, []string{"nvrguard version"}, nil},
		{[]string{"--help", "run"}, []string{"nvrguard run"}, nil},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != 0 || errs != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: stdout lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("%q: stdout shows %q:\n%s", tc.args, n, out)
			}
		}
	}
}

// TestUsageErrors: exit 2, nothing on stdout, the error once in one line
// with one prefix, then one line pointing at the command's --help.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		line string // the first line of stderr
		hint string // the second
	}{
		{[]string{"sacn"}, `nvrguard: unknown command "sacn"; did you mean "scan"?`, "Run 'nvrguard help' for usage."},
		{[]string{"frobnicate"}, `nvrguard: unknown command "frobnicate"`, "Run 'nvrguard help' for usage."},
		{[]string{"scan", "--bogus"}, "nvrguard: scan: unknown flag --bogus", "Run 'nvrguard scan --help' for usage."},
		{[]string{"scan", "--jsn"}, "nvrguard: scan: unknown flag --jsn; did you mean --json?", "Run 'nvrguard scan --help' for usage."},
		{[]string{"scan", "--timeout", "5"}, `nvrguard: scan: --timeout "5" is not a duration: give a unit, e.g. 5s (or ms, m, h)`, "Run 'nvrguard scan --help' for usage."},
		{[]string{"watch", "--settle", "soon"}, `nvrguard: watch: --settle "soon" is not a duration (e.g. 500ms, 8s, 5m, 1h)`, "Run 'nvrguard watch --help' for usage."},
		{[]string{"classify", "--protocol"}, "nvrguard: classify: --protocol needs a value", "Run 'nvrguard classify --help' for usage."},
		{[]string{"led", "test", "--led", "bogus"}, `nvrguard: led: spec "bogus": want gpio:LINE[,active-low], sysfs:DIR[,invert] or console`, "Run 'nvrguard led test --help' for usage."},
		{[]string{"run", "--led", "bogus"}, `nvrguard: led: spec "bogus": want gpio:LINE[,active-low], sysfs:DIR[,invert] or console`, "Run 'nvrguard run --help' for usage."},
		{[]string{"run", "--root", "x", "--bogus"}, "nvrguard: run: unknown flag --bogus", "Run 'nvrguard run --help' for usage."},
		{[]string{"policy"}, "nvrguard: policy: want 'show' or 'check FILE'", "Run 'nvrguard policy --help' for usage."},
		{[]string{"led"}, "nvrguard: led: want 'test'", "Run 'nvrguard led --help' for usage."},
	} {
		code, out, errs := runCLI(t, tc.args...)
		lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		if code != exitUsage || out != "" || len(lines) != 2 || lines[0] != tc.line || lines[1] != tc.hint {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and\n%s\n%s", tc.args, code, out, errs, tc.line, tc.hint)
		}
		if f := strings.SplitN(lines[0], ": ", 4); len(f) >= 3 && (f[0] == f[1] || f[1] == f[2]) {
			t.Errorf("%q: a prefix repeated: %s", tc.args, lines[0])
		}
	}
}

// TestRunPortTaken: with no broker configured and the embedded broker's
// address taken, run stops at once with one line naming --broker, exit 2.
func TestRunPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("mqtt:\n  embedded:\n    listen: "+l.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "run", "--config", cfg, "--state-dir", filepath.Join(dir, "state"), "--led", "console")
	want := "nvrguard: run: " + l.Addr().String() + " is already in use (another MQTT broker?): use it with --broker tcp://" + l.Addr().String() +
		", or set mqtt.embedded.listen to a free address\n"
	if code != exitUsage || out != "" || errs != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errs, want)
	}
}

// TestPolicyCheckRefuses: policy check exits 1 with one line for a rule
// on an unknown field and a profile naming an unknown maker.
func TestPolicyCheckRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"field.json":   `{"version":"x","rules":[{"id":"r","field":"sever","pattern":"a","maker":"Axis","weight":"strong"}]}`,
		"profile.json": `{"version":"x","profiles":[{"name":"site","restricted":["Nobody"]}]}`,
	} {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "policy", "check", f)
		if code != exitError || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "nvrguard: policy: ") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, out, errs)
		}
	}
}

// TestLedTestConsoleOnce: led test --led console names each pattern once
// (on stdout), not a second time on stderr.
func TestLedTestConsoleOnce(t *testing.T) {
	code, out, errs := runCLI(t, "led", "test", "--led", "console", "--each", "1ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out+errs, "fast blink (4 Hz)"); n != 1 {
		t.Errorf("the alarm pattern is named %d times:\nstdout:\n%s\nstderr:\n%s", n, out, errs)
	}
}

// TestHelpListsREADMECommands: every command synopsis of the README's
// "Commands" section is in the top-level help (which may add flags).
func TestHelpListsREADMECommands(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "## Commands\n")
	if !ok {
		t.Fatal("README has no Commands section")
	}
	sec, _, _ = strings.Cut(sec, "\n\n"+"Exit status")
	code, help, _ := runCLI(t, "help")
	if code != 0 {
		t.Fatalf("help: exit %d", code)
	}
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			f := strings.Join(strings.Fields(l), " ")
			switch {
			case strings.HasPrefix(f, "nvrguard "):
				out = append(out, f)
			case f != "" && len(out) > 0 && strings.HasPrefix(l, "    "):
				out[len(out)-1] += " " + f
			}
		}
		return out
	}
	helpCmds := norm(help)
	for _, c := range norm(sec) {
		found := false
		for _, h := range helpCmds {
			found = found || strings.HasPrefix(h, c)
		}
		if !found {
			t.Errorf("README command %q is not in the help", c)
		}
	}
}
