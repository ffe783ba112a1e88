package policy

import (
	"bufio"
	"fmt"
	"io/fs"
	"strings"
)

// USBID is one USB vendor id and the maker it belongs to.
type USBID struct {
	VID    string `json:"vid"` // 4 lower-case hex digits
	Maker  string `json:"maker"`
	Name   string `json:"name,omitempty"`
	Source string `json:"source,omitempty"`
}

func (p *Policy) loadUSB(extra []USBID) error {
	b, err := fs.ReadFile(embedded, "data/usb.tsv")
	if err != nil {
		return fmt.Errorf("policy: embedded USB table: %w", err)
	}
	var rows []USBID
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Split(s, "\t")
		if len(f) < 2 {
			return fmt.Errorf("policy: usb.tsv line %d: want vid, maker, name, source", line)
		}
		u := USBID{VID: f[0], Maker: f[1]}
		if len(f) > 2 {
			u.Name = f[2]
		}
		if len(f) > 3 {
			u.Source = f[3]
		}
		rows = append(rows, u)
	}
	for _, u := range append(rows, extra...) {
		if len(u.VID) != 4 || strings.Trim(u.VID, "0123456789abcdef") != "" {
			return fmt.Errorf("policy: USB vendor id %q is not 4 lower-case hex digits", u.VID)
		}
		if p.makers[u.Maker] == nil {
			return fmt.Errorf("policy: USB vendor id %s: unknown maker %q", u.VID, u.Maker)
		}
		p.usb[u.VID] = u
	}
	return nil
}

// LookupUSB returns the maker of a USB vendor id ("2bdf").
func (p *Policy) LookupUSB(vid string) (USBID, bool) {
	u, ok := p.usb[strings.ToLower(vid)]
	return u, ok
}
