package serialtest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/serial"
	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
)

func TestPlaybackFollowsTheTranscript(t *testing.T) {
	p := &serialtest.Playback{Ops: []serialtest.IO{{R: []byte("boot\n")}, {W: []byte("\r"), R: []byte("# ")}}, Hangup: true}
	port, err := p.Open("/dev/x", serial.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := port.Read(buf); string(buf[:n]) != "boot\n" || err != nil {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, err := port.Read(buf); !errors.Is(err, serial.ErrTimeout) {
		t.Fatalf("idle read: %v", err)
	}
	if err := p.Done(); err == nil {
		t.Fatal("Done before the transcript was played")
	}
	port.Write([]byte("\r"))
	if n, _ := port.Read(buf); string(buf[:n]) != "# " {
		t.Fatalf("reply %q", buf[:n])
	}
	if _, err := port.Read(buf); !errors.Is(err, serial.ErrGone) {
		t.Errorf("after the transcript with Hangup: %v", err)
	}
	if err := port.Close(); err != nil {
		t.Error(err)
	}
	if _, err := p.Open("/dev/x", serial.Mode{}); !errors.Is(err, serial.ErrNoDevice) {
		t.Errorf("second open: %v", err)
	}
}

func TestPlaybackCatchesWrongWrites(t *testing.T) {
	p := &serialtest.Playback{Ops: []serialtest.IO{{W: []byte("\r")}}}
	if _, err := p.Write([]byte{0x15}); err == nil || !strings.Contains(err.Error(), `"\x15"`) {
		t.Errorf("wrong write accepted: %v", err)
	}
	if err := p.Close(); err == nil {
		t.Error("Close passed after a wrong write")
	}
	q := &serialtest.Playback{}
	if _, err := q.Write([]byte("x")); err == nil {
		t.Error("a write after the end was accepted")
	}
}

func TestRecordKeepsWrites(t *testing.T) {
	r := &serialtest.Record{Wait: time.Millisecond}
	r.Write([]byte("ab"))
	r.Write([]byte("c"))
	if n, err := r.Read(make([]byte, 4)); n != 0 || !errors.Is(err, serial.ErrTimeout) || string(r.Written()) != "abc" {
		t.Errorf("read %d %v, written %q", n, err, r.Written())
	}
}
