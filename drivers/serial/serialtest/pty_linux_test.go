package serialtest_test

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/serial/serialtest"
)

// TestIntegrationPTY: bytes written on the master come out of the slave
// named by the link, and the other way; Unplug removes the link.
func TestIntegrationPTY(t *testing.T) {
	p := serialtest.NewPTY(t, serialtest.TempLink(t, "ttyUSB0"))
	f, err := os.OpenFile(p.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p.Write([]byte("hello\n"))
	buf := make([]byte, 16)
	if n, err := f.Read(buf); err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("slave read %q, %v", buf[:n], err)
	}
	f.Write([]byte("\r"))
	if got, err := p.ReadFor(200 * time.Millisecond); err != nil || string(got) != "\r" {
		t.Fatalf("master read %q, %v", got, err)
	}
	p.Unplug()
	if _, err := os.Lstat(p.Path); !os.IsNotExist(err) {
		t.Errorf("link still there after Unplug: %v", err)
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("write after Unplug")
	}
}
