package onvif

import (
	"slices"
	"testing"
)

func TestEnvelopeStyle(t *testing.T) {
	const soap = `xmlns:s="http://www.w3.org/2003/05/soap-envelope"`
	tests := []struct {
		name   string
		in     string
		style  []string
		prefix string
		ns     []string
	}{
		{"dahua", `<?xml version="1.0" encoding="utf-8" standalone="yes" ?><s:Envelope xmlns:sc="http://www.w3.org/2003/05/soap-encoding" ` + soap + `><s:Body><x/></s:Body></s:Envelope>`,
			[]string{"standalone-yes", "soap-encoding-sc", "envelope-prefix:s"}, "s",
			[]string{"http://www.w3.org/2003/05/soap-encoding", "http://www.w3.org/2003/05/soap-envelope"}},
		{"single quotes, LF, indentation", "<?xml version='1.0' standalone='yes'?>\n  <s:Envelope " + soap + ">\n  <s:Body>\n <x/>\n</s:Body>\n</s:Envelope>\n",
			[]string{"standalone-yes", "envelope-prefix:s"}, "s", []string{"http://www.w3.org/2003/05/soap-envelope"}},
		{"standalone no", `<?xml version="1.0" standalone="no"?><s:Envelope ` + soap + `><s:Body/></s:Envelope>`,
			[]string{"envelope-prefix:s"}, "s", nil},
		{"sc bound elsewhere", `<s:Envelope xmlns:sc="urn:other" ` + soap + `><s:Body/></s:Envelope>`,
			[]string{"envelope-prefix:s"}, "s", nil},
		{"sc declared on the body", `<s:Envelope ` + soap + `><s:Body xmlns:sc="http://www.w3.org/2003/05/soap-encoding"/></s:Envelope>`,
			[]string{"soap-encoding-sc", "envelope-prefix:s"}, "s", nil},
		{"default namespace", `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>`,
			[]string{"envelope-no-prefix"}, "", []string{"http://www.w3.org/2003/05/soap-envelope"}},
		{"BOM, CRLF, trailing NUL", "\ufeff<?xml version=\"1.0\"?>\r\n<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\">\r\n<SOAP-ENV:Body/></SOAP-ENV:Envelope>\r\n\x00",
			[]string{"envelope-prefix:SOAP-ENV"}, "SOAP-ENV", nil},
		{"namespaces repeat once", `<s:Envelope ` + soap + ` xmlns:a="urn:a"><s:Header xmlns:a="urn:a" xmlns:b="urn:b"/><s:Body/></s:Envelope>`,
			[]string{"envelope-prefix:s"}, "s", []string{"http://www.w3.org/2003/05/soap-envelope", "urn:a", "urn:b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			if got := env.Style(); !slices.Equal(got, tc.style) {
				t.Errorf("Style = %q, want %q", got, tc.style)
			}
			if env.Prefix != tc.prefix {
				t.Errorf("Prefix = %q, want %q", env.Prefix, tc.prefix)
			}
			if tc.ns != nil && !slices.Equal(env.Namespaces, tc.ns) {
				t.Errorf("Namespaces = %q, want %q", env.Namespaces, tc.ns)
			}
		})
	}
}

func TestElementLookups(t *testing.T) {
	env, err := ParseEnvelope([]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:d="urn:d">` +
		`<s:Body><d:M><d:A> one </d:A><d:A>two</d:A><d:B><d:C>deep</d:C></d:B></d:M></s:Body></s:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	m := env.Body.First()
	if m.Local != "M" || m.Prefix != "d" || m.Space != "urn:d" {
		t.Errorf("First = %+v", m)
	}
	if got := m.Child("A").Value(); got != "one" {
		t.Errorf("Child(A) = %q", got)
	}
	if got := len(m.All("A")); got != 2 {
		t.Errorf("All(A) has %d elements", got)
	}
	if got := m.Path("B", "C").Value(); got != "deep" {
		t.Errorf("Path(B, C) = %q", got)
	}
	if got := m.Path("B", "X", "Y").Value(); got != "" {
		t.Errorf("Path through a missing element = %q", got)
	}
	var n int
	env.Body.Walk(func(*Element) { n++ })
	if n != 6 {
		t.Errorf("Walk visited %d elements, want 6", n)
	}
	if env.Header != nil || env.Header.First() != nil || env.Header.All("x") != nil {
		t.Error("nil element lookups are not nil")
	}
}
