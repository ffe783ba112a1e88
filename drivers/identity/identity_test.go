package identity

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var topicSafe = regexp.MustCompile(`^[a-z0-9-]+$`)

func TestMakeIDIsTopicSafe(t *testing.T) {
	hostile := []string{
		"DS-2CD2143G0-I/../../etc", "a+b#c", "..", "\x00\x01nul", strings.Repeat("X", 10240),
		"modèle ☃", "", "----", "sn:AB/CD+EF#", "$SYS/broker",
	}
	for _, s := range hostile {
		for _, kind := range []string{"sn", "ip", "usb", "tty"} {
			id := MakeID(kind, s)
			if !topicSafe.MatchString(id) || len(id) > maxIDLen+len(kind)+1 || strings.Contains(id, "--") {
				t.Errorf("MakeID(%q, %q) = %q: not a safe topic level", kind, s, id)
			}
		}
	}
	if got := MACID("BC-AD-28-12-34-56"); got != "mac-bcad28123456" {
		t.Errorf("MACID = %q", got)
	}
	if got := MakeID("ip", "192.168.1.64"); got != "ip-192-168-1-64" {
		t.Errorf("MakeID(ip) = %q", got)
	}
}

func TestNormalizeMAC(t *testing.T) {
	cases := map[string]string{
		"58-50-ed-1f-e3-85":       "58:50:ed:1f:e3:85",
		"ACCC8E270AD8":            "ac:cc:8e:27:0a:d8",
		"58:50:ED:1F:E3:85":       "58:50:ed:1f:e3:85",
		"5850.ed1f.e385":          "58:50:ed:1f:e3:85",
		"00:00:00:00:00:00":       "",
		"ff:ff:ff:ff:ff:ff":       "",
		"58:50:ed:1f:e3":          "",
		"not a mac":               "",
		"58:50:ed:1f:e3:85:00:11": "",
	}
	for in, want := range cases {
		if got := NormalizeMAC(in); got != want {
			t.Errorf("NormalizeMAC(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAddCleansAndCaps(t *testing.T) {
	var id Identity
	id.Add(FieldModel, "  DS-2CD\r\n2143\x00G0 ")
	id.Add(FieldModel, "DS-2CD 2143 G0") // a duplicate after cleaning
	id.Add(FieldName, "   ")
	id.Add(FieldSerial, strings.Repeat("é", 1000))
	if len(id.Facts) != 2 || id.Get(FieldModel) != "DS-2CD 2143 G0" {
		t.Errorf("facts = %+v", id.Facts)
	}
	if s := id.Get(FieldSerial); len(s) > MaxValueLen || !utf8.ValidString(s) {
		t.Errorf("serial not capped on a rune boundary: %d bytes", len(s))
	}
	for i := 0; i < 2*MaxFacts; i++ {
		id.Add("f", strings.Repeat("v", i+1))
	}
	if len(id.Facts) != MaxFacts {
		t.Errorf("%d facts, want the cap %d", len(id.Facts), MaxFacts)
	}
}

func FuzzClean(f *testing.F) {
	f.Add("HIKVISION DS-2CD2385G1-I")
	f.Add("\xff\xfe\x00")
	f.Add(strings.Repeat("\u00a0x", 600))
	f.Fuzz(func(t *testing.T, s string) {
		c := Clean(s)
		if !utf8.ValidString(c) || len(c) > MaxValueLen || strings.TrimSpace(c) != c || strings.Contains(c, "  ") {
			t.Fatalf("Clean(%q) = %q", s, c)
		}
		for _, r := range c {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("Clean(%q) kept a control character: %q", s, c)
			}
		}
		if Clean(c) != c {
			t.Fatalf("Clean is not idempotent on %q", s)
		}
		m := NormalizeMAC(s)
		if m != "" && (len(m) != 17 || NormalizeMAC(m) != m) {
			t.Fatalf("NormalizeMAC(%q) = %q", s, m)
		}
	})
}
