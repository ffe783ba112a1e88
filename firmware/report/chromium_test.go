package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NeedChromium returns the path of a Chromium binary, skipping t when
// there is none (failing under NVRGUARD_CI=1, where the test tooling
// installs Debian's chromium package).
func needChromium(t *testing.T) string {
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

// artifactDir is where a test leaves files for people to look at:
// $NVRGUARD_ARTIFACTS when set, else the test's temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("NVRGUARD_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// chromium runs headless Chromium on the page with args, bounded, with a
// profile of its own and no network.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
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

// TestChromium opens the HTML report in a real headless Chromium: the
// DOM it renders names every restricted camera, both gateways and the
// removals, and nothing hostile became markup; a screenshot and a PDF
// are left as test artifacts.
func TestChromium(t *testing.T) {
	bin := needChromium(t)
	dir := artifactDir(t)
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	rep := Build(fixture(t))
	if err := HTML(f, rep); err != nil {
		t.Fatal(err)
	}
	f.Close()
	url := "file://" + page
	dom := string(chromium(t, bin, "--dump-dom", url))
	for _, want := range []string{
		"DS-2CD2143G0-I", "DHI-NVR4108HS", "DS-2CD2T47G2-L", // every restricted camera
		"Gateway <span class=\"mono\">gw-a</span>", "Gateway <span class=\"mono\">gw-b</span>",
		"Restricted, removed", "<dt>Removed</dt><dd><b>21 Nov 2026 11:00 UTC</b></dd>", "<dt>Removed</dt><dd><b>22 Nov 2026 09:00 UTC</b></dd>",
		`<div class="n" id="kpi-present">2</div>`, `<div class="n" id="kpi-removed">2</div>`,
		"&lt;script&gt;alert", "<svg",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "<b>bold</b>") || strings.Contains(dom, `<script>alert`) {
		t.Error("a device string became markup")
	}
	shot := filepath.Join(dir, "report.png")
	chromium(t, bin, "--screenshot="+shot, "--window-size=1200,2600", url)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	pdf := filepath.Join(dir, "report.pdf")
	chromium(t, bin, "--print-to-pdf="+pdf, "--no-pdf-header-footer", url)
	if b, err := os.ReadFile(pdf); err != nil || !strings.HasPrefix(string(b), "%PDF") {
		t.Fatalf("pdf %s: %v", pdf, err)
	}
	t.Logf("artifacts: %s, %s, %s", page, shot, pdf)
}
