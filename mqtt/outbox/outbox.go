// Package outbox provides a bounded, crash-safe, on-disk queue of messages
// with durable, monotonically increasing sequence numbers.
//
// Every Append is written and fsync'd before it returns; an acknowledged
// prefix is removed with Ack. The queue survives kill -9 at any point: a
// record torn by a crash is detected by its checksum and dropped with a log
// line. When the queue is full the oldest messages are dropped and counted.
// Sequence numbers never go back, not even after every message was
// acknowledged and the file compacted.
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
)

// Limits bound an outbox. Zero values take the defaults.
type Limits struct {
	MaxEvents int   // messages kept at most (default 10000)
	MaxBytes  int64 // payload bytes kept at most (default 16 MiB)
}

// Default limits.
const (
	DefaultMaxEvents = 10000
	DefaultMaxBytes  = 16 << 20
)

// compactSlack is how many bytes of acknowledged or dropped records the
// file may carry before it is rewritten (and at least as many as are live).
const compactSlack = 64 << 10

// ErrTooLarge is returned by Append for a message that can never fit.
var ErrTooLarge = errors.New("outbox: message too large")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("outbox: closed")

// Message is one queued message.
type Message struct {
	Seq     uint64
	Payload []byte
}

// Stats describe an outbox.
type Stats struct {
	Queued  int    // messages waiting for their acknowledgement
	Bytes   int64  // their payload bytes
	Dropped uint64 // messages dropped because the outbox was full, ever
	LastSeq uint64 // the highest sequence number issued
}

type entry struct {
	seq uint64
	off int64 // offset of the payload in the file
	n   int
}

// Outbox is an open outbox directory. Its methods are safe for concurrent use.
type Outbox struct {
	dir string
	lim Limits
	log *slog.Logger

	mu        sync.Mutex
	f         *os.File
	lock      *os.File
	size      int64
	live      []entry
	liveBytes int64
	m         mark
}

const (
	logName  = "outbox.log"
	tmpName  = "outbox.log.tmp"
	lockName = "lock"
)

// Open opens (or creates) the outbox in dir. It takes an exclusive lock on
// the directory, so that two processes never share one outbox, and
// recovers the queue from the log, dropping torn or corrupt records with a
// log line.
func Open(dir string, lim Limits, log *slog.Logger) (*Outbox, error) {
	if lim.MaxEvents <= 0 {
		lim.MaxEvents = DefaultMaxEvents
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
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
	o := &Outbox{dir: dir, lim: lim, log: log, lock: lock}
	if err := o.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return o, nil
}

// load reads the log, rebuilds the queue and truncates a torn tail.
func (o *Outbox) load() error {
	_ = os.Remove(filepath.Join(o.dir, tmpName)) // an interrupted compaction
	f, err := os.OpenFile(filepath.Join(o.dir, logName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	var events []entry
	var m mark
	var bad int
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
		case kindEvent:
			if n := len(events); n > 0 && r.seq <= events[n-1].seq {
				bad++ // out of order: never written by Append
				return nil
			}
			events = append(events, entry{seq: r.seq, off: r.off + headerLen, n: len(r.payload)})
			m.last = max(m.last, r.seq)
		}
		return nil
	})
	if err != nil {
		f.Close()
		return fmt.Errorf("outbox: read %s: %w", logName, err)
	}
	if res.skipped > 0 || bad > 0 {
		o.log.Error("outbox: skipped corrupt records", "bytes", res.skipped, "records", bad)
	}
	if res.end < fi.Size() {
		o.log.Warn("outbox: dropped a torn record at the end of the log", "offset", res.end, "bytes", fi.Size()-res.end)
		if err := f.Truncate(res.end); err != nil {
			f.Close()
			return fmt.Errorf("outbox: truncate torn tail: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("outbox: %w", err)
		}
	}
	o.f, o.size, o.m = f, res.end, m
	for _, e := range events {
		if e.seq > m.acked {
			o.live = append(o.live, e)
			o.liveBytes += int64(e.n)
		}
	}
	return o.maybeCompact()
}

// Append assigns the next sequence number, builds the message for it with
// build, and writes it durably. When the outbox is full the oldest messages
// are dropped (and counted) to make room.
func (o *Outbox) Append(build func(seq uint64) ([]byte, error)) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return 0, ErrClosed
	}
	seq := o.m.last + 1
	p, err := build(seq)
	if err != nil {
		return 0, err
	}
	if len(p) > MaxRecord || int64(len(p)) > o.lim.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(p))
	}
	m := o.m
	drop := 0
	bytes := o.liveBytes
	for len(o.live)-drop+1 > o.lim.MaxEvents || bytes+int64(len(p)) > o.lim.MaxBytes {
		bytes -= int64(o.live[drop].n)
		m.acked = o.live[drop].seq
		drop++
	}
	var buf []byte
	if drop > 0 {
		m.dropped += uint64(drop)
		buf = appendRecord(buf, encodeMark(m))
	}
	off := o.size + int64(len(buf)) + headerLen
	buf = appendRecord(buf, record{kind: kindEvent, seq: seq, payload: p})
	if err := o.write(buf); err != nil {
		return 0, err
	}
	if drop > 0 {
		o.log.Warn("outbox full: dropped the oldest messages", "dropped", drop, "total_dropped", m.dropped)
		o.live = o.live[drop:]
	}
	m.last = seq
	o.m = m
	o.live = append(o.live, entry{seq: seq, off: off, n: len(p)})
	o.liveBytes = bytes + int64(len(p))
	return seq, o.maybeCompact()
}

// write appends b to the log and syncs it; on failure the log is cut back
// to where it was, so that a half-written record never stays in the middle.
func (o *Outbox) write(b []byte) error {
	if _, err := o.f.WriteAt(b, o.size); err != nil {
		_ = o.f.Truncate(o.size)
		return fmt.Errorf("outbox: write: %w", err)
	}
	if err := o.f.Sync(); err != nil {
		_ = o.f.Truncate(o.size)
		return fmt.Errorf("outbox: sync: %w", err)
	}
	o.size += int64(len(b))
	return nil
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
// including through, durably. Acknowledging what is already gone is a no-op.
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
	m := o.m
	m.acked = through
	if err := o.write(appendRecord(nil, encodeMark(m))); err != nil {
		return err
	}
	o.m = m
	i := sort.Search(len(o.live), func(i int) bool { return o.live[i].seq > through })
	for _, e := range o.live[:i] {
		o.liveBytes -= int64(e.n)
	}
	o.live = append(o.live[:0:0], o.live[i:]...)
	return o.maybeCompact()
}

// Stats returns the outbox's counters.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Stats{Queued: len(o.live), Bytes: o.liveBytes, Dropped: o.m.dropped, LastSeq: o.m.last}
}

// Close closes the log and releases the directory lock.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := errors.Join(o.f.Close(), o.lock.Close())
	o.f = nil
	return err
}

// maybeCompact rewrites the log with only a mark and the live messages once
// the acknowledged part outweighs them. The new log replaces the old one
// atomically by rename, so a crash leaves one or the other.
func (o *Outbox) maybeCompact() error {
	liveRec := o.liveBytes + int64(len(o.live))*headerLen
	dead := o.size - liveRec
	if dead <= compactSlack || dead <= liveRec {
		return nil
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
		live = append(live, entry{seq: e.seq, off: off + headerLen, n: e.n})
		rec = appendRecord(rec[:0], record{kind: kindEvent, seq: e.seq, payload: p})
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
