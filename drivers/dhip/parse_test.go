package dhip_test

import (
	"testing"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func TestParseGolden(t *testing.T) {
	identitytest.GoldenFiles(t, dhip.Parse, "dhip-001.json", "dhip-003.txt", "dhip-005.csv")
	t.Run("dhip-001-framed", func(t *testing.T) {
		ids, err := dhip.Parse(dhiptest.Frame(identitytest.ReadFile(t, "dhip-001.json")))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		identitytest.Golden(t, "dhip-001-framed", ids)
	})
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
			ids, err := dhip.Parse(identitytest.ReadFile(t, tc.file))
			id := identitytest.One(t, ids, err)
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
