// Package reporttest opens reports the way their readers do, for tests: in
// a real headless Chromium (Debian's chromium package, which the test
// tooling installs), with the files a person may want to look at left in
// an artifact directory.
package reporttest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Chromium returns the path of a Chromium binary, skipping t when there is
// none (failing under NVRGUARD_CI=1, where skipping is forbidden).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("NVRGUARD_CI") == "1" {
		t.Fatal("needs chromium (apt-get install chromium), and NVRGUARD_CI=1 forbids skipping")
	}
	t.Skip("needs chromium (apt-get install chromium)")
	return ""
}

// ArtifactDir is where a test leaves files for people to look at:
// $NVRGUARD_ARTIFACTS when set, else the test's temporary directory.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("NVRGUARD_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Run runs headless Chromium (bin) on a page with args (--dump-dom,
// --screenshot=FILE, ...), bounded, with a profile of its own and no
// network, and returns what it printed.
func Run(t testing.TB, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--hide-scrollbars", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=2000"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}
