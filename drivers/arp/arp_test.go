package arp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

const header = "IP address       HW type     Flags       HW address            Mask     Device\n"

// golden is what a golden file holds.
type golden struct {
	Stats      Stats
	Identities []identity.Identity
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ids, st, err := ParseStats(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(golden{st, ids}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			identitytest.CompareGolden(t, strings.TrimSuffix(in, ".txt")+".golden.json", got)
		})
	}
}

func TestGateway(t *testing.T) {
	ids, st, err := Reader{Path: "testdata/gateway.txt"}.ReadStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Lines: 12, Entries: 10, Incomplete: 2}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	hik := ids[1]
	if hik.Source != identity.SourceARP || hik.Addr.String() != "192.168.1.64" || hik.MAC != "bc:ad:28:12:34:56" ||
		hik.Get(identity.FieldMAC) != hik.MAC || hik.Get(FieldIface) != "eth0" || hik.Seen.IsZero() {
		t.Errorf("camera identity %+v", hik)
	}
	locals := 0
	for _, id := range ids {
		if IsLocallyAdministered(id.MAC) {
			locals++
			if id.Addr.String() != "192.168.1.150" {
				t.Errorf("%s is not the phone", id.Addr)
			}
		}
	}
	if locals != 1 {
		t.Errorf("%d locally administered, want the phone", locals)
	}
}

func TestReaderIfaces(t *testing.T) {
	for _, tc := range []struct {
		ifaces        []string
		n, filtered   int
		firstAddr     string
		wantAllInIfce string
	}{
		{nil, 10, 0, "192.168.1.1", ""},
		{[]string{"eth1"}, 3, 7, "10.20.0.10", "eth1"},
		{[]string{"eth0", "eth1"}, 10, 0, "192.168.1.1", ""},
		{[]string{"wlan0"}, 0, 10, "", ""},
	} {
		ids, st, err := Reader{Path: "testdata/gateway.txt", Ifaces: tc.ifaces}.ReadStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != tc.n || st.Filtered != tc.filtered {
			t.Errorf("%v: %d identities, %d filtered; want %d, %d", tc.ifaces, len(ids), st.Filtered, tc.n, tc.filtered)
			continue
		}
		if tc.n > 0 && ids[0].Addr.String() != tc.firstAddr {
			t.Errorf("%v: first %s, want %s", tc.ifaces, ids[0].Addr, tc.firstAddr)
		}
		for _, id := range ids {
			if tc.wantAllInIfce != "" && id.Get(FieldIface) != tc.wantAllInIfce {
				t.Errorf("%v: %s on %s", tc.ifaces, id.Addr, id.Get(FieldIface))
			}
		}
	}
}

func TestReaderErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Reader{Path: "testdata/gateway.txt"}).Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := (Reader{Path: "testdata/none"}).Read(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "arp: ") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := (Reader{Path: "testdata"}).Read(context.Background()); err == nil {
		t.Error("a directory: no error")
	}
}

// TestProc reads this machine's table, when there is one: it must parse.
func TestProc(t *testing.T) {
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skip(err)
	}
	ids, st, err := Reader{}.ReadStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Malformed != 0 {
		t.Errorf("%d malformed lines in %s", st.Malformed, DefaultPath)
	}
	t.Logf("%d neighbours, %+v", len(ids), st)
}

func TestParse(t *testing.T) {
	line := func(ip, typ, flags, mac, dev string) string {
		return ip + "     " + typ + "         " + flags + "         " + mac + "     *        " + dev + "\n"
	}
	ok := line("192.168.1.64", "0x1", "0x2", "BC:AD:28:12:34:56", "eth0")
	for _, tc := range []struct {
		name    string
		in      string
		n       int
		want    Stats
		err     string
		wantMAC string
	}{
		{name: "header only", in: header},
		{name: "header without newline", in: strings.TrimSuffix(header, "\n")},
		{name: "one entry, upper-case MAC", in: header + ok, n: 1, want: Stats{Lines: 1, Entries: 1}, wantMAC: "bc:ad:28:12:34:56"},
		{name: "no final newline", in: header + strings.TrimSuffix(ok, "\n"), n: 1, want: Stats{Lines: 1, Entries: 1}},
		{name: "CRLF and blank lines", in: strings.ReplaceAll(header+"\n"+ok+"\n", "\n", "\r\n"), n: 1, want: Stats{Lines: 3, Entries: 1}},
		{name: "incomplete", in: header + line("192.168.1.99", "0x1", "0x0", "00:00:00:00:00:00", "eth0"), want: Stats{Lines: 1, Incomplete: 1}},
		{name: "complete flag, zero MAC", in: header + line("192.168.1.99", "0x1", "0x2", "00:00:00:00:00:00", "eth0"), want: Stats{Lines: 1, Incomplete: 1}},
		{name: "proxy entry", in: header + line("192.168.1.98", "0x1", "0xc", "00:00:00:00:00:00", "eth0"), want: Stats{Lines: 1, Incomplete: 1}},
		{name: "published with a MAC", in: header + line("192.168.1.98", "0x1", "0xe", "bc:ad:28:12:34:56", "eth0"), want: Stats{Lines: 1, Incomplete: 1}},
		{name: "permanent", in: header + line("192.168.1.97", "0x1", "0x6", "bc:ad:28:12:34:57", "eth0"), n: 1, want: Stats{Lines: 1, Entries: 1}},
		{name: "broadcast", in: header + line("192.168.1.255", "0x1", "0x6", "ff:ff:ff:ff:ff:ff", "eth0"), want: Stats{Lines: 1, Incomplete: 1}},
		{name: "multicast MAC kept", in: header + line("192.168.1.96", "0x1", "0x6", "01:00:5e:00:00:fb", "eth0"), n: 1, want: Stats{Lines: 1, Entries: 1}, wantMAC: "01:00:5e:00:00:fb"},
		{name: "not Ethernet", in: header + line("192.168.1.95", "0x20", "0x2", "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:0b:0c", "ib0"), want: Stats{Lines: 1, Other: 1}},
		{name: "seven fields", in: header + "192.168.1.64 0x1 0x2 bc:ad:28:12:34:56 * eth0 extra\n", want: Stats{Lines: 1, Malformed: 1}},
		{name: "five fields", in: header + "192.168.1.64 0x1 0x2 bc:ad:28:12:34:56 *\n", want: Stats{Lines: 1, Malformed: 1}},
		{name: "bad IP", in: header + line("192.168.1.300", "0x1", "0x2", "bc:ad:28:12:34:56", "eth0"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "IPv6", in: header + line("fe80::1", "0x1", "0x2", "bc:ad:28:12:34:56", "eth0"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "bad flags", in: header + line("192.168.1.64", "0x1", "2", "bc:ad:28:12:34:56", "eth0"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "huge flags", in: header + line("192.168.1.64", "0x1", "0x1ffffffff", "bc:ad:28:12:34:56", "eth0"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "bad MAC", in: header + line("192.168.1.64", "0x1", "0x2", "bc:ad:28:12:34", "eth0"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "dashed MAC", in: header + line("192.168.1.64", "0x1", "0x2", "bc-ad-28-12-34-56", "eth0"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "long device", in: header + line("192.168.1.64", "0x1", "0x2", "bc:ad:28:12:34:56", "abcdefghijklmnop"), want: Stats{Lines: 1, Malformed: 1}},
		{name: "long line skipped, next kept", in: header + strings.Repeat("x", 5000) + "\n" + ok, n: 1, want: Stats{Lines: 2, Entries: 1, Malformed: 1}},
		{name: "long last line", in: header + ok + strings.Repeat("x", 300), n: 1, want: Stats{Lines: 2, Entries: 1, Malformed: 1}},
		{name: "malformed then good", in: header + "garbage\n" + ok, n: 1, want: Stats{Lines: 2, Entries: 1, Malformed: 1}},
		{name: "empty", in: "", err: "arp: empty input"},
		{name: "wrong header", in: "Iface\tDestination\tGateway\n", err: "arp: not an ARP table"},
		{name: "neighbour table of ip(8)", in: "192.168.1.64 dev eth0 lladdr bc:ad:28:12:34:56 REACHABLE\n", err: "arp: not an ARP table"},
		{name: "long header", in: strings.Repeat(" ", 4000) + header, err: "arp: not an ARP table"},
		{name: "binary", in: "\x00\x01\x02\xff", err: "arp: not an ARP table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, st, err := ParseStats(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != tc.n || st != tc.want {
				t.Errorf("%d identities, %+v; want %d, %+v", len(ids), st, tc.n, tc.want)
			}
			if tc.wantMAC != "" && (len(ids) == 0 || ids[0].MAC != tc.wantMAC) {
				t.Errorf("identities %+v, want MAC %s", ids, tc.wantMAC)
			}
		})
	}
}

func TestParseCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := 0; i < MaxEntries+10; i++ {
		b.WriteString("10.0.0.1         0x1         0x2         bc:ad:28:12:34:56     *        eth0\n")
	}
	start := time.Now()
	ids, st, err := ParseStats(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != MaxEntries || !st.Truncated {
		t.Errorf("%d identities, truncated %v", len(ids), st.Truncated)
	}
	t.Logf("%d entries in %v", len(ids), time.Since(start))
}

func TestMACHelpers(t *testing.T) {
	for _, tc := range []struct {
		mac          string
		local, group bool
	}{
		{"bc:ad:28:12:34:56", false, false}, // Hikvision, universally administered
		{"BC-AD-28-12-34-56", false, false},
		{"bcad28123456", false, false},
		{"bcad.2812.3456", false, false},
		{"da:a1:19:6b:3e:90", true, false}, // randomised phone MAC
		{"02:fc:00:00:00:05", true, false},
		{"3a:72:c2:00:00:01", true, false}, // Huawei CID space
		{"01:00:5e:00:00:fb", false, true}, // IPv4 multicast
		{"33:33:00:00:00:01", true, true},  // IPv6 multicast
		{"ff:ff:ff:ff:ff:ff", true, true},  // broadcast
		{"00:00:00:00:00:00", false, false},
		{"", false, false},
		{"zz:ad:28:12:34:56", false, false},
		{"bc:ad:28:12:34", false, false},
		{"02:00:00:00:00:00:00:01", false, false}, // EUI-64, not a 48-bit MAC
	} {
		if got := IsLocallyAdministered(tc.mac); got != tc.local {
			t.Errorf("IsLocallyAdministered(%q) = %v", tc.mac, got)
		}
		if got := IsMulticast(tc.mac); got != tc.group {
			t.Errorf("IsMulticast(%q) = %v", tc.mac, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		header,
		header + "192.168.1.64     0x1         0x2         bc:ad:28:12:34:56     *        eth0\n",
		header + "192.168.1.99     0x1         0x0         00:00:00:00:00:00     *        eth0\n",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("testdata/gateway.txt"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, st, err := ParseStats(bytes.NewReader(b))
		if err != nil {
			if ids != nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "arp: ") {
				t.Fatalf("bad error result: %v, %d identities", err, len(ids))
			}
			return
		}
		if len(ids) != st.Entries || st.Entries > MaxEntries {
			t.Fatalf("%d identities, stats %+v", len(ids), st)
		}
		for _, id := range ids {
			if id.Source != identity.SourceARP || !id.Addr.Is4() || identity.NormalizeMAC(id.MAC) != id.MAC || id.MAC == "" ||
				id.Get(identity.FieldMAC) != id.MAC || !validIfname(id.Get(FieldIface)) {
				t.Fatalf("bad identity %+v", id)
			}
		}
	})
}
