package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden runs the whole generator over the synthetic registry in
// testdata/ieee plus testdata/extra.tsv and compares the table with the
// golden file. It covers the mapping, MA-M/MA-S/IAB lengths, umbrella and
// private rows, look-alikes, name normalisation, dedup and the date header.
func TestGolden(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"-dir", "testdata/ieee", "-extra", "testdata/extra.tsv", "-makers", "testdata/makers.tsv", "-o", "-"}
	if err := run(args, &out, &errs); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	golden := filepath.Join("testdata", "oui.golden.tsv")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("table differs from %s (go test -update to rewrite):\n%s", golden, out.String())
	}
	// The stderr report: counts per maker and the entity fallback warning.
	for _, s := range []string{
		"Hikvision                   1     0     0      1",
		`"Example Huawei Subsidiary Ltd" (testdata/extra.tsv) is not in the makers file; maker Huawei from its entity column`,
		"ouigen: 17 rows, registry date 2026-06-06",
	} {
		if !strings.Contains(errs.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, errs.String())
		}
	}
}

// tableRows parses a generated table into prefix/bits -> "maker|org".
func tableRows(t *testing.T, b []byte) (map[string]string, []string) {
	t.Helper()
	rows := map[string]string{}
	var comments []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			comments = append(comments, line)
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("row %q: %d fields", line, len(f))
		}
		rows[f[0]+"/"+f[1]] = f[2] + "|" + f[3]
	}
	return rows, comments
}

func TestGoldenRows(t *testing.T) {
	var out, errs bytes.Buffer
	args := []string{"-dir", "testdata/ieee", "-extra", "testdata/extra.tsv", "-makers", "testdata/makers.tsv", "-o", "-"}
	if err := run(args, &out, &errs); err != nil {
		t.Fatal(err)
	}
	rows, comments := tableRows(t, out.Bytes())
	for _, tc := range []struct {
		name, key, want string
	}{
		{"MA-L", "BCAD28/24", "Hikvision|Hangzhou Hikvision Digital Technology Co.,Ltd."},
		{"MA-M upper-cased", "B0B3536/28", "Hikrobot|Hangzhou Hikrobot Technology Co., Ltd."},
		{"MA-M", "AC64DD5/28", "ZTE|SHANGHAI ZTE TECHNOLOGIES CO.,LTD"},
		{"MA-S", "70B3D50AE/36", "Norsat|Norsat International Inc."},
		{"IAB", "0050C2BE7/36", "Genetec|Genetec Inc."},
		{"case folded", "00408C/24", "Axis|AXIS COMMUNICATIONS AB"},
		{"white space collapsed", "407AA4/24", "Dahua|ZHEJIANG DAHUA TECHNOLOGYCO.,LTD"},
		{"newest name wins", "001E96/24", "Sepura|Sepura Limited"},
		{"extra only", "A8CA87/24", "Dahua|ZHEJIANG DAHUA ZHILIAN CO.,LTD"},
		{"extra entity fallback", "0C0C0C/24", "Huawei|Example Huawei Subsidiary Ltd"},
		{"exact Teltronic", "000418/24", "Teltronic|Teltronic S.A.U."},
	} {
		if got := rows[tc.key]; got != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.name, tc.key, got, tc.want)
		}
	}
	for _, key := range []string{
		"402C761/28",   // Shanghai Dahua Scale Factory
		"7866AE/24",    // ZTEC Instruments, Inc.
		"540237/24",    // Teltronic AG
		"0001D8/24",    // Teltronics, Inc.
		"8C1F64F4B/36", // JOREX LOREX INDIA PRIVATE LIMITED
		"000AB1/24",    // GENETEC Corporation
		"70B3D5/24",    // IEEE Registration Authority (in a CSV and in the extra file)
		"8C1F64/24", "B0B353/24",
		"FCFFAA/24", "741AE09/28", // Private
		"002272/24", // unmapped
	} {
		if got, ok := rows[key]; ok {
			t.Errorf("%s must not be in the table, got %q", key, got)
		}
	}
	head := strings.Join(comments, "\n")
	for _, s := range []string{
		"# registry-date: 2026-06-06",
		"# command: go run ./scripts/ouigen -dir testdata/ieee -extra testdata/extra.tsv -makers testdata/makers.tsv -o -",
		"# input: oui testdata/ieee/oui.csv, 2022-08-27 (.lastupdate), 19 rows, 4 skipped,",
		"# input: mam testdata/ieee/mam.csv, 2022-08-27 (.lastupdate), 4 rows, 1 skipped,",
		"# input: extra testdata/extra.tsv, 2026-06-06 (registry-date), 6 rows, 1 skipped,",
	} {
		if !strings.Contains(head, s) {
			t.Errorf("header lacks %q:\n%s", s, head)
		}
	}
}

func TestParseRegistry(t *testing.T) {
	const head = "Registry,Assignment,Organization Name,Organization Address\n"
	for _, tc := range []struct {
		name     string
		registry string
		in       string
		want     []row
		skipped  int
		err      string
	}{
		{name: "quoted commas", registry: "MA-L",
			in:   head + "MA-L,4C11BF,\"Zhejiang Dahua Technology Co., Ltd.\",\"No.1199, Bin'an Road Hangzhou CN 310053 \"\n",
			want: []row{{Prefix: "4C11BF", Bits: 24, Org: "Zhejiang Dahua Technology Co., Ltd."}}},
		{name: "BOM and CRLF", registry: "MA-M",
			in:   "\ufeff" + strings.ReplaceAll(head, "\n", "\r\n") + "MA-M,b0b3536,Hangzhou  Hikrobot ,x\r\n",
			want: []row{{Prefix: "B0B3536", Bits: 28, Org: "Hangzhou Hikrobot"}}},
		{name: "MA-S", registry: "MA-S", in: head + "MA-S,70B3D50AE,Norsat International Inc.,addr\n",
			want: []row{{Prefix: "70B3D50AE", Bits: 36, Org: "Norsat International Inc."}}},
		{name: "IAB", registry: "IAB", in: head + "IAB,0050C2BE7,Genetec Inc.,addr\n",
			want: []row{{Prefix: "0050C2BE7", Bits: 36, Org: "Genetec Inc."}}},
		{name: "umbrella and private skipped", registry: "MA-L",
			in: head + "MA-L,70B3D5,IEEE Registration Authority,x\nMA-L,FCFFAA,Private,\nMA-L,8C1F64,ieee  registration authority,\n", skipped: 3},
		{name: "three fields", registry: "MA-L", in: head + "MA-L,00408C,AXIS\n",
			want: []row{{Prefix: "00408C", Bits: 24, Org: "AXIS"}}},
		{name: "header only", registry: "MA-L", in: head},
		{name: "empty", registry: "MA-L", in: "", err: "no header"},
		{name: "not a registry csv", registry: "MA-L", in: "OUI,Organization\n", err: "not an IEEE registry CSV"},
		{name: "wrong registry", registry: "MA-M", in: head + "MA-L,00408C,AXIS,x\n", err: `line 2: registry "MA-L"`},
		{name: "short assignment", registry: "MA-M", in: head + "MA-M,00408C,AXIS,x\n", err: "bad assignment"},
		{name: "non-hex assignment", registry: "MA-L", in: head + "MA-L,00408G,AXIS,x\n", err: "bad assignment"},
		{name: "two fields", registry: "MA-L", in: head + "MA-L,00408C\n", err: "2 fields"},
		{name: "bad quote", registry: "MA-L", in: head + "MA-L,00408C,\"AXIS,x\n", err: "ouigen: MA-L csv"},
		{name: "control character", registry: "MA-L", in: head + "MA-L,00408C,\"A\x01B\",x\n", err: "bad organisation"},
		{name: "unknown registry", registry: "CID", in: head, err: "unknown registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, err := parseRegistry([]byte(tc.in), tc.registry)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) || skipped != tc.skipped {
				t.Errorf("got %+v skipped %d, want %+v skipped %d", got, skipped, tc.want, tc.skipped)
			}
		})
	}
}

func TestParseExtra(t *testing.T) {
	const head = "prefix\tlength\torganisation\tentity\n"
	for _, tc := range []struct {
		name, in string
		want     []row
		date     string
		from     string
		err      string
	}{
		{name: "registry-date", in: "# registry-date: 2026-06-06\n" + head + "AC64DD5\t28\tSHANGHAI ZTE TECHNOLOGIES CO.,LTD\tZTE\n",
			want: []row{{Prefix: "AC64DD5", Bits: 28, Org: "SHANGHAI ZTE TECHNOLOGIES CO.,LTD", Entity: "ZTE"}},
			date: "2026-06-06", from: "registry-date"},
		{name: "shared file header", in: "#          IEEE standards-oui.ieee.org CSV snapshot of 2026-06-06 (mirror x),\n" + head + "70b3d50ae\t36\tNorsat International Inc.\tHytera\n",
			want: []row{{Prefix: "70B3D50AE", Bits: 36, Org: "Norsat International Inc.", Entity: "Hytera"}},
			date: "2026-06-06", from: "snapshot comment"},
		{name: "registry-date beats snapshot", in: "# snapshot of 2027-01-01\n# registry-date: 2026-06-06\n",
			date: "2026-06-06", from: "registry-date"},
		{name: "no date", in: head + "\n"},
		{name: "three fields", in: "AC64DD5\t28\tZTE\n", err: "line 1: want 4"},
		{name: "bad length", in: "AC64DD5\t32\tZTE\tZTE\n", err: "bad length"},
		{name: "length mismatch", in: "AC64DD\t28\tZTE\tZTE\n", err: "not 7 hex digits"},
		{name: "empty entity", in: "AC64DD5\t28\tZTE\t \n", err: "invalid organisation or entity"},
		{name: "bad date", in: "# registry-date: 2026-13-45\n", err: "bad registry-date"},
		{name: "long line", in: "#" + strings.Repeat("x", 70<<10) + "\n", err: "token too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, date, from, err := parseExtra([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows %+v, want %+v", got, tc.want)
			}
			d := ""
			if !date.IsZero() {
				d = date.Format(time.DateOnly)
			}
			if d != tc.date || from != tc.from {
				t.Errorf("date %q from %q, want %q from %q", d, from, tc.date, tc.from)
			}
		})
	}
}

func TestParseMakers(t *testing.T) {
	m, err := parseMakers([]byte("# c\n\nZhejiang  Dahua Technology Co., Ltd.\tDahua\r\nAXIS COMMUNICATIONS AB\tAxis\nAxis Communications AB\tAxis\n"))
	if err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]string{
		"Zhejiang Dahua Technology Co., Ltd.":     "Dahua",
		" zhejiang dahua\ttechnology co., ltd.  ": "Dahua",
		"axis communications ab":                  "Axis",
		"Zhejiang Dahua Technology":               "",
		"Zhejiang Dahua Technology Co., Ltd":      "", // exact: the full stop matters
	} {
		if got := m.lookup(org); got != want {
			t.Errorf("lookup(%q) = %q, want %q", org, got, want)
		}
	}
	for _, tc := range []struct{ name, in, err string }{
		{"conflict", "A Ltd\tX\na  ltd\tY\n", `maps to both "X" and "Y"`},
		{"one field", "A Ltd\n", "got 1 fields"},
		{"three fields", "A Ltd\tX\tY\n", "got 3 fields"},
		{"empty maker", "A Ltd\t \n", "empty or invalid"},
		{"no rows", "# only a comment\n", "no rows"},
	} {
		if _, err := parseMakers([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestCommittedMakers checks the real mapping file: the names the policy
// relies on map, and the VENDORS.md section 7 look-alikes do not.
func TestCommittedMakers(t *testing.T) {
	b, err := os.ReadFile("../../firmware/policy/data/oui-makers.tsv")
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMakers(b)
	if err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]string{
		"HUAWEI TECHNOLOGIES CO.,LTD":                     "Huawei",
		"Huawei Technologies Co.,Ltd":                     "Huawei", // Wireshark's spelling
		"Hisilicon Technologies Co., Ltd":                 "HiSilicon",
		"zte corporation":                                 "ZTE",
		"ZHONGXING TELECOM LTD.":                          "ZTE",
		"Hytera Communications Co .,ltd":                  "Hytera",
		"Sepura Plc":                                      "Sepura",
		"Sepura Limited":                                  "Sepura",
		"Teltronic S.A.U.":                                "Teltronic",
		"Norsat International Inc.":                       "Norsat",
		"Hangzhou Hikvision Digital Technology Co.,Ltd.":  "Hikvision",
		"Hangzhou Ezviz Software Co.,Ltd.":                "EZVIZ",
		"Hangzhou Microimage Software Co., Ltd":           "HIKMICRO",
		"Hangzhou Hikrobot Technology Co., Ltd.":          "Hikrobot",
		"Prama Hikvision India Private Limited":           "Prama Hikvision",
		"ZHEJIANG DAHUA TECHNOLOGYCO.,LTD":                "Dahua",
		"ZHEJIANG DAHUA ZHILIAN CO.,LTD":                  "Dahua",
		"Hangzhou Huacheng Network Technology Co.,Ltd":    "Imou",
		"hangzhou huacheng network technology co., ltd":   "Imou",
		"Zhejiang HuaRay Technology Co.,Ltd":              "HuaRay",
		"Honor Device Co., Ltd.":                          "Honor",
		"Zhejiang Haikang Science And Technology Co.,Ltd": "Haikang (unverified)",
		"Zhuhai Raysharp Technology Co.,Ltd":              "Raysharp",
		"Tiandy Technologies Co.,LTD":                     "Tiandy",
		"Lorex Technology Inc.":                           "Lorex",
		"AXIS COMMUNICATIONS AB":                          "Axis",
		"Raspberry Pi (Trading) Ltd":                      "Raspberry Pi",
		// Look-alikes (VENDORS.md section 7) and unrelated units.
		"Shanghai Dahua Scale Factory":       "",
		"ZTEC Instruments, Inc.":             "",
		"ZTEX GmbH":                          "",
		"Aztech Electronics Pte Ltd":         "",
		"Teltronic AG":                       "",
		"Teltronics, Inc.":                   "",
		"JOREX LOREX INDIA PRIVATE LIMITED":  "",
		"Symantec Corporation":               "",
		"Shenzhen Hikeen Technology CO.,LTD": "",
		"GENETEC Corporation":                "",
		"SONY Visual Products Inc.":          "",
		"Sony Corporation":                   "",
		"Panasonic Corporation":              "",
		"Prama India Private Limited":        "",
		"IEEE Registration Authority":        "",
	} {
		if got := m.lookup(org); got != want {
			t.Errorf("lookup(%q) = %q, want %q", org, got, want)
		}
	}
}

// TestCommittedTable checks the committed oui.tsv: well-formed, sorted,
// unique, dated, and holding every block of the restricted snapshot
// (testdata/oui-restricted.tsv) it was generated with.
func TestCommittedTable(t *testing.T) {
	b, err := os.ReadFile("../../firmware/policy/data/oui.tsv")
	if err != nil {
		t.Fatal(err)
	}
	rows, comments := tableRows(t, b)
	if !strings.Contains(strings.Join(comments, "\n"), "# registry-date: 2026-06-06") {
		t.Errorf("oui.tsv lacks the registry date")
	}
	prev := ""
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if !validPrefix(f[0], digitsFor(map[string]int{"24": 24, "28": 28, "36": 36}[f[1]])) {
			t.Errorf("bad row %q", line)
		}
		if f[0] <= prev {
			t.Errorf("not sorted or duplicate: %q after %q", f[0], prev)
		}
		prev = f[0]
	}
	// The restricted snapshot the table was built with is committed
	// beside the other inputs (testdata/SOURCES.tsv says where it is from).
	shared, err := os.ReadFile("testdata/oui-restricted.tsv")
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string][]string{
		"Huawei":    {"Huawei", "HiSilicon"},
		"ZTE":       {"ZTE"},
		"Hytera":    {"Hytera", "Sepura", "Teltronic", "Norsat"},
		"Hikvision": {"Hikvision", "EZVIZ", "HIKMICRO", "Hikrobot", "Prama Hikvision"},
		"Dahua":     {"Dahua", "Imou", "HuaRay"},
	}
	extra, _, _, _, err := parseExtra(shared)
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) != 2650 {
		t.Errorf("shared snapshot has %d rows, want 2650", len(extra))
	}
	for _, r := range extra {
		k := r.Prefix + "/" + map[int]string{24: "24", 28: "28", 36: "36"}[r.Bits]
		got, ok := rows[k]
		if !ok {
			t.Errorf("%s (%s) missing from oui.tsv", k, r.Org)
			continue
		}
		maker, org, _ := strings.Cut(got, "|")
		if org != r.Org {
			t.Errorf("%s: organisation %q, want the newest name %q", k, org, r.Org)
		}
		found := false
		for _, g := range groups[r.Entity] {
			found = found || g == maker
		}
		if !found {
			t.Errorf("%s: maker %q is not in the %s group", k, maker, r.Entity)
		}
	}
}

func TestBuildNewestWins(t *testing.T) {
	m, err := parseMakers([]byte("Old Name Ltd\tX\nNew Name Ltd\tX\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) time.Time { tt, _ := time.Parse(time.DateOnly, s); return tt }
	for _, tc := range []struct {
		name   string
		inputs []input
		rows   [][]row
		want   []outRow
		warns  int
	}{
		{name: "newer input wins whatever the order",
			inputs: []input{{Path: "new", Date: d("2026-06-06")}, {Path: "old", Date: d("2022-08-27")}},
			rows:   [][]row{{{Prefix: "AAAAAA", Bits: 24, Org: "New Name Ltd"}}, {{Prefix: "AAAAAA", Bits: 24, Org: "Old Name Ltd"}}},
			want:   []outRow{{"AAAAAA", 24, "X", "New Name Ltd"}}},
		{name: "equal dates: later input wins",
			inputs: []input{{Path: "a", Date: d("2026-06-06")}, {Path: "b", Date: d("2026-06-06")}},
			rows:   [][]row{{{Prefix: "AAAAAA", Bits: 24, Org: "Old Name Ltd"}}, {{Prefix: "AAAAAA", Bits: 24, Org: "New Name Ltd"}}},
			want:   []outRow{{"AAAAAA", 24, "X", "New Name Ltd"}}},
		{name: "renamed to an unmapped name: kept, with a warning",
			inputs: []input{{Path: "old", Date: d("2022-08-27")}, {Path: "new", Date: d("2026-06-06")}},
			rows:   [][]row{{{Prefix: "AAAAAA", Bits: 24, Org: "Old Name Ltd"}}, {{Prefix: "AAAAAA", Bits: 24, Org: "Renamed Ltd"}}},
			want:   []outRow{{"AAAAAA", 24, "X", "Renamed Ltd"}}, warns: 1},
		{name: "same hex, different lengths are different blocks; sorted",
			inputs: []input{{Path: "a"}},
			rows: [][]row{{
				{Prefix: "AAAAAA1", Bits: 28, Org: "New Name Ltd"},
				{Prefix: "AAAAAA", Bits: 24, Org: "Old Name Ltd"},
				{Prefix: "0AAAAA", Bits: 24, Org: "Unmapped"},
			}},
			want: []outRow{{"AAAAAA", 24, "X", "Old Name Ltd"}, {"AAAAAA1", 28, "X", "New Name Ltd"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns := build(tc.inputs, tc.rows, m)
			if !reflect.DeepEqual(got, tc.want) || len(warns) != tc.warns {
				t.Errorf("got %+v %q, want %+v and %d warnings", got, warns, tc.want, tc.warns)
			}
		})
	}
}

func TestRegistryDateAndNewestDir(t *testing.T) {
	share, lib := t.TempDir(), t.TempDir()
	for _, d := range []string{share, lib} {
		if err := os.WriteFile(filepath.Join(d, "oui.csv"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2022, 8, 27, 20, 16, 50, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(share, "oui.csv"), old, old); err != nil {
		t.Fatal(err)
	}
	// .lastupdate wins over the mtime.
	if err := os.WriteFile(filepath.Join(share, ".lastupdate"), []byte("1661630937\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	date, from, err := registryDate(filepath.Join(share, "oui.csv"))
	if err != nil || from != ".lastupdate" || date.Format(time.DateTime) != "2022-08-27 20:08:57" {
		t.Errorf("registryDate = %v %q %v", date, from, err)
	}
	newer := time.Date(2026, 6, 6, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(lib, "oui.csv"), newer, newer); err != nil {
		t.Fatal(err)
	}
	date, from, err = registryDate(filepath.Join(lib, "oui.csv"))
	if err != nil || from != "mtime" || !date.Equal(newer) {
		t.Errorf("registryDate = %v %q %v", date, from, err)
	}
	if d, err := newestDir(share, lib); err != nil || d != lib {
		t.Errorf("newestDir = %q %v, want the updated %q", d, err, lib)
	}
	older := time.Date(2022, 8, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(lib, "oui.csv"), older, older); err != nil {
		t.Fatal(err)
	}
	if d, err := newestDir(share, lib); err != nil || d != share {
		t.Errorf("newestDir = %q %v, want the packaged %q", d, err, share)
	}
	if _, err := newestDir(filepath.Join(share, "none")); err == nil {
		t.Error("newestDir of a missing dir: no error")
	}
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"positional", []string{"-makers", "testdata/makers.tsv", "x"}, "ouigen: usage"},
		{"unknown flag", []string{"-nope"}, "ouigen: usage"},
		{"missing makers", []string{"-makers", "testdata/none.tsv", "-dir", "testdata/ieee"}, "no such file"},
		{"missing dir", []string{"-makers", "testdata/makers.tsv", "-dir", "testdata/none"}, "no such file"},
		{"csv for the wrong registry", []string{"-makers", "testdata/makers.tsv", "-oui", "testdata/ieee/mam.csv", "-o", "-"}, `registry "MA-M"`},
		{"extra is not an extra file", []string{"-makers", "testdata/makers.tsv", "-oui", "testdata/ieee/oui.csv", "-extra", "testdata/ieee/oui.csv", "-o", "-"}, "want 4 tab-separated fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			err := run(tc.args, &out, &errs)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "oui.tsv")
	var stdout, errs bytes.Buffer
	if err := run([]string{"-makers", "testdata/makers.tsv", "-oui", "testdata/ieee/oui.csv", "-o", out}, &stdout, &errs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := tableRows(t, b)
	if len(rows) != 10 || stdout.Len() != 0 {
		t.Errorf("got %d rows, stdout %q", len(rows), stdout.String())
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}
}
