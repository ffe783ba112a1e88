package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/firmware/report/reporttest"
)

// TestChromium opens the HTML report in a real headless Chromium: the
// DOM it renders names every restricted camera, both gateways and the
// removals, and nothing hostile became markup; a screenshot and a PDF
// are left as test artifacts.
func TestChromium(t *testing.T) {
	bin := reporttest.Chromium(t)
	dir := reporttest.ArtifactDir(t)
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
	dom := string(reporttest.Run(t, bin, "--dump-dom", url))
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
	reporttest.Run(t, bin, "--screenshot="+shot, "--window-size=1200,2600", url)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	pdf := filepath.Join(dir, "report.pdf")
	reporttest.Run(t, bin, "--print-to-pdf="+pdf, "--no-pdf-header-footer", url)
	if b, err := os.ReadFile(pdf); err != nil || !strings.HasPrefix(string(b), "%PDF") {
		t.Fatalf("pdf %s: %v", pdf, err)
	}
	t.Logf("artifacts: %s, %s, %s", page, shot, pdf)
}
