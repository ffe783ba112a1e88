package discovery_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// macSpec is a protocol whose replies name a device: "DEV mac=<mac>
// model=<model> fw=<fw>".
func macSpec(port int) discovery.Spec {
	return discovery.Spec{
		Name:    "toy",
		Port:    port,
		Unicast: true,
		Probes:  func() [][]byte { return [][]byte{[]byte("PROBE")} },
		Parse: func(_ netip.AddrPort, b []byte) ([]identity.Identity, error) {
			rest, ok := bytes.CutPrefix(b, []byte("DEV "))
			if !ok {
				return nil, discovery.ErrNotReply
			}
			id := identity.Identity{}
			for f := range strings.FieldsSeq(string(rest)) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "mac":
					id.MAC = identity.NormalizeMAC(v)
					id.Add(identity.FieldMAC, id.MAC)
				case "model":
					id.Add(identity.FieldModel, v)
				case "fw":
					id.Add(identity.FieldFirmware, v)
				}
			}
			return []identity.Identity{id}, nil
		},
	}
}

// syncBuf is a log sink for several goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// responder answers every probe that reaches the socket at addr with
// reply(i) for i in [0, n), sent from the sockets in from (round robin; a
// nil entry, or an empty from, is the responder's own socket).
func responder(t *testing.T, addr string, n int, reply func(i int) []byte, from ...*net.UDPConn) int {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if len(from) == 0 {
		from = []*net.UDPConn{conn}
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			_, prober, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			for i := range n {
				out := from[i%len(from)]
				if out == nil {
					out = conn
				}
				_, _ = out.WriteToUDPAddrPort(reply(i), prober)
				if i%256 == 255 {
					time.Sleep(time.Millisecond) // the loopback queue is short
				}
			}
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port
}

func TestSweepAdmitsBoundedPerSender(t *testing.T) {
	// 127.0.0.1 floods: 5,000 distinct valid answers to each probe. The
	// real camera on 127.0.0.2 (the same port) answers each probe twice
	// with two renderings of itself.
	floodPort := responder(t, "127.0.0.1:0", 5000, func(i int) []byte {
		return fmt.Appendf(nil, "DEV mac=02:%02x:%02x:00:00:01 model=FAKE-%d", i>>8&255, i&255, i)
	})
	responder(t, fmt.Sprintf("127.0.0.2:%d", floodPort), 2, func(i int) []byte {
		if i == 0 {
			return []byte("DEV mac=58:50:ed:1f:e3:85 model=DS-2CD2143G0-I")
		}
		return []byte("DEV mac=58:50:ed:1f:e3:85 model=DS-2CD2143G0-I fw=V5.5.0")
	})
	var logs syncBuf
	s := &discovery.Sweeper{
		Unicast: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")},
		Rounds:  2, Spacing: 50 * time.Millisecond, Linger: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ids, st, err := s.Sweep(ctx, []discovery.Spec{macSpec(floodPort)})
	if err != nil {
		t.Fatal(err)
	}
	var fake, real int
	for _, id := range ids {
		switch id.Addr.String() {
		case "127.0.0.1":
			fake++
		case "127.0.0.2":
			real++
			// Both renderings merged into one identity: the evidence whole.
			if id.MAC != "58:50:ed:1f:e3:85" || id.Get(identity.FieldModel) != "DS-2CD2143G0-I" || id.Get(identity.FieldFirmware) != "V5.5.0" {
				t.Errorf("the real camera's identity = %+v", id)
			}
		}
	}
	if real != 1 {
		t.Errorf("real camera: %d identities, want 1", real)
	}
	if fake != discovery.DefaultMaxPerSender {
		t.Errorf("flooder: %d identities, want the bound %d", fake, discovery.DefaultMaxPerSender)
	}
	if st.OverBound != 1 || st.Dropped < 1000 {
		t.Errorf("stats = %+v; want 1 sender over its bound and its excess (thousands) dropped", st)
	}
	if n := strings.Count(logs.String(), "over its bound"); n != 1 || !strings.Contains(logs.String(), "level=WARN") ||
		!strings.Contains(logs.String(), "from=127.0.0.1 ") {
		t.Errorf("want one Warn line naming 127.0.0.1, got %d:\n%s", n, logs.String())
	}
	if st.ReceiveBuffer <= 0 {
		t.Errorf("ReceiveBuffer = %d", st.ReceiveBuffer)
	}
}

func TestSweepBoundsTotalAndPrefersUnicastTargets(t *testing.T) {
	// A flooder answers each probe from 40 spoofed addresses (127.0.1.x),
	// one device each, and then the listed camera (127.0.0.1, the unicast
	// target) answers. The sweep takes 10 devices from unlisted senders;
	// the listed camera still gets in.
	var from []*net.UDPConn
	for i := range 40 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		from = append(from, c)
	}
	from = append(from, nil) // the camera itself, last
	port := responder(t, "127.0.0.1:0", 41, func(i int) []byte {
		if i == 40 {
			return []byte("DEV mac=58:50:ed:1f:e3:85 model=DS-2CD2143G0-I")
		}
		return fmt.Appendf(nil, "DEV mac=02:00:00:00:01:%02x model=SPOOF", i)
	}, from...)
	var logs syncBuf
	s := &discovery.Sweeper{
		Unicast:       []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Rounds:        2,
		Spacing:       50 * time.Millisecond,
		Linger:        300 * time.Millisecond,
		MaxIdentities: 10,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ids, st, err := s.Sweep(ctx, []discovery.Spec{macSpec(port)})
	if err != nil {
		t.Fatal(err)
	}
	var listed, spoofed int
	for _, id := range ids {
		if id.Addr == netip.MustParseAddr("127.0.0.1") && id.MAC == "58:50:ed:1f:e3:85" {
			listed++
		} else {
			spoofed++
		}
	}
	if listed != 1 || spoofed != 10 {
		t.Errorf("listed camera %d, spoofed devices %d; want 1 and 10 (the bound)", listed, spoofed)
	}
	// Each spoofed address answered twice (two rounds): the second answer
	// is a copy of the first, skipped before parsing.
	if st.Overflow != 30 || st.Dropped != 30 || st.OverBound != 0 {
		t.Errorf("stats = %+v; want 30 refused for a full sweep, no sender over its own bound", st)
	}
	if n := strings.Count(logs.String(), "too many devices"); n != 1 {
		t.Errorf("want one Warn line for the full sweep, got %d:\n%s", n, logs.String())
	}
}

func TestSweepMergesOneDevicesAnswers(t *testing.T) {
	// One sender, one device, 30 differently worded answers (a camera
	// answering each probe type with its own rendering): one identity with
	// every fact, nothing dropped, no sender over its bound.
	port := responder(t, "127.0.0.1:0", 30, func(i int) []byte {
		return fmt.Appendf(nil, "DEV mac=58:50:ed:1f:e3:85 model=DS-2CD2143G0-I fw=V5.%d", i)
	})
	s := &discovery.Sweeper{Unicast: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Rounds: 2, Spacing: 50 * time.Millisecond, Linger: 200 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ids, st, err := s.Sweep(ctx, []discovery.Spec{macSpec(port)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("%d identities, want 1: %+v", len(ids), ids)
	}
	var fw int
	for _, f := range ids[0].Facts {
		if f.Field == identity.FieldFirmware {
			fw++
		}
	}
	if fw != 30 || st.Dropped != 0 || st.OverBound != 0 {
		t.Errorf("%d firmware facts, stats %+v; want 30, nothing dropped", fw, st)
	}
}

func TestSweepBoundsDistinctDatagrams(t *testing.T) {
	// One device in 500 distinct datagrams (a varying nonce, as a flood of
	// the same MAC would): parsed up to the bound, then dropped unparsed.
	var parsed int
	var mu sync.Mutex
	port := responder(t, "127.0.0.1:0", 500, func(i int) []byte {
		return fmt.Appendf(nil, "DEV mac=58:50:ed:1f:e3:85 nonce=%d", i)
	})
	spec := macSpec(port)
	parse := spec.Parse
	spec.Parse = func(from netip.AddrPort, b []byte) ([]identity.Identity, error) {
		mu.Lock()
		parsed++
		mu.Unlock()
		return parse(from, b)
	}
	s := &discovery.Sweeper{Unicast: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Rounds: 1, Linger: 300 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ids, st, err := s.Sweep(ctx, []discovery.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || parsed > 64 || st.OverBound != 1 || st.Dropped < 400 {
		t.Errorf("%d identities, %d parsed, stats %+v; want 1, at most 64 parsed, the sender over its bound", len(ids), parsed, st)
	}
}
