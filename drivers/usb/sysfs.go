package usb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Reader reads the USB devices of a machine from sysfs.
type Reader struct {
	// Root is where /sys is found ("/" when empty); tests give a
	// temporary tree.
	Root string
}

// devName matches the sysfs names of USB devices: root hubs (usb1) and
// devices (1-1, 1-1.2.3); interfaces (1-1:1.0) do not match.
var devName = regexp.MustCompile(`^(usb[0-9]{1,3}|[0-9]{1,3}-[0-9]{1,3}(\.[0-9]{1,3}){0,6})$`)

// maxAttr bounds what is read of one attribute file.
const maxAttr = 1024

func (r Reader) path(p string) string {
	root := r.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, p)
}

// Devices lists every USB device under /sys/bus/usb/devices with its
// attributes, interfaces and video4linux names. A device whose attributes
// are missing or malformed is left out and named in the returned error
// (one line), and the others are still returned.
func (r Reader) Devices(ctx context.Context) ([]Device, error) {
	dir := r.path("sys/bus/usb/devices")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("usb: %w", err)
	}
	video := r.videoNames()
	var out []Device
	var bad []string
	for _, e := range ents {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		name := e.Name()
		if !devName.MatchString(name) {
			continue
		}
		d, err := readDevice(filepath.Join(dir, name), name)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		d.Video = video[name]
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.BusPath, b.BusPath) })
	if len(bad) > 0 {
		return out, fmt.Errorf("usb: %d device(s) skipped: %s", len(bad), strings.Join(bad, "; "))
	}
	return out, nil
}

// Read returns the identity of every USB device except hubs, which carry
// no camera identity, with Seen left for the caller. The error is that of
// Devices.
func (r Reader) Read(ctx context.Context) ([]identity.Identity, error) {
	devs, err := r.Devices(ctx)
	var out []identity.Identity
	for _, d := range devs {
		if d.Class == "09" {
			continue
		}
		out = append(out, d.Identity())
	}
	return out, err
}

// readDevice reads the attributes of the device directory dir.
func readDevice(dir, name string) (Device, error) {
	d := Device{BusPath: name}
	vid, err := attr(dir, "idVendor")
	if err != nil {
		return d, fmt.Errorf("%s: %v", name, err)
	}
	var ok bool
	if d.VID, ok = hex4(vid); !ok || len(strings.TrimSpace(vid)) != 4 {
		return d, fmt.Errorf("%s: idVendor %q is not 4 hex digits", name, identity.Clean(vid))
	}
	pid, err := attr(dir, "idProduct")
	if err != nil {
		return d, fmt.Errorf("%s: %v", name, err)
	}
	if d.PID, ok = hex4(pid); !ok || len(strings.TrimSpace(pid)) != 4 {
		return d, fmt.Errorf("%s: idProduct %q is not 4 hex digits", name, identity.Clean(pid))
	}
	// Strings exist only when the device has string descriptors.
	d.Manufacturer, _ = attr(dir, "manufacturer")
	d.Product, _ = attr(dir, "product")
	d.Serial, _ = attr(dir, "serial")
	if c, err := attr(dir, "bDeviceClass"); err == nil {
		d.Class, _ = classHex(c, false)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), name+":") {
			continue
		}
		if c, err := attr(filepath.Join(dir, e.Name()), "bInterfaceClass"); err == nil {
			if h, ok := classHex(c, false); ok && !contains(d.Interfaces, h) {
				d.Interfaces = append(d.Interfaces, h)
			}
		}
		// The driver bound to the interface: a link to
		// /sys/bus/usb/drivers/<name>.
		if target, err := os.Readlink(filepath.Join(dir, e.Name(), "driver")); err == nil {
			d.addDriver(filepath.Base(target))
		}
	}
	return d, nil
}

// attr reads one attribute file, at most maxAttr bytes, trimmed; a missing
// file is an error naming the attribute.
func attr(dir, name string) (string, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("no %s", name)
		}
		return "", fmt.Errorf("%s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxAttr))
	if err != nil {
		return "", fmt.Errorf("%s: %v", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// videoNames maps USB device names to the names of their video4linux
// nodes: /sys/class/video4linux/videoN/device links to the USB interface,
// whose parent is the device.
func (r Reader) videoNames() map[string][]string {
	out := map[string][]string{}
	dir := r.path("sys/class/video4linux")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		node := filepath.Join(dir, e.Name())
		intf, err := filepath.EvalSymlinks(filepath.Join(node, "device"))
		if err != nil {
			continue
		}
		dev := filepath.Base(filepath.Dir(intf))
		name, err := attr(node, "name")
		if err != nil || name == "" || !devName.MatchString(dev) {
			continue
		}
		if !contains(out[dev], name) {
			out[dev] = append(out[dev], name)
		}
	}
	return out
}
