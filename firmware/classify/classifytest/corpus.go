// Package classifytest reads the classify corpus (firmware/testdata/classify:
// real answers of real devices, each with its source line in SOURCES.tsv)
// for the tests of the command and of package classify.
package classifytest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sample is one classifiable sample of the corpus.
type Sample struct {
	File       string // the file name, in the corpus directory
	Protocol   string // the classify format that takes it
	Maker      string // the true manufacturer, as the corpus records it
	Restricted bool   // the corpus says restricted=yes
}

// Protocol maps a SOURCES.tsv protocol column to the classify format that
// takes it; "" means classify takes no such format (FTP, telnet, SIP
// banners, DHCP vendor classes).
func Protocol(col string) string {
	for _, m := range [][2]string{
		{"sadp", "sadp"}, {"dhip", "dhip"}, {"wsd", "wsd"}, {"ssdp", "ssdp"}, {"upnp", "upnp"},
		{"onvif", "onvif"}, {"http", "http"}, {"www-authenticate", "http"}, {"reolink", "http"},
		{"rtsp", "rtsp"}, {"tls", "tls"},
	} {
		if strings.HasPrefix(col, m[0]) {
			return m[1]
		}
	}
	return ""
}

// Load reads dir/SOURCES.tsv (file, protocol, true manufacturer, brand
// shown, restricted, source) and returns the samples classify takes.
func Load(dir string) ([]Sample, error) {
	b, err := os.ReadFile(filepath.Join(dir, "SOURCES.tsv"))
	if err != nil {
		return nil, err
	}
	var out []Sample
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			return nil, fmt.Errorf("%s: line %d has %d columns, want at least 5", filepath.Join(dir, "SOURCES.tsv"), i+1, len(f))
		}
		if p := Protocol(f[1]); p != "" {
			out = append(out, Sample{File: f[0], Protocol: p, Maker: f[2], Restricted: f[4] == "yes"})
		}
	}
	return out, nil
}
