package outbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuf is a slog handler target tests can read.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLog() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

// newDir returns an outbox directory whose sequence file says that no
// number was issued yet, so that its sequence numbers start at 1 (a
// directory without one starts above the clock).
func newDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	if err := (&seqFile{path: seqPath(dir)}).create(0); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t *testing.T, dir string, lim Limits) *Outbox {
	t.Helper()
	log, _ := newLog()
	o, err := Open(dir, lim, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func payload(seq uint64) ([]byte, error) { return []byte(fmt.Sprintf(`{"seq":%d}`, seq)), nil }

func appendN(t *testing.T, o *Outbox, n int) {
	t.Helper()
	for range n {
		if _, err := o.Append(MaxPriority, payload); err != nil {
			t.Fatal(err)
		}
	}
}

func seqs(t *testing.T, o *Outbox) []uint64 {
	t.Helper()
	ms, err := o.Next(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, m := range ms {
		want, _ := payload(m.Seq)
		if !bytes.Equal(m.Payload, want) {
			t.Fatalf("message %d holds %q, want %q", m.Seq, m.Payload, want)
		}
		out = append(out, m.Seq)
	}
	return out
}

func span(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAppendNextAckReopen(t *testing.T) {
	dir := newDir(t)
	o := open(t, dir, Limits{})
	appendN(t, o, 10)
	if got := seqs(t, o); !equal(got, span(1, 10)) {
		t.Fatalf("queued %v", got)
	}
	ms, _ := o.Next(4, 3)
	if len(ms) != 3 || ms[0].Seq != 5 || ms[2].Seq != 7 {
		t.Fatalf("Next(4, 3) = %v", ms)
	}
	if err := o.Ack(6); err != nil {
		t.Fatal(err)
	}
	if err := o.Ack(3); err != nil { // already gone: a no-op
		t.Fatal(err)
	}
	if got := seqs(t, o); !equal(got, span(7, 10)) {
		t.Fatalf("after Ack(6): %v", got)
	}
	o.Close()
	o = open(t, dir, Limits{})
	if got := seqs(t, o); !equal(got, span(7, 10)) {
		t.Fatalf("after reopen: %v", got)
	}
	seq, err := o.Append(MaxPriority, payload)
	if err != nil || seq != 11 {
		t.Fatalf("Append after reopen = %d, %v; want 11 (one above the whole log's last)", seq, err)
	}
	if st := o.Stats(); st.Queued != 5 || st.LastSeq != 11 || st.Dropped != 0 || st.Damaged != 0 || st.WriteErr != nil {
		t.Fatalf("stats %+v", st)
	}
	if _, err := o.Append(0, payload); err == nil {
		t.Fatal("priority 0 accepted")
	}
	if _, err := o.Append(MaxPriority+1, payload); err == nil {
		t.Fatal("priority above MaxPriority accepted")
	}
}

func TestSeqNeverGoesBack(t *testing.T) {
	dir := newDir(t)
	o := open(t, dir, Limits{})
	big := func(seq uint64) ([]byte, error) { return bytes.Repeat([]byte{'x'}, 4096), nil }
	for range 100 { // enough acknowledged bytes to force a compaction
		seq, err := o.Append(MaxPriority, big)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Ack(seq); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > compactSlack+8192 {
		t.Errorf("log is %d bytes with nothing queued: not compacted", fi.Size())
	}
	o.Close()
	o = open(t, dir, Limits{})
	if st := o.Stats(); st.Queued != 0 || st.LastSeq != 100 {
		t.Fatalf("after reopen: %+v", st)
	}
	if seq, _ := o.Append(MaxPriority, payload); seq != 101 {
		t.Fatalf("next seq = %d, want 101", seq)
	}
}

// prioPayload appends a message of priority p and returns its seq (0
// when it was refused).
func appendPrio(t *testing.T, o *Outbox, p Priority) uint64 {
	t.Helper()
	seq, err := o.Append(p, payload)
	if errors.Is(err, ErrFull) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestFullDropsByPriority: a full outbox drops the lowest priority first
// and, among equals, the newest (a new message of a priority nothing
// queued is below is refused). The holes and the counters survive a
// reopen.
func TestFullDropsByPriority(t *testing.T) {
	dir := newDir(t)
	lim := Limits{MaxEvents: 5}
	o := open(t, dir, lim)
	for _, p := range []Priority{1, 1, 1, 6, 6} { // seqs 1..5
		appendPrio(t, o, p)
	}
	steps := []struct {
		prio  Priority
		seq   uint64 // 0: refused
		queue []uint64
	}{
		{6, 6, []uint64{1, 2, 4, 5, 6}}, // the newest of priority 1 (3) goes
		{3, 7, []uint64{1, 4, 5, 6, 7}}, // then 2
		{1, 0, []uint64{1, 4, 5, 6, 7}}, // equal to the lowest: refused, 1 stays
		{6, 8, []uint64{4, 5, 6, 7, 8}}, // the last of priority 1
		{6, 9, []uint64{4, 5, 6, 8, 9}}, // priority 3 before 6
		{6, 0, []uint64{4, 5, 6, 8, 9}}, // all equal: the new one is refused
		{2, 0, []uint64{4, 5, 6, 8, 9}},
	}
	for i, s := range steps {
		if got := appendPrio(t, o, s.prio); got != s.seq {
			t.Fatalf("step %d: Append(%d) = %d, want %d", i, s.prio, got, s.seq)
		}
		if got := seqs(t, o); !equal(got, s.queue) {
			t.Fatalf("step %d: queued %v, want %v", i, got, s.queue)
		}
	}
	want := [NumPriorities]uint64{1: 4, 2: 1, 3: 1, 6: 1}
	st := o.Stats()
	if st.Dropped != 7 || st.DroppedBy != want || st.LastSeq != 9 || st.LastDrop.IsZero() {
		t.Fatalf("stats %+v, want 7 dropped %v", st, want)
	}
	o.Close()
	o = open(t, dir, lim)
	if got := seqs(t, o); !equal(got, []uint64{4, 5, 6, 8, 9}) {
		t.Fatalf("after reopen %v", got)
	}
	if st := o.Stats(); st.Dropped != 7 || st.DroppedBy != want || st.LastSeq != 9 {
		t.Fatalf("after reopen %+v", st)
	}

	// The byte bound: 10-byte payloads, room for 3; a 15-byte message of
	// a higher priority pushes out two (the newest first).
	o2 := open(t, newDir(t), Limits{MaxBytes: 30})
	ten := func(uint64) ([]byte, error) { return []byte("0123456789"), nil }
	for range 3 {
		if _, err := o2.Append(2, ten); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o2.Append(2, ten); !errors.Is(err, ErrFull) {
		t.Fatalf("a fourth of equal priority: %v, want ErrFull", err)
	}
	if _, err := o2.Append(5, func(uint64) ([]byte, error) { return make([]byte, 15), nil }); err != nil {
		t.Fatal(err)
	}
	if st := o2.Stats(); st.Queued != 2 || st.Bytes != 25 || st.Dropped != 3 {
		t.Fatalf("byte bound: %+v", st)
	}
	ms, _ := o2.Next(0, 10)
	if len(ms) != 2 || ms[0].Seq != 1 || ms[1].Seq != 4 {
		t.Fatalf("byte bound kept %v, want seqs 1 and 4", ms)
	}
	_, err := o2.Append(MaxPriority, func(uint64) ([]byte, error) { return make([]byte, 31), nil })
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("31 bytes into a 30-byte outbox: %v, want ErrTooLarge", err)
	}
	if st := o2.Stats(); st.Queued != 2 || st.LastSeq != 4 {
		t.Fatalf("a refused message changed the outbox: %+v", st)
	}
}

// TestFloodKeepsWhatCameFirst is the flood: five devices are
// queued, then 5,000 low-priority messages arrive with nothing
// acknowledged. The five are all still there, and so is a high-priority
// message that comes in the middle of the flood.
func TestFloodKeepsWhatCameFirst(t *testing.T) {
	o := open(t, newDir(t), Limits{MaxEvents: 500})
	var real []uint64
	for _, p := range []Priority{6, 6, 6, 4, 2} {
		real = append(real, appendPrio(t, o, p))
	}
	refused := 0
	for i := range 5000 {
		if i == 2500 {
			real = append(real, appendPrio(t, o, 6))
			continue
		}
		if appendPrio(t, o, 2) == 0 {
			refused++
		}
	}
	got := seqs(t, o)
	have := map[uint64]bool{}
	for _, s := range got {
		have[s] = true
	}
	for _, s := range real {
		if s == 0 || !have[s] {
			t.Fatalf("message %d of the real devices is gone (kept %d)", s, len(got))
		}
	}
	st := o.Stats()
	if len(got) != 500 || st.Dropped != 5+5000-500 || st.DroppedBy[2] != st.Dropped || refused+1 != int(st.Dropped) {
		t.Fatalf("kept %d, stats %+v, refused %d", len(got), st, refused)
	}
}

func TestBuildErrorLeavesNoTrace(t *testing.T) {
	o := open(t, newDir(t), Limits{})
	boom := errors.New("boom")
	if _, err := o.Append(MaxPriority, func(uint64) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if seq, _ := o.Append(MaxPriority, payload); seq != 1 {
		t.Fatalf("seq after a failed build = %d, want 1", seq)
	}
}

func TestLockedByAnotherOpen(t *testing.T) {
	dir := newDir(t)
	open(t, dir, Limits{})
	_, err := Open(dir, Limits{}, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v", err)
	}
}

// copyDir copies the log and the sequence file of src into a new
// directory, the log replaced by b when b is not nil.
func copyDir(t *testing.T, src string, b []byte, withSeq bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if b == nil {
		var err error
		if b, err = os.ReadFile(filepath.Join(src, logName)); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeLog(dir, b); err != nil {
		t.Fatal(err)
	}
	if withSeq {
		s, err := os.ReadFile(seqPath(src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(seqPath(dir), s, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTornTail cuts the log at every byte of its last record, as a crash
// in the middle of a write would, and checks that reopening keeps every
// record before the cut, says so in the log, and goes on appending above
// the sequence file's bound (the log is not whole: its last number cannot
// be trusted); the torn record is gone for good.
func TestTornTail(t *testing.T) {
	src := newDir(t)
	o := open(t, src, Limits{})
	appendN(t, o, 3)
	if err := o.Ack(1); err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 1) // seq 4, the last record
	o.Close()
	full, err := os.ReadFile(filepath.Join(src, logName))
	if err != nil {
		t.Fatal(err)
	}
	last := int64(len(full)) - headerLen - int64(len(`{"seq":4}`))
	for cut := last + 1; cut < int64(len(full)); cut++ {
		dir := copyDir(t, src, full[:cut], true)
		log, lb := newLog()
		o, err := Open(dir, Limits{}, log)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if got := seqs(t, o); !equal(got, span(2, 3)) {
			t.Fatalf("cut at %d: queued %v, want [2 3]", cut, got)
		}
		if !strings.Contains(lb.String(), "torn record") {
			t.Fatalf("cut at %d: no log line: %s", cut, lb.String())
		}
		if seq, err := o.Append(MaxPriority, payload); err != nil || seq != seqReserve+1 {
			t.Fatalf("cut at %d: Append = %d, %v; want %d", cut, seq, err, seqReserve+1)
		}
		o.Close()
		o = open(t, dir, Limits{})
		if got := seqs(t, o); !equal(got, []uint64{2, 3, seqReserve + 1}) {
			t.Fatalf("cut at %d, reopened: %v", cut, got)
		}
		if seq, _ := o.Append(MaxPriority, payload); seq != seqReserve+2 {
			t.Fatalf("cut at %d, reopened: Append = %d; the log is whole again, want %d", cut, seq, seqReserve+2)
		}
		o.Close()
	}
}

// TestCorruptMiddle flips bytes inside a record in the middle of the log:
// that record is skipped with a log line and counted once (not again at
// the next start), the ones after it are kept, and the sequence numbers
// go on above the bound in the sequence file, or above the clock without
// one.
func TestCorruptMiddle(t *testing.T) {
	src := newDir(t)
	o := open(t, src, Limits{})
	appendN(t, o, 5)
	o.Close()
	full, _ := os.ReadFile(filepath.Join(src, logName))
	recLen := headerLen + len(`{"seq":1}`)
	for _, at := range []int{2 * recLen, 2*recLen + 5, 2*recLen + 9, 2*recLen + 12, 2*recLen + 20, 2*recLen + headerLen + 3} {
		for _, withSeq := range []bool{true, false} {
			b := bytes.Clone(full)
			b[at] ^= 0x40
			dir := copyDir(t, src, b, withSeq)
			log, lb := newLog()
			before := time.Now()
			o, err := Open(dir, Limits{}, log)
			if err != nil {
				t.Fatalf("flip at %d: %v", at, err)
			}
			if got := seqs(t, o); !equal(got, []uint64{1, 2, 4, 5}) {
				t.Errorf("flip at %d: queued %v, want [1 2 4 5]", at, got)
			}
			if !strings.Contains(lb.String(), "damaged") {
				t.Errorf("flip at %d: no log line", at)
			}
			if st := o.Stats(); st.Damaged != 1 {
				t.Errorf("flip at %d: damaged %d, want 1", at, st.Damaged)
			}
			seq, err := o.Append(MaxPriority, payload)
			switch {
			case err != nil:
				t.Fatal(err)
			case withSeq && seq != seqReserve+1:
				t.Errorf("flip at %d: seq %d, want %d (above the sequence file)", at, seq, seqReserve+1)
			case !withSeq && seq <= uint64(before.UnixMicro()):
				t.Errorf("flip at %d, no sequence file: seq %d, want above the clock %d", at, seq, before.UnixMicro())
			}
			o.Close()
			o = open(t, dir, Limits{})
			if st := o.Stats(); st.Damaged != 1 || st.LastSeq != seq {
				t.Errorf("flip at %d, reopened: %+v, want damaged 1 and last %d", at, st, seq)
			}
			o.Close()
		}
	}
	// Garbage alone is not an outbox, but it is no crash either.
	dir := copyDir(t, src, bytes.Repeat([]byte("NVO1garbage"), 1000), true)
	o = open(t, dir, Limits{})
	if st := o.Stats(); st.Queued != 0 {
		t.Fatalf("garbage gave %+v", st)
	}
	if seq, _ := o.Append(MaxPriority, payload); seq != seqReserve+1 {
		t.Fatalf("seq %d", seq)
	}
}

// TestSeqSurvivesOutboxLoss: the outbox directory is destroyed, or its
// log emptied, while the sequence file next to it survives: the numbers
// go on above every one issued. Then the sequence file is damaged.
func TestSeqSurvivesOutboxLoss(t *testing.T) {
	dir := newDir(t)
	o := open(t, dir, Limits{})
	appendN(t, o, 10)
	o.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	o = open(t, dir, Limits{})
	if st := o.Stats(); st.Queued != 0 || st.LastSeq != seqReserve {
		t.Fatalf("after losing the directory: %+v, want last %d", st, seqReserve)
	}
	if seq, _ := o.Append(MaxPriority, payload); seq != seqReserve+1 {
		t.Fatalf("after losing the directory: seq %d", seq)
	}
	o.Close()
	if err := writeLog(dir, nil); err != nil {
		t.Fatal(err)
	}
	o = open(t, dir, Limits{})
	if seq, _ := o.Append(MaxPriority, payload); seq != 2*seqReserve+1 {
		t.Fatalf("after an emptied log: seq %d, want %d", seq, 2*seqReserve+1)
	}
	o.Close()

	// One slot invalid, with the log gone: whichever slot it was (the
	// one being written, or the higher), the numbers go on above every
	// one issued.
	b, _ := os.ReadFile(seqPath(dir))
	for slot := range 2 {
		c := bytes.Clone(b)
		for i := range seqSlotLen {
			c[slot*seqSlotLen+i] = 0xff
		}
		os.WriteFile(seqPath(dir), c, 0o600)
		os.RemoveAll(dir)
		o = open(t, dir, Limits{})
		if st := o.Stats(); st.LastSeq < 2*seqReserve+1 || st.Damaged != 0 {
			t.Fatalf("slot %d invalid: %+v, want last at least %d", slot, st, 2*seqReserve+1)
		}
		o.Close()
	}
	o = open(t, dir, Limits{})
	seq, _ := o.Append(MaxPriority, payload)
	o.Close()

	// The whole file damaged, the log whole: the log says where to go on,
	// and the damage is counted.
	os.WriteFile(seqPath(dir), []byte("not a sequence file"), 0o600)
	log, lb := newLog()
	o, err := Open(dir, Limits{}, log)
	if err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.LastSeq != seq || st.Damaged != 1 {
		t.Fatalf("damaged sequence file, whole log: %+v, want last %d, damaged 1", st, seq)
	}
	if !strings.Contains(lb.String(), "sequence file is damaged") {
		t.Errorf("no log line: %s", lb)
	}
	if s, _ := o.Append(MaxPriority, payload); s != seq+1 {
		t.Fatalf("seq %d, want %d", s, seq+1)
	}
	o.Close()

	// Both lost: above the clock, never back.
	os.WriteFile(seqPath(dir), nil, 0o600)
	os.RemoveAll(dir)
	before := time.Now().UnixMicro()
	o = open(t, dir, Limits{})
	if s, _ := o.Append(MaxPriority, payload); s <= uint64(before) || s <= seq {
		t.Fatalf("everything lost: seq %d, want above the clock %d", s, before)
	}
	if st := o.Stats(); st.Damaged != 1 {
		t.Fatalf("damaged %d, want 1: the empty sequence file (the count before went with the log)", st.Damaged)
	}
}

// TestCraftedSeq: records with sequence numbers out of range (2^64-2, a
// mark saying more is done than issued) are damaged: skipped, counted,
// never a wrap. MaxSeq itself is issued once, then Append says so.
func TestCraftedSeq(t *testing.T) {
	var b []byte
	b = appendRecord(b, record{kind: kindEvent, seq: 1, payload: []byte(`{"seq":1}`)})
	b = appendRecord(b, record{kind: kindEvent, seq: 1<<64 - 2, payload: []byte("x")})
	b = appendRecord(b, encodeMark(mark{acked: 1<<64 - 2, last: 1<<64 - 2}))
	b = appendRecord(b, encodeMark(mark{acked: 7, last: 3}))
	b = appendRecord(b, encodeDrop([]uint64{0}))
	b = appendRecord(b, record{kind: kindEvent, seq: 0, payload: []byte("zero")})
	dir := copyDir(t, newDir(t), b, true)
	o := open(t, dir, Limits{})
	st := o.Stats()
	if st.Damaged != 5 || st.Queued != 1 || st.LastSeq != 1 {
		t.Fatalf("stats %+v, want 5 damaged, 1 queued, last 1", st)
	}
	if seq, err := o.Append(MaxPriority, payload); err != nil || seq != 2 {
		t.Fatalf("Append = %d, %v", seq, err)
	}
	o.Close()

	b = appendRecord(nil, record{kind: kindEvent, seq: MaxSeq - 1, payload: []byte(`x`)})
	dir = copyDir(t, newDir(t), b, true)
	o = open(t, dir, Limits{})
	if seq, err := o.Append(MaxPriority, payload); err != nil || seq != MaxSeq {
		t.Fatalf("Append = %d, %v; want MaxSeq", seq, err)
	}
	if _, err := o.Append(MaxPriority, payload); !errors.Is(err, ErrSeqExhausted) {
		t.Fatalf("Append after MaxSeq: %v", err)
	}
	o.Close()
	o = open(t, dir, Limits{})
	if _, err := o.Append(MaxPriority, payload); !errors.Is(err, ErrSeqExhausted) {
		t.Fatalf("Append after MaxSeq, reopened: %v", err)
	}
}

// TestLegacyLog reads a log written before priorities and the sequence
// file: its events rank highest, its 16-byte mark counts, and the numbers
// go on from its last.
func TestLegacyLog(t *testing.T) {
	legacyMark := record{kind: kindMark, seq: 1, payload: make([]byte, markLenV1)}
	legacyMark.payload[7] = 2  // dropped 2
	legacyMark.payload[15] = 3 // last 3
	var b []byte
	for s := uint64(1); s <= 3; s++ {
		p, _ := payload(s)
		b = appendRecord(b, record{kind: kindEvent, seq: s, payload: p})
	}
	b = appendRecord(b, legacyMark)
	dir := filepath.Join(t.TempDir(), "outbox")
	os.MkdirAll(dir, 0o700)
	writeLog(dir, b)
	o := open(t, dir, Limits{MaxEvents: 2})
	if st := o.Stats(); st.Queued != 2 || st.Dropped != 2 || st.LastSeq != 3 || st.Damaged != 0 {
		t.Fatalf("legacy log: %+v", st)
	}
	if got := appendPrio(t, o, MaxPriority-1); got != 0 {
		t.Fatalf("a lower priority pushed out a legacy event: seq %d", got)
	}
	if got := appendPrio(t, o, MaxPriority); got != 0 {
		t.Fatalf("an equal priority pushed out a legacy event: seq %d", got)
	}
	o.Close()
	o = open(t, dir, Limits{})
	if got := appendPrio(t, o, MaxPriority); got != 4 {
		t.Fatalf("seq %d, want 4", got)
	}
}

// TestInjectedWriteFailure: every write fails. Append holds the messages
// in memory (ErrHeld, the cause wrapped), Stats says so, the memory bound
// keeps priorities, Ack still takes effect; once writes succeed, Retry
// writes the held messages in order with the next sequence numbers, and
// everything is there after a reopen.
func TestInjectedWriteFailure(t *testing.T) {
	dir := newDir(t)
	o := open(t, dir, Limits{MaxHeld: 3})
	appendN(t, o, 2)
	o.failWrite = func() error { return fmt.Errorf("injected: %w", syscall.ENOSPC) }
	t0 := time.Now()
	var errs []error
	for _, p := range []Priority{1, 1, 6, 6, 1} {
		_, err := o.Append(p, payload)
		errs = append(errs, err)
	}
	for i, err := range errs[:4] {
		if !errors.Is(err, ErrHeld) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append %d: %v, want ErrHeld wrapping ENOSPC", i, err)
		}
	}
	if !errors.Is(errs[4], ErrFull) {
		t.Fatalf("a low-priority message into a full memory: %v, want ErrFull", errs[4])
	}
	st := o.Stats()
	if st.Held != 3 || st.Queued != 2 || !st.DiskFull || st.WriteErr == nil || st.WriteErrSince.Before(t0) ||
		st.WriteErrors == 0 || st.DroppedBy[1] != 2 || st.LastSeq != 2 {
		t.Fatalf("while failing: %+v", st)
	}
	if err := o.Ack(1); err != nil {
		t.Fatal(err)
	}
	if got := seqs(t, o); !equal(got, []uint64{2}) {
		t.Fatalf("after Ack(1) while failing: %v", got)
	}
	if n, err := o.Retry(); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Retry while failing = %d, %v", n, err)
	}
	o.failWrite = nil
	if n, err := o.Retry(); n != 3 || err != nil {
		t.Fatalf("Retry = %d, %v; want 3 written", n, err)
	}
	st = o.Stats()
	if st.Held != 0 || st.WriteErr != nil || st.DiskFull || !st.WriteErrSince.IsZero() || st.LastSeq != 5 {
		t.Fatalf("after Retry: %+v", st)
	}
	if got := seqs(t, o); !equal(got, span(2, 5)) {
		t.Fatalf("after Retry: %v", got)
	}
	errorsSeen := st.WriteErrors
	o.Close()
	o = open(t, dir, Limits{})
	if got := seqs(t, o); !equal(got, span(2, 5)) {
		t.Fatalf("reopened: %v", got)
	}
	if st := o.Stats(); st.WriteErrors != errorsSeen || st.DroppedBy[1] != 2 {
		t.Fatalf("reopened: %+v, want the counters kept", st)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips
// when that is not allowed (fails under NVRGUARD_CI=1).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("NVRGUARD_CI") == "1" {
			t.Fatalf("mount a tmpfs (the disk-full test needs root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full, and returns
// its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestDiskFullTmpfs: the outbox lives on a 64 KiB tmpfs that fills up.
// Appends are held and Stats says the disk is full; once space is back,
// every held message is written, in order, and survives a reopen.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, 64<<10)
	dir := filepath.Join(mnt, "mqtt-outbox")
	o := open(t, dir, Limits{})
	first := appendPrio(t, o, 6)
	filler := fill(t, mnt)
	var held, written int
	for i := 0; held < 20 && i < 1000; i++ {
		seq, err := o.Append(6, payload)
		switch {
		case err == nil && held == 0:
			written++ // room left in the log's last page
			_ = seq
		case errors.Is(err, ErrHeld) && errors.Is(err, syscall.ENOSPC):
			held++
		default:
			t.Fatalf("append %d on a full disk: %d, %v", i, seq, err)
		}
	}
	st := o.Stats()
	if held != 20 || st.Held != 20 || !st.DiskFull || st.WriteErr == nil {
		t.Fatalf("on a full disk: %d held, stats %+v", held, st)
	}
	if n, err := o.Retry(); n != 0 || err == nil {
		t.Fatalf("Retry on a full disk = %d, %v", n, err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if n, err := o.Retry(); n != 20 || err != nil {
		t.Fatalf("Retry with space = %d, %v", n, err)
	}
	want := span(first, first+uint64(written)+20)
	if got := seqs(t, o); !equal(got, want) {
		t.Fatalf("queued %v, want %v", got, want)
	}
	if st := o.Stats(); st.Held != 0 || st.DiskFull || st.WriteErr != nil {
		t.Fatalf("after Retry: %+v", st)
	}
	o.Close()
	o = open(t, dir, Limits{})
	if got := seqs(t, o); !equal(got, want) {
		t.Fatalf("reopened: %v, want %v", got, want)
	}
}

// TestKill9 runs an appender in another process, kills it with SIGKILL
// at random moments, and checks after each kill that every message whose
// Append had returned is there, in order, with no gap within what one
// process appended, and that no number is ever issued twice.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := newDir(t)
	var acked, prevLast uint64
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$")
		cmd.Env = append(os.Environ(), "OUTBOX_HELPER_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			if errors.Is(err, syscall.ENOEXEC) {
				t.Skip("cannot run the test binary as a child here (an ARM binary under qemu-user): TestKill9 runs natively in make test")
			}
			t.Fatal(err)
		}
		var first, reported uint64
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(time.Duration(50+round*37) * time.Millisecond)
		for sc.Scan() {
			if n, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
				if first == 0 {
					first = n
				}
				reported = n
			}
			if time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if first == 0 {
			t.Fatalf("round %d: the appender reported nothing", round)
		}
		if first <= prevLast {
			t.Fatalf("round %d: the appender started at %d, but %d was issued before", round, first, prevLast)
		}
		o := open(t, dir, Limits{})
		got := seqs(t, o)
		st := o.Stats()
		if st.LastSeq < reported {
			t.Fatalf("round %d: last seq %d, but %d was reported appended", round, st.LastSeq, reported)
		}
		if len(got) == 0 || got[0] <= acked {
			t.Fatalf("round %d: queued %v after %d acknowledged", round, got, acked)
		}
		var mine []uint64
		for _, s := range got {
			if s >= first {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 || !equal(mine, span(first, mine[len(mine)-1])) || mine[len(mine)-1] < reported {
			t.Fatalf("round %d: this round's messages %d..%d are not %d..(at least %d) without gaps", round, mine[0], mine[len(mine)-1], first, reported)
		}
		prevLast = st.LastSeq
		acked = got[len(got)/2]
		if err := o.Ack(acked); err != nil {
			t.Fatal(err)
		}
		o.Close()
	}
}

// TestHelperAppender is the process TestKill9 kills: it appends forever,
// printing each sequence number once Append has returned.
func TestHelperAppender(t *testing.T) {
	dir := os.Getenv("OUTBOX_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	o, err := Open(dir, Limits{MaxEvents: 1 << 20, MaxBytes: 1 << 30}, nil)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	for {
		seq, err := o.Append(MaxPriority, payload)
		if err != nil {
			fmt.Println("append:", err)
			os.Exit(1)
		}
		fmt.Println(seq)
	}
}

// writeLog replaces the log of dir with b.
func writeLog(dir string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, logName), b, 0o600)
}
