package sadptest_test

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
	"github.com/nvrguard/nvrguard/drivers/sadp"
	"github.com/nvrguard/nvrguard/drivers/sadp/sadptest"
)

// TestHandlerOverUDP serves a corpus reply on loopback, sends real probes
// and parses what comes back.
func TestHandlerOverUDP(t *testing.T) {
	reply, err := os.ReadFile("../testdata/sadp-001.xml")
	if err != nil {
		t.Fatal(err)
	}
	lo := discoverytest.NewLoopback(t, sadptest.Handler(reply))

	// Datagrams that must stay unanswered: the device's own reply looping
	// back, a write operation, junk. They go first, so that a wrong answer
	// would arrive before the real one.
	lo.Send(
		reply,
		[]byte(`<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>1-2</Uuid><Types>update</Types></Probe>`),
		[]byte(`<Probe><Uuid>not a uuid</Uuid><Types>inquiry</Types></Probe>`),
		[]byte("junk"),
	)
	uuid := sadp.NewUUID()
	lo.Send(sadp.Probe(uuid))

	got, _ := lo.Receive(5 * time.Second)
	if !strings.Contains(string(got), "<Uuid>"+uuid+"</Uuid>") {
		t.Errorf("answer does not echo the probe's Uuid %s:\n%s", uuid, got)
	}
	if strings.Contains(string(got), "F93CF8DC-DF53-424B-98A7-9FC0536E1083") {
		t.Errorf("answer still carries the captured Uuid")
	}
	ids, err := sadp.Parse(got)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Parse(answer) = %d identities, %v", len(ids), err)
	}
	if m := ids[0].Get("model"); m != "DS-2CD2320D-I" {
		t.Errorf("model = %q, want DS-2CD2320D-I", m)
	}

	// Nothing else may arrive.
	lo.Silent(200 * time.Millisecond)
}

func TestHandler(t *testing.T) {
	probe := sadp.Probe("AB-12")
	cases := []struct {
		name  string
		reply string
		req   []byte
		want  []string // nil: no answer
	}{
		{"substitutes the Uuid", "<ProbeMatch><Uuid>OLD</Uuid><MAC>x</MAC></ProbeMatch>", probe, []string{"<ProbeMatch><Uuid>AB-12</Uuid><MAC>x</MAC></ProbeMatch>"}},
		{"empty Uuid", "<ProbeMatch><Uuid></Uuid></ProbeMatch>", probe, []string{"<ProbeMatch><Uuid>AB-12</Uuid></ProbeMatch>"}},
		{"no Uuid", "<ProbeMatch><MAC>x</MAC></ProbeMatch>", probe, []string{"<ProbeMatch><MAC>x</MAC></ProbeMatch>"}},
		{"unclosed Uuid", "<ProbeMatch><Uuid>x", probe, []string{"<ProbeMatch><Uuid>x"}},
		{"ProbeMatch loop-back", "<ProbeMatch/>", []byte("<ProbeMatch><Uuid>AB</Uuid><Types>inquiry</Types></ProbeMatch>"), nil},
		{"inquiry_v32", "<ProbeMatch/>", []byte("<Probe><Uuid>AB</Uuid><Types>inquiry_v32</Types></Probe>"), nil},
		{"no Uuid in the probe", "<ProbeMatch/>", []byte("<Probe><Types>inquiry</Types></Probe>"), nil},
		{"truncated probe", "<ProbeMatch/>", probe[:len(probe)-3], nil},
		{"empty", "<ProbeMatch/>", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := sadptest.Handler([]byte(tc.reply))(tc.req, netip.AddrPort{})
			var got []string
			for _, o := range out {
				got = append(got, string(o))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("Handler answered %q, want %q", got, tc.want)
			}
		})
	}
}
