package wsdtest

import (
	"errors"
	"net/netip"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
	"github.com/nvrguard/nvrguard/drivers/wsd"
)

// TestLoopback sends the real probes of wsd.Spec over UDP on 127.0.0.1 to a
// simulated Hikvision camera and parses its answers.
func TestLoopback(t *testing.T) {
	reply, err := os.ReadFile("../testdata/wsd-001.xml")
	if err != nil {
		t.Fatal(err)
	}
	lo := discoverytest.NewLoopback(t, Handler(reply))
	spec := wsd.Spec()
	probes := spec.Probes()
	// Noise first: the handler must stay silent for non-probes.
	lo.Send([]byte("junk"), []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`), reply)
	lo.Send(probes...)
	for i := range probes {
		answer, from := lo.Receive(3 * time.Second)
		ids, err := spec.Parse(from, answer)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(ids) != 1 || ids[0].Get("model") != "DS-2CD3955FWD-IWS" || ids[0].Addr != netip.MustParseAddr("127.0.0.1") || ids[0].Get("reported-ip") != "192.168.0.218" {
			t.Errorf("identities = %+v", ids)
		}
		if got, want := relatesToOf(t, answer), msgIDOf(t, probes[i]); got != want {
			t.Errorf("RelatesTo = %q, want the probe's MessageID %q", got, want)
		}
	}
	lo.Silent(200 * time.Millisecond)
}

func TestHandler(t *testing.T) {
	hello, err := os.ReadFile("../testdata/wsd-004.xml")
	if err != nil {
		t.Fatal(err)
	}
	match, err := os.ReadFile("../testdata/wsd-003.xml")
	if err != nil {
		t.Fatal(err)
	}
	from := netip.MustParseAddrPort("127.0.0.1:9")
	tests := []struct {
		name      string
		reply     []byte
		req       []byte
		answers   int
		relatesTo string
	}{
		{"untyped probe, escaped id", match, []byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header><a:MessageID xmlns:a="urn:a">uuid:&lt;1&gt;</a:MessageID></e:Header><e:Body><d:Probe xmlns:d="urn:d"/></e:Body></e:Envelope>`), 1, "uuid:&lt;1&gt;"},
		{"probe without a MessageID", match, []byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><Probe/></e:Body></e:Envelope>`), 1, "uuid:bd64d03b-c701-4b50-a4bc-18c4048971c3"},
		{"reply without RelatesTo", hello, wsd.Probe("uuid:1"), 1, ""},
		{"a ProbeMatches is not a probe", match, match, 0, ""},
		{"empty body", match, []byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>`), 0, ""},
		{"not xml", match, []byte("M-SEARCH * HTTP/1.1\r\n\r\n"), 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Handler(tc.reply)(tc.req, from)
			if len(out) != tc.answers {
				t.Fatalf("got %d answers, want %d", len(out), tc.answers)
			}
			if tc.answers == 0 {
				return
			}
			if got := relatesToRaw(out[0]); got != tc.relatesTo {
				t.Errorf("RelatesTo = %q, want %q", got, tc.relatesTo)
			}
			if _, err := wsd.Parse(out[0]); err != nil && !errors.Is(err, wsd.ErrNotReply) {
				t.Errorf("answer does not parse: %v", err)
			}
		})
	}
}

func relatesToRaw(b []byte) string {
	m := relatesTo.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func relatesToOf(t *testing.T, b []byte) string {
	t.Helper()
	v := relatesToRaw(b)
	if v == "" {
		t.Fatal("answer has no RelatesTo")
	}
	return v
}

func msgIDOf(t *testing.T, probe []byte) string {
	t.Helper()
	m := msgID.FindSubmatch(probe)
	if m == nil {
		t.Fatal("probe has no MessageID")
	}
	return string(m[1])
}

var msgID = regexp.MustCompile(`<wsa:MessageID[^>]*>([^<]*)</`)
