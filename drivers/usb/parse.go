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
)

// Parse reads captured USB descriptions and returns one identity per
// device. It takes lsusb and lsusb -v output, usb-devices output, the
// kernel's "New USB device found" log lines, sysfs attributes as key=value
// lines (the files of one device, a uevent file, udevadm properties) or as
// path and content (grep . /sys/bus/usb/devices/*/idVendor, a path<TAB>value
// table). A malformed vendor or product id is an error; text with no USB
// description is an error.
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
	if m := lsusbLine.FindStringSubmatch(s); m != nil {
		bus, _ := strconv.Atoi(m[1])
		dev, _ := strconv.Atoi(m[2])
		d, err := p.add(&Device{Bus: bus, Dev: dev, VID: strings.ToLower(m[3]), PID: strings.ToLower(m[4]), Desc: strings.TrimSpace(m[5])})
		p.cur = d
		return err
	}
	if m := devicesT.FindStringSubmatch(s); m != nil {
		bus, _ := strconv.Atoi(m[1])
		dev, _ := strconv.Atoi(m[2])
		d, err := p.add(&Device{Bus: bus, Dev: dev})
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
