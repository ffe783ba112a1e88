package usbtest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/drivers/usb/usbtest"
)

// TestWriteSysfs: the tree has the kernel's layout: a bus link to the
// device directory, attribute files only for the strings given, interface
// directories, and a video4linux node linked to the first interface.
func TestWriteSysfs(t *testing.T) {
	root := t.TempDir()
	usbtest.WriteSysfs(t, root, usb.Device{BusPath: "1-1.2", VID: "2bdf", PID: "0281", Product: "HIK 2K USB CAMERA",
		Interfaces: []string{"0e", "01"}, Video: []string{"HIK 2K USB CAMERA: HIK 2K USB"}})
	dev, err := filepath.EvalSymlinks(filepath.Join(root, "sys/bus/usb/devices/1-1.2"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(filepath.Dir(dev)) != "usb1" {
		t.Errorf("device at %s, want under usb1", dev)
	}
	for name, want := range map[string]string{"idVendor": "2bdf\n", "product": "HIK 2K USB CAMERA\n", "1-1.2:1.1/bInterfaceClass": "01\n"} {
		if b, err := os.ReadFile(filepath.Join(dev, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dev, "manufacturer")); !os.IsNotExist(err) {
		t.Errorf("a manufacturer file for a device without one: %v", err)
	}
	intf, err := filepath.EvalSymlinks(filepath.Join(root, "sys/class/video4linux/video0/device"))
	if err != nil || filepath.Dir(intf) != dev || filepath.Base(intf) != "1-1.2:1.0" {
		t.Errorf("video0/device -> %s, %v", intf, err)
	}
}
