package policy

import (
	"bytes"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// FuzzLoadOverlay: a policy file is a parser input too; whatever it holds,
// loading it never panics, and a policy that loads classifies without
// panicking.
func FuzzLoadOverlay(f *testing.F) {
	f.Add([]byte(`{"version":"site-1","extends":"ndaa889"}`))
	f.Add([]byte(`{"version":"x","makers":[{"name":"A","parent":"B","relation":"brand"},{"name":"B","parent":"A","relation":"brand"}]}`))
	f.Add([]byte(`{"version":"x","rules":[{"id":"r","field":"server","pattern":"^(a+)+$","maker":"Axis","weight":"strong"}]}`))
	f.Add([]byte(`{"version":"x","ouis":[{"prefix":"5850ED","bits":24,"maker":"Axis"}],"usb":[{"vid":"2bdf","maker":"Axis"}]}`))
	f.Add([]byte(`{"version":"x","profile":"uk-nil","profiles":[{"name":"uk-nil","restricted":["Axis"]}]}`))
	probe := []identity.Identity{{Source: "sadp", MAC: "58:50:ed:1f:e3:85", Facts: []identity.Fact{
		{Field: "protocol", Value: "sadp-probematch"}, {Field: "server", Value: "aaaaaaaaaaaaaaaaaaaaaaaaaaaa!"},
		{Field: "manufacturer", Value: "Axis"}, {Field: "usb-vid", Value: "2bdf"},
	}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := LoadOverlay(bytes.NewReader(b))
		if err != nil {
			if p != nil {
				t.Fatal("a policy and an error")
			}
			return
		}
		r := p.Classify(probe)
		switch r.Verdict {
		case identity.Restricted, identity.Suspect, identity.Clear, identity.Unknown:
		default:
			t.Fatalf("verdict %q", r.Verdict)
		}
		_ = p.Summary()
	})
}
