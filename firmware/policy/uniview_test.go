package policy

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// TestUniviewModels: every Uniview model of the public listings in
// testdata/uniview_models.tsv (the UNV catalogue, the issue's
// IPC2124LR3-PF40M-D) is Uniview, restricted under uk-nil and clear under
// ndaa889; the neighbours' models (Dahua, Hikvision, Tiandy, Reolink,
// TP-Link) never are.
func TestUniviewModels(t *testing.T) {
	f, err := os.Open("testdata/uniview_models.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	uk, ndaa := mustLoad(t, "uk-nil"), mustLoad(t, "ndaa889")
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		c := strings.Split(line, "\t")
		model, maker := c[0], c[1]
		n[maker]++
		ids := []identity.Identity{obs("wsd", identity.FieldModel, model)}
		ru, rn := uk.Classify(ids), ndaa.Classify(ids)
		if maker == "Uniview" {
			if ru.Verdict != identity.Restricted || ru.Manufacturer != "Uniview" {
				t.Errorf("uk-nil %s: %s %q, want restricted Uniview; %+v", model, ru.Verdict, ru.Manufacturer, ru.Reasons)
			}
			if rn.Verdict != identity.Clear || rn.Manufacturer != "Uniview" {
				t.Errorf("ndaa889 %s: %s %q, want clear Uniview", model, rn.Verdict, rn.Manufacturer)
			}
			continue
		}
		for _, r := range []Result{ru, rn} {
			if r.Manufacturer == "Uniview" || r.Entity == "Uniview" {
				t.Errorf("%s (%s) is taken for Uniview: %+v", model, c[2], r.Reasons)
			}
		}
	}
	if n["Uniview"] < 25 || n["not-Uniview"] < 12 {
		t.Errorf("only %v models", n)
	}
}

// TestUniviewNames: the name/ scope UNV, Uniview's own short name, and the
// long company name are Uniview; words that merely start with the letters
// are not.
func TestUniviewNames(t *testing.T) {
	uk := mustLoad(t, "uk-nil")
	for in, want := range map[string]string{
		"UNV": "Uniview", "unv": "Uniview", "UNV IPC2124LR3-PF40M-D": "Uniview",
		"Zhejiang Uniview Technologies Co., Ltd.": "Uniview", "Uniview Technologies": "Uniview",
		"UNVR": "", "Universal Camera": "", "Univision": "", "UNVERIFIED": "",
	} {
		got := ""
		if m := uk.matchAlias(in); m != nil {
			got = m.Name
		}
		if got != want {
			t.Errorf("matchAlias(%q) = %q, want %q", in, got, want)
		}
	}
	r := uk.Classify([]identity.Identity{obs("wsd", identity.FieldName, "UNV", identity.FieldModel, "IPC2124LR3-PF40M-D")})
	if r.Verdict != identity.Restricted || r.Entity != "Uniview" {
		t.Errorf("name/UNV scope with its model: %+v", r)
	}
}
