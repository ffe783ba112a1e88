package outbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzScan feeds arbitrary bytes to the log reader as the content of an
// outbox file. It must never panic; every record it returns must be a
// valid record found at its offset; and the records it returns, written
// out again, must read back the same with nothing skipped.
func FuzzScan(f *testing.F) {
	f.Add(appendRecord(appendRecord(nil, record{kind: kindEvent, seq: 1, payload: []byte(`{"seq":1}`)}), encodeMark(mark{acked: 1, last: 1})))
	f.Add([]byte("NVO1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []scanned
		res, err := scan(bytes.NewReader(data), int64(len(data)), func(r scanned) error {
			r.payload = bytes.Clone(r.payload)
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if res.end < 0 || res.end > int64(len(data)) || res.skipped < 0 || res.skipped > res.end {
			t.Fatalf("scan result %+v for %d bytes", res, len(data))
		}
		var again []byte
		for _, r := range got {
			enc := appendRecord(nil, r.record)
			if r.off+int64(len(enc)) > int64(len(data)) || !bytes.Equal(data[r.off:r.off+int64(len(enc))], enc) {
				t.Fatalf("record at %d does not re-encode to the bytes it came from", r.off)
			}
			again = append(again, enc...)
		}
		var got2 []scanned
		res2, err := scan(bytes.NewReader(again), int64(len(again)), func(r scanned) error {
			got2 = append(got2, scanned{record{r.kind, r.seq, bytes.Clone(r.payload)}, r.off})
			return nil
		})
		if err != nil || res2.skipped != 0 || res2.end != int64(len(again)) || len(got2) != len(got) {
			t.Fatalf("rescan: %v %+v, %d records, want %d", err, res2, len(got2), len(got))
		}
		for i := range got {
			if got[i].kind != got2[i].kind || got[i].seq != got2[i].seq || !bytes.Equal(got[i].payload, got2[i].payload) {
				t.Fatalf("record %d differs after a rewrite", i)
			}
		}
	})
}

// FuzzOpen opens an outbox whose log holds arbitrary bytes: Open must
// succeed (a corrupt log loses records, never the outbox), and the outbox
// must go on appending with a sequence number above every one it kept.
func FuzzOpen(f *testing.F) {
	f.Add(appendRecord(nil, record{kind: kindEvent, seq: 7, payload: []byte("x")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, logName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := Open(dir, Limits{MaxEvents: 50, MaxBytes: 4096}, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer o.Close()
		before := o.Stats()
		ms, err := o.Next(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(ms); i++ {
			if ms[i].Seq <= ms[i-1].Seq {
				t.Fatalf("queue out of order: %d after %d", ms[i].Seq, ms[i-1].Seq)
			}
		}
		seq, err := o.Append(payload)
		if err != nil {
			t.Fatal(err)
		}
		if seq != before.LastSeq+1 || (len(ms) > 0 && seq <= ms[len(ms)-1].Seq) {
			t.Fatalf("Append gave %d after last %d", seq, before.LastSeq)
		}
	})
}
