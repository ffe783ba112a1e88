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
		if _, err := o.Append(payload); err != nil {
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
	dir := t.TempDir()
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
	seq, err := o.Append(payload)
	if err != nil || seq != 11 {
		t.Fatalf("Append after reopen = %d, %v; want 11", seq, err)
	}
	if st := o.Stats(); st.Queued != 5 || st.LastSeq != 11 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSeqNeverGoesBack(t *testing.T) {
	dir := t.TempDir()
	o := open(t, dir, Limits{})
	big := func(seq uint64) ([]byte, error) { return bytes.Repeat([]byte{'x'}, 4096), nil }
	for range 100 { // enough acknowledged bytes to force a compaction
		seq, err := o.Append(big)
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
	if seq, _ := o.Append(payload); seq != 101 {
		t.Fatalf("next seq = %d, want 101", seq)
	}
}

func TestFullDropsOldest(t *testing.T) {
	dir := t.TempDir()
	o := open(t, dir, Limits{MaxEvents: 5})
	appendN(t, o, 8)
	if got := seqs(t, o); !equal(got, span(4, 8)) {
		t.Fatalf("queued %v, want 4..8", got)
	}
	if st := o.Stats(); st.Dropped != 3 {
		t.Fatalf("dropped %d, want 3", st.Dropped)
	}
	o.Close()
	o = open(t, dir, Limits{MaxEvents: 5})
	if got := seqs(t, o); !equal(got, span(4, 8)) {
		t.Fatalf("after reopen %v, want 4..8", got)
	}
	if st := o.Stats(); st.Dropped != 3 || st.LastSeq != 8 {
		t.Fatalf("after reopen %+v", st)
	}

	// The byte bound: 10-byte payloads, room for 3.
	o2 := open(t, t.TempDir(), Limits{MaxBytes: 30})
	ten := func(uint64) ([]byte, error) { return []byte("0123456789"), nil }
	for range 5 {
		if _, err := o2.Append(ten); err != nil {
			t.Fatal(err)
		}
	}
	if st := o2.Stats(); st.Queued != 3 || st.Bytes != 30 || st.Dropped != 2 {
		t.Fatalf("byte bound: %+v", st)
	}
	_, err := o2.Append(func(uint64) ([]byte, error) { return make([]byte, 31), nil })
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("31 bytes into a 30-byte outbox: %v, want ErrTooLarge", err)
	}
	if st := o2.Stats(); st.Queued != 3 || st.LastSeq != 5 {
		t.Fatalf("a refused message changed the outbox: %+v", st)
	}
}

func TestBuildErrorLeavesNoTrace(t *testing.T) {
	o := open(t, t.TempDir(), Limits{})
	boom := errors.New("boom")
	if _, err := o.Append(func(uint64) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if seq, _ := o.Append(payload); seq != 1 {
		t.Fatalf("seq after a failed build = %d, want 1", seq)
	}
}

func TestLockedByAnotherOpen(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Limits{})
	_, err := Open(dir, Limits{}, nil)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v", err)
	}
}

// TestTornTail cuts the log at every byte of its last record, as a crash
// in the middle of a write would, and checks that reopening keeps every
// record before the cut, says so in the log, and goes on appending.
func TestTornTail(t *testing.T) {
	src := t.TempDir()
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
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, logName), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
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
		if seq, err := o.Append(payload); err != nil || seq != 4 {
			t.Fatalf("cut at %d: Append = %d, %v", cut, seq, err)
		}
		o.Close()
		o = open(t, dir, Limits{})
		if got := seqs(t, o); !equal(got, span(2, 4)) {
			t.Fatalf("cut at %d, reopened: %v", cut, got)
		}
		o.Close()
	}
}

// TestCorruptMiddle flips bytes inside a record in the middle of the log:
// that record is skipped with a log line, the ones after it are kept.
func TestCorruptMiddle(t *testing.T) {
	src := t.TempDir()
	o := open(t, src, Limits{})
	appendN(t, o, 5)
	o.Close()
	full, _ := os.ReadFile(filepath.Join(src, logName))
	recLen := headerLen + len(`{"seq":1}`)
	for _, at := range []int{2 * recLen, 2*recLen + 5, 2*recLen + 9, 2*recLen + 12, 2*recLen + 20, 2*recLen + headerLen + 3} {
		b := bytes.Clone(full)
		b[at] ^= 0x40
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, logName), b, 0o600)
		log, lb := newLog()
		o, err := Open(dir, Limits{}, log)
		if err != nil {
			t.Fatalf("flip at %d: %v", at, err)
		}
		if got := seqs(t, o); !equal(got, []uint64{1, 2, 4, 5}) {
			t.Errorf("flip at %d: queued %v, want [1 2 4 5]", at, got)
		}
		if !strings.Contains(lb.String(), "corrupt") {
			t.Errorf("flip at %d: no log line", at)
		}
		o.Close()
	}
	// Garbage alone is not an outbox, but it is no crash either.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, logName), bytes.Repeat([]byte("NVO1garbage"), 1000), 0o600)
	o = open(t, dir, Limits{})
	if st := o.Stats(); st.Queued != 0 {
		t.Fatalf("garbage gave %+v", st)
	}
	if seq, _ := o.Append(payload); seq != 1 {
		t.Fatalf("seq %d", seq)
	}
}

// TestKill9 runs an appender in another process, kills it with SIGKILL
// at random moments, and checks after each kill that every message whose
// Append had returned is there, in order, with no gap.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	var acked uint64
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
		var reported uint64
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(time.Duration(50+round*37) * time.Millisecond)
		for sc.Scan() {
			if n, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
				reported = n
			}
			if time.Now().After(deadline) {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		o := open(t, dir, Limits{})
		got := seqs(t, o)
		st := o.Stats()
		if st.LastSeq < reported {
			t.Fatalf("round %d: last seq %d, but %d was reported appended", round, st.LastSeq, reported)
		}
		if len(got) == 0 || got[0] != acked+1 || !equal(got, span(acked+1, st.LastSeq)) {
			t.Fatalf("round %d: queued %d..%d (%d), want %d..%d without gaps", round, got[0], got[len(got)-1], len(got), acked+1, st.LastSeq)
		}
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
		seq, err := o.Append(payload)
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
