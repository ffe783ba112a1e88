package dhip_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// goldenIdentity is the JSON form of an identity in golden files.
type goldenIdentity struct {
	Source string          `json:"source"`
	Addr   string          `json:"addr,omitempty"`
	MAC    string          `json:"mac,omitempty"`
	Facts  []identity.Fact `json:"facts"`
}

func marshalIdentities(t *testing.T, ids []identity.Identity) []byte {
	t.Helper()
	out := make([]goldenIdentity, 0, len(ids))
	for _, id := range ids {
		g := goldenIdentity{Source: id.Source, MAC: id.MAC, Facts: id.Facts}
		if id.Addr.IsValid() {
			g.Addr = id.Addr.String()
		}
		out = append(out, g)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseGolden(t *testing.T) {
	cases := []struct {
		golden string
		input  func(t *testing.T) []byte
	}{
		{"dhip-001", func(t *testing.T) []byte { return readFile(t, "dhip-001.json") }},
		{"dhip-001-framed", func(t *testing.T) []byte { return dhiptest.Frame(readFile(t, "dhip-001.json")) }},
		{"dhip-003", func(t *testing.T) []byte { return readFile(t, "dhip-003.txt") }},
		{"dhip-005", func(t *testing.T) []byte { return readFile(t, "dhip-005.csv") }},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			ids, err := dhip.Parse(tc.input(t))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := marshalIdentities(t, ids)
			golden := filepath.Join("testdata", tc.golden+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestParseCorpusValues states the key values of the corpus replies by
// hand, independently of the golden files.
func TestParseCorpusValues(t *testing.T) {
	cases := []struct {
		file                                          string
		model, class, serial, vendor, manuf, fw, name string
		mac, addr                                     string
	}{
		{"dhip-001.json", "IPC-HDW5421S", "IPC", "1F006E4PAX00075", "Dahua", "Private", "2.400.0.8", "1F006E4PAX00075", "4c:11:bf:c2:0b:9d", "218.5.136.140"},
		{"dhip-003.txt", "W461ASC", "IPC", "", "Lorex", "Private", "2.800.030000000.3.R", "", "00:1f:54:a9:2e:58", "192.168.86.81"},
		{"dhip-005.csv", "HDCVI 1008 - Gerao 2", "HDCVI", "BFBE29078050F", "Intelbras", "Intelbras", "3.200.24.0", "HDCVI", "58:10:8c:19:bf:fb", "192.168.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ids, err := dhip.Parse(readFile(t, tc.file))
			if err != nil || len(ids) != 1 {
				t.Fatalf("Parse = %d identities, %v; want 1, nil", len(ids), err)
			}
			id := ids[0]
			checks := []struct{ what, got, want string }{
				{"source", id.Source, identity.SourceDHIP},
				{"protocol", id.Get(identity.FieldProtocol), "dhip-notifydevinfo"},
				{"model", id.Get(identity.FieldModel), tc.model},
				{"device-class", id.Get(identity.FieldDeviceClass), tc.class},
				{"serial", id.Get(identity.FieldSerial), tc.serial},
				{"vendor", id.Get(identity.FieldVendor), tc.vendor},
				{"manufacturer", id.Get(identity.FieldManufacturer), tc.manuf},
				{"firmware", id.Get(identity.FieldFirmware), tc.fw},
				{"name", id.Get(identity.FieldName), tc.name},
				{"MAC", id.MAC, tc.mac},
				{"mac fact", id.Get(identity.FieldMAC), tc.mac},
				{"addr", id.Addr.String(), tc.addr},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}
