package outbox

import (
	"bytes"
	"errors"
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
	f.Add(appendRecord(appendRecord(nil, record{kind: kindEvent, prio: 6, seq: 2, payload: []byte("p")}), encodeDrop([]uint64{2})))
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
		if res.end < 0 || res.end > int64(len(data)) || res.skipped < 0 || res.skipped > res.end || (res.skipped > 0) != (res.corrupt > 0) {
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
			got2 = append(got2, scanned{record{kind: r.kind, prio: r.prio, seq: r.seq, payload: bytes.Clone(r.payload)}, r.off})
			return nil
		})
		if err != nil || res2.skipped != 0 || res2.end != int64(len(again)) || len(got2) != len(got) {
			t.Fatalf("rescan: %v %+v, %d records, want %d", err, res2, len(got2), len(got))
		}
		for i := range got {
			if got[i].kind != got2[i].kind || got[i].prio != got2[i].prio || got[i].seq != got2[i].seq || !bytes.Equal(got[i].payload, got2[i].payload) {
				t.Fatalf("record %d differs after a rewrite", i)
			}
		}
	})
}

// FuzzOpen opens an outbox whose log holds arbitrary bytes: Open must
// succeed (a corrupt log loses records, never the outbox); the queue is in
// order and below the last number issued, which is in range; the outbox
// goes on appending above it (or says why not); and a reopen never goes
// back.
func FuzzOpen(f *testing.F) {
	f.Add(appendRecord(nil, record{kind: kindEvent, seq: 7, payload: []byte("x")}))
	f.Add(appendRecord(appendRecord(nil, record{kind: kindEvent, prio: 3, seq: 9, payload: []byte("y")}), encodeMark(mark{acked: 2, last: 9, droppedBy: [NumPriorities]uint64{1: 4}})))
	f.Add(appendRecord(nil, record{kind: kindEvent, seq: 1<<64 - 2, payload: []byte("x")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "outbox")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, logName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		lim := Limits{MaxEvents: 50, MaxBytes: 4096}
		o, err := Open(dir, lim, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer o.Close()
		before := o.Stats()
		if before.LastSeq > MaxSeq {
			t.Fatalf("last seq %d out of range", before.LastSeq)
		}
		ms, err := o.Next(0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ms {
			if (i > 0 && ms[i].Seq <= ms[i-1].Seq) || ms[i].Seq > before.LastSeq || ms[i].Seq == 0 {
				t.Fatalf("queue out of order or range: %d at %d, last %d", ms[i].Seq, i, before.LastSeq)
			}
		}
		seq, err := o.Append(MaxPriority, payload)
		switch {
		case errors.Is(err, ErrFull):
			if st := o.Stats(); st.Queued < lim.MaxEvents && st.Bytes+int64(len(`{"seq":}`)+20) <= lim.MaxBytes {
				t.Fatalf("ErrFull with %+v", st)
			}
		case errors.Is(err, ErrSeqExhausted):
			if before.LastSeq != MaxSeq {
				t.Fatalf("ErrSeqExhausted at %d", before.LastSeq)
			}
		case err != nil:
			t.Fatal(err)
		case seq != before.LastSeq+1:
			t.Fatalf("Append gave %d after last %d", seq, before.LastSeq)
		}
		last := o.Stats().LastSeq
		o.Close()
		o, err = Open(dir, lim, nil)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if st := o.Stats(); st.LastSeq < last {
			t.Fatalf("reopened at %d after %d: went back", st.LastSeq, last)
		}
	})
}

// FuzzSeqFile reads arbitrary bytes as the sequence file: the reader never
// fails on them and says ok only for a bound in range; a write then reads
// back as the bound written, whatever the file held.
func FuzzSeqFile(f *testing.F) {
	f.Add(append(encodeSeqSlot(1024), encodeSeqSlot(2048)...))
	f.Add(append(encodeSeqSlot(7), make([]byte, seqSlotLen)...))
	f.Add(append(encodeSeqSlot(MaxSeq), encodeSeqSlot(1<<64-1)...))
	f.Add([]byte("NVS1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "outbox.seq")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, bound, st, err := openSeqFile(path)
		if err != nil {
			t.Fatalf("openSeqFile: %v", err)
		}
		defer s.close()
		switch st {
		case seqOK, seqOneSlot:
			if len(data) != seqFileLen || bound > MaxSeq {
				t.Fatalf("%v with %d bytes, bound %d", st, len(data), bound)
			}
		case seqDamaged:
			if bound != 0 {
				t.Fatalf("damaged, bound %d", bound)
			}
		default:
			t.Fatalf("state %v for a file that exists", st)
		}
		next := min(bound+seqReserve, MaxSeq)
		if err := s.write(next, nil); err != nil {
			t.Fatal(err)
		}
		s2, got, st2, err := openSeqFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.close()
		if got != next || st2 == seqDamaged || st2 == seqMissing {
			t.Fatalf("wrote %d, read %d (%v)", next, got, st2)
		}
	})
}
