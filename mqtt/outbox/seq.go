package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The sequence file (<dir>.seq, next to the outbox directory, so that it
// survives the directory's loss) holds the highest sequence number that
// may have been issued: every sequence number ever given to a message is
// at or below it. It is written before a sequence number above it is
// issued, in blocks of seqReserve, so that it costs one write per
// seqReserve messages.
//
// It is 32 bytes: two slots of 16, each
//
//	[0:4]   magic "NVS1"
//	[4:12]  the bound, big-endian
//	[12:16] CRC-32C of [0:12]
//
// A write goes to the slot holding the lower bound (or a damaged one), in
// place, and is synced: a crash tears at most that slot, and the other
// still holds a bound at least as high as every number issued. Once the
// file exists a write needs no new disk blocks on an overwrite-in-place
// file system (ext4, tmpfs), so the counter advances even on a full disk.
// The reader takes the higher valid slot; with one slot invalid it cannot
// tell a torn write from later damage to the higher slot, so Open then also
// goes above the clock when the log is not whole.
const (
	seqSlotLen = 16
	seqFileLen = 2 * seqSlotLen
	// seqReserve is how many sequence numbers one write of the
	// sequence file covers.
	seqReserve = 1024
)

var seqMagic = [4]byte{'N', 'V', 'S', '1'}

// seqState says what the sequence file held when it was read.
type seqState int

const (
	seqMissing seqState = iota // no file: a fresh start, or it was lost
	seqOK
	// seqOneSlot: one slot is invalid. It was being written when a crash
	// tore it (the other holds the bound), or it was damaged later and
	// held the higher bound: the bound is only a floor.
	seqOneSlot
	seqDamaged // a file without one valid slot
)

func (s seqState) String() string {
	switch s {
	case seqOK:
		return "ok"
	case seqOneSlot:
		return "one slot invalid"
	case seqDamaged:
		return "damaged"
	}
	return "missing"
}

// seqFile is the open sequence file.
type seqFile struct {
	path string
	f    *os.File // nil until the file exists and is valid
	val  [2]uint64
	ok   [2]bool
}

func encodeSeqSlot(v uint64) []byte {
	b := make([]byte, seqSlotLen)
	copy(b[0:4], seqMagic[:])
	binary.BigEndian.PutUint64(b[4:12], v)
	binary.BigEndian.PutUint32(b[12:16], crc32.Checksum(b[0:12], castagnoli))
	return b
}

// decodeSeqSlot returns the bound a slot holds and whether the slot is
// valid: its magic and checksum right and the bound in range.
func decodeSeqSlot(b []byte) (uint64, bool) {
	if len(b) != seqSlotLen || [4]byte(b[0:4]) != seqMagic || crc32.Checksum(b[0:12], castagnoli) != binary.BigEndian.Uint32(b[12:16]) {
		return 0, false
	}
	v := binary.BigEndian.Uint64(b[4:12])
	return v, v <= MaxSeq
}

// openSeqFile reads the sequence file at path. It returns the bound and
// what the file held; only an I/O error other than the file's absence is
// an error.
func openSeqFile(path string) (*seqFile, uint64, seqState, error) {
	s := &seqFile{path: path}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return s, 0, seqMissing, nil
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("outbox: sequence file: %w", err)
	}
	b := make([]byte, seqFileLen+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, 0, 0, fmt.Errorf("outbox: sequence file: %w", err)
	}
	if n != seqFileLen {
		f.Close()
		return s, 0, seqDamaged, nil
	}
	for i := range 2 {
		s.val[i], s.ok[i] = decodeSeqSlot(b[i*seqSlotLen : (i+1)*seqSlotLen])
	}
	if !s.ok[0] && !s.ok[1] {
		f.Close()
		return s, 0, seqDamaged, nil
	}
	s.f = f
	if !s.ok[0] || !s.ok[1] {
		return s, s.max(), seqOneSlot, nil
	}
	return s, s.max(), seqOK, nil
}

func (s *seqFile) max() uint64 {
	var m uint64
	for i := range 2 {
		if s.ok[i] {
			m = max(m, s.val[i])
		}
	}
	return m
}

// write records the bound v. A missing or damaged file is made anew
// (written to a temporary file, synced, renamed); a valid one is written
// in place, in the slot not holding the higher bound.
func (s *seqFile) write(v uint64, failWrite func() error) error {
	if failWrite != nil {
		if err := failWrite(); err != nil {
			return fmt.Errorf("outbox: write sequence file: %w", err)
		}
	}
	if s.f == nil {
		return s.create(v)
	}
	i := 0
	if s.ok[0] && (!s.ok[1] || s.val[0] > s.val[1]) {
		i = 1
	}
	if _, err := s.f.WriteAt(encodeSeqSlot(v), int64(i*seqSlotLen)); err != nil {
		s.ok[i] = false // maybe torn
		return fmt.Errorf("outbox: write sequence file: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		s.ok[i] = false
		return fmt.Errorf("outbox: sync sequence file: %w", err)
	}
	s.val[i], s.ok[i] = v, true
	return nil
}

func (s *seqFile) create(v uint64) error {
	tmp := s.path + ".tmp"
	fail := func(err error) error {
		os.Remove(tmp)
		return fmt.Errorf("outbox: create sequence file: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fail(err)
	}
	b := append(encodeSeqSlot(v), encodeSeqSlot(v)...)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fail(err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		f.Close()
		return fail(err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		f.Close()
		return fmt.Errorf("outbox: create sequence file: %w", err)
	}
	s.f, s.val, s.ok = f, [2]uint64{v, v}, [2]bool{true, true}
	return nil
}

func (s *seqFile) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
