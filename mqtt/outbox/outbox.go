// Package outbox provides a bounded, crash-safe, on-disk queue of messages
// with durable sequence numbers that only grow.
//
// Every Append is written and fsync'd before it returns; an acknowledged
// prefix is removed with Ack. The queue survives kill -9 at any point: a
// record torn by a crash is detected by its checksum and dropped with a
// log line, a damaged record is skipped and counted.
//
// Each message has a priority. When the queue is full the message of the
// lowest priority is dropped, and among equals the newest: the new
// message itself when nothing queued ranks below it. So a flood of
// low-priority messages never pushes out one of higher priority, and the
// messages queued before a flood of equals (the devices that were there
// first) are kept. Every drop is counted, by priority.
//
// When the disk refuses a write (full, or failing), Append keeps the
// message in memory (bounded, with the same priorities), returns an error
// wrapping ErrHeld, and writes it, in order, once a write succeeds again
// (Retry, or the next Append). Stats says so meanwhile.
//
// Sequence numbers never go back: not after every message was
// acknowledged and the log compacted, not when the log is lost or
// damaged. A sequence file next to the directory (<dir>.seq) bounds every
// number issued; see Open for how a start picks the next one.
package outbox

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Priority ranks a message: when the outbox is full, lower priorities go
// first. Valid priorities are 1 to MaxPriority.
type Priority uint8

// Priority bounds.
const (
	// NumPriorities is the size of per-priority tables such as
	// Stats.DroppedBy (indexed by Priority; index 0 is unused).
	NumPriorities = 8
	// MaxPriority is the highest priority. Messages of a log written
	// before priorities existed read as MaxPriority.
	MaxPriority Priority = NumPriorities - 1
)

// MaxSeq is the highest sequence number: 2^53-1, the largest integer a
// JSON number holds exactly in every decoder (JavaScript's included). A
// record with a higher one is damaged; the outbox never wraps.
const MaxSeq = 1<<53 - 1

// Limits bound an outbox. Zero values take the defaults.
type Limits struct {
	MaxEvents int   // messages kept at most (default 10000)
	MaxBytes  int64 // payload bytes kept at most (default 16 MiB)
	// MaxHeld and MaxHeldBytes bound the messages held in memory while
	// the disk refuses writes (defaults 1000 and 1 MiB).
	MaxHeld      int
	MaxHeldBytes int64
}

// Default limits.
const (
	DefaultMaxEvents    = 10000
	DefaultMaxBytes     = 16 << 20
	DefaultMaxHeld      = 1000
	DefaultMaxHeldBytes = 1 << 20
)

// compactSlack is how many bytes of acknowledged or dropped records the
// file may carry before it is rewritten (and at least as many as are live).
const compactSlack = 64 << 10

// compactBackoff is how long a failed compaction waits before the next try.
const compactBackoff = 30 * time.Second

// logEvery is the least time between two log lines about drops or
// failed writes.
const logEvery = 10 * time.Second

// saneClock is the earliest wall clock trusted to seed sequence numbers.
var saneClock = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrTooLarge is returned by Append for a message that can never fit.
var ErrTooLarge = errors.New("outbox: message too large")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("outbox: closed")

// ErrHeld is wrapped by the error Append returns when the message could
// not be written (the write error is wrapped too): the message is held in
// memory and written when writes succeed again. It is lost if the process
// ends first, or dropped (and counted) if the memory bound needs its room
// for a message of higher priority.
var ErrHeld = errors.New("outbox: not written; held in memory and retried")

// ErrFull is returned by Append when the outbox (or, while writes fail,
// the memory that holds messages) is full of messages of the same or
// higher priority: the message is dropped and counted.
var ErrFull = errors.New("outbox: full of messages of equal or higher priority; message dropped")

// ErrSeqExhausted is returned by Append once MaxSeq has been issued.
var ErrSeqExhausted = errors.New("outbox: sequence numbers exhausted")

// Message is one queued message.
type Message struct {
	Seq     uint64
	Payload []byte
}

// Stats describe an outbox.
type Stats struct {
	Queued int   // messages written and waiting for their acknowledgement
	Bytes  int64 // their payload bytes
	// Held and HeldBytes are the messages held in memory because writes
	// fail; they have no sequence number yet.
	Held      int
	HeldBytes int64
	Dropped   uint64                // messages dropped because the outbox was full, ever
	DroppedBy [NumPriorities]uint64 // Dropped by priority
	LastDrop  time.Time             // the last drop since Open; zero if none
	Damaged   uint64                // damaged records (and sequence files) found, ever
	// WriteErrors counts failed writes, ever. WriteErr is the error of the
	// last write when it failed (nil once a write succeeds again), since
	// WriteErrSince; DiskFull says it was ENOSPC or EDQUOT.
	WriteErrors   uint64
	WriteErr      error
	WriteErrSince time.Time
	DiskFull      bool
	LastSeq       uint64 // the highest sequence number issued
}

type entry struct {
	seq  uint64
	off  int64 // offset of the payload in the file
	n    int
	prio Priority
}

// held is a message held in memory after a failed write. Its payload is
// built again, with its sequence number, when it is written.
type held struct {
	prio  Priority
	build func(seq uint64) ([]byte, error)
	n     int
}

// Outbox is an open outbox directory. Its methods are safe for concurrent use.
type Outbox struct {
	dir string
	lim Limits
	log *slog.Logger

	mu        sync.Mutex
	f         *os.File
	lock      *os.File
	seq       *seqFile
	size      int64
	tornTail  bool // the file runs on past size with a torn record
	live      []entry
	liveBytes int64
	nprio     [NumPriorities]int // live messages per priority
	held      []held
	heldBytes int64
	m         mark
	markDirty bool   // m holds counters not written yet
	reserved  uint64 // the bound the sequence file holds
	werr      error
	werrSince time.Time
	lastDrop  time.Time
	logged    map[string]time.Time // rate limit of log lines
	force     bool                 // compact at the next chance
	compactAt time.Time            // no compaction before (after a failure)

	// failWrite, when set (by tests), is called before every write; an
	// error it returns is the write's error.
	failWrite func() error
}

const (
	logName  = "outbox.log"
	tmpName  = "outbox.log.tmp"
	lockName = "lock"
)

// Open opens (or creates) the outbox in dir. It takes an exclusive lock on
// the directory, so that two processes never share one outbox, and
// recovers the queue from the log, skipping torn or damaged records with a
// log line.
//
// The next sequence number is one above the log's last when the log is
// whole (non-empty, nothing torn or damaged). Otherwise it cannot be
// trusted and the bound in the sequence file (<dir>.seq) is used; without
// a valid sequence file either (a fresh install, or everything lost), the
// wall clock in microseconds, once it is past 2025: a gateway reinstalled
// under the same id goes on above the numbers it used before. Only with
// neither file nor a sane clock can a number repeat (logged).
func Open(dir string, lim Limits, log *slog.Logger) (*Outbox, error) {
	if lim.MaxEvents <= 0 {
		lim.MaxEvents = DefaultMaxEvents
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxHeld <= 0 {
		lim.MaxHeld = DefaultMaxHeld
	}
	if lim.MaxHeldBytes <= 0 {
		lim.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	o := &Outbox{dir: dir, lim: lim, log: log, lock: lock, logged: map[string]time.Time{}}
	if err := o.load(time.Now()); err != nil {
		lock.Close()
		return nil, err
	}
	return o, nil
}

// seqPath is the sequence file of the outbox in dir.
func seqPath(dir string) string { return filepath.Clean(dir) + ".seq" }

// load reads the sequence file and the log, rebuilds the queue and picks
// the sequence number to go on from.
func (o *Outbox) load(now time.Time) error {
	_ = os.Remove(filepath.Join(o.dir, tmpName)) // an interrupted compaction
	_ = os.Remove(seqPath(o.dir) + ".tmp")
	sf, bound, sst, err := openSeqFile(seqPath(o.dir))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(o.dir, logName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		sf.close()
		return fmt.Errorf("outbox: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		sf.close()
		return fmt.Errorf("outbox: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	var events []entry
	var m mark
	var bad int
	dropped := map[uint64]bool{}
	res, err := scan(f, fi.Size(), func(r scanned) error {
		switch r.kind {
		case kindMark:
			mk, err := decodeMark(r.record)
			if err != nil {
				bad++
				return nil
			}
			m.acked = max(m.acked, mk.acked)
			m.dropped = max(m.dropped, mk.dropped)
			m.last = max(m.last, mk.last)
			m.damaged = max(m.damaged, mk.damaged)
			m.writeErrors = max(m.writeErrors, mk.writeErrors)
			for i := range m.droppedBy {
				m.droppedBy[i] = max(m.droppedBy[i], mk.droppedBy[i])
			}
		case kindDrop:
			seqs, err := decodeDrop(r.record)
			if err != nil {
				bad++
				return nil
			}
			for _, s := range seqs {
				dropped[s] = true
			}
		case kindEvent:
			if r.seq == 0 || r.seq > MaxSeq {
				bad++ // never issued: a crafted or damaged record
				return nil
			}
			if n := len(events); n > 0 && r.seq <= events[n-1].seq {
				bad++ // out of order: never written by Append
				return nil
			}
			p := Priority(r.prio)
			if p == 0 {
				p = MaxPriority // written before priorities
			}
			events = append(events, entry{seq: r.seq, off: r.off + headerLen, n: len(r.payload), prio: p})
			m.last = max(m.last, r.seq)
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("read %s: %w", logName, err))
	}
	torn := res.end < fi.Size()
	damage := bad + res.corrupt
	if torn && res.tailCorrupt {
		damage++
	}
	if damage > 0 {
		o.log.Error("outbox: skipped damaged records", "records", damage, "bytes", res.skipped, "tail_bytes", fi.Size()-res.end)
	}
	if torn && !res.tailCorrupt {
		o.log.Warn("outbox: a torn record at the end of the log (a crash while writing) is dropped", "offset", res.end, "bytes", fi.Size()-res.end)
	}
	sstDamage := 0
	if sst == seqDamaged {
		sstDamage = 1
		damage++
		o.log.Error("outbox: the sequence file is damaged", "path", seqPath(o.dir))
	}
	o.f, o.seq, o.size, o.tornTail = f, sf, res.end, torn
	for _, e := range events {
		if e.seq > m.acked && !dropped[e.seq] {
			o.live = append(o.live, e)
			o.liveBytes += int64(e.n)
			o.nprio[e.prio]++
		}
	}

	// Where the sequence numbers go on.
	last := m.last
	whole := res.end > 0 && !torn && damage == sstDamage
	floor, why := last, ""
	clock := uint64(0)
	if !now.Before(saneClock) {
		clock = min(uint64(now.UnixMicro()), MaxSeq-seqReserve)
	}
	switch {
	case whole:
	case sst == seqOK:
		floor, why = max(last, bound), "the log is not whole: going on above the sequence file's bound"
	case sst == seqOneSlot:
		floor, why = max(last, bound, clock), "the log is not whole and a slot of the sequence file is invalid: going on above its bound and the clock (µs)"
	case clock > 0:
		floor, why = max(last, clock), "neither the log nor the sequence file is whole: going on above the clock (µs)"
	case last == 0 && res.end == 0 && sst == seqMissing:
		o.log.Warn("outbox: a new outbox and no trusted clock: sequence numbers start at 1; a subscriber that saw an earlier life of this gateway drops them")
	default:
		why = "neither the log nor the sequence file is whole, and the clock is not set: going on from the log; numbers may repeat"
	}
	if sst == seqOneSlot {
		o.log.Warn("outbox: one slot of the sequence file is invalid (a crash while writing it, or damage)", "path", seqPath(o.dir))
	}
	if sst == seqOK || sst == seqOneSlot {
		o.reserved = bound
	}
	m.last = floor
	m.damaged += uint64(damage)
	o.m = m
	if floor != last || damage > 0 || torn {
		// Recorded at once (a compaction writes a whole new log with the
		// counters): the next start must not see this log as whole with a
		// lower last number, nor count the same damage again.
		o.force, o.markDirty = true, true
	}
	if why != "" {
		o.log.Warn("outbox: "+why, "next_seq", floor+1, "log_last", last, "seq_file", sst.String(), "seq_file_bound", bound)
	}
	o.maybeCompact(now)
	return nil
}

// Append assigns the next sequence number, builds the message for it with
// build, and writes it durably. build may be called more than once (with
// a placeholder sequence number when the message is held).
//
// When the outbox is full, the queued message of the lowest priority
// below prio (the newest of them) is dropped to make room, and counted;
// with none below prio the new message is dropped instead and Append
// returns ErrFull. When the write fails the message is held in memory and
// Append returns an error wrapping ErrHeld and the write error; while
// messages are held, new ones are held behind them, so the order stays.
func (o *Outbox) Append(prio Priority, build func(seq uint64) ([]byte, error)) (uint64, error) {
	if prio == 0 || prio > MaxPriority {
		return 0, fmt.Errorf("outbox: priority %d is out of range 1..%d", prio, MaxPriority)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return 0, ErrClosed
	}
	now := time.Now()
	if len(o.held) > 0 {
		o.retryHeldLocked(now)
	}
	if len(o.held) > 0 {
		return 0, o.holdLocked(prio, build, o.werr, now)
	}
	seq, err := o.putLocked(prio, build, now)
	var we *writeError
	if errors.As(err, &we) {
		return 0, o.holdLocked(prio, build, err, now)
	}
	return seq, err
}

// writeError is a write that failed.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// putLocked writes one message to the log, dropping what its priority
// allows when the outbox is full.
func (o *Outbox) putLocked(prio Priority, build func(uint64) ([]byte, error), now time.Time) (uint64, error) {
	if o.m.last >= MaxSeq {
		return 0, ErrSeqExhausted
	}
	seq := o.m.last + 1
	p, err := build(seq)
	if err != nil {
		return 0, err
	}
	if len(p) > MaxRecord || int64(len(p)) > o.lim.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(p))
	}
	victims, ok := o.victims(prio, len(p))
	if !ok {
		o.dropLocked(prio, 1, now)
		return 0, ErrFull
	}
	if err := o.reserveLocked(seq, now); err != nil {
		return 0, err
	}
	m := o.m
	var buf []byte
	if len(victims) > 0 {
		seqs := make([]uint64, len(victims))
		for i, v := range victims {
			seqs[i] = o.live[v].seq
			m.dropped++
			m.droppedBy[o.live[v].prio]++
		}
		buf = appendRecord(buf, encodeDrop(seqs))
	}
	if len(victims) > 0 || o.markDirty {
		buf = appendRecord(buf, encodeMark(m))
	}
	off := o.size + int64(len(buf)) + headerLen
	buf = appendRecord(buf, record{kind: kindEvent, prio: byte(prio), seq: seq, payload: p})
	if err := o.write(buf, now); err != nil {
		return 0, err
	}
	o.markDirty = false
	if len(victims) > 0 {
		o.m.dropped, o.m.droppedBy = m.dropped, m.droppedBy
		o.removeLocked(victims)
		o.lastDrop = now
		o.logRated(now, "outbox full: dropped queued messages of lower priority", "dropped", len(victims), "total_dropped", o.m.dropped)
	}
	o.m.last = seq
	o.live = append(o.live, entry{seq: seq, off: off, n: len(p), prio: prio})
	o.liveBytes += int64(len(p))
	o.nprio[prio]++
	o.maybeCompact(now)
	return seq, nil
}

// victims returns the indexes in live of the messages to drop so that a
// message of priority prio and n bytes fits, lowest priority first and,
// among equals, the newest; ok is false when the new message itself must
// go (nothing below prio is left to drop).
func (o *Outbox) victims(prio Priority, n int) (idx []int, ok bool) {
	count, bytes := len(o.live)+1, o.liveBytes+int64(n)
	if count <= o.lim.MaxEvents && bytes <= o.lim.MaxBytes {
		return nil, true
	}
	nprio := o.nprio
	next := len(o.live) - 1 // where the scan for the current level resumes
	level := Priority(0)
	for count > o.lim.MaxEvents || bytes > o.lim.MaxBytes {
		low := Priority(1)
		for low < prio && nprio[low] == 0 {
			low++
		}
		if low >= prio {
			return nil, false
		}
		if low != level {
			level, next = low, len(o.live)-1
		}
		for o.live[next].prio != low {
			next--
		}
		idx = append(idx, next)
		nprio[low]--
		count--
		bytes -= int64(o.live[next].n)
		next--
	}
	sort.Ints(idx)
	return idx, true
}

// removeLocked removes the live messages at the sorted indexes idx.
func (o *Outbox) removeLocked(idx []int) {
	out := o.live[:idx[0]]
	j := 0
	for i := idx[0]; i < len(o.live); i++ {
		if j < len(idx) && idx[j] == i {
			e := o.live[i]
			o.liveBytes -= int64(e.n)
			o.nprio[e.prio]--
			j++
			continue
		}
		out = append(out, o.live[i])
	}
	o.live = out
}

// dropLocked counts n messages of priority prio dropped without being
// written; the counters are written with the next record.
func (o *Outbox) dropLocked(prio Priority, n int, now time.Time) {
	o.m.dropped += uint64(n)
	o.m.droppedBy[prio] += uint64(n)
	o.markDirty = true
	o.lastDrop = now
	o.logRated(now, "outbox full: dropped a new message (nothing of lower priority is queued)", "priority", int(prio), "total_dropped", o.m.dropped)
}

// holdLocked holds a message that could not be written, making room by
// priority within the memory bound.
func (o *Outbox) holdLocked(prio Priority, build func(uint64) ([]byte, error), cause error, now time.Time) error {
	p, err := build(0)
	if err != nil {
		return err
	}
	if len(p) > MaxRecord || int64(len(p)) > o.lim.MaxBytes {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(p))
	}
	for len(o.held)+1 > o.lim.MaxHeld || o.heldBytes+int64(len(p)) > o.lim.MaxHeldBytes {
		v := -1
		for i := len(o.held) - 1; i >= 0; i-- {
			if o.held[i].prio < prio && (v < 0 || o.held[i].prio < o.held[v].prio) {
				v = i
			}
		}
		if v < 0 {
			o.dropLocked(prio, 1, now)
			return fmt.Errorf("%w (writes fail: %w)", ErrFull, cause)
		}
		o.dropLocked(o.held[v].prio, 1, now)
		o.heldBytes -= int64(o.held[v].n)
		o.held = append(o.held[:v], o.held[v+1:]...)
	}
	o.held = append(o.held, held{prio: prio, build: build, n: len(p)})
	o.heldBytes += int64(len(p))
	return fmt.Errorf("%w: %w", ErrHeld, cause)
}

// Retry writes the messages held after failed writes, oldest first, and
// any counters not written yet. It returns how many messages it wrote,
// and the write error when some are still held.
func (o *Outbox) Retry() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return 0, ErrClosed
	}
	return o.retryLocked(time.Now())
}

func (o *Outbox) retryLocked(now time.Time) (int, error) {
	n, err := o.retryHeldLocked(now)
	if err != nil {
		return n, err
	}
	if o.markDirty {
		if err := o.write(appendRecord(nil, encodeMark(o.m)), now); err != nil {
			return n, err
		}
		o.markDirty = false
	}
	return n, nil
}

// retryHeldLocked writes the held messages, oldest first, until a write
// fails.
func (o *Outbox) retryHeldLocked(now time.Time) (int, error) {
	n := 0
	for len(o.held) > 0 {
		h := o.held[0]
		_, err := o.putLocked(h.prio, h.build, now)
		var we *writeError
		if errors.As(err, &we) {
			return n, err
		}
		o.held = o.held[1:]
		o.heldBytes -= int64(h.n)
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrFull):
			// counted by putLocked
		default:
			o.log.Error("outbox: a held message could not be written and is lost", "err", err)
		}
	}
	o.held = nil
	if n > 0 {
		o.log.Info("outbox: writes succeed again; held messages written", "messages", n)
	}
	return n, nil
}

// reserveLocked makes the sequence file cover seq before it is issued.
func (o *Outbox) reserveLocked(seq uint64, now time.Time) error {
	if seq <= o.reserved {
		return nil
	}
	bound := min(seq-1+seqReserve, MaxSeq)
	if err := o.seq.write(bound, o.failWrite); err != nil {
		return o.writeFailed(err, now)
	}
	o.reserved = bound
	return nil
}

// write appends b to the log and syncs it; on failure the log is cut back
// to where it was, so that a half-written record never stays in the
// middle. A failure is recorded (Stats) and returned as a *writeError.
func (o *Outbox) write(b []byte, now time.Time) error {
	if o.failWrite != nil {
		if err := o.failWrite(); err != nil {
			return o.writeFailed(fmt.Errorf("outbox: write: %w", err), now)
		}
	}
	if _, err := o.f.WriteAt(b, o.size); err != nil {
		o.cutBack()
		return o.writeFailed(fmt.Errorf("outbox: write: %w", err), now)
	}
	if err := o.f.Sync(); err != nil {
		o.cutBack()
		return o.writeFailed(fmt.Errorf("outbox: sync: %w", err), now)
	}
	o.size += int64(len(b))
	if o.tornTail {
		// What was written covers the start of the torn record; the
		// rest of it goes now.
		if err := o.f.Truncate(o.size); err == nil && o.f.Sync() == nil {
			o.tornTail = false
		}
	}
	if o.werr != nil {
		o.log.Info("outbox: writes succeed again", "failed_since", o.werrSince)
	}
	o.werr, o.werrSince = nil, time.Time{}
	return nil
}

// cutBack removes a half-written record. A torn tail from before the
// start stays (to the next start it says the log is not whole) until a
// write succeeds.
func (o *Outbox) cutBack() {
	if !o.tornTail {
		_ = o.f.Truncate(o.size)
	}
}

func (o *Outbox) writeFailed(err error, now time.Time) error {
	if o.werr == nil {
		o.werrSince = now
	}
	o.werr = err
	o.m.writeErrors++
	o.markDirty = true
	o.logRated(now, "outbox: a write failed; messages are held in memory and retried", "err", err, "disk_full", diskFull(err))
	return &writeError{err}
}

// logRated logs a warning at most once per logEvery for each msg.
func (o *Outbox) logRated(now time.Time, msg string, args ...any) {
	if t, ok := o.logged[msg]; ok && now.Sub(t) < logEvery {
		return
	}
	o.logged[msg] = now
	o.log.Warn(msg, args...)
}

// Next returns up to max queued messages with a sequence number above
// after, oldest first.
func (o *Outbox) Next(after uint64, max int) ([]Message, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil, ErrClosed
	}
	i := sort.Search(len(o.live), func(i int) bool { return o.live[i].seq > after })
	var out []Message
	for ; i < len(o.live) && len(out) < max; i++ {
		e := o.live[i]
		p := make([]byte, e.n)
		if _, err := o.f.ReadAt(p, e.off); err != nil {
			return out, fmt.Errorf("outbox: read message %d: %w", e.seq, err)
		}
		out = append(out, Message{Seq: e.seq, Payload: p})
	}
	return out, nil
}

// Ack removes every queued message with a sequence number up to and
// including through. Acknowledging what is already gone is a no-op. The
// acknowledgement is written and synced; when that write fails it still
// takes effect (the messages are not read again) and is written with the
// next record that can be: after a crash meanwhile, those messages are
// delivered again (at least once). It returns an error only after Close.
func (o *Outbox) Ack(through uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return ErrClosed
	}
	through = min(through, o.m.last)
	if through <= o.m.acked {
		return nil
	}
	now := time.Now()
	o.m.acked = through
	i := sort.Search(len(o.live), func(i int) bool { return o.live[i].seq > through })
	for _, e := range o.live[:i] {
		o.liveBytes -= int64(e.n)
		o.nprio[e.prio]--
	}
	o.live = append(o.live[:0:0], o.live[i:]...)
	if err := o.write(appendRecord(nil, encodeMark(o.m)), now); err != nil {
		return nil // recorded in Stats; written with the next record
	}
	o.markDirty = false
	o.maybeCompact(now)
	return nil
}

// Stats returns the outbox's counters.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Stats{
		Queued: len(o.live), Bytes: o.liveBytes, Held: len(o.held), HeldBytes: o.heldBytes,
		Dropped: o.m.dropped, DroppedBy: o.m.droppedBy, LastDrop: o.lastDrop, Damaged: o.m.damaged,
		WriteErrors: o.m.writeErrors, WriteErr: o.werr, WriteErrSince: o.werrSince, DiskFull: diskFull(o.werr),
		LastSeq: o.m.last,
	}
}

// Close writes what is held (if it can), closes the log and releases the
// directory lock. Messages still held are lost, with a log line.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	o.retryLocked(time.Now())
	if len(o.held) > 0 {
		o.log.Error("outbox: closing with messages that could not be written: they are lost", "messages", len(o.held), "err", o.werr)
	}
	err := errors.Join(o.f.Close(), o.seq.close(), o.lock.Close())
	o.f = nil
	return err
}

// maybeCompact rewrites the log with only a mark and the live messages once
// the acknowledged part outweighs them (or at once after a start that
// found the log damaged, torn or behind). The new log replaces the old one
// atomically by rename, so a crash leaves one or the other. A failure is
// logged and tried again later: the old log is still good.
func (o *Outbox) maybeCompact(now time.Time) {
	liveRec := o.liveBytes + int64(len(o.live))*headerLen
	dead := o.size - liveRec
	if !o.force && (dead <= compactSlack || dead <= liveRec) {
		return
	}
	if now.Before(o.compactAt) {
		return
	}
	if err := o.compact(); err != nil {
		o.compactAt = now.Add(compactBackoff)
		o.logRated(now, "outbox: compaction failed; the log is kept as it is and compacted later", "err", err)
		return
	}
	o.force, o.markDirty, o.tornTail = false, false, false
}

func (o *Outbox) compact() error {
	if o.failWrite != nil {
		if err := o.failWrite(); err != nil {
			return fmt.Errorf("outbox: compact: %w", err)
		}
	}
	tmp := filepath.Join(o.dir, tmpName)
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	fail := func(err error) error {
		nf.Close()
		os.Remove(tmp)
		return fmt.Errorf("outbox: compact: %w", err)
	}
	w := bufio.NewWriterSize(nf, 64<<10)
	rec := appendRecord(nil, encodeMark(o.m))
	off := int64(len(rec))
	if _, err := w.Write(rec); err != nil {
		return fail(err)
	}
	live := make([]entry, 0, len(o.live))
	var p []byte
	for _, e := range o.live {
		if cap(p) < e.n {
			p = make([]byte, e.n)
		}
		p = p[:e.n]
		if _, err := o.f.ReadAt(p, e.off); err != nil {
			return fail(err)
		}
		live = append(live, entry{seq: e.seq, off: off + headerLen, n: e.n, prio: e.prio})
		rec = appendRecord(rec[:0], record{kind: kindEvent, prio: byte(e.prio), seq: e.seq, payload: p})
		if _, err := w.Write(rec); err != nil {
			return fail(err)
		}
		off += int64(len(rec))
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := nf.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, filepath.Join(o.dir, logName)); err != nil {
		return fail(err)
	}
	if err := syncDir(o.dir); err != nil {
		o.log.Warn("outbox: sync directory after compaction", "err", err)
	}
	o.f.Close()
	o.f, o.live, o.size = nf, live, off
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
