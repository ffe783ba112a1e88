// Package usbtest builds temporary sysfs trees of USB devices for tests:
// the device directories under /sys/devices with their attribute files and
// interfaces, the /sys/bus/usb/devices links, and the video4linux nodes of
// cameras, laid out as the kernel does (drivers/usb/core/sysfs.c). It is
// imported by _test.go files only.
package usbtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/usb"
)

// WriteSysfs adds devs to the sysfs tree under root. A device without a
// BusPath is placed on port n+1 of bus 1 (n its index). Attributes left
// empty are not written, as the kernel writes no file for a missing string
// descriptor. Each interface class gets an interface directory, the i-th
// driver a driver link in the i-th interface directory; each
// video name a /sys/class/video4linux node linked to the first interface.
func WriteSysfs(t testing.TB, root string, devs ...usb.Device) {
	t.Helper()
	nodes := 0
	if ents, err := os.ReadDir(filepath.Join(root, "sys/class/video4linux")); err == nil {
		nodes = len(ents)
	}
	for n, d := range devs {
		name := d.BusPath
		if name == "" {
			name = "1-" + strconv.Itoa(n+1)
		}
		bus, _, _ := strings.Cut(strings.TrimPrefix(name, "usb"), "-")
		dir := filepath.Join("sys/devices/pci0000:00/0000:00:14.0/usb"+bus, name)
		attrs := map[string]string{
			"idVendor": d.VID, "idProduct": d.PID, "manufacturer": d.Manufacturer,
			"product": d.Product, "serial": d.Serial, "bDeviceClass": d.Class,
		}
		for k, v := range attrs {
			if v != "" {
				File(t, root, filepath.Join(dir, k), v+"\n")
			}
		}
		mkdir(t, root, dir)
		Link(t, root, filepath.Join("sys/bus/usb/devices", name), dir)
		for i, c := range d.Interfaces {
			File(t, root, filepath.Join(dir, name+":1."+strconv.Itoa(i), "bInterfaceClass"), c+"\n")
		}
		for i, drv := range d.Drivers {
			mkdir(t, root, filepath.Join("sys/bus/usb/drivers", drv))
			Link(t, root, filepath.Join(dir, name+":1."+strconv.Itoa(i), "driver"), filepath.Join("sys/bus/usb/drivers", drv))
		}
		for _, v := range d.Video {
			node := "video" + strconv.Itoa(nodes)
			nodes++
			intf := filepath.Join(dir, name+":1.0")
			ndir := filepath.Join(intf, "video4linux", node)
			File(t, root, filepath.Join(ndir, "name"), v+"\n")
			Link(t, root, filepath.Join(ndir, "device"), intf)
			Link(t, root, filepath.Join("sys/class/video4linux", node), ndir)
		}
	}
}

// File writes content to root/p, creating directories.
func File(t testing.TB, root, p, content string) {
	t.Helper()
	mkdir(t, root, filepath.Dir(p))
	if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Link makes root/p a symbolic link to root/target, written relative to
// p's directory as sysfs links are.
func Link(t testing.TB, root, p, target string) {
	t.Helper()
	mkdir(t, root, filepath.Dir(p))
	rel, err := filepath.Rel(filepath.Dir(p), target)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, filepath.Join(root, p)); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
}

func mkdir(t testing.TB, root, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
		t.Fatal(err)
	}
}
