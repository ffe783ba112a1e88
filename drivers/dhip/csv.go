package dhip

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// maxRows caps the data rows of a CSV report.
const maxRows = 4096

// csvColumns maps the deviceInfo keys build asks for to the columns of a
// Shadowserver scan_dvr_dhcpdiscover report. Shadowserver's device_type is
// DHIP's DeviceClass and its device_model is DHIP's DeviceType.
var csvColumns = map[string]string{
	"DeviceType":   "device_model",
	"DeviceClass":  "device_type",
	"SerialNo":     "device_serial",
	"Vendor":       "device_vendor",
	"Manufacturer": "manufacturer",
	"Version":      "device_version",
	"MachineName":  "machine_name",
	"mac":          "mac_address",
}

// isCSV reports whether the first line of t is a CSV header row with a
// method column.
func isCSV(t []byte) bool {
	line, _, _ := bytes.Cut(t, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	for _, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	rec, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil {
		return false
	}
	for _, f := range rec {
		if strings.ToLower(strings.TrimSpace(f)) == "method" {
			return true
		}
	}
	return false
}

// parseCSV turns each client.notifyDevInfo row of a Shadowserver report into
// an identity.
func parseCSV(t []byte) ([]identity.Identity, error) {
	if !utf8.Valid(t) {
		return nil, errors.New("dhip: CSV is not UTF-8")
	}
	r := csv.NewReader(bytes.NewReader(t))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("dhip: malformed CSV header: %s", short(err.Error()))
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	var ids []identity.Identity
	rows := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dhip: malformed CSV: %s", short(err.Error()))
		}
		if rows++; rows > maxRows {
			return nil, fmt.Errorf("dhip: CSV has more than %d rows", maxRows)
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		if strings.TrimSpace(cell("method")) != methodNotify {
			continue
		}
		ids = append(ids, build(func(key string) string {
			if key == "IPAddress" {
				if ip := cell("ip"); strings.TrimSpace(ip) != "" {
					return ip
				}
				return cell("ipv4_address")
			}
			return cell(csvColumns[key])
		}))
	}
	switch {
	case rows == 0:
		return nil, errors.New("dhip: CSV has a header but no rows")
	case len(ids) == 0:
		return nil, errors.New("dhip: no client.notifyDevInfo row in the CSV")
	}
	return ids, nil
}
