package discovery_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/discovery/discoverytest"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// toySpec is a protocol for the engine's own tests: a probe "PROBE" gets
// the reply "MODEL=<name>"; "PROBE" itself is a valid message but not a
// reply; anything else is malformed.
func toySpec(port int) discovery.Spec {
	return discovery.Spec{
		Name:    "toy",
		Port:    port,
		Unicast: true,
		Probes:  func() [][]byte { return [][]byte{[]byte("PROBE"), []byte("SECOND PROBE, multicast only")} },
		Parse: func(from netip.AddrPort, b []byte) ([]identity.Identity, error) {
			if bytes.Equal(b, []byte("PROBE")) {
				return nil, discovery.ErrNotReply
			}
			m, ok := bytes.CutPrefix(b, []byte("MODEL="))
			if !ok {
				return nil, errors.New("toy: not a toy reply")
			}
			id := identity.Identity{}
			id.Add(identity.FieldModel, string(m))
			return []identity.Identity{id}, nil
		},
	}
}

func serve(t *testing.T, h discoverytest.Handler) int {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- discoverytest.Serve(ctx, conn, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return conn.LocalAddr().(*net.UDPAddr).Port
}

func TestSweepUnicastRetransmitsAndDedupes(t *testing.T) {
	port := serve(t, func(req []byte, from netip.AddrPort) [][]byte {
		if string(req) != "PROBE" {
			return nil
		}
		// A real answer, a junk datagram and an echo of a probe.
		return [][]byte{[]byte("MODEL=DS-2CD2143G0-I"), {0xff, 0x00, 0x13}, []byte("PROBE")}
	})
	s := &discovery.Sweeper{
		Unicast: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Rounds:  3,
		Spacing: 50 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	ids, st, err := s.Sweep(ctx, []discovery.Spec{toySpec(port)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("got %d identities, want 1 (two rounds, deduplicated): %+v", len(ids), ids)
	}
	id := ids[0]
	if id.Source != "toy" || id.Addr != netip.MustParseAddr("127.0.0.1") || id.Get(identity.FieldModel) != "DS-2CD2143G0-I" || id.Seen.IsZero() {
		t.Errorf("identity = %+v", id)
	}
	// A unicast sweep sends at most two rounds of the first probe only.
	if st.Sent != 2 {
		t.Errorf("Sent = %d, want 2", st.Sent)
	}
	if st.Received != 6 || st.Dropped != 1 || st.Ignored != 1 {
		t.Errorf("stats = %+v, want 6 received, 1 dropped (deduplicated junk), 1 ignored", st)
	}
}

func TestSweepEndsAtDeadlineWithNothing(t *testing.T) {
	// A port nobody answers on: the sweep returns empty at its deadline.
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	defer conn.Close()
	s := &discovery.Sweeper{Unicast: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Rounds: 2, Spacing: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ids, _, err := s.Sweep(ctx, []discovery.Spec{toySpec(port)})
	if err != nil || len(ids) != 0 {
		t.Fatalf("Sweep = %v, %v; want nothing, no error", ids, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("sweep took %v past a 200ms deadline", d)
	}
}

func TestHosts(t *testing.T) {
	h, err := discovery.Hosts(netip.MustParsePrefix("192.0.2.0/30"), 10)
	if err != nil || len(h) != 2 || h[0].String() != "192.0.2.1" || h[1].String() != "192.0.2.2" {
		t.Errorf("Hosts(/30) = %v, %v", h, err)
	}
	if _, err := discovery.Hosts(netip.MustParsePrefix("10.0.0.0/8"), 4096); err == nil {
		t.Error("Hosts(/8) accepted")
	}
	h, err = discovery.Hosts(netip.MustParsePrefix("192.0.2.7/32"), 10)
	if err != nil || len(h) != 1 || h[0].String() != "192.0.2.7" {
		t.Errorf("Hosts(/32) = %v, %v", h, err)
	}
}

func TestLimiterBoundsRate(t *testing.T) {
	l := discovery.NewLimiter(100, 1)
	start := time.Now()
	for i := 0; i < 11; i++ {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("11 events at 100/s took %v, want >= ~100ms", d)
	}
}
