package dhiptest_test

import (
	"bytes"
	"context"
	"errors"
	"net"
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
	srv, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- discoverytest.Serve(ctx, srv, dhiptest.Handler(reply)) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	cl, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// Datagrams that must stay unanswered go first, so that a wrong answer
	// would arrive before the real one.
	for _, q := range [][]byte{
		dhiptest.Frame(reply), // a reply looping back on the group
		reply,                 // bare JSON
		[]byte(`{"method":"DHDiscover.search","params":{"mac":"","uni":1}}`), // unframed request
		{0xff}, // the one-byte probe of the reflector write-ups
	} {
		if _, err := cl.WriteTo(q, srv.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.WriteTo(dhip.Probe(), srv.LocalAddr()); err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, 64<<10)
	if err := cl.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, from, err := cl.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer to the probe: %v", err)
	}
	got := buf[:n]
	if !bytes.Equal(got, dhiptest.Frame(reply)) {
		t.Errorf("answer is not the framed reply:\n%q", got)
	}
	ids, err := dhip.Spec().Parse(from.(*net.UDPAddr).AddrPort(), got)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Spec.Parse(answer) = %d identities, %v", len(ids), err)
	}
	if m := ids[0].Get("model"); m != "IPC-HDW5421S" {
		t.Errorf("model = %q, want IPC-HDW5421S", m)
	}

	if err := cl.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _, err := cl.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("unexpected second answer (%v): %q", err, buf[:n])
	}
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
