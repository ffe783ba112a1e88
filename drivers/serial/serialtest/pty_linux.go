package serialtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal pair standing in for a serial device: the code
// under test opens Path (a symbolic link in a temporary directory, like a
// /dev/serial/by-id link) with the real serial library, and the test plays
// the device on the master side.
type PTY struct {
	// Path is the link the code under test opens; it points at Dev.
	Path string
	// Dev is the slave device, /dev/pts/N.
	Dev string

	t      testing.TB
	mu     sync.Mutex
	master *os.File // non-blocking, so reads honour deadlines and Close
}

// NeedPTY skips t when pseudo-terminals are unavailable, and fails it
// instead under NVRGUARD_CI=1, where they must work.
func NeedPTY(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("NVRGUARD_CI") == "1" {
		t.Fatalf("pseudo-terminals unavailable in CI: %v", err)
	}
	t.Skipf("pseudo-terminals unavailable: %v", err)
}

// NewPTY opens a pseudo-terminal pair and links path to its slave (a
// link already at path is replaced atomically, like udev moving a by-id
// link to a re-plugged adapter). The slave is put in raw mode and closed:
// the code under test opens it by name. The master is closed at the end of
// the test.
func NewPTY(t testing.TB, path string) *PTY {
	t.Helper()
	m, s, err := pty.Open()
	NeedPTY(t, err)
	dev := s.Name()
	raw := func() error {
		tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
		if err != nil {
			return err
		}
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag = tio.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8
		return unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio)
	}
	if err := raw(); err != nil {
		m.Close()
		s.Close()
		t.Fatalf("raw mode on %s: %v", dev, err)
	}
	// creack/pty leaves the master in blocking mode; a non-blocking
	// duplicate honours read deadlines and is interrupted by Close.
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	m.Close()
	s.Close()
	if err != nil {
		t.Fatalf("pty master: %v", err)
	}
	p := &PTY{Path: path, Dev: dev, t: t, master: os.NewFile(uintptr(fd), "ptmx")}
	p.Link()
	t.Cleanup(func() { p.Unplug() })
	return p
}

// Link points Path at this pty, replacing any link there atomically.
func (p *PTY) Link() {
	p.t.Helper()
	tmp := p.Path + ".new" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(p.Dev, tmp); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(tmp, p.Path); err != nil {
		p.t.Fatal(err)
	}
}

// Unplug closes the master (the slave side sees a hangup and its device
// node vanishes, as when a USB adapter is pulled) and removes Path if it
// still points at this pty. It may be called more than once.
func (p *PTY) Unplug() {
	p.mu.Lock()
	m := p.master
	p.master = nil
	p.mu.Unlock()
	if m == nil {
		return
	}
	m.Close()
	if dst, err := os.Readlink(p.Path); err == nil && dst == p.Dev {
		_ = os.Remove(p.Path)
	}
}

func (p *PTY) file() (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.master == nil {
		return nil, ErrClosed
	}
	return p.master, nil
}

// Write writes b on the master side: the device sends b.
func (p *PTY) Write(b []byte) (int, error) {
	m, err := p.file()
	if err != nil {
		return 0, err
	}
	return m.Write(b)
}

// Replay sends b at the pace of a serial line at baud (8N1: ten bits a
// byte), in writes of at most chunk bytes, until done or ctx ends.
func (p *PTY) Replay(ctx context.Context, b []byte, baud, chunk int) error {
	if chunk <= 0 {
		chunk = 64
	}
	perByte := time.Second * 10 / time.Duration(baud)
	start := time.Now()
	for sent := 0; sent < len(b); {
		n := min(chunk, len(b)-sent)
		if _, err := p.Write(b[sent : sent+n]); err != nil {
			return err
		}
		sent += n
		// Sleep until the line would have carried what was sent.
		if d := time.Until(start.Add(perByte * time.Duration(sent))); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// ReadFor reads what the code under test wrote to the port during d.
func (p *PTY) ReadFor(d time.Duration) ([]byte, error) {
	m, err := p.file()
	if err != nil {
		return nil, err
	}
	if err := m.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	var out []byte
	buf := make([]byte, 256)
	for {
		n, err := m.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, unix.EIO) {
			return out, nil // EIO: nobody has the slave open
		}
		if err != nil {
			return out, err
		}
	}
}

// TempLink returns a path for a PTY link in a fresh temporary directory.
func TempLink(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name)
}
