package outbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The outbox file is a log of records, each:
//
//	[0:4]   magic "NVO1"
//	[4:8]   payload length n, big-endian (at most MaxRecord)
//	[8:12]  CRC-32C of bytes [4:8] and [12:24+n]
//	[12]    kind: 1 event, 2 mark, 3 drop
//	[13]    for an event its priority (0 in logs written before
//	        priorities, read as MaxPriority); zero otherwise
//	[14:16] zero
//	[16:24] seq, big-endian: the event's sequence number, or for a mark
//	        the sequence number through which every event is done; zero
//	        for a drop
//	[24:]   payload: the event's message; for a mark the counters (see
//	        encodeMark); for a drop the sequence numbers of the events
//	        dropped, 8 bytes each, big-endian
//
// A record whose magic, length, kind or checksum is wrong is corrupt: the
// reader skips to the next valid record, and a torn tail (a record cut
// short by a crash) is truncated. Whether a valid record makes sense (a
// sequence number in range, a mark's counters) is decided by load.
const (
	headerLen = 24
	// markLenV1 is the mark of logs written before priorities: dropped,
	// last.
	markLenV1 = 16
	// markLen is the mark: dropped, last, damaged, write errors, then
	// dropped per priority.
	markLen = 32 + 8*NumPriorities
	// MaxRecord is the largest payload one record may hold.
	MaxRecord = 1 << 20
)

const (
	kindEvent byte = 1
	kindMark  byte = 2
	kindDrop  byte = 3
)

var (
	magic      = [4]byte{'N', 'V', 'O', '1'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// record is one decoded record; for an event, payload is the message.
type record struct {
	kind    byte
	prio    byte // an event's priority as stored (0: written before priorities)
	seq     uint64
	payload []byte
}

// mark is the decoded payload of a mark record: the outbox's durable
// counters.
type mark struct {
	acked, dropped, last uint64
	damaged              uint64 // records found damaged, ever
	writeErrors          uint64 // writes that failed, ever
	droppedBy            [NumPriorities]uint64
}

func encodeMark(m mark) record {
	p := make([]byte, markLen)
	binary.BigEndian.PutUint64(p[0:8], m.dropped)
	binary.BigEndian.PutUint64(p[8:16], m.last)
	binary.BigEndian.PutUint64(p[16:24], m.damaged)
	binary.BigEndian.PutUint64(p[24:32], m.writeErrors)
	for i, n := range m.droppedBy {
		binary.BigEndian.PutUint64(p[32+8*i:], n)
	}
	return record{kind: kindMark, seq: m.acked, payload: p}
}

// decodeMark decodes a mark, of this version or the one before
// priorities. A mark whose sequence numbers are out of range or
// contradict each other is an error: it was not written by Append.
func decodeMark(r record) (mark, error) {
	if len(r.payload) != markLen && len(r.payload) != markLenV1 {
		return mark{}, fmt.Errorf("mark payload is %d bytes, want %d", len(r.payload), markLen)
	}
	m := mark{
		acked:   r.seq,
		dropped: binary.BigEndian.Uint64(r.payload[0:8]),
		last:    binary.BigEndian.Uint64(r.payload[8:16]),
	}
	if len(r.payload) == markLen {
		m.damaged = binary.BigEndian.Uint64(r.payload[16:24])
		m.writeErrors = binary.BigEndian.Uint64(r.payload[24:32])
		for i := range m.droppedBy {
			m.droppedBy[i] = binary.BigEndian.Uint64(r.payload[32+8*i:])
		}
	}
	if m.last > MaxSeq || m.acked > m.last {
		return mark{}, fmt.Errorf("mark says %d done of %d issued: out of range", m.acked, m.last)
	}
	return m, nil
}

// encodeDrop is the record saying that the events seqs were dropped.
func encodeDrop(seqs []uint64) record {
	p := make([]byte, 0, 8*len(seqs))
	for _, s := range seqs {
		p = binary.BigEndian.AppendUint64(p, s)
	}
	return record{kind: kindDrop, payload: p}
}

// decodeDrop returns the sequence numbers of a drop record.
func decodeDrop(r record) ([]uint64, error) {
	if len(r.payload) == 0 || len(r.payload)%8 != 0 || r.seq != 0 {
		return nil, fmt.Errorf("drop record of %d bytes", len(r.payload))
	}
	out := make([]uint64, 0, len(r.payload)/8)
	for i := 0; i < len(r.payload); i += 8 {
		s := binary.BigEndian.Uint64(r.payload[i:])
		if s == 0 || s > MaxSeq {
			return nil, fmt.Errorf("drop record names seq %d: out of range", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// appendRecord appends the encoding of r to b.
func appendRecord(b []byte, r record) []byte {
	var h [headerLen]byte
	copy(h[0:4], magic[:])
	binary.BigEndian.PutUint32(h[4:8], uint32(len(r.payload)))
	h[12] = r.kind
	h[13] = r.prio
	binary.BigEndian.PutUint64(h[16:24], r.seq)
	crc := crc32.Update(0, castagnoli, h[4:8])
	crc = crc32.Update(crc, castagnoli, h[12:24])
	crc = crc32.Update(crc, castagnoli, r.payload)
	binary.BigEndian.PutUint32(h[8:12], crc)
	b = append(b, h[:]...)
	return append(b, r.payload...)
}

var (
	errTorn    = errors.New("record cut short")
	errCorrupt = errors.New("corrupt record")
)

// readRecord decodes the record at off of r (size bytes in all). It
// returns errTorn when the record runs past size, errCorrupt when its
// magic, length, kind or checksum is wrong, or an I/O error.
func readRecord(r io.ReaderAt, size, off int64, buf []byte) (record, []byte, error) {
	if size-off < headerLen {
		return record{}, buf, errTorn
	}
	var h [headerLen]byte
	if _, err := r.ReadAt(h[:], off); err != nil {
		return record{}, buf, err
	}
	if !bytes.Equal(h[0:4], magic[:]) {
		return record{}, buf, errCorrupt
	}
	n := binary.BigEndian.Uint32(h[4:8])
	kind := h[12]
	if n > MaxRecord || h[14]|h[15] != 0 {
		return record{}, buf, errCorrupt
	}
	switch {
	case kind == kindEvent && Priority(h[13]) <= MaxPriority:
	case (kind == kindMark || kind == kindDrop) && h[13] == 0:
	default:
		return record{}, buf, errCorrupt
	}
	if size-off-headerLen < int64(n) {
		return record{}, buf, errTorn
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if n > 0 {
		if _, err := r.ReadAt(buf, off+headerLen); err != nil {
			return record{}, buf, err
		}
	}
	crc := crc32.Update(0, castagnoli, h[4:8])
	crc = crc32.Update(crc, castagnoli, h[12:24])
	crc = crc32.Update(crc, castagnoli, buf)
	if crc != binary.BigEndian.Uint32(h[8:12]) {
		return record{}, buf, errCorrupt
	}
	return record{kind: kind, prio: h[13], seq: binary.BigEndian.Uint64(h[16:24]), payload: buf}, buf, nil
}

// scanned is one valid record found by scan, with its offset.
type scanned struct {
	record
	off int64
}

// scanResult is what scan found in a log.
type scanResult struct {
	end     int64 // the offset after the last valid record: where the log continues
	skipped int64 // bytes of corrupt records skipped before end
	corrupt int   // stretches of corrupt records skipped before end
	// tailCorrupt says the bytes after end (if any) begin with a corrupt
	// record rather than one cut short: damage, not a crash while writing.
	tailCorrupt bool
}

// scan walks the log in r (size bytes), calling fn for each valid record in
// order; fn must copy the payload if it keeps it. Corrupt stretches are
// skipped up to the next valid record; a stretch with no valid record after
// it is a torn tail, left out of end.
func scan(r io.ReaderAt, size int64, fn func(scanned) error) (scanResult, error) {
	var res scanResult
	var buf []byte
	off := int64(0)
	for off < size {
		rec, b, err := readRecord(r, size, off, buf)
		buf = b
		switch {
		case err == nil:
			if err := fn(scanned{rec, off}); err != nil {
				return res, err
			}
			off += headerLen + int64(len(rec.payload))
			res.end = off
			continue
		case errors.Is(err, errTorn), errors.Is(err, errCorrupt):
		default:
			return res, err
		}
		err0 := err
		next, err := findNext(r, size, off+1, &buf)
		if err != nil {
			return res, err
		}
		if next < 0 {
			// A tail with no valid record: everything from res.end on is
			// dropped.
			res.tailCorrupt = errors.Is(err0, errCorrupt)
			return res, nil
		}
		res.skipped += next - off
		res.corrupt++
		off = next
	}
	return res, nil
}

// findNext returns the offset of the next valid record at or after from,
// or -1 when there is none.
func findNext(r io.ReaderAt, size, from int64, buf *[]byte) (int64, error) {
	const chunk = 64 << 10
	win := make([]byte, chunk+len(magic)-1)
	for base := from; base < size; base += chunk {
		n := int64(len(win))
		if size-base < n {
			n = size - base
		}
		if _, err := r.ReadAt(win[:n], base); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		w := win[:n]
		for i := 0; ; {
			j := bytes.Index(w[i:], magic[:])
			if j < 0 || int64(i+j) >= chunk {
				break
			}
			cand := base + int64(i+j)
			_, b, err := readRecord(r, size, cand, *buf)
			*buf = b
			if err == nil {
				return cand, nil
			}
			if !errors.Is(err, errTorn) && !errors.Is(err, errCorrupt) {
				return 0, err
			}
			i += j + 1
		}
	}
	return -1, nil
}
