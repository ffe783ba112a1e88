package pelco

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexOf(t testing.TB, s string) []byte {
	t.Helper()
	b, err := decodeHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hikFrame builds a Hikvision PTZ frame with its checksum.
func hikFrame(addr, cmd, d1, d2 byte) []byte {
	b := []byte{syncHik, addr, cmd, d1, d2, 0, 0, 0}
	b[7] = sumHik(b)
	return b
}

// queryReply builds the 18-byte query response of addr with part.
func queryReply(addr byte, part string) []byte {
	b := append([]byte{syncD, addr}, []byte(part+strings.Repeat(" ", partNumberLen-len(part)))...)
	b = append(b, 0)
	b[lenQuery-1] = sumD(b)
	return b
}

func decodeAll(d *Decoder, chunks ...[]byte) []Frame {
	var out []Frame
	for _, c := range chunks {
		d.Write(c, func(f Frame) { out = append(out, f) })
	}
	d.Flush(func(f Frame) { out = append(out, f) })
	return out
}

// TestVectors: every corpus test vector decodes, with its kind, address
// and checksum.
func TestVectors(t *testing.T) {
	for name, kind := range map[string]Kind{
		"ptz_pelco_d_testvectors_node-ptz-decoder.hex": PelcoD,
		"ptz_pelco_p_testvector_node-ptz-decoder.hex":  PelcoP,
	} {
		raw := hexOf(t, string(read(t, name)))
		var d Decoder
		frames := decodeAll(&d, raw)
		lines := strings.Count(strings.TrimSpace(string(read(t, name))), "\n") + 1
		if len(frames) != lines || d.Skipped != 0 || d.BadChecksums != 0 {
			t.Errorf("%s: %d frames (want %d), skipped %d, bad %d", name, len(frames), lines, d.Skipped, d.BadChecksums)
		}
		for _, f := range frames {
			if f.Kind != kind || f.Reply() {
				t.Errorf("%s: frame %s decoded as %v reply=%v", name, f, f.Kind, f.Reply())
			}
		}
	}
	if got := hexBytes(EncodeD(1, 0, 0x04, 0x20, 0)); got != "FF 01 00 04 20 00 25" {
		t.Errorf("EncodeD pan left = %s", got)
	}
	if got := hexBytes(QueryD(1)); got != "FF 01 00 45 00 00 46" {
		t.Errorf("QueryD(1) = %s", got)
	}
	if f := hikFrame(1, 0x06, 0x20, 0); hexBytes(f) != "B5 01 06 20 00 00 00 DC" {
		t.Errorf("Hikvision up = %s", hexBytes(f))
	}
}

// TestDecoderResyncAndSplits: noise, a corrupt frame and writes split
// anywhere do not lose the frames around them.
func TestDecoderResyncAndSplits(t *testing.T) {
	stream := slices.Concat(
		[]byte("noise\x00\x01"),
		EncodeD(1, 0, 0x04, 0x20, 0),
		[]byte{0xFF, 0x01, 0x00, 0x04, 0x20, 0x00, 0x26}, // bad checksum
		hikFrame(3, 0x14, 0, 0),
		[]byte{0xA0, 0x00, 0x00, 0x04, 0x20, 0x00, 0xAF, 0x2B},
		[]byte{0xB5, 0x99}, // a cut frame
		EncodeD(2, 0, 0x07, 0, 5),
	)
	want := []string{"FF 01 00 04 20 00 25", hexBytes(hikFrame(3, 0x14, 0, 0)), "A0 00 00 04 20 00 AF 2B", hexBytes(EncodeD(2, 0, 0x07, 0, 5))}
	for split := 1; split <= len(stream); split++ {
		var chunks [][]byte
		for rest := stream; len(rest) > 0; {
			n := min(split, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		var d Decoder
		var got []string
		for _, f := range decodeAll(&d, chunks...) {
			got = append(got, f.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("writes of %d bytes: %v, want %v", split, got, want)
		}
		if d.BadChecksums == 0 {
			t.Fatalf("writes of %d bytes: the corrupt frame was not counted", split)
		}
	}
}

func TestReplies(t *testing.T) {
	var d Decoder
	q := QueryD(5)
	d.Expect(q)
	general := []byte{0xFF, 5, 0x02, q[6] + 0x02}
	frames := decodeAll(&d, queryReply(5, "DD53CBW"), general)
	if len(frames) != 2 || frames[0].Kind != PelcoDQuery || frames[0].PartNumber() != "DD53CBW" ||
		frames[1].Kind != PelcoDGeneral || !frames[1].Reply() {
		t.Fatalf("replies decoded as %+v", frames)
	}
	// Without a query in flight, an 18-byte run is not taken for a reply.
	var passive Decoder
	for _, f := range decodeAll(&passive, queryReply(5, "DD53CBW")) {
		if f.Kind == PelcoDQuery {
			t.Errorf("passive decoder accepted a query response")
		}
	}
	pan := EncodeD(5, 0, cmdPanReply, 0x12, 0x34)
	if f := decodeAll(&Decoder{}, pan); len(f) != 1 || !f[0].Reply() {
		t.Errorf("position reply: %+v", f)
	}
}

func TestParseFormats(t *testing.T) {
	for name, in := range map[string]string{
		"spaced":    "FF 01 00 04 20 00 25\n",
		"0x commas": "[0xFF, 0x01, 0x00, 0x04, 0x20, 0x00, 0x25]",
		"run":       "ff0100042000 25",
		"label":     "pan left: FF 01 00 04 20 00 25  // camera 1\n# comment line\n",
		"xxd":       "00000000: ff01 0004 2000 25                        .... .%\n",
		"hexdump":   "00000000  ff 01 00 04 20 00 25                              |.... .%|\n00000007\n",
		"crlf":      "FF 01 00 04 20 00 25\r\nFF 01 00 04 20 00 25\r\n",
	} {
		ids, err := Parse([]byte(in))
		if err != nil || len(ids) != 1 || !slices.Contains(ids[0].Facts, identity.Fact{Field: FieldFrame, Value: "FF 01 00 04 20 00 25"}) {
			t.Errorf("%s: Parse = %+v, %v", name, ids, err)
		}
	}
}

// TestParseIdentities: Hikvision frames name a controller, Pelco frames an
// address, a query response its part number, a lone general reply its
// address.
func TestParseIdentities(t *testing.T) {
	hik := hexBytes(hikFrame(1, 0x06, 0x20, 0)) + "\n" + hexBytes(hikFrame(2, 0x14, 0, 0)) + "\n"
	ids, err := Parse([]byte(hik))
	if err != nil || len(ids) != 1 {
		t.Fatalf("Parse = %+v, %v", ids, err)
	}
	want := []identity.Fact{{Field: "protocol", Value: "hikvision-ptz"}, {Field: FieldAddress, Value: "1"},
		{Field: FieldAddress, Value: "2"}, {Field: FieldRole, Value: "commanded"}, {Field: FieldFrame, Value: "B5 01 06 20 00 00 00 DC"}}
	if !slices.Equal(ids[0].Facts, want) || ids[0].Port != "hikvision-ptz controller" || ids[0].Source != identity.SourcePelco {
		t.Errorf("Hikvision controller = %+v", ids[0])
	}
	ids, err = Parse([]byte(hexBytes(queryReply(3, "Spectra IV")) + "\n"))
	if err != nil || len(ids) != 1 || ids[0].Get(identity.FieldModel) != "Spectra IV" || ids[0].Get(FieldRole) != "replied" {
		t.Errorf("query response = %+v, %v", ids, err)
	}
	ids, err = Parse([]byte("FF 07 00 4C"))
	if err != nil || len(ids) != 1 || ids[0].Get(FieldAddress) != "7" || ids[0].Get(FieldRole) != "replied" {
		t.Errorf("general reply = %+v, %v", ids, err)
	}
}

func TestParseRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "no hex bytes",
		"hello world, no hex here\n":  "no hex bytes",
		"<html><body>x</body></html>": "no hex bytes",
		"FF 01 00 04 20 00 26":        "bad checksum",
		"A0 00 00 04 20 00 AF 2C":     "bad checksum",
		"12 34 56 78":                 "no Pelco-D, Pelco-P or Hikvision frame",
		"FF 01 00":                    "no Pelco-D",
		string(bytes.Repeat([]byte("F"), MaxInput+1)): "larger than",
	} {
		ids, err := Parse([]byte(in))
		if err == nil || ids != nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "pelco: ") || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Parse(%.30q) = %v, %v; want one-line error with %q", in, ids, err, want)
		}
	}
}

// TestBusPassive: two frames of a kind are needed from the line; a single
// checksum that holds by chance in noise is not reported.
func TestBusPassive(t *testing.T) {
	b := &Bus{Port: "/dev/ttyUSB1"}
	b.Opened(nil)
	b.Data(slices.Concat(hikFrame(1, 0x06, 0x20, 0), EncodeD(9, 0, 4, 0x20, 0)))
	b.Data(hikFrame(1, 0x14, 0, 0))
	b.Idle(time.Now())
	ids := b.Identities()
	if len(ids) != 1 || ids[0].Get(identity.FieldProtocol) != "hikvision-ptz" || ids[0].Port != "/dev/ttyUSB1 hikvision-ptz controller" {
		t.Fatalf("identities %+v", ids)
	}
}

// TestBusQuery: on a silent bus, with queries enabled, each address is
// asked once; a reply gives the part number; no reply moves on.
func TestBusQuery(t *testing.T) {
	port := &serialtest.Playback{Ops: []serialtest.IO{
		{W: QueryD(1), R: slices.Concat(QueryD(1), queryReply(1, "SD6AL245XA"))}, // the adapter echoes what it sends
		{W: QueryD(2)}, // no answer
		{W: QueryD(3), R: []byte{0xFF, 3, 0, QueryD(3)[6]}},
	}}
	b := &Bus{Port: "/dev/ttyUSB1", Query: []byte{1, 2, 3}, QuietFor: time.Second, ReplyWait: 300 * time.Millisecond}
	b.Opened(port)
	t0 := time.Now()
	b.Idle(t0.Add(500 * time.Millisecond)) // not quiet long enough
	if err := port.Done(); err == nil || !strings.Contains(err.Error(), "step 0") {
		t.Fatalf("queried before the bus was quiet: %v", err)
	}
	buf := make([]byte, 64)
	step := func(at time.Duration) {
		b.Idle(t0.Add(at))
		for {
			n, _ := port.Read(buf)
			if n == 0 {
				return
			}
			b.Data(buf[:n])
		}
	}
	step(2 * time.Second)
	step(3 * time.Second)
	step(4 * time.Second)
	step(5 * time.Second)
	if err := port.Done(); err != nil {
		t.Fatal(err)
	}
	ids := b.Identities()
	if len(ids) != 2 || ids[0].Get(identity.FieldModel) != "SD6AL245XA" || ids[1].Get(FieldAddress) != "3" {
		t.Fatalf("identities %+v", ids)
	}
}

// TestBusNeverQueriesADrivenBus: a controller heard on the bus stops every
// query.
func TestBusNeverQueriesADrivenBus(t *testing.T) {
	port := &serialtest.Record{}
	b := &Bus{Query: []byte{1}, QuietFor: time.Millisecond}
	b.Opened(port)
	b.Data(EncodeD(1, 0, 4, 0x20, 0))
	b.Idle(time.Now().Add(time.Hour))
	if w := port.Written(); len(w) != 0 {
		t.Errorf("queried a bus another controller drives: %q", w)
	}
	var nothing Bus
	nothing.Opened(port)
	nothing.Idle(time.Now().Add(time.Hour))
	if w := port.Written(); len(w) != 0 {
		t.Errorf("a Bus without Query wrote %q", w)
	}
}

// FuzzParse: Parse never panics; what it accepts are pelco identities
// with clean facts.
func FuzzParse(f *testing.F) {
	f.Add(read(f, "ptz_pelco_d_testvectors_node-ptz-decoder.hex"))
	f.Add(read(f, "ptz_pelco_p_testvector_node-ptz-decoder.hex"))
	f.Add([]byte("B5 01 06 20 00 00 00 DC\nB5 01 14 00 00 00 00 CA\n"))
	f.Add([]byte("00000000: ff01 0045 0000 46  ....\nFF 07 00 4C"))
	f.Add([]byte("pan: 0xFF,0x01,0x00,0x04,0x20,0x00,0x25 // left"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := Parse(b)
		if err != nil {
			if ids != nil || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error %q with %v", err, ids)
			}
			return
		}
		if len(ids) == 0 || len(ids) > maxKeys {
			t.Fatalf("%d identities", len(ids))
		}
		for _, id := range ids {
			if id.Source != identity.SourcePelco || id.Get(identity.FieldProtocol) == "" {
				t.Fatalf("identity %+v", id)
			}
		}
	})
}

// FuzzDecoder: the frame decoder never panics, never returns a frame whose
// checksum fails, and finds the same frames however the bytes are split.
func FuzzDecoder(f *testing.F) {
	f.Add(hexOf(f, string(read(f, "ptz_pelco_d_testvectors_node-ptz-decoder.hex"))), uint8(3))
	f.Add(slices.Concat([]byte{0xFF, 0xFF, 0xA0}, hikFrame(1, 6, 0x20, 0), queryReply(2, "X")), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		var whole, parts Decoder
		a := decodeAll(&whole, b)
		var chunks [][]byte
		n := int(split)%8 + 1
		for rest := b; len(rest) > 0; {
			k := min(n, len(rest))
			chunks = append(chunks, rest[:k])
			rest = rest[k:]
		}
		c := decodeAll(&parts, chunks...)
		if len(a) != len(c) {
			t.Fatalf("%d frames whole, %d split", len(a), len(c))
		}
		for i, fr := range a {
			if !bytes.Equal(fr.Bytes, c[i].Bytes) {
				t.Fatalf("frame %d: %s vs %s", i, fr, c[i])
			}
			ok := false
			switch fr.Kind {
			case PelcoD:
				ok = len(fr.Bytes) == lenD && sumD(fr.Bytes) == fr.Bytes[6]
			case PelcoP:
				ok = len(fr.Bytes) == lenP && xorP(fr.Bytes) == fr.Bytes[7] && fr.Bytes[6] == etxP
			case Hikvision:
				ok = len(fr.Bytes) == lenHik && sumHik(fr.Bytes) == fr.Bytes[7]
			}
			if !ok {
				t.Fatalf("invalid frame %v %s", fr.Kind, fr)
			}
		}
	})
}

func BenchmarkDecoder(b *testing.B) {
	var stream []byte
	for i := range 1000 {
		stream = append(stream, EncodeD(byte(i), 0, 4, 0x20, 0)...)
		stream = append(stream, hikFrame(byte(i), 6, 0x20, 0)...)
		stream = append(stream, "noise"...)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		var d Decoder
		n := 0
		d.Write(stream, func(Frame) { n++ })
		if n != 2000 {
			b.Fatalf("%d frames", n)
		}
	}
}
