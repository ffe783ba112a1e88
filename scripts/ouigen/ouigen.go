package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Input size caps. The 2026 IEEE oui.csv is 3.8 MB; the caps leave room for
// growth while refusing anything absurd.
const (
	maxCSVBytes    = 64 << 20
	maxExtraBytes  = 16 << 20
	maxMakersBytes = 1 << 20
	maxRows        = 1 << 20
	maxFieldLen    = 1024
)

// Kinds of input. The first four are IEEE registry CSVs; kindExtra is a
// oui-restricted.tsv-format file.
const (
	kindOUI   = "oui"
	kindMAM   = "mam"
	kindOUI36 = "oui36"
	kindIAB   = "iab"
	kindExtra = "extra"
)

// registryOf returns the IEEE "Registry" column value an input kind holds.
func registryOf(kind string) string {
	switch kind {
	case kindOUI:
		return "MA-L"
	case kindMAM:
		return "MA-M"
	case kindOUI36:
		return "MA-S"
	case kindIAB:
		return "IAB"
	}
	return ""
}

// registryBits returns the block length in bits and the number of hex digits
// of an assignment in the given IEEE registry.
func registryBits(registry string) (bits, digits int, ok bool) {
	switch registry {
	case "MA-L":
		return 24, 6, true
	case "MA-M":
		return 28, 7, true
	case "MA-S", "IAB":
		return 36, 9, true
	}
	return 0, 0, false
}

// digitsFor returns the number of hex digits of a prefix of the given length.
func digitsFor(bits int) int {
	switch bits {
	case 24:
		return 6
	case 28:
		return 7
	case 36:
		return 9
	}
	return 0
}

// input is one file the table is built from.
type input struct {
	Path     string
	Kind     string
	Date     time.Time // registry date; zero when unknown
	DateFrom string    // where Date came from
	Rows     int       // assignment rows read
	Skipped  int       // umbrella and private rows skipped
	Kept     int       // rows of the table whose organisation name comes from this input
}

// row is one assignment read from an input.
type row struct {
	Prefix string // upper-case hex
	Bits   int
	Org    string // registered name, whitespace collapsed
	Entity string // extra files only: the entity column
}

// outRow is one row of the generated table.
type outRow struct {
	Prefix string
	Bits   int
	Maker  string
	Org    string
}

// makers maps normalised organisation names to maker names.
type makers struct {
	byKey map[string]string
	names map[string]string // normalised key -> the name as written in the file
}

// normSpace trims s and collapses every run of white space to one space.
func normSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// orgKey is the matching key of an organisation name: exact after
// collapsing white space and folding case. Never a substring match.
func orgKey(s string) string {
	return strings.ToLower(normSpace(s))
}

// lookup returns the maker of an organisation name, or "".
func (m makers) lookup(org string) string {
	return m.byKey[orgKey(org)]
}

// isSkippedOrg reports whether an organisation is an IEEE umbrella holder or
// a private (unpublished) assignment, which never name a maker.
func isSkippedOrg(org string) bool {
	switch orgKey(org) {
	case "", "private", "ieee registration authority":
		return true
	}
	return false
}

// validPrefix reports whether p is exactly digits upper-case hex digits.
func validPrefix(p string, digits int) bool {
	if len(p) != digits {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// validText reports whether s can sit in a TSV field: valid, printable, no
// tabs or line breaks, not too long.
func validText(s string) bool {
	if s == "" || len(s) > maxFieldLen {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// readCapped reads at most limit bytes of path and fails when it is longer.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ouigen: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("ouigen: %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("ouigen: %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// parseMakers reads an oui-makers.tsv: comment lines start with '#', rows are
// organisation<TAB>maker.
func parseMakers(b []byte) (makers, error) {
	m := makers{byKey: map[string]string{}, names: map[string]string{}}
	if len(b) > maxMakersBytes {
		return m, fmt.Errorf("ouigen: makers: larger than %d bytes", maxMakersBytes)
	}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 2 {
			return m, fmt.Errorf("ouigen: makers line %d: want organisation<TAB>maker, got %d fields", n+1, len(f))
		}
		org, maker := normSpace(f[0]), normSpace(f[1])
		if !validText(org) || !validText(maker) {
			return m, fmt.Errorf("ouigen: makers line %d: empty or invalid field", n+1)
		}
		k := orgKey(org)
		if old, ok := m.byKey[k]; ok && old != maker {
			return m, fmt.Errorf("ouigen: makers line %d: %q maps to both %q and %q", n+1, org, old, maker)
		}
		m.byKey[k] = maker
		m.names[k] = org
	}
	if len(m.byKey) == 0 {
		return m, errors.New("ouigen: makers: no rows")
	}
	return m, nil
}

// parseRegistry reads one IEEE registry CSV (oui.csv, mam.csv, oui36.csv,
// iab.csv) whose rows must all be of the given registry. It returns the rows
// and the number of umbrella/private rows skipped.
func parseRegistry(b []byte, registry string) ([]row, int, error) {
	bits, digits, ok := registryBits(registry)
	if !ok {
		return nil, 0, fmt.Errorf("ouigen: unknown registry %q", registry)
	}
	if len(b) > maxCSVBytes {
		return nil, 0, fmt.Errorf("ouigen: %s csv: larger than %d bytes", registry, maxCSVBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("ouigen: %s csv: no header: %v", registry, firstLine(err))
	}
	if len(head) < 3 || head[0] != "Registry" || head[1] != "Assignment" || head[2] != "Organization Name" {
		return nil, 0, fmt.Errorf("ouigen: %s csv: not an IEEE registry CSV (header %q)", registry, strings.Join(head, ","))
	}
	var rows []row
	skipped := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("ouigen: %s csv: %v", registry, firstLine(err))
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 3 {
			return nil, 0, fmt.Errorf("ouigen: %s csv line %d: %d fields", registry, line, len(rec))
		}
		if rec[0] != registry {
			return nil, 0, fmt.Errorf("ouigen: %s csv line %d: registry %q", registry, line, rec[0])
		}
		prefix := strings.ToUpper(strings.TrimSpace(rec[1]))
		if !validPrefix(prefix, digits) {
			return nil, 0, fmt.Errorf("ouigen: %s csv line %d: bad assignment %q", registry, line, rec[1])
		}
		org := normSpace(rec[2])
		if isSkippedOrg(org) {
			skipped++
			continue
		}
		if !validText(org) {
			return nil, 0, fmt.Errorf("ouigen: %s csv line %d: bad organisation name", registry, line)
		}
		if len(rows) >= maxRows {
			return nil, 0, fmt.Errorf("ouigen: %s csv: more than %d rows", registry, maxRows)
		}
		rows = append(rows, row{Prefix: prefix, Bits: bits, Org: org})
	}
	return rows, skipped, nil
}

// firstLine keeps an error message on one line.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

var (
	registryDateRE = regexp.MustCompile(`^#\s*registry-date:\s*(\d{4}-\d{2}-\d{2})\s*$`)
	snapshotRE     = regexp.MustCompile(`snapshot of (\d{4}-\d{2}-\d{2})\b`)
)

// parseExtra reads a oui-restricted.tsv-format file: '#' comments, an
// optional header row "prefix length organisation entity", then rows. The
// registry date comes from a "# registry-date: YYYY-MM-DD" comment or, for
// the shared file that predates that line, from the newest "snapshot of
// YYYY-MM-DD" in its comments; it is zero when neither is present.
func parseExtra(b []byte) ([]row, int, time.Time, string, error) {
	var date, snap time.Time
	if len(b) > maxExtraBytes {
		return nil, 0, date, "", fmt.Errorf("ouigen: extra: larger than %d bytes", maxExtraBytes)
	}
	var rows []row
	skipped := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") {
			if m := registryDateRE.FindStringSubmatch(line); m != nil {
				d, err := time.Parse(time.DateOnly, m[1])
				if err != nil {
					return nil, 0, date, "", fmt.Errorf("ouigen: extra line %d: bad registry-date %q", n, m[1])
				}
				date = d
			}
			for _, m := range snapshotRE.FindAllStringSubmatch(line, -1) {
				if d, err := time.Parse(time.DateOnly, m[1]); err == nil && d.After(snap) {
					snap = d
				}
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, 0, date, "", fmt.Errorf("ouigen: extra line %d: want 4 tab-separated fields, got %d", n, len(f))
		}
		if f[0] == "prefix" {
			continue // the header row
		}
		bits, err := strconv.Atoi(f[1])
		if err != nil || digitsFor(bits) == 0 {
			return nil, 0, date, "", fmt.Errorf("ouigen: extra line %d: bad length %q", n, f[1])
		}
		prefix := strings.ToUpper(strings.TrimSpace(f[0]))
		if !validPrefix(prefix, digitsFor(bits)) {
			return nil, 0, date, "", fmt.Errorf("ouigen: extra line %d: prefix %q is not %d hex digits", n, f[0], digitsFor(bits))
		}
		org, entity := normSpace(f[2]), normSpace(f[3])
		if isSkippedOrg(org) {
			skipped++
			continue
		}
		if !validText(org) || !validText(entity) {
			return nil, 0, date, "", fmt.Errorf("ouigen: extra line %d: empty or invalid organisation or entity", n)
		}
		if len(rows) >= maxRows {
			return nil, 0, date, "", fmt.Errorf("ouigen: extra: more than %d rows", maxRows)
		}
		rows = append(rows, row{Prefix: prefix, Bits: bits, Org: org, Entity: entity})
	}
	if err := sc.Err(); err != nil {
		return nil, 0, date, "", fmt.Errorf("ouigen: extra line %d: %v", n+1, err)
	}
	switch {
	case !date.IsZero():
		return rows, skipped, date, "registry-date", nil
	case !snap.IsZero():
		return rows, skipped, snap, "snapshot comment", nil
	}
	return rows, skipped, date, "", nil
}

// registryDate returns the date of a registry CSV: Debian's .lastupdate
// (Unix seconds, written by the package and by update-ieee-data) in the
// file's directory when present, else the file's modification time.
func registryDate(path string) (time.Time, string, error) {
	if b, err := readCapped(filepath.Join(filepath.Dir(path), ".lastupdate"), 64); err == nil {
		if sec, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && sec > 0 {
			return time.Unix(sec, 0).UTC(), ".lastupdate", nil
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("ouigen: %w", err)
	}
	return fi.ModTime().UTC(), "mtime", nil
}

// candidate is one input's view of one prefix.
type candidate struct {
	row
	src int // index into inputs
}

// build merges the rows of all inputs into the table. For each prefix the
// organisation name of the newest input wins (on equal dates, the later
// input). The maker is that name's maker; when that name is not in the
// makers file, the maker of the next newest candidate (or an extra file's
// entity) is used and a warning says so, so that a renamed organisation never
// silently drops a restricted block. Prefixes no candidate maps are dropped.
func build(inputs []input, rows [][]row, m makers) ([]outRow, []string) {
	type key struct {
		prefix string
		bits   int
	}
	byKey := map[key][]candidate{}
	for i, rs := range rows {
		for _, r := range rs {
			k := key{r.Prefix, r.Bits}
			byKey[k] = append(byKey[k], candidate{r, i})
		}
	}
	var out []outRow
	var warns []string
	for k, cs := range byKey {
		// Newest first; on equal dates the later input first.
		slices.SortStableFunc(cs, func(a, b candidate) int {
			if c := inputs[b.src].Date.Compare(inputs[a.src].Date); c != 0 {
				return c
			}
			return b.src - a.src
		})
		win := cs[0]
		maker := m.lookup(win.Org)
		if maker == "" {
			for _, c := range cs {
				mk, from := m.lookup(c.Org), "the makers file"
				if mk == "" && c.Entity != "" {
					mk, from = c.Entity, "the entity column"
				}
				if mk == "" {
					continue
				}
				maker = mk
				if c.src == win.src {
					warns = append(warns, fmt.Sprintf("%s/%d: %q (%s) is not in the makers file; maker %s from its entity column",
						k.prefix, k.bits, win.Org, inputs[win.src].Path, maker))
				} else {
					warns = append(warns, fmt.Sprintf("%s/%d: %q (%s) is not in the makers file; maker %s from %s of %q (%s)",
						k.prefix, k.bits, win.Org, inputs[win.src].Path, maker, from, c.Org, inputs[c.src].Path))
				}
				break
			}
		}
		if maker == "" {
			continue
		}
		inputs[win.src].Kept++
		out = append(out, outRow{Prefix: k.prefix, Bits: k.bits, Maker: maker, Org: win.Org})
	}
	slices.SortFunc(out, func(a, b outRow) int {
		if c := strings.Compare(a.Prefix, b.Prefix); c != 0 {
			return c
		}
		return a.Bits - b.Bits
	})
	slices.Sort(warns)
	return out, warns
}

// header is what the table's comment block records.
type header struct {
	Command    string
	MakersPath string
	Inputs     []input
}

// newestDate is the registry date of the table: the newest input date.
func (h header) newestDate() time.Time {
	var d time.Time
	for _, in := range h.Inputs {
		if in.Date.After(d) {
			d = in.Date
		}
	}
	return d
}

// writeTable writes the generated table.
func writeTable(w io.Writer, h header, rows []outRow) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# IEEE MAC address blocks (MA-L /24, MA-M /28, MA-S and IAB /36) of the makers the policy names.")
	fmt.Fprintln(bw, "# Generated by scripts/ouigen: do not edit; edit oui-makers.tsv and regenerate (scripts/regen-oui.sh).")
	d := "unknown"
	if nd := h.newestDate(); !nd.IsZero() {
		d = nd.Format(time.DateOnly)
	}
	fmt.Fprintf(bw, "# registry-date: %s\n", d)
	fmt.Fprintf(bw, "# command: %s\n", h.Command)
	fmt.Fprintf(bw, "# makers: %s (organisation names matched exactly, case-insensitively, white space collapsed)\n", h.MakersPath)
	for _, in := range h.Inputs {
		date := "date unknown"
		if !in.Date.IsZero() {
			date = in.Date.Format(time.DateOnly) + " (" + in.DateFrom + ")"
		}
		fmt.Fprintf(bw, "# input: %s %s, %s, %d rows, %d skipped, %d kept\n", in.Kind, in.Path, date, in.Rows, in.Skipped, in.Kept)
	}
	fmt.Fprintln(bw, "# Rows: prefix<TAB>bits<TAB>maker<TAB>organisation; prefix is upper-case hex, 6/7/9 digits for 24/28/36 bits;")
	fmt.Fprintln(bw, "# organisation is the name registered in the newest input holding the block.")
	for _, r := range rows {
		fmt.Fprintf(bw, "%s\t%d\t%s\t%s\n", r.Prefix, r.Bits, r.Maker, r.Org)
	}
	return bw.Flush()
}

// shellQuote quotes s for the recorded command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
