package usb

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxInput is the most text Parse reads.
const MaxInput = 1 << 20

// maxDevices bounds the devices one input may describe.
const maxDevices = 256

var (
	lsusbLine  = regexp.MustCompile(`^Bus ([0-9]{1,3}) Device ([0-9]{1,3}): ID ([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4})\b ?(.*)$`)
	verboseID  = regexp.MustCompile(`^(idVendor|idProduct)\s+0x(\S+)`)
	verboseStr = regexp.MustCompile(`^(iManufacturer|iProduct|iSerial)\s+[0-9]+\s?(.*)$`)
	verboseCls = regexp.MustCompile(`^(bDeviceClass|bInterfaceClass)\s+([0-9]+)\b`)
	kernelNew  = regexp.MustCompile(`\busb ([0-9]{1,3}-[0-9.]+): New USB device found, idVendor=(\S+), idProduct=([0-9A-Fa-f]+)`)
	kernelStr  = regexp.MustCompile(`\busb ([0-9]{1,3}-[0-9.]+): (Product|Manufacturer|SerialNumber): (.*)$`)
	kernelUVC  = regexp.MustCompile(`\b(?:usb|uvcvideo) ?([0-9]{1,3}-[0-9.]+)?:? ?Found UVC [0-9.]+ device (.*) \(([0-9a-f]{4}):([0-9a-f]{4})\)`)
	devicesT   = regexp.MustCompile(`^T:\s+Bus=\s*([0-9]+).*Dev#=\s*([0-9]+)`)
	devicesP   = regexp.MustCompile(`^P:\s+Vendor=(\S+) ProdID=(\S+)`)
	devicesS   = regexp.MustCompile(`^S:\s+(Manufacturer|Product|SerialNumber)=(.*)$`)
	devicesCls = regexp.MustCompile(`^([DI]):.*\bCls=([0-9a-fA-F]{2})`)
	keyValue   = regexp.MustCompile(`^(?:E: )?([A-Za-z_]+)\s*=\s*(.*)$`)
	pathValue  = regexp.MustCompile(`^(/sys/\S*?/([0-9]{1,3}-[0-9.]+|usb[0-9]{1,3})/(idVendor|idProduct|manufacturer|product|serial|bDeviceClass|busnum|devnum))(?:\t|:)(.*)$`)
	devicesDrv = regexp.MustCompile(`\bDriver=(\S+)`)
	// lsusb -t / --tree: a root hub line, an interface line, and with -v
	// the ID and sysfs lines under each (usbutils 008 to 018 spell bus and
	// port numbers with two or three digits).
	treeRoot = regexp.MustCompile(`^/:\s+Bus ([0-9]{1,3})\.Port ([0-9]{1,3}): Dev ([0-9]{1,3}), (?:If ([0-9]{1,3}), )?Class=([^,]*), Driver=([^,]*)`)
	treeNode = regexp.MustCompile(`^\|__ Port ([0-9]{1,3}): Dev ([0-9]{1,3}), If ([0-9]{1,3}), Class=([^,]*), Driver=([^,]*)`)
	treeID   = regexp.MustCompile(`^ID ([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4})\b ?(.*)$`)
	treeSys  = regexp.MustCompile(`^/sys/bus/usb/devices/(usb[0-9]{1,3}|[0-9]{1,3}-[0-9]{1,3}(?:\.[0-9]{1,3}){0,6})\s+/dev/bus/usb/[0-9]{3}/[0-9]{3}$`)
	// udevadm info -a: one block per device, its attributes as
	// ATTR{name}=="value" (ATTRS for the parents).
	udevLooking = regexp.MustCompile(`^looking at (?:parent )?device '([^']*)':$`)
	udevAttr    = regexp.MustCompile(`^ATTRS?\{([A-Za-z]+)\}=="(.*)"$`)
	udevDriver  = regexp.MustCompile(`^DRIVERS?=="(.*)"$`)
	udevIntf    = regexp.MustCompile(`^([0-9]{1,3}-[0-9]{1,3}(?:\.[0-9]{1,3}){0,6}):[0-9]{1,3}\.[0-9]{1,3}$`)
)

// treeClasses maps the class names of lsusb -t to class codes.
var treeClasses = map[string]string{
	"root_hub": "09", "Hub": "09", "Audio": "01", "Communications": "02", "Human Interface Device": "03",
	"Physical Interface Device": "05", "Image": "06", "Printer": "07", "Mass Storage": "08", "CDC Data": "0a",
	"Chip/SmartCard": "0b", "Content Security": "0d", "Video": "0e", "Personal Healthcare": "0f",
	"Audio/Video": "10", "Diagnostic": "dc", "Wireless": "e0", "Miscellaneous Device": "ef",
	"Application Specific Interface": "fe", "Vendor Specific Class": "ff",
}

// Parse reads captured USB descriptions and returns one identity per
// device. It takes lsusb and lsusb -v output, lsusb -t trees (with -v, the
// ID and sysfs lines newer usbutils print under each entry), usb-devices
// output and /sys/kernel/debug/usb/devices, the kernel's "New USB device
// found" log lines, sysfs attributes as key=value lines (the files of one
// device, a uevent file, udevadm properties), udevadm info -a attribute
// walks, or path and content (grep . /sys/bus/usb/devices/*/idVendor, a
// path<TAB>value table). A tree without ids gives devices with their class
// and drivers only. A malformed vendor or product id is an error; text with
// no USB description is an error.
func Parse(b []byte) ([]identity.Identity, error) {
	devs, err := ParseDevices(b)
	if err != nil {
		return nil, err
	}
	out := make([]identity.Identity, 0, len(devs))
	for _, d := range devs {
		out = append(out, d.Identity())
	}
	return out, nil // ParseDevices keeps only devices with a fact
}

// ParseDevices is Parse returning the devices rather than their
// identities.
func ParseDevices(b []byte) ([]Device, error) {
	if len(b) > MaxInput {
		return nil, errors.New("usb: input larger than 1 MiB")
	}
	if strings.IndexByte(string(b), 0) >= 0 {
		return nil, errors.New("usb: input is binary, not lsusb or sysfs text")
	}
	var p parser
	for n, line := range strings.Split(string(b), "\n") {
		if err := p.line(strings.TrimRight(line, "\r")); err != nil {
			return nil, fmt.Errorf("usb: line %d: %w", n+1, err)
		}
	}
	var out []Device
	for _, d := range p.devs {
		if len(d.Identity().Facts) == 0 {
			continue
		}
		out = append(out, *d)
	}
	if len(out) == 0 {
		return nil, errors.New("usb: no lsusb, usb-devices, kernel log or sysfs attribute line found")
	}
	return out, nil
}

// parser assembles devices from lines of any of the formats.
type parser struct {
	devs   []*Device
	cur    *Device            // the device of lsusb -v or usb-devices detail lines
	byPath map[string]*Device // kernel log and sysfs path lines
	kv     *Device            // the device of key=value lines
	// lsusb -t: the device of the last tree line, the devices by bus and
	// device number, the bus of the current tree and the port at each
	// depth (for the bus path).
	tree   *Device
	byDev  map[[2]int]*Device
	bus    int
	indent int // the column of the root line's "/:"
	ports  []string
	udev   *Device // the device of the current udevadm info -a block
	inUdev bool
}

func (p *parser) add(d *Device) (*Device, error) {
	if len(p.devs) >= maxDevices {
		return nil, fmt.Errorf("more than %d devices", maxDevices)
	}
	p.devs = append(p.devs, d)
	return d, nil
}

func (p *parser) at(busPath string) (*Device, error) {
	if p.byPath == nil {
		p.byPath = map[string]*Device{}
	}
	if d := p.byPath[busPath]; d != nil {
		return d, nil
	}
	d, err := p.add(&Device{BusPath: busPath})
	if err == nil {
		p.byPath[busPath] = d
	}
	return d, err
}

func (p *parser) line(raw string) error {
	s := strings.TrimSpace(raw)
	if s == "" {
		p.kv = nil // a blank line ends a block of key=value attributes
		return nil
	}
	if ok, err := p.treeLine(raw, s); ok || err != nil {
		return err
	}
	if ok, err := p.udevLine(s); ok || err != nil {
		return err
	}
	if m := lsusbLine.FindStringSubmatch(s); m != nil {
		p.tree, p.inUdev = nil, false
		bus, _ := strconv.Atoi(m[1])
		dev, _ := strconv.Atoi(m[2])
		d, err := p.byNumber(bus, dev)
		if err != nil {
			return err
		}
		if d.VID == "" {
			d.VID, d.PID, d.Desc = strings.ToLower(m[3]), strings.ToLower(m[4]), strings.TrimSpace(m[5])
		}
		p.cur = d
		return nil
	}
	if m := devicesT.FindStringSubmatch(s); m != nil {
		p.tree, p.inUdev = nil, false
		bus, _ := strconv.Atoi(m[1])
		dev, _ := strconv.Atoi(m[2])
		d, err := p.byNumber(bus, dev)
		p.cur = d
		return err
	}
	if p.cur != nil {
		if ok, err := p.detail(s); ok || err != nil {
			return err
		}
	}
	if m := kernelNew.FindStringSubmatch(s); m != nil {
		d, err := p.at(m[1])
		if err != nil {
			return err
		}
		return setIDs(d, m[2], m[3])
	}
	if m := kernelStr.FindStringSubmatch(s); m != nil {
		d, err := p.at(m[1])
		if err != nil {
			return err
		}
		setString(d, m[2], m[3])
		return nil
	}
	if m := kernelUVC.FindStringSubmatch(s); m != nil && m[1] != "" {
		d, err := p.at(m[1])
		if err != nil {
			return err
		}
		if d.VID == "" {
			d.VID, d.PID = m[3], m[4]
		}
		if d.Product == "" {
			d.Product = m[2]
		}
		if !contains(d.Interfaces, "0e") {
			d.Interfaces = append(d.Interfaces, "0e")
		}
		return nil
	}
	if m := pathValue.FindStringSubmatch(s); m != nil {
		d, err := p.at(m[2])
		if err != nil {
			return err
		}
		return p.attribute(d, path.Base(m[1]), m[4])
	}
	if m := keyValue.FindStringSubmatch(s); m != nil {
		return p.keyValue(m[1], m[2])
	}
	return nil // other lines of lsusb -v, dmesg or a listing
}

// detail takes a detail line of lsusb -v or usb-devices for p.cur.
func (p *parser) detail(s string) (bool, error) {
	d := p.cur
	if m := verboseID.FindStringSubmatch(s); m != nil {
		v, ok := hex4(m[2])
		if !ok || len(m[2]) != 4 {
			return true, fmt.Errorf("%s 0x%s is not 4 hex digits", m[1], identity.Clean(m[2]))
		}
		if m[1] == "idVendor" {
			d.VID = v
		} else {
			d.PID = v
		}
		return true, nil
	}
	if m := verboseStr.FindStringSubmatch(s); m != nil {
		setString(d, map[string]string{"iManufacturer": "Manufacturer", "iProduct": "Product", "iSerial": "SerialNumber"}[m[1]], m[2])
		return true, nil
	}
	if m := verboseCls.FindStringSubmatch(s); m != nil {
		c, ok := classHex(m[2], true)
		if ok {
			setClass(d, m[1] == "bDeviceClass", c)
		}
		return true, nil
	}
	if m := devicesP.FindStringSubmatch(s); m != nil {
		return true, setIDs(d, m[1], m[2])
	}
	if m := devicesS.FindStringSubmatch(s); m != nil {
		setString(d, m[1], m[2])
		return true, nil
	}
	if m := devicesCls.FindStringSubmatch(s); m != nil {
		setClass(d, m[1] == "D", strings.ToLower(m[2]))
		if m[1] == "I" {
			if dm := devicesDrv.FindStringSubmatch(s); dm != nil {
				d.addDriver(dm[1])
			}
		}
		return true, nil
	}
	return false, nil
}

// treeLine takes a line of an lsusb -t tree: a root hub, an interface of a
// device (several lines for one device), or under either the ID and sysfs
// lines of lsusb -tv. Bus paths follow from the indentation, four columns
// a level, when the listing kept it; the sysfs line, when there is one,
// says it outright.
func (p *parser) treeLine(raw, s string) (bool, error) {
	if m := treeRoot.FindStringSubmatch(s); m != nil {
		bus, _ := strconv.Atoi(m[1])
		dev, _ := strconv.Atoi(m[3])
		d, err := p.treeDevice(bus, dev)
		if err != nil {
			return true, err
		}
		p.bus, p.ports, p.indent = bus, nil, strings.Index(raw, "/:")
		if d.BusPath == "" {
			d.BusPath = "usb" + strconv.Itoa(bus)
		}
		d.Class = "09"
		driver, _, _ := strings.Cut(m[6], "/")
		d.addDriver(driver)
		return true, nil
	}
	if m := treeNode.FindStringSubmatch(s); m != nil && p.bus > 0 {
		dev, _ := strconv.Atoi(m[2])
		d, err := p.treeDevice(p.bus, dev)
		if err != nil {
			return true, err
		}
		port, _ := strconv.Atoi(m[1])
		indent := strings.Index(raw, "|__") - p.indent
		level := indent / 4
		if indent%4 == 0 && level >= 1 && level <= len(p.ports)+1 && level <= 7 {
			p.ports = append(p.ports[:level-1], strconv.Itoa(port))
			if d.BusPath == "" {
				d.BusPath = strconv.Itoa(p.bus) + "-" + strings.Join(p.ports, ".")
			}
		} else {
			p.ports = nil // indentation lost: no bus paths from here on
		}
		if c, ok := treeClasses[strings.TrimSpace(m[4])]; ok {
			setClass(d, false, c)
		}
		d.addDriver(m[5])
		return true, nil
	}
	if p.tree == nil {
		return false, nil
	}
	if m := treeID.FindStringSubmatch(s); m != nil {
		if p.tree.VID == "" {
			p.tree.VID, p.tree.PID = strings.ToLower(m[1]), strings.ToLower(m[2])
			p.tree.Desc = strings.TrimSpace(m[3])
		}
		return true, nil
	}
	if m := treeSys.FindStringSubmatch(s); m != nil {
		p.tree.BusPath = m[1]
		return true, nil
	}
	return false, nil
}

// treeDevice is the device with that bus and device number, made the
// device of the tree lines that follow.
func (p *parser) treeDevice(bus, dev int) (*Device, error) {
	p.cur, p.kv = nil, nil
	d, err := p.byNumber(bus, dev)
	p.tree = d
	return d, err
}

// byNumber is the device with that bus and device number, so that an lsusb
// listing, its -v details and its -t tree in one capture describe each
// device once.
func (p *parser) byNumber(bus, dev int) (*Device, error) {
	if p.byDev == nil {
		p.byDev = map[[2]int]*Device{}
	}
	if d := p.byDev[[2]int{bus, dev}]; d != nil {
		return d, nil
	}
	d, err := p.add(&Device{Bus: bus, Dev: dev})
	if err == nil {
		p.byDev[[2]int{bus, dev}] = d
	}
	return d, err
}

// udevLine takes a line of udevadm info -a: a "looking at device" line
// opens the block of a USB device (1-1.2), of one of its interfaces
// (1-1.2:1.0, whose driver and class are the device's) or of anything
// else (ignored); ATTR{…}=="…" and DRIVER=="…" lines fill it.
func (p *parser) udevLine(s string) (bool, error) {
	if m := udevLooking.FindStringSubmatch(s); m != nil {
		p.inUdev, p.udev, p.cur, p.tree, p.kv = true, nil, nil, nil, nil
		name := path.Base(m[1])
		if im := udevIntf.FindStringSubmatch(name); im != nil {
			name = im[1]
		} else if !strings.HasPrefix(name, "usb") && !udevIntf.MatchString(name+":1.0") {
			return true, nil
		}
		d, err := p.at(name)
		p.udev = d
		return true, err
	}
	if !p.inUdev {
		return false, nil
	}
	if m := udevAttr.FindStringSubmatch(s); m != nil {
		if p.udev == nil {
			return true, nil
		}
		switch m[1] {
		case "bInterfaceClass":
			if c, ok := classHex(m[2], false); ok {
				setClass(p.udev, false, c)
			}
			return true, nil
		case "idVendor", "idProduct", "manufacturer", "product", "serial", "bDeviceClass", "busnum", "devnum":
			return true, p.attribute(p.udev, m[1], m[2])
		}
		return true, nil
	}
	if m := udevDriver.FindStringSubmatch(s); m != nil {
		if p.udev != nil && m[1] != "usb" {
			p.udev.addDriver(m[1])
		}
		return true, nil
	}
	return false, nil
}

// keyValue takes one attribute of a key=value block (sysfs files, uevent,
// udev properties); a repeated vendor id starts the next device.
func (p *parser) keyValue(key, value string) error {
	attr, ok := kvNames[key]
	if !ok {
		return nil
	}
	if p.kv == nil || (attr == "idVendor" && p.kv.VID != "") || attr == "PRODUCT" && p.kv.VID != "" {
		d, err := p.add(&Device{})
		if err != nil {
			return err
		}
		p.kv = d
	}
	if attr == "PRODUCT" { // uevent: PRODUCT=2bdf/281/1100
		f := strings.Split(value, "/")
		if len(f) < 2 {
			return fmt.Errorf("PRODUCT %q is not vendor/product/version", identity.Clean(value))
		}
		return setIDs(p.kv, f[0], f[1])
	}
	return p.attribute(p.kv, attr, value)
}

// kvNames maps the keys of sysfs files, uevent and udev properties to
// sysfs attribute names.
var kvNames = map[string]string{
	"idVendor": "idVendor", "idProduct": "idProduct", "manufacturer": "manufacturer", "product": "product",
	"serial": "serial", "bDeviceClass": "bDeviceClass", "busnum": "busnum", "devnum": "devnum",
	"PRODUCT": "PRODUCT", "ID_VENDOR_ID": "idVendor", "ID_MODEL_ID": "idProduct",
	"ID_VENDOR_ENC": "manufacturer", "ID_MODEL_ENC": "product", "ID_SERIAL_SHORT": "serial",
	"DEVNAME": "", "BUSNUM": "busnum", "DEVNUM": "devnum",
}

// attribute sets one sysfs attribute on d.
func (p *parser) attribute(d *Device, name, value string) error {
	value = unescapeUdev(strings.TrimSpace(value))
	switch name {
	case "idVendor", "idProduct":
		v, ok := hex4(value)
		if !ok || len(strings.TrimPrefix(value, "0x")) != 4 {
			return fmt.Errorf("%s %q is not 4 hex digits", name, identity.Clean(value))
		}
		if name == "idVendor" {
			d.VID = v
		} else {
			d.PID = v
		}
	case "manufacturer":
		d.Manufacturer = value
	case "product":
		d.Product = value
	case "serial":
		d.Serial = value
	case "bDeviceClass":
		if c, ok := classHex(value, false); ok {
			d.Class = c
		}
	case "busnum":
		d.Bus, _ = strconv.Atoi(value)
	case "devnum":
		d.Dev, _ = strconv.Atoi(value)
	}
	return nil
}

func setIDs(d *Device, vid, pid string) error {
	v, ok := hex4(vid)
	if !ok {
		return fmt.Errorf("vendor id %q is not hex", identity.Clean(vid))
	}
	p, ok := hex4(pid)
	if !ok {
		return fmt.Errorf("product id %q is not hex", identity.Clean(pid))
	}
	d.VID, d.PID = v, p
	return nil
}

func setString(d *Device, which, v string) {
	v = strings.TrimSpace(v)
	switch which {
	case "Manufacturer":
		d.Manufacturer = v
	case "Product":
		d.Product = v
	case "SerialNumber":
		d.Serial = v
	}
}

func setClass(d *Device, device bool, c string) {
	switch {
	case device:
		d.Class = c
	case !contains(d.Interfaces, c):
		d.Interfaces = append(d.Interfaces, c)
	}
}

// unescapeUdev undoes udev's \x20 escapes (ID_VENDOR_ENC).
func unescapeUdev(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
