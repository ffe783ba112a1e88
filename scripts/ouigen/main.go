// Command ouigen regenerates firmware/policy/data/oui.tsv, the table of IEEE
// MAC address blocks that the policy embeds, from the IEEE registry CSVs.
//
// Usage (from the repository root; scripts/regen-oui.sh wraps it):
//
//	go run ./scripts/ouigen [-dir DIR] [-oui FILE] [-mam FILE] [-oui36 FILE] [-iab FILE]
//	        [-extra FILE]... [-makers FILE] [-o FILE]
//
// The CSVs (oui.csv MA-L, mam.csv MA-M, oui36.csv MA-S, iab.csv IAB, in the
// IEEE layout "Registry,Assignment,Organization Name,Organization Address")
// come from -dir and/or the per-file flags, which override the file of the
// same name in -dir. With neither, Debian's ieee-data is read: the newer of
// /var/lib/ieee-data (written by update-ieee-data) and /usr/share/ieee-data.
//
// -extra adds oui-restricted.tsv-format files (prefix, length, organisation,
// entity), so that blocks newer than the registry copy at hand are kept; their
// date is the "# registry-date: YYYY-MM-DD" comment (or "snapshot of DATE").
//
// Every organisation name is mapped to a maker through -makers (exact names,
// case-insensitive, white space collapsed; never substrings); rows of
// unmapped organisations are dropped, extra rows fall back to their entity.
// For a block held by several inputs the newest input's name wins. Counts per
// maker and warnings go to stderr.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2) // the flag package has said why
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// errUsage is returned for a bad command line, already reported on stderr.
var errUsage = errors.New("ouigen: usage")

// Debian's ieee-data directories: the packaged copy and update-ieee-data's.
const (
	debianShare = "/usr/share/ieee-data"
	debianVar   = "/var/lib/ieee-data"
)

// config is the parsed command line.
type config struct {
	dir    string
	files  map[string]string // kind -> path
	extras []string
	makers string
	out    string
	args   []string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{files: map[string]string{}, args: args}
	fs := flag.NewFlagSet("ouigen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dir, "dir", "", "directory holding oui.csv, mam.csv, oui36.csv, iab.csv (default: newest Debian ieee-data)")
	for _, k := range []string{kindOUI, kindMAM, kindOUI36, kindIAB} {
		fs.Func(k, "IEEE "+registryOf(k)+" CSV ("+k+".csv); overrides the one in -dir", func(s string) error {
			c.files[k] = s
			return nil
		})
	}
	fs.Func("extra", "oui-restricted.tsv-format file of extra rows (repeatable)", func(s string) error {
		c.extras = append(c.extras, s)
		return nil
	})
	fs.StringVar(&c.makers, "makers", "firmware/policy/data/oui-makers.tsv", "organisation -> maker mapping")
	fs.StringVar(&c.out, "o", "firmware/policy/data/oui.tsv", "output file, - for stdout")
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ouigen: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return c, errUsage
	}
	return c, nil
}

// newestDir returns the directory whose oui.csv has the newest registry date;
// on equal dates the earlier directory. For Debian that is /var/lib/ieee-data
// when update-ieee-data refreshed it, else the packaged /usr/share/ieee-data.
func newestDir(dirs ...string) (string, error) {
	best, bestDate := "", time.Time{}
	for _, d := range dirs {
		p := filepath.Join(d, "oui.csv")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		date, _, err := registryDate(p)
		if err != nil {
			continue
		}
		if best == "" || date.After(bestDate) {
			best, bestDate = d, date
		}
	}
	if best == "" {
		return "", fmt.Errorf("ouigen: no oui.csv in %s: apt-get install ieee-data, or pass -dir/-oui", strings.Join(dirs, " or "))
	}
	return best, nil
}

// inputsOf lists the CSV inputs in a stable order (MA-L, MA-M, MA-S, IAB),
// then the extra files in command-line order.
func inputsOf(c config) ([]input, error) {
	dir := c.dir
	if dir == "" && len(c.files) == 0 {
		d, err := newestDir(debianShare, debianVar)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	var ins []input
	for _, k := range []string{kindOUI, kindMAM, kindOUI36, kindIAB} {
		p, ok := c.files[k]
		if !ok {
			if dir == "" {
				continue
			}
			p = filepath.Join(dir, k+".csv")
			if _, err := os.Stat(p); err != nil {
				if k == kindOUI {
					return nil, fmt.Errorf("ouigen: %w", err)
				}
				continue // a directory may lack the smaller registries
			}
		}
		ins = append(ins, input{Path: p, Kind: k})
	}
	for _, p := range c.extras {
		ins = append(ins, input{Path: p, Kind: kindExtra})
	}
	if len(ins) == 0 {
		return nil, errors.New("ouigen: no inputs")
	}
	return ins, nil
}

// load reads every input, filling in its date and row counts.
func load(ins []input) ([][]row, error) {
	rows := make([][]row, len(ins))
	for i := range ins {
		in := &ins[i]
		if in.Kind == kindExtra {
			b, err := readCapped(in.Path, maxExtraBytes)
			if err != nil {
				return nil, err
			}
			rs, skipped, date, from, err := parseExtra(b)
			if err != nil {
				return nil, fmt.Errorf("%v (%s)", err, in.Path)
			}
			rows[i], in.Skipped, in.Date, in.DateFrom = rs, skipped, date, from
			in.Rows = len(rs) + skipped
			continue
		}
		b, err := readCapped(in.Path, maxCSVBytes)
		if err != nil {
			return nil, err
		}
		rs, skipped, err := parseRegistry(b, registryOf(in.Kind))
		if err != nil {
			return nil, fmt.Errorf("%v (%s)", err, in.Path)
		}
		date, from, err := registryDate(in.Path)
		if err != nil {
			return nil, err
		}
		rows[i], in.Skipped, in.Date, in.DateFrom = rs, skipped, date, from
		in.Rows = len(rs) + skipped
	}
	return rows, nil
}

// run is main without the exit.
func run(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	mb, err := readCapped(c.makers, maxMakersBytes)
	if err != nil {
		return err
	}
	m, err := parseMakers(mb)
	if err != nil {
		return fmt.Errorf("%v (%s)", err, c.makers)
	}
	ins, err := inputsOf(c)
	if err != nil {
		return err
	}
	rows, err := load(ins)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.Date.IsZero() {
			fmt.Fprintf(stderr, "ouigen: warning: %s has no registry date (add a \"# registry-date: YYYY-MM-DD\" line)\n", in.Path)
		}
	}
	table, warns := build(ins, rows, m)
	for _, w := range warns {
		fmt.Fprintln(stderr, "ouigen: warning:", w)
	}
	quoted := make([]string, len(c.args))
	for i, a := range c.args {
		quoted[i] = shellQuote(a)
	}
	h := header{
		Command:    strings.TrimSpace("go run ./scripts/ouigen " + strings.Join(quoted, " ")),
		MakersPath: c.makers,
		Inputs:     ins,
	}
	if err := writeOut(c.out, stdout, h, table); err != nil {
		return err
	}
	matched := map[string]bool{}
	for _, rs := range rows {
		for _, r := range rs {
			if k := orgKey(r.Org); m.byKey[k] != "" {
				matched[k] = true
			}
		}
	}
	report(stderr, table, m, matched, h, time.Since(start))
	return nil
}

// writeOut writes the table to path atomically (temp file, rename), or to
// stdout for "-".
func writeOut(path string, stdout io.Writer, h header, table []outRow) error {
	if path == "-" {
		return writeTable(stdout, h, table)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".oui-*.tsv")
	if err != nil {
		return fmt.Errorf("ouigen: %w", err)
	}
	defer os.Remove(f.Name())
	if err := writeTable(f, h, table); err != nil {
		f.Close()
		return fmt.Errorf("ouigen: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("ouigen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ouigen: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("ouigen: %w", err)
	}
	return nil
}

// report prints the counts per maker and the mapping names that matched no
// input (candidates for review: renamed or not yet registered).
func report(w io.Writer, table []outRow, m makers, matched map[string]bool, h header, took time.Duration) {
	type count struct{ l, m, s int }
	counts := map[string]*count{}
	for _, r := range table {
		c := counts[r.Maker]
		if c == nil {
			c = &count{}
			counts[r.Maker] = c
		}
		switch r.Bits {
		case 24:
			c.l++
		case 28:
			c.m++
		default:
			c.s++
		}
	}
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	slices.Sort(names)
	fmt.Fprintf(w, "%-22s %6s %5s %5s %6s\n", "maker", "/24", "/28", "/36", "total")
	var tl, tm, ts int
	for _, n := range names {
		c := counts[n]
		fmt.Fprintf(w, "%-22s %6d %5d %5d %6d\n", n, c.l, c.m, c.s, c.l+c.m+c.s)
		tl, tm, ts = tl+c.l, tm+c.m, ts+c.s
	}
	fmt.Fprintf(w, "%-22s %6d %5d %5d %6d\n", "total", tl, tm, ts, tl+tm+ts)
	var unused []string
	for k, name := range m.names {
		if !matched[k] {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	for _, n := range unused {
		fmt.Fprintf(w, "ouigen: note: makers entry %q matched no block in these inputs\n", n)
	}
	fmt.Fprintf(w, "ouigen: %d rows, registry date %s, %v\n", len(table), h.newestDate().Format(time.DateOnly), took.Round(time.Millisecond))
}
