package nvr

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		in   []string
		want []Challenge
	}{
		{"hikvision two headers", []string{
			`Digest realm="c504892f438ee5f2114e9fdd", domain="::", qop="auth", nonce="158ca9b5cb4b32a578432756aef2a189:1669838955551", opaque="", algorithm="MD5", stale="FALSE"`,
			`Basic realm="c504892f438ee5f2114e9fdd"`,
		}, []Challenge{
			{Scheme: "Digest", Params: p("realm", "c504892f438ee5f2114e9fdd", "domain", "::", "qop", "auth", "nonce", "158ca9b5cb4b32a578432756aef2a189:1669838955551", "opaque", "", "algorithm", "MD5", "stale", "FALSE")},
			{Scheme: "Basic", Params: p("realm", "c504892f438ee5f2114e9fdd")},
		}},
		{"several in one header, token values, escapes", []string{
			`Digest realm="a \"quoted\" realm\\x", qop="auth,auth-int", algorithm=SHA-256, nonce="n1", Digest realm=r, nonce=n2, algorithm=MD5, Basic realm="b"`,
		}, []Challenge{
			{Scheme: "Digest", Params: p("realm", `a "quoted" realm\x`, "qop", "auth,auth-int", "algorithm", "SHA-256", "nonce", "n1")},
			{Scheme: "Digest", Params: p("realm", "r", "nonce", "n2", "algorithm", "MD5")},
			{Scheme: "Basic", Params: p("realm", "b")},
		}},
		{"token68 and bare schemes", []string{`Negotiate YIIB/w==, NTLM`, `Bearer`}, []Challenge{
			{Scheme: "Negotiate", Params: p(), Token68: "YIIB/w=="}, {Scheme: "NTLM", Params: p()}, {Scheme: "Bearer", Params: p()},
		}},
		{"dahua", []string{`Digest realm="Login to 4M05CC9FAC28B0B", qop="auth", nonce="1234", opaque=""`}, []Challenge{
			{Scheme: "Digest", Params: p("realm", "Login to 4M05CC9FAC28B0B", "qop", "auth", "nonce", "1234", "opaque", "")},
		}},
		{"case and spacing", []string{`  digest  Realm = "x" ,  NONCE="y",,, `}, []Challenge{{Scheme: "digest", Params: p("realm", "x", "nonce", "y")}}},
	}
	for _, tc := range cases {
		got, err := ParseChallenges(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{`Digest realm="open`, `Digest realm="x" nonce="y"`, `="x"`, `Digest realm="a", realm="b"`, "Digest realm=\"a\x01\""} {
		if _, err := ParseChallenges([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseChallenges([]string{strings.Repeat("Basic, ", 20)}); err == nil {
		t.Error("20 challenges accepted")
	}
}

func TestPickDigest(t *testing.T) {
	cs, _ := ParseChallenges([]string{
		`Digest realm="r", nonce="a", algorithm=MD5, qop="auth"`,
		`Digest realm="r", nonce="b", algorithm=SHA-256, qop="auth"`,
		`Digest realm="r", nonce="c", algorithm=SHA-512-256, qop="auth"`,
	})
	if c := pickDigest(cs); c == nil || c.Param("nonce") != "b" {
		t.Errorf("SHA-256 not preferred: %+v", c)
	}
	cs, _ = ParseChallenges([]string{`Digest realm="r", nonce="a", qop="auth-int"`, `Digest realm="r", nonce="d", algorithm=MD5-sess, qop="auth"`})
	if c := pickDigest(cs); c == nil || c.Param("nonce") != "d" {
		t.Errorf("auth-int-only challenge chosen: %+v", c)
	}
	cs, _ = ParseChallenges([]string{`Digest realm="r", nonce="a", algorithm=SHA-512-256`, `Basic realm="r"`})
	if c := pickDigest(cs); c != nil {
		t.Errorf("unsupported algorithm chosen: %+v", c)
	}
}

// TestDigestRFC7616 checks the responses of RFC 7616 section 3.9.1.
func TestDigestRFC7616(t *testing.T) {
	for algo, want := range map[string]string{
		"MD5":     "8ca523f5e9506fed4657c9700eebdbec",
		"SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	} {
		cs, err := ParseChallenges([]string{`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=` + algo +
			`, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`})
		if err != nil {
			t.Fatal(err)
		}
		d, err := newDigest(pickDigest(cs), "Mufasa", "Circle of Life")
		if err != nil {
			t.Fatal(err)
		}
		d.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
		h := d.authorize("GET", "/dir/index.html")
		for _, part := range []string{`response="` + want + `"`, `nc=00000001`, `qop=auth`, `algorithm=` + algo, `opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`, `uri="/dir/index.html"`, `username="Mufasa"`} {
			if !strings.Contains(h, part) {
				t.Errorf("%s: %s lacks %s", algo, h, part)
			}
		}
		if h2 := d.authorize("GET", "/dir/index.html"); !strings.Contains(h2, "nc=00000002") {
			t.Errorf("nonce count not counted up: %s", h2)
		}
	}
	d := &digestAuth{user: "J\u00e4s\u00f8n \"Doe\"", algo: digestAlgo{name: "MD5", h: nil}}
	if !needsExtValue(d.user) || needsExtValue("admin") {
		t.Error("username* rule")
	}
}
