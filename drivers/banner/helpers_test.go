package banner

import (
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

// f builds a fact list from field, value pairs.
func f(pairs ...string) []identity.Fact {
	var out []identity.Fact
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, identity.Fact{Field: pairs[i], Value: pairs[i+1]})
	}
	return out
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
			id := identitytest.One(t, ids, err)
			if id.Source != source {
				t.Errorf("Source = %q, want %q", id.Source, source)
			}
			identitytest.Exactly(t, id, tc.facts, tc.mac, tc.addr)
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
			identitytest.CheckError(t, "banner: ", ids, err, tc.want)
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
