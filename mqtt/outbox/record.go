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
//	[12]    kind: 1 event, 2 mark
//	[13:16] zero
//	[16:24] seq, big-endian: the event's sequence number, or for a mark
//	        the sequence number through which every event is done
//	[24:]   payload: the event's message, or for a mark 16 bytes
//	        (dropped count, last issued sequence number)
//
// A record whose magic, length or checksum is wrong is corrupt: the reader
// skips to the next valid record, and a torn tail (a record cut short by a
// crash) is truncated.
const (
	headerLen = 24
	markLen   = 16
	// MaxRecord is the largest payload one record may hold.
	MaxRecord = 1 << 20
)

const (
	kindEvent byte = 1
	kindMark  byte = 2
)

var (
	magic      = [4]byte{'N', 'V', 'O', '1'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// record is one decoded record; for an event, payload is the message.
type record struct {
	kind    byte
	seq     uint64
	payload []byte
}

// mark is the decoded payload of a mark record.
type mark struct {
	acked, dropped, last uint64
}

func encodeMark(m mark) record {
	p := make([]byte, markLen)
	binary.BigEndian.PutUint64(p[0:8], m.dropped)
	binary.BigEndian.PutUint64(p[8:16], m.last)
	return record{kind: kindMark, seq: m.acked, payload: p}
}

func decodeMark(r record) (mark, error) {
	if len(r.payload) != markLen {
		return mark{}, fmt.Errorf("mark payload is %d bytes, want %d", len(r.payload), markLen)
	}
	return mark{
		acked:   r.seq,
		dropped: binary.BigEndian.Uint64(r.payload[0:8]),
		last:    binary.BigEndian.Uint64(r.payload[8:16]),
	}, nil
}

// appendRecord appends the encoding of r to b.
func appendRecord(b []byte, r record) []byte {
	var h [headerLen]byte
	copy(h[0:4], magic[:])
	binary.BigEndian.PutUint32(h[4:8], uint32(len(r.payload)))
	h[12] = r.kind
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
	if n > MaxRecord || (kind != kindEvent && kind != kindMark) || h[13]|h[14]|h[15] != 0 {
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
	return record{kind: kind, seq: binary.BigEndian.Uint64(h[16:24]), payload: buf}, buf, nil
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
		next, err := findNext(r, size, off+1, &buf)
		if err != nil {
			return res, err
		}
		if next < 0 {
			return res, nil // torn tail: everything from res.end on is dropped
		}
		res.skipped += next - off
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
