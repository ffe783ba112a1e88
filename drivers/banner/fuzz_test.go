package banner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// checkParse holds the contract of every parser on any input: no panic, a
// one-line "banner:" error and no identities, or exactly one identity of
// the right source whose facts are clean and capped.
func checkParse(t *testing.T, source string, ids []identity.Identity, err error) {
	t.Helper()
	if err != nil {
		msg := err.Error()
		if ids != nil || !strings.HasPrefix(msg, "banner: ") || strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("bad failure: %q with %d identities", msg, len(ids))
		}
		return
	}
	if len(ids) != 1 || ids[0].Source != source {
		t.Fatalf("got %+v, want one %s identity", ids, source)
	}
	id := ids[0]
	if len(id.Facts) > identity.MaxFacts {
		t.Fatalf("%d facts", len(id.Facts))
	}
	if id.MAC != "" && identity.NormalizeMAC(id.MAC) != id.MAC {
		t.Fatalf("MAC %q is not normalised", id.MAC)
	}
	for _, fact := range id.Facts {
		if fact.Field == "" || fact.Value == "" || identity.Clean(fact.Value) != fact.Value {
			t.Fatalf("unclean fact %+v", fact)
		}
	}
}

// addSeeds adds the testdata files matching globs, and extra strings, as
// fuzz seeds.
func addSeeds(f *testing.F, globs []string, extra ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(filepath.Join("testdata", g))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzParseHTTP(f *testing.F) {
	addSeeds(f, []string{"http-*", "www-auth-*", "recog-http-*", "reolink-*", "sadp-*", "ssdp-*"},
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\nHTTP/1.1 200 OK\r\nCONNECTION: close\r\nCONTENT-TYPE: text/html\r\n\r\n\xef\xbb\xbf<title>a</title>",
		`WWW-Authenticate: Digest realm="a\"b", nonce=x, Basic realm=c`,
		"vendor=Dahua\ndeviceType=IPC\n",
		`{"DeviceInfo":{"@xmlns":"http://www.isapi.org/ver20/XMLSchema","model":{"#text":"x"}}}`,
		`<html><meta name=generator content="x"><title>t`)
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseHTTP(b)
		checkParse(t, identity.SourceHTTP, ids, err)
	})
}

func FuzzParseRTSP(f *testing.F) {
	addSeeds(f, []string{"rtsp-*", "www-auth-*", "recog-rtsp-*"},
		"RTSP/1.0 200 OK\r\nContent-Base: rtsp://[::1]:554/\r\n\r\nv=0\r\ns=Media Server\r\na=x-a:b\r\n",
		"DESCRIBE rtsp://a/ RTSP/1.0\nCSeq: 1\n")
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseRTSP(b)
		checkParse(t, identity.SourceRTSP, ids, err)
	})
}

func FuzzParseTLS(f *testing.F) {
	addSeeds(f, []string{"recog-tls-*"},
		"subject= /C=CN/O=HIKVISION/CN=a\\x41/b\nissuer=C = CN, O = \"a, b\"\n",
		`CN=a\,b+SN=c;O=#0403,C=\E6\B5`,
		pemCert(makeCert(f, hikSubject, hikSubject, []string{"a.example"})))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParseTLS(b)
		checkParse(t, identity.SourceTLS, ids, err)
	})
}
