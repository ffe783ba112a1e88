package main

import (
	"os"
	"strings"
	"testing"
)

// checkErr fails on an error that is not one line starting with "ouigen: ".
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "ouigen: ")) {
		t.Fatalf("bad error: %q", err)
	}
}

// checkRows fails on a row that could not be written to the table.
func checkRows(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		if !validPrefix(r.Prefix, digitsFor(r.Bits)) || !validText(r.Org) || isSkippedOrg(r.Org) || r.Org != normSpace(r.Org) {
			t.Fatalf("bad row %+v", r)
		}
	}
}

func FuzzParseRegistry(f *testing.F) {
	for _, name := range []string{"oui", "mam", "oui36", "iab"} {
		if b, err := os.ReadFile("testdata/ieee/" + name + ".csv"); err == nil {
			f.Add(b, uint8(len(name)))
		}
	}
	f.Add([]byte("Registry,Assignment,Organization Name,Organization Address\nMA-L,\"00408C\",\"A\"\"B, C\",\"x\"\n"), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		registry := [...]string{"MA-L", "MA-M", "MA-S", "IAB"}[which%4]
		rows, skipped, err := parseRegistry(b, registry)
		checkErr(t, err)
		if err != nil {
			return
		}
		bits, _, _ := registryBits(registry)
		for _, r := range rows {
			if r.Bits != bits {
				t.Fatalf("row %+v in %s", r, registry)
			}
		}
		if skipped < 0 {
			t.Fatal("negative skip count")
		}
		checkRows(t, rows)
	})
}

func FuzzParseExtra(f *testing.F) {
	if b, err := os.ReadFile("testdata/extra.tsv"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("# snapshot of 2026-06-06\nprefix\tlength\torganisation\tentity\n70B3D50AE\t36\tNorsat International Inc.\tHytera\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, _, _, _, err := parseExtra(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		checkRows(t, rows)
		for _, r := range rows {
			if !validText(r.Entity) {
				t.Fatalf("bad entity in %+v", r)
			}
		}
	})
}

func FuzzParseMakers(f *testing.F) {
	if b, err := os.ReadFile("testdata/makers.tsv"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("A  Ltd\tX\r\n# c\n\na ltd\tX\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMakers(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		for k, maker := range m.byKey {
			if k != orgKey(k) || m.lookup(m.names[k]) != maker || !validText(maker) {
				t.Fatalf("bad entry %q -> %q", k, maker)
			}
		}
	})
}
