package classify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/firmware/classify"
	"github.com/nvrguard/nvrguard/firmware/classify/classifytest"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
)

// The real samples live beside the command's tests, with their sources.
const corpusDir = "../testdata/classify"

// TestCorpusVerdicts runs the decision path of `nvrguard classify` (parse,
// merge, policy) over every classifiable real sample; it is the test that
// also runs on ARM under qemu-user.
func TestCorpusVerdicts(t *testing.T) {
	samples, err := classifytest.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sm := range samples {
		n++
		in, err := os.ReadFile(filepath.Join(corpusDir, sm.File))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := classify.Parse(sm.Protocol, in)
		if err != nil {
			t.Errorf("%s: %v", sm.File, err)
			continue
		}
		devs := inventory.Records(ids, p)
		if len(devs) != 1 {
			t.Errorf("%s: %d devices, want 1", sm.File, len(devs))
			continue
		}
		v := devs[0].Verdict
		if want := sm.Restricted; want != (v == identity.Restricted) || (!want && v == identity.Suspect) {
			t.Errorf("%s: verdict %s, restricted=%v in the corpus", sm.File, v, sm.Restricted)
		}
	}
	if n < 35 {
		t.Errorf("only %d samples", n)
	}
}

func TestParseRejectsUnknownProtocolAndMAC(t *testing.T) {
	if _, err := classify.Parse("smtp", []byte("x")); err == nil {
		t.Error("unknown protocol accepted")
	}
	for _, in := range []string{"58:50:ed:1f:e3", "58:50:ed:1f:e3:85\n00:11:22:33:44:55", "zz:zz:zz:zz:zz:zz"} {
		if _, err := classify.Parse("mac", []byte(in)); err == nil {
			t.Errorf("mac %q accepted", in)
		}
	}
	ids, err := classify.Parse("mac", []byte(" 58-50-ED-1F-E3-85 \n"))
	if err != nil || len(ids) != 1 || ids[0].MAC != "58:50:ed:1f:e3:85" {
		t.Errorf("mac: %+v %v", ids, err)
	}
}
