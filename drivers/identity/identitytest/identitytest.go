// Package identitytest holds what the tests of every driver repeat: reading
// testdata files, golden files of identities (rewritten by the -update
// flag), assertions on facts and the table of inputs a parser must refuse.
// It is imported by _test.go files only.
//
// Importing it registers the -update flag in the test binary, so that
// `go test ./drivers/sadp -update` rewrites that package's golden files.
// Paths are relative to the package under test, as go test runs there.
package identitytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// Parser is the signature of every driver's byte parser.
type Parser func([]byte) ([]identity.Identity, error)

// ReadFile returns testdata/name, failing t when it cannot be read.
func ReadFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SeedFiles adds testdata files to the seed corpus of a fuzz target.
func SeedFiles(f *testing.F, names ...string) {
	f.Helper()
	for _, name := range names {
		f.Add(ReadFile(f, name))
	}
}

// golden is the JSON form of an identity in golden files.
type golden struct {
	Source string          `json:"source"`
	Addr   string          `json:"addr,omitempty"`
	MAC    string          `json:"mac,omitempty"`
	Facts  []identity.Fact `json:"facts"`
}

// marshal returns ids in the JSON form of golden files: an indented array
// of {source, addr, mac, facts} ending with a newline.
func marshal(t testing.TB, ids []identity.Identity) []byte {
	t.Helper()
	out := make([]golden, 0, len(ids))
	for _, id := range ids {
		g := golden{Source: id.Source, MAC: id.MAC, Facts: id.Facts}
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

// Golden compares ids with testdata/<stem>.golden.json, which holds them
// as an indented JSON array of {source, addr, mac, facts}.
func Golden(t testing.TB, stem string, ids []identity.Identity) {
	t.Helper()
	CompareGolden(t, filepath.Join("testdata", stem+".golden.json"), marshal(t, ids))
}

// GoldenFiles runs parse on each testdata file, in a subtest named after
// it, and compares the identities with the golden file named after the
// input without its extension (sadp-001.xml: sadp-001.golden.json).
func GoldenFiles(t *testing.T, parse Parser, files ...string) {
	t.Helper()
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			t.Helper()
			ids, err := parse(ReadFile(t, name))
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			Golden(t, strings.TrimSuffix(name, filepath.Ext(name)), ids)
		})
	}
}

// CompareGolden compares got with the golden file at path, after writing
// got there when the test runs with -update.
func CompareGolden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// One returns the identity of a parse that must give exactly one and no
// error; otherwise it fails t at once.
func One(t testing.TB, ids []identity.Identity, err error) identity.Identity {
	t.Helper()
	if err != nil || len(ids) != 1 {
		t.Fatalf("parse = %d identities, %v; want 1, nil", len(ids), err)
	}
	return ids[0]
}

// Addr returns a.String(), or "" for the zero Addr.
func Addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// HasFact reports whether id carries f.
func HasFact(id identity.Identity, f identity.Fact) bool {
	return slices.Contains(id.Facts, f)
}

// HasFacts fails t for each of want that id does not carry.
func HasFacts(t testing.TB, id identity.Identity, want ...identity.Fact) {
	t.Helper()
	for _, f := range want {
		if !HasFact(id, f) {
			t.Errorf("missing fact %+v in %+v", f, id.Facts)
		}
	}
}

// Exactly fails t unless id carries exactly facts, in order, and the given
// MAC and address ("" for none).
func Exactly(t testing.TB, id identity.Identity, facts []identity.Fact, mac, addr string) {
	t.Helper()
	if !slices.Equal(id.Facts, facts) {
		t.Errorf("facts:\n got %v\nwant %v", id.Facts, facts)
	}
	if id.MAC != mac {
		t.Errorf("MAC = %q, want %q", id.MAC, mac)
	}
	if got := Addr(id.Addr); got != addr {
		t.Errorf("Addr = %q, want %q", got, addr)
	}
}

// maxErrorLen bounds the error of a refused test input: a short line.
const maxErrorLen = 160

// CheckError fails t unless a parser refused its input as every driver
// must: no identities, and an error of one short line that starts with the
// package prefix ("sadp: ") and contains want.
func CheckError(t testing.TB, prefix string, ids []identity.Identity, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("parse = %+v, want an error containing %q", ids, want)
	}
	if ids != nil {
		t.Errorf("identities returned with the error: %+v", ids)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || strings.ContainsAny(msg, "\r\n") || len(msg) > maxErrorLen {
		t.Errorf("error %q is not a short one-line %q error", msg, prefix)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
}

// ErrorCases is the table of inputs a parser must refuse. It is an alias
// of an unnamed slice type, so that a test file may list its cases without
// field keys, {"empty", nil, "empty", false}, as go vet allows for struct
// literals of unnamed types only.
type ErrorCases = []struct {
	Name     string
	In       []byte
	Want     string // a substring of the error
	NotReply bool   // the error is the package's ErrNotReply
}

// RunErrors runs parse on each case, in a subtest named after it, and
// checks the refusal with CheckError and errors.Is(err, notReply).
func RunErrors(t *testing.T, prefix string, parse Parser, notReply error, cases ErrorCases) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Helper()
			ids, err := parse(tc.In)
			CheckError(t, prefix, ids, err, tc.Want)
			if got := errors.Is(err, notReply); got != tc.NotReply {
				t.Errorf("errors.Is(%v, ErrNotReply) = %v, want %v", err, got, tc.NotReply)
			}
		})
	}
}
