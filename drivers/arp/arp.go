// Package arp reads the kernel's IPv4 neighbour table, /proc/net/arp, into
// identities: one per complete entry, carrying the device's MAC address (for
// the policy's OUI lookup) and the interface it was seen on.
//
// The file looks like this (columns separated by runs of spaces):
//
//	IP address       HW type     Flags       HW address            Mask     Device
//	192.168.1.64     0x1         0x2         bc:ad:28:12:34:56     *        eth0
//
// Flags holds ATF_COM (0x2) once the address is resolved; entries without it
// (and their 00:00:00:00:00:00 address) are skipped.
package arp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// DefaultPath is the kernel's IPv4 neighbour table.
const DefaultPath = "/proc/net/arp"

// FieldIface is the fact that names the interface an entry was seen on.
const FieldIface = "iface"

// Caps on what Parse reads. The kernel's default gc_thresh3 is 1024
// neighbours; a /24 has 254. The caps only stop a runaway input.
const (
	MaxEntries = 1 << 16 // entries read; the rest is dropped and Stats.Truncated set
	MaxLineLen = 256     // longer lines are skipped as malformed (a real line is ~80 bytes)
	maxIfname  = 15      // IFNAMSIZ - 1
)

// Flag bits of the Flags column (include/uapi/linux/if_arp.h).
const (
	atfCOM  = 0x02 // completed entry: the hardware address is valid
	atfPUBL = 0x08 // published (proxy ARP) entry: not a neighbour
)

// arpHrdEther is the HW type of Ethernet (and Wi-Fi) neighbours.
const arpHrdEther = 0x1

// Stats says what Parse did with the lines it read, so that a caller can
// debug-log it.
type Stats struct {
	Lines      int  // data lines read (the header excluded, blank lines included)
	Entries    int  // identities returned
	Incomplete int  // entries skipped: not resolved (no ATF_COM), proxy (ATF_PUBL), zero or broadcast MAC
	Other      int  // entries skipped: not Ethernet (HW type other than 0x1)
	Filtered   int  // entries skipped by Reader.Ifaces
	Malformed  int  // lines that could not be parsed, including over-long ones
	Truncated  bool // input held more than MaxEntries entries
}

// Parse reads a /proc/net/arp table and returns one identity per complete
// entry: source "arp", the address, the normalised MAC, and the facts "mac"
// and "iface". Seen is left zero. Malformed lines are skipped; an input
// whose first line is not the ARP table header is an error.
func Parse(r io.Reader) ([]identity.Identity, error) {
	ids, _, err := ParseStats(r)
	return ids, err
}

// ParseStats is Parse that also returns what was skipped.
func ParseStats(r io.Reader) ([]identity.Identity, Stats, error) {
	return parse(context.Background(), r, nil)
}

// Reader reads the neighbour table from a file.
type Reader struct {
	// Path is the table to read; DefaultPath when empty.
	Path string
	// Ifaces, when set, keeps only the entries of these devices.
	Ifaces []string
}

// Read returns the complete entries of the table, with Seen set to the
// time of the read.
func (r Reader) Read(ctx context.Context) ([]identity.Identity, error) {
	ids, _, err := r.ReadStats(ctx)
	return ids, err
}

// ReadStats is Read that also returns what was skipped.
func (r Reader) ReadStats(ctx context.Context) ([]identity.Identity, Stats, error) {
	if err := ctx.Err(); err != nil {
		return nil, Stats{}, fmt.Errorf("arp: %w", err)
	}
	path := r.Path
	if path == "" {
		path = DefaultPath
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("arp: %w", err)
	}
	defer f.Close()
	keep := func(string) bool { return true }
	if len(r.Ifaces) > 0 {
		keep = func(dev string) bool { return slices.Contains(r.Ifaces, dev) }
	}
	ids, st, err := parse(ctx, f, keep)
	if err != nil {
		return nil, st, err
	}
	now := time.Now()
	for i := range ids {
		ids[i].Seen = now
	}
	return ids, st, nil
}

// parse does the work of Parse; keep, when not nil, filters by device.
func parse(ctx context.Context, r io.Reader, keep func(dev string) bool) ([]identity.Identity, Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 4096)
	head, long, err := readLine(br)
	switch {
	case err == io.EOF:
		return nil, st, errors.New("arp: empty input")
	case err != nil:
		return nil, st, fmt.Errorf("arp: %w", err)
	case long || !isHeader(head):
		return nil, st, errors.New("arp: not an ARP table: bad header")
	}
	var ids []identity.Identity
	for {
		line, long, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, fmt.Errorf("arp: line %d: %w", st.Lines+2, err)
		}
		st.Lines++
		if st.Lines%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, st, fmt.Errorf("arp: %w", err)
			}
		}
		if long {
			st.Malformed++
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if st.Entries+st.Incomplete+st.Other+st.Filtered >= MaxEntries {
			st.Truncated = true
			break
		}
		e, ok := parseEntry(string(line))
		switch {
		case !ok:
			st.Malformed++
		case e.hwType != arpHrdEther:
			st.Other++
		case e.flags&atfCOM == 0 || e.flags&atfPUBL != 0 || e.mac == "":
			st.Incomplete++
		case keep != nil && !keep(e.dev):
			st.Filtered++
		default:
			id := identity.Identity{Source: identity.SourceARP, Addr: e.addr, MAC: e.mac}
			id.Add(identity.FieldMAC, e.mac)
			id.Add(FieldIface, e.dev)
			ids = append(ids, id)
			st.Entries++
		}
	}
	return ids, st, nil
}

// readLine returns the next line without its end of line, or io.EOF when
// there is none. A line longer than MaxLineLen is consumed and reported as
// long, with no content.
func readLine(br *bufio.Reader) (line []byte, long bool, err error) {
	started := false
	for {
		frag, isPrefix, err := br.ReadLine() // never both data and an error
		if err != nil {
			if started && err == io.EOF {
				return line, long, nil
			}
			return nil, false, err
		}
		started = true
		if !long {
			line = append(line, frag...)
			if len(line) > MaxLineLen {
				long, line = true, nil
			}
		}
		if !isPrefix {
			return line, long, nil
		}
	}
}

// isHeader reports whether line is the header of /proc/net/arp.
func isHeader(line []byte) bool {
	f := strings.Fields(string(line))
	want := []string{"IP", "address", "HW", "type", "Flags", "HW", "address", "Mask", "Device"}
	return slices.Equal(f, want)
}

type entry struct {
	addr   netip.Addr
	hwType uint64
	flags  uint64
	mac    string // normalised; "" for the zero address
	dev    string
}

// parseEntry parses one data line; ok is false when it is malformed.
func parseEntry(line string) (entry, bool) {
	var e entry
	f := strings.Fields(line)
	if len(f) != 6 {
		return e, false
	}
	addr, err := netip.ParseAddr(f[0])
	if err != nil || !addr.Is4() {
		return e, false
	}
	e.addr = addr
	if e.hwType, err = parseHex(f[1]); err != nil {
		return e, false
	}
	if e.flags, err = parseHex(f[2]); err != nil {
		return e, false
	}
	if e.hwType == arpHrdEther {
		hw, err := net.ParseMAC(f[3])
		if err != nil || len(hw) != 6 || strings.Count(f[3], ":") != 5 {
			return e, false
		}
		e.mac = identity.NormalizeMAC(f[3])
	}
	if !validIfname(f[5]) {
		return e, false
	}
	e.dev = f[5]
	return e, true
}

// parseHex parses the kernel's "0x%x" columns.
func parseHex(s string) (uint64, error) {
	h, ok := strings.CutPrefix(s, "0x")
	if !ok || h == "" || len(h) > 8 {
		return 0, errors.New("not 0x-hex")
	}
	return strconv.ParseUint(h, 16, 32)
}

// validIfname reports whether s can be a Linux interface name.
func validIfname(s string) bool {
	if s == "" || len(s) > maxIfname {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '/' || c >= 0x7f {
			return false
		}
	}
	return true
}

// macOctets parses a MAC address in any form identity.NormalizeMAC accepts,
// including the all-zero and broadcast addresses.
func macOctets(mac string) (net.HardwareAddr, bool) {
	s := strings.TrimSpace(mac)
	if len(s) == 12 {
		s = s[0:2] + ":" + s[2:4] + ":" + s[4:6] + ":" + s[6:8] + ":" + s[8:10] + ":" + s[10:12]
	}
	hw, err := net.ParseMAC(strings.ReplaceAll(s, "-", ":"))
	if err != nil || len(hw) != 6 {
		return nil, false
	}
	return hw, true
}

// IsLocallyAdministered reports whether mac has the locally administered
// bit (0x02 of the first octet) set: a randomised or assigned address that
// carries no vendor (and an IEEE CID at most). It is false for anything that
// is not a 48-bit MAC.
func IsLocallyAdministered(mac string) bool {
	hw, ok := macOctets(mac)
	return ok && hw[0]&0x02 != 0
}

// IsMulticast reports whether mac is a group address (bit 0x01 of the first
// octet), broadcast included. It is false for anything that is not a 48-bit
// MAC.
func IsMulticast(mac string) bool {
	hw, ok := macOctets(mac)
	return ok && hw[0]&0x01 != 0
}
