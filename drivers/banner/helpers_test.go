package banner

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// f builds a fact list from field, value pairs.
func f(pairs ...string) []identity.Fact {
	var out []identity.Fact
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, identity.Fact{Field: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crlf rewrites LF line endings as CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// goodCase is one accepted input and the facts it must give.
type goodCase struct {
	name  string
	in    string
	facts []identity.Fact
	mac   string
	addr  string
}

func runGood(t *testing.T, parse func([]byte) ([]identity.Identity, error), source string, cases []goodCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(ids) != 1 {
				t.Fatalf("got %d identities, want 1", len(ids))
			}
			id := ids[0]
			if id.Source != source {
				t.Errorf("Source = %q, want %q", id.Source, source)
			}
			if !reflect.DeepEqual(id.Facts, tc.facts) {
				t.Errorf("facts:\n got %v\nwant %v", id.Facts, tc.facts)
			}
			if id.MAC != tc.mac {
				t.Errorf("MAC = %q, want %q", id.MAC, tc.mac)
			}
			addr := ""
			if id.Addr.IsValid() {
				addr = id.Addr.String()
			}
			if addr != tc.addr {
				t.Errorf("Addr = %q, want %q", addr, tc.addr)
			}
		})
	}
}

// badCase is one rejected input and a part of the error it must give.
type badCase struct {
	name, in, want string
}

func runBad(t *testing.T, parse func([]byte) ([]identity.Identity, error), cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error; got %+v", ids)
			}
			if ids != nil {
				t.Errorf("identities returned with the error: %+v", ids)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "banner: ") || strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error %q is not a one-line banner: message", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
		})
	}
}

// common bad inputs every parser must refuse.
func commonBad() []badCase {
	return []badCase{
		{"empty", "", "empty input"},
		{"blank", " \r\n\t\n", "empty input"},
		{"BOM only", "\xef\xbb\xbf\n", "empty input"},
		{"too large", strings.Repeat("A", MaxInput+1), "too large"},
		{"binary junk", "\x00\x01\x02\x8f\xff\xfe\x10\x80junk\x00", "not"},
	}
}
