package pelco

import "bytes"

// Decoder finds frames in a byte stream however it was split into writes,
// and resynchronises after noise or a frame with a bad checksum by
// dropping one byte and looking for the next sync byte.
type Decoder struct {
	buf []byte
	// expecting a reply to this command (nil: passive listening).
	sent []byte
	// anyReply accepts query responses from any address (a capture of
	// replies, where the commands are not known).
	anyReply bool
	// Skipped counts bytes that were not part of any frame.
	Skipped int
	// BadChecksums counts frame-shaped runs whose checksum was wrong.
	BadChecksums int
	// firstBad is the first of them, for error messages.
	firstBad []byte
}

// maxBuffered bounds what the decoder holds while it waits for the rest of
// a frame.
const maxBuffered = 64

// Expect tells the decoder that cmd was just sent: replies to it (the
// 18-byte query response, the 4-byte general reply checked against cmd's
// checksum) are then accepted. Expect(nil) returns to passive decoding.
func (d *Decoder) Expect(cmd []byte) {
	d.sent = bytes.Clone(cmd)
}

// Write feeds p and calls emit for each complete frame. A frame that may
// still be longer than what has arrived is kept until more arrives or Flush.
func (d *Decoder) Write(p []byte, emit func(Frame)) {
	d.buf = append(d.buf, p...)
	d.scan(false, emit)
	if len(d.buf) > maxBuffered {
		d.Skipped += len(d.buf) - maxBuffered
		d.buf = append(d.buf[:0], d.buf[len(d.buf)-maxBuffered:]...)
	}
}

// Flush decodes what is buffered as if no more bytes will come (the end of
// a capture, or a pause on the line), then empties the buffer.
func (d *Decoder) Flush(emit func(Frame)) {
	d.scan(true, emit)
	d.Skipped += len(d.buf)
	d.buf = d.buf[:0]
}

// scan decodes d.buf; with final, shorter frames are accepted even where a
// longer one could still be arriving.
func (d *Decoder) scan(final bool, emit func(Frame)) {
	for {
		i := indexSync(d.buf)
		if i < 0 {
			d.Skipped += len(d.buf)
			d.buf = d.buf[:0]
			return
		}
		d.Skipped += i
		d.buf = d.buf[i:]
		n, f, wait := d.match(final)
		if wait {
			return
		}
		if n > 0 {
			f.Bytes = bytes.Clone(d.buf[:n])
			d.buf = d.buf[n:]
			emit(f)
			continue
		}
		d.Skipped++
		d.buf = d.buf[1:]
	}
}

func indexSync(b []byte) int {
	for i, c := range b {
		if c == syncD || c == stxP || c == syncHik {
			return i
		}
	}
	return -1
}

// match tries the frames that start with d.buf[0]. It returns the length of
// a valid frame, or wait when more bytes are needed to decide, or neither
// (the sync byte starts no frame).
func (d *Decoder) match(final bool) (n int, f Frame, wait bool) {
	b := d.buf
	switch b[0] {
	case stxP:
		if len(b) < lenP {
			return 0, f, !final
		}
		if b[6] != etxP {
			return 0, f, false
		}
		if xorP(b[:lenP]) != b[7] {
			d.bad(b[:lenP])
			return 0, f, false
		}
		return lenP, Frame{Kind: PelcoP, Addr: b[1]}, false
	case syncHik:
		if len(b) < lenHik {
			return 0, f, !final
		}
		if sumHik(b[:lenHik]) != b[7] {
			d.bad(b[:lenHik])
			return 0, f, false
		}
		return lenHik, Frame{Kind: Hikvision, Addr: b[1]}, false
	}
	// 0xFF: a query response, a 7-byte message, or a general reply.
	replying := len(d.sent) == lenD
	if (replying || d.anyReply) && couldBeQuery(b) {
		if len(b) < lenQuery {
			if !final {
				return 0, f, true
			}
		} else if (d.anyReply || b[1] == d.sent[1]) && sumD(b[:lenQuery]) == b[lenQuery-1] {
			return lenQuery, Frame{Kind: PelcoDQuery, Addr: b[1]}, false
		}
	}
	if len(b) < lenD {
		if !final && !(replying && len(b) >= lenGeneral && d.general(b)) {
			return 0, f, true
		}
	} else if sumD(b[:lenD]) == b[lenD-1] {
		return lenD, Frame{Kind: PelcoD, Addr: b[1]}, false
	}
	if replying && len(b) >= lenGeneral && d.general(b) {
		return lenGeneral, Frame{Kind: PelcoDGeneral, Addr: b[1]}, false
	}
	if len(b) >= lenD {
		d.bad(b[:lenD])
	}
	return 0, f, false
}

// general reports whether b starts with the general reply to d.sent.
func (d *Decoder) general(b []byte) bool {
	return b[1] == d.sent[1] && b[3] == d.sent[lenD-1]+b[2]
}

// couldBeQuery reports whether b may be the start of a query response:
// its part-number bytes so far are printable ASCII.
func couldBeQuery(b []byte) bool {
	if len(b) <= 2 {
		return true
	}
	for _, c := range b[2:min(len(b), 2+partNumberLen)] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func (d *Decoder) bad(b []byte) {
	d.BadChecksums++
	if d.firstBad == nil {
		d.firstBad = bytes.Clone(b)
	}
}
