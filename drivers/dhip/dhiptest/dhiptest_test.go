package dhiptest_test

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
)

// TestHandlerOverUDP serves a corpus reply on loopback, sends the real
// probe and parses what comes back.
func TestHandlerOverUDP(t *testing.T) {
	reply, err := os.ReadFile("../testdata/dhip-001.json")
	if err != nil {
		t.Fatal(err)
	}
	lo := discoverytest.NewLoopback(t, dhiptest.Handler(reply))

	// Datagrams that must stay unanswered go first, so that a wrong answer
	// would arrive before the real one.
	lo.Send(
		dhiptest.Frame(reply), // a reply looping back on the group
		reply,                 // bare JSON
		[]byte(`{"method":"DHDiscover.search","params":{"mac":"","uni":1}}`), // unframed request
		[]byte{0xff}, // the one-byte probe of the reflector write-ups
	)
	lo.Send(dhip.Probe())

	got, from := lo.Receive(5 * time.Second)
	if !bytes.Equal(got, dhiptest.Frame(reply)) {
		t.Errorf("answer is not the framed reply:\n%q", got)
	}
	ids, err := dhip.Spec().Parse(from, got)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Spec.Parse(answer) = %d identities, %v", len(ids), err)
	}
	if m := ids[0].Get("model"); m != "IPC-HDW5421S" {
		t.Errorf("model = %q, want IPC-HDW5421S", m)
	}

	lo.Silent(200 * time.Millisecond)
}

func TestHandler(t *testing.T) {
	probe := dhip.Probe()
	swapped := bytes.Clone(probe)
	copy(swapped[4:8], "PIHD")
	badLen := bytes.Clone(probe)
	badLen[0] = 0x24
	other := dhiptest.Frame([]byte(`{"method":"magicBox.getSystemInfo"}`))
	compact := dhiptest.Frame([]byte(`{"method":"DHDiscover.search","params":{"mac":"","uni":1},"id":1}`))
	cases := []struct {
		name   string
		req    []byte
		answer bool
	}{
		{"ConfigTool probe", probe, true},
		{"compact framed request with id", compact, true},
		{"byte-swapped magic", swapped, false},
		{"header length not 0x20", badLen, false},
		{"other method", other, false},
		{"header only", probe[:32], false},
		{"truncated JSON", probe[:50], false},
		{"empty", nil, false},
	}
	h := dhiptest.Handler([]byte(`{"method":"client.notifyDevInfo"}`))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := h(tc.req, netip.AddrPort{})
			if got := len(out) == 1; got != tc.answer || len(out) > 1 {
				t.Errorf("Handler answered %d datagrams, want answer=%v", len(out), tc.answer)
			}
		})
	}
}

// TestFrame checks the reply framing of dhiptest against the layout of
// PROTOCOLS.md 2.1.
func TestFrame(t *testing.T) {
	f := dhiptest.Frame([]byte("{}"))
	want := []byte{
		0x20, 0, 0, 0, 'D', 'H', 'I', 'P', 0, 0, 0, 0, 0, 0, 0, 0,
		4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0,
		'{', '}', '\n', 0,
	}
	if !bytes.Equal(f, want) {
		t.Errorf("Frame({}) = % x, want % x", f, want)
	}
}
