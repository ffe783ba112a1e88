// Package usb reads the identities of USB devices: from the sysfs tree of
// the running machine (/sys/bus/usb/devices, the root injectable for
// tests), or from captured text (lsusb, lsusb -v, usb-devices, the
// kernel's log, sysfs attribute files). The vendor id is the evidence that
// counts: the policy's USB vendor-id table, not the strings a device
// chooses to report (Hikvision webcams call their maker "SN0002").
package usb

import (
	"strconv"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Fact fields this package records besides the identity.Field* ones.
const (
	// FieldSerial is the iSerial string. It is not identity.FieldSerial:
	// USB serial strings are often constants ("SN0002") shared by every
	// unit, and must not merge two devices into one.
	FieldSerial = "usb-serial"
	// FieldVideo is the name of a video4linux node of the device.
	FieldVideo = "v4l-name"
	// FieldDriver is the kernel driver bound to an interface of the
	// device (lsusb -t, usb-devices, sysfs). Some drivers bind one
	// vendor's devices only (huawei_cdc_ncm: Huawei, vendor id 12d1), so
	// a tree listing without ids still says something.
	FieldDriver = "usb-driver"
)

// Device is one USB device.
type Device struct {
	// BusPath is the kernel's name for the device's place ("1-1.2"); ""
	// when the source does not give it.
	BusPath string
	// Bus and Dev are lsusb's bus and device numbers; 0 when unknown.
	Bus, Dev int
	// VID and PID are 4 lower-case hex digits.
	VID, PID                      string
	Manufacturer, Product, Serial string
	// Desc is lsusb's one-line description (usb.ids names or the
	// device's strings) when no product string is known.
	Desc string
	// Class is bDeviceClass; Interfaces the bInterfaceClass of each
	// interface (2 lower-case hex digits).
	Class      string
	Interfaces []string
	// Video lists the names of the device's video4linux nodes.
	Video []string
	// Drivers lists the kernel drivers bound to its interfaces.
	Drivers []string
}

// Place names where the device is attached: its bus path, else lsusb's bus
// and device numbers, else "".
func (d Device) Place() string {
	switch {
	case d.BusPath != "":
		return d.BusPath
	case d.Bus > 0:
		return "bus " + strconv.Itoa(d.Bus) + " device " + strconv.Itoa(d.Dev)
	}
	return ""
}

// Identity is the device as an observation: the vendor and product ids,
// the strings it reports and its class. Its Port is the place and ids
// ("1-1.2 2bdf:0281"), so that the device id is stable and topic-safe
// (usb-1-1-2-2bdf-0281).
func (d Device) Identity() identity.Identity {
	id := identity.Identity{Source: identity.SourceUSB}
	ids := d.VID + ":" + d.PID
	if d.VID == "" {
		ids = ""
	}
	id.Port = strings.TrimSpace(d.Place() + " " + ids)
	id.Add(identity.FieldUSBVendorID, d.VID)
	id.Add(identity.FieldUSBProductID, d.PID)
	id.Add(identity.FieldManufacturer, d.Manufacturer)
	if d.Product != "" {
		id.Add(identity.FieldModel, d.Product)
	} else {
		id.Add(identity.FieldModel, d.Desc)
	}
	id.Add(FieldSerial, d.Serial)
	id.Add(identity.FieldDeviceClass, d.className())
	for _, v := range d.Video {
		id.Add(FieldVideo, v)
	}
	for _, v := range d.Drivers {
		id.Add(FieldDriver, v)
	}
	return id
}

// classNames are the USB class codes worth naming.
var classNames = map[string]string{
	"01": "audio", "02": "communications", "03": "hid", "06": "image", "07": "printer",
	"08": "mass-storage", "09": "hub", "0a": "cdc-data", "0b": "smart-card", "0e": "video",
	"0f": "healthcare", "10": "audio-video", "e0": "wireless", "fe": "application", "ff": "vendor-specific",
}

// className is "video" for a camera (a video interface or node), else the
// name of the device class, else that of its first named interface.
func (d Device) className() string {
	if len(d.Video) > 0 || d.Class == "0e" || contains(d.Interfaces, "0e") {
		return "video"
	}
	if n := classNames[d.Class]; n != "" {
		return n
	}
	for _, c := range d.Interfaces {
		if n := classNames[c]; n != "" {
			return n
		}
	}
	return ""
}

// addDriver records a bound driver name; lsusb's placeholders for none
// ("[none]", "(none)", "") and the hub driver carry nothing.
func (d *Device) addDriver(name string) {
	name = strings.TrimSpace(name)
	switch name {
	case "", "[none]", "(none)", "hub", "usbfs":
		return
	}
	if len(d.Drivers) < 16 && !contains(d.Drivers, name) {
		d.Drivers = append(d.Drivers, name)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// hex4 normalises a 16-bit id: "0x2BDF", "2bdf", "281" (uevent drops
// leading zeros) become 4 lower-case hex digits; ok is false otherwise.
func hex4(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" || len(s) > 4 {
		return "", false
	}
	v, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return "", false
	}
	out := strconv.FormatUint(v, 16)
	return strings.Repeat("0", 4-len(out)) + out, true
}

// classHex normalises a class code given in hex ("0e", "ef") or, with dec,
// in decimal as lsusb -v prints it ("239").
func classHex(s string, dec bool) (string, bool) {
	base := 16
	if dec {
		base = 10
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), base, 8)
	if err != nil {
		return "", false
	}
	out := strconv.FormatUint(v, 16)
	if len(out) < 2 {
		out = "0" + out
	}
	return out, true
}
