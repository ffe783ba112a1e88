package policy

import (
	"bufio"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// OUIBlock is one IEEE MAC address block: an MA-L (24 bits), MA-M (28) or
// MA-S (36) assignment and the maker it belongs to.
type OUIBlock struct {
	Prefix       string `json:"prefix"` // 6, 7 or 9 upper-case hex digits
	Bits         int    `json:"bits"`
	Maker        string `json:"maker"`
	Organisation string `json:"organisation"`
}

type ouiTable struct {
	blocks [3]map[uint64]*OUIBlock // by length: 36, 28, 24 bits (longest first)
	count  map[string]int          // blocks per maker
}

var ouiBits = [3]int{36, 28, 24}

func loadOUI(extra []OUIBlock, makers map[string]*Maker) (*ouiTable, string, error) {
	t := &ouiTable{count: map[string]int{}}
	for i := range t.blocks {
		t.blocks[i] = map[uint64]*OUIBlock{}
	}
	b, err := fs.ReadFile(embedded, "data/oui.tsv")
	if err != nil {
		return nil, "", fmt.Errorf("policy: embedded OUI table: %w", err)
	}
	date := ""
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if d, ok := strings.CutPrefix(s, "# registry-date:"); ok {
			date = strings.TrimSpace(d)
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Split(s, "\t")
		if len(f) < 3 {
			return nil, "", fmt.Errorf("policy: oui.tsv line %d: want prefix, bits, maker, organisation", line)
		}
		bits, _ := strconv.Atoi(f[1])
		blk := OUIBlock{Prefix: f[0], Bits: bits, Maker: f[2]}
		if len(f) > 3 {
			blk.Organisation = f[3]
		}
		if err := t.add(blk, makers); err != nil {
			return nil, "", fmt.Errorf("policy: oui.tsv line %d: %w", line, err)
		}
	}
	for _, blk := range extra {
		if err := t.add(blk, makers); err != nil {
			return nil, "", fmt.Errorf("policy: ouis: %w", err)
		}
	}
	return t, date, nil
}

func (t *ouiTable) add(blk OUIBlock, makers map[string]*Maker) error {
	slot := -1
	for i, b := range ouiBits {
		if b == blk.Bits {
			slot = i
		}
	}
	if slot < 0 || len(blk.Prefix) != blk.Bits/4 {
		return fmt.Errorf("prefix %q does not fit %d bits", blk.Prefix, blk.Bits)
	}
	v, err := strconv.ParseUint(blk.Prefix, 16, 64)
	if err != nil {
		return fmt.Errorf("prefix %q is not hex", blk.Prefix)
	}
	if makers[blk.Maker] == nil {
		return fmt.Errorf("prefix %s: unknown maker %q", blk.Prefix, blk.Maker)
	}
	b := blk
	if _, dup := t.blocks[slot][v]; !dup {
		t.count[blk.Maker]++
	}
	t.blocks[slot][v] = &b
	return nil
}

// LookupOUI returns the block a MAC address belongs to, longest prefix
// first (MA-S, then MA-M, then MA-L), so that a block inside an IEEE
// umbrella /24 is found. Locally administered and multicast addresses carry
// no vendor and return false.
func (p *Policy) LookupOUI(mac string) (OUIBlock, bool) {
	v, ok := macBits(mac)
	if !ok {
		return OUIBlock{}, false
	}
	for i, bits := range ouiBits {
		if b := p.oui.blocks[i][v>>(48-bits)]; b != nil {
			return *b, true
		}
	}
	return OUIBlock{}, false
}

// macBits parses "aa:bb:cc:dd:ee:ff" into 48 bits; false for locally
// administered or group addresses.
func macBits(mac string) (uint64, bool) {
	if len(mac) != 17 {
		return 0, false
	}
	var v uint64
	for i := 0; i < 17; i += 3 {
		b, err := strconv.ParseUint(mac[i:i+2], 16, 8)
		if err != nil || (i < 15 && mac[i+2] != ':') {
			return 0, false
		}
		v = v<<8 | b
	}
	first := v >> 40
	if first&0x02 != 0 || first&0x01 != 0 {
		return 0, false
	}
	return v, true
}
