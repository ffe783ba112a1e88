package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// CSVHeader is the first row of the CSV.
var CSVHeader = []string{
	"gateway", "id", "ip", "mac", "manufacturer", "brand", "model", "serial", "firmware",
	"verdict", "entity", "profile", "status", "first_seen", "last_seen", "removed_at",
	"acked_at", "acked_by", "sources", "via_nvr", "via_channel", "evidence",
}

// CSV writes one row per device and gateway, restricted first, in the
// columns of CSVHeader. Times are RFC 3339 UTC, empty when not known. A
// cell a spreadsheet would take for a formula (one that starts with =, +,
// -, or @, after any white space; control characters become spaces) gets
// a leading apostrophe.
func CSV(w io.Writer, rep Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	for _, g := range rep.Gateways {
		for _, r := range g.Devices {
			d := r.Device
			via, ch := "", ""
			if d.Via != nil {
				via, ch = d.Via.NVR, fmt.Sprint(d.Via.Channel)
			}
			rec := []string{
				g.ID, d.ID, d.IP, d.MAC, d.Manufacturer, d.Brand, d.Model, d.Serial, d.Firmware,
				string(d.Verdict), d.Entity, d.Profile, r.Status, csvTime(r.First), csvTime(r.Last), csvTime(r.Removed),
				csvTime(r.AckedAt), r.AckedBy, strings.Join(d.Sources, " "), via, ch, strings.Join(r.Evidence, " "),
			}
			for i, s := range rec {
				rec[i] = cell(s)
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("report: csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

// cell cleans a value for a spreadsheet: no control characters, and a
// leading apostrophe before anything a spreadsheet would evaluate (=, +,
// -, @ first, after any white space).
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if t := strings.TrimLeft(s, " "); t != "" && strings.ContainsRune("=+-@", rune(t[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
