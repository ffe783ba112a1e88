package banner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

type parser struct {
	name  string
	parse func([]byte) ([]identity.Identity, error)
	globs []string
}

// parsers lists which corpus files (copied into testdata) go through which
// parser.
var parsers = []parser{
	{"http", ParseHTTP, []string{"http-*.txt", "http-*.xml", "http-*.json", "www-auth-*.txt", "recog-http-*.txt", "reolink-api-*.json"}},
	{"rtsp", ParseRTSP, []string{"rtsp-*.txt", "www-auth-*.txt", "recog-rtsp-*.txt"}},
	{"tls", ParseTLS, []string{"recog-tls-*.txt"}},
}

// TestGolden runs every corpus answer through its parser and compares the
// identities with testdata/<file>.<parser>.golden.json.
func TestGolden(t *testing.T) {
	n := 0
	for _, p := range parsers {
		for _, glob := range p.globs {
			files, err := filepath.Glob(filepath.Join("testdata", glob))
			if err != nil {
				t.Fatal(err)
			}
			for _, file := range files {
				if strings.HasSuffix(file, ".golden.json") {
					continue
				}
				n++
				base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
				t.Run(p.name+"/"+base, func(t *testing.T) {
					ids, err := p.parse(identitytest.ReadFile(t, filepath.Base(file)))
					if err != nil {
						t.Fatalf("Parse%s(%s): %v", strings.ToUpper(p.name), file, err)
					}
					identitytest.Golden(t, base+"."+p.name, ids)
				})
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d corpus files matched the golden globs", n)
	}
}

// TestSources checks that every corpus file in testdata has its source line.
func TestSources(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(src), "\n") {
		name, _, _ := strings.Cut(line, "\t")
		listed[name] = true
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "SOURCES.tsv" || strings.HasSuffix(name, ".golden.json") {
			continue
		}
		if !listed[name] {
			t.Errorf("testdata/%s has no line in testdata/SOURCES.tsv", name)
		}
	}
}
