// Package pelco reads RS-485 PTZ traffic: Pelco-D and Pelco-P frames with
// their checksums, Pelco-D replies (the general reply, position replies and
// the part-number query response), and the private 0xB5 frames of
// Hikvision controllers. It identifies what the frames show: a Pelco
// responder at an address, a part number when a dome answers the query,
// and a Hikvision controller driving the bus. Pelco frames carry no maker;
// most domes never answer the identity query.
//
// The bus is only listened to unless a Bus is given addresses to query and
// a port it may write to (opt-in); it then queries only a bus that is
// otherwise silent, since replies collide with an NVR that drives it.
package pelco

import (
	"fmt"
	"strings"
)

// Kind is the kind of a frame.
type Kind int

// Frame kinds.
const (
	// PelcoD is a 7-byte Pelco-D message: FF addr cmd1 cmd2 data1 data2
	// sum, the sum of bytes 1-5 modulo 256. Position replies (cmd2 59, 5B,
	// 5D) have this shape too.
	PelcoD Kind = iota + 1
	// PelcoP is an 8-byte Pelco-P message: A0 addr cmd1 cmd2 data1 data2 AF
	// xor, the XOR of bytes 0-6.
	PelcoP
	// Hikvision is an 8-byte Hikvision PTZ message: B5 addr cmd d1 d2 d3 d4
	// sum, the sum of bytes 0-6 modulo 256.
	Hikvision
	// PelcoDQuery is the 18-byte answer to the Pelco-D query (cmd2 45): FF
	// addr, 15 ASCII bytes of part number, the sum of bytes 1-16. The
	// layout is from the Pelco D manual as recalled (SERIAL 6.1):
	// unverified on hardware.
	PelcoDQuery
	// PelcoDGeneral is the 4-byte Pelco-D general reply: FF addr alarms
	// sum, where sum is the checksum of the command answered plus the alarm
	// byte. It can be checked only against the command sent.
	PelcoDGeneral
)

// Sync bytes.
const (
	syncD   = 0xFF
	stxP    = 0xA0
	etxP    = 0xAF
	syncHik = 0xB5
)

// Frame lengths.
const (
	lenD       = 7
	lenP       = 8
	lenHik     = 8
	lenQuery   = 18
	lenGeneral = 4
)

// Pelco-D extended commands (cmd2) of note.
const (
	cmdQuery      = 0x45
	cmdQueryPan   = 0x51
	cmdPanReply   = 0x59
	cmdTiltReply  = 0x5B
	cmdZoomReply  = 0x5D
	cmdQueryTilt  = 0x53
	cmdQueryZoom  = 0x55
	partNumberLen = 15
)

// Frame is one decoded frame.
type Frame struct {
	Kind  Kind
	Addr  byte
	Bytes []byte // the whole frame, checksum included
}

// Reply reports whether the frame is a device's answer rather than a
// controller's command.
func (f Frame) Reply() bool {
	switch f.Kind {
	case PelcoDQuery, PelcoDGeneral:
		return true
	case PelcoD:
		c := f.Bytes[3]
		return f.Bytes[2] == 0 && (c == cmdPanReply || c == cmdTiltReply || c == cmdZoomReply)
	}
	return false
}

// PartNumber is the part number of a query response, trimmed; "" for
// other frames.
func (f Frame) PartNumber() string {
	if f.Kind != PelcoDQuery {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(string(f.Bytes[2:2+partNumberLen])), "\x00")
}

// String is the frame as hex bytes.
func (f Frame) String() string { return hexBytes(f.Bytes) }

// Protocol is the protocol's name: "pelco-d", "pelco-p" or
// "hikvision-ptz".
func (k Kind) Protocol() string {
	switch k {
	case PelcoP:
		return "pelco-p"
	case Hikvision:
		return "hikvision-ptz"
	}
	return "pelco-d"
}

// sumD is the Pelco-D checksum of a frame: bytes 1 to len-2, modulo 256.
func sumD(b []byte) byte {
	var s byte
	for _, c := range b[1 : len(b)-1] {
		s += c
	}
	return s
}

// xorP is the Pelco-P checksum: the XOR of bytes 0 to len-2.
func xorP(b []byte) byte {
	var x byte
	for _, c := range b[:len(b)-1] {
		x ^= c
	}
	return x
}

// sumHik is the Hikvision checksum: bytes 0 to len-2 (the 0xB5 included),
// modulo 256.
func sumHik(b []byte) byte {
	var s byte
	for _, c := range b[:len(b)-1] {
		s += c
	}
	return s
}

// EncodeD builds a Pelco-D command with its checksum.
func EncodeD(addr, cmd1, cmd2, data1, data2 byte) []byte {
	b := []byte{syncD, addr, cmd1, cmd2, data1, data2, 0}
	b[6] = sumD(b)
	return b
}

// QueryD is the Pelco-D query for the part number of the dome at addr.
func QueryD(addr byte) []byte { return EncodeD(addr, 0, cmdQuery, 0, 0) }

func hexBytes(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}
