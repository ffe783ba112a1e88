package usb_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/drivers/usb/usbtest"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func devices(t testing.TB, name string) []usb.Device {
	t.Helper()
	d, err := usb.ParseDevices(read(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func fact(field, value string) identity.Fact { return identity.Fact{Field: field, Value: value} }

// TestParseCorpus: each real capture gives its devices' ids and strings.
func TestParseCorpus(t *testing.T) {
	cases := map[string][]identity.Fact{
		"usb_hik_ds-u14_dmesg.txt": {fact("usb-vid", "2bdf"), fact("usb-pid", "0281"), fact("manufacturer", "SN0002"),
			fact("model", "HIK 2K USB CAMERA"), fact("usb-serial", "SN0002"), fact("device-class", "video")},
		"usb_hik_2k_camera_lsusb_line.txt": {fact("usb-vid", "2bdf"), fact("usb-pid", "028a"), fact("model", "SN0002 HIK 2K Camera")},
		"usb_dahua_a5501cu60_lsusb_v.txt": {fact("usb-vid", "2e03"), fact("usb-pid", "0001"), fact("manufacturer", "Dahua Technology"),
			fact("model", "A5501CU60"), fact("usb-serial", "4H05114PAKCE6F3")},
		"usb_sysfs_hik_ds-u14.reconstructed.tsv": {fact("usb-vid", "2bdf"), fact("usb-pid", "0281"), fact("manufacturer", "SN0002"),
			fact("model", "HIK 2K USB CAMERA"), fact("usb-serial", "SN0002")},
	}
	ports := map[string]string{
		"usb_hik_ds-u14_dmesg.txt": "1-1 2bdf:0281", "usb_hik_2k_camera_lsusb_line.txt": "bus 3 device 3 2bdf:028a",
		"usb_dahua_a5501cu60_lsusb_v.txt": "bus 4 device 4 2e03:0001", "usb_sysfs_hik_ds-u14.reconstructed.tsv": "1-1 2bdf:0281",
	}
	for name, want := range cases {
		ids, err := usb.Parse(read(t, name))
		if err != nil || len(ids) != 1 {
			t.Errorf("%s: %d identities, %v", name, len(ids), err)
			continue
		}
		if !slices.Equal(ids[0].Facts, want) || ids[0].Port != ports[name] || ids[0].Source != identity.SourceUSB {
			t.Errorf("%s:\n got %q %v\nwant %q %v", name, ids[0].Port, ids[0].Facts, ports[name], want)
		}
	}
	ids, err := usb.Parse(read(t, "usb_lsusb_rpi_gembird_webcam.txt"))
	if err != nil || len(ids) != 5 {
		t.Fatalf("lsusb of a Pi: %d identities, %v", len(ids), err)
	}
	if ids[0].Get("usb-vid") != "1908" || ids[4].Get("model") != "Linux Foundation 2.0 root hub" {
		t.Errorf("lsusb of a Pi: %+v", ids)
	}
}

func TestParseFormats(t *testing.T) {
	want := []identity.Fact{fact("usb-vid", "2bdf"), fact("usb-pid", "0281"), fact("manufacturer", "SN0002"), fact("model", "HIK 2K USB CAMERA")}
	for name, in := range map[string]string{
		"sysfs files":   "idVendor=2bdf\nidProduct=0281\nmanufacturer=SN0002\nproduct=HIK 2K USB CAMERA\n",
		"grep":          "/sys/bus/usb/devices/1-1/idVendor:2bdf\n/sys/bus/usb/devices/1-1/idProduct:0281\n/sys/bus/usb/devices/1-1/manufacturer:SN0002\n/sys/bus/usb/devices/1-1/product:HIK 2K USB CAMERA\n",
		"udevadm":       "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\nE: ID_VENDOR_ID=2bdf\nE: ID_MODEL_ID=0281\nE: ID_VENDOR_ENC=SN0002\nE: ID_MODEL_ENC=HIK\\x202K\\x20USB\\x20CAMERA\n",
		"usb-devices":   "T:  Bus=01 Lev=01 Prnt=01 Port=00 Cnt=01 Dev#=  7 Spd=480 MxCh= 0\nD:  Ver= 2.00 Cls=ef(misc ) Sub=02 Prot=01 MxPS=64 #Cfgs=  1\nP:  Vendor=2bdf ProdID=0281 Rev=11.00\nS:  Manufacturer=SN0002\nS:  Product=HIK 2K USB CAMERA\nI:  If#=0x0 Alt= 0 #EPs= 1 Cls=0e(video) Sub=01 Prot=00 Driver=uvcvideo\n",
		"uevent":        "DEVTYPE=usb_device\nPRODUCT=2bdf/281/1100\nmanufacturer=SN0002\nproduct=HIK 2K USB CAMERA\n",
		"crlf lsusb -v": "Bus 001 Device 007: ID 2bdf:0281  \r\nDevice Descriptor:\r\n  idVendor           0x2bdf \r\n  idProduct          0x0281 \r\n  iManufacturer           1 SN0002\r\n  iProduct                2 HIK 2K USB CAMERA\r\n",
	} {
		ids, err := usb.Parse([]byte(in))
		if err != nil || len(ids) != 1 {
			t.Errorf("%s: %d identities, %v", name, len(ids), err)
			continue
		}
		for _, f := range want {
			if !slices.Contains(ids[0].Facts, f) {
				t.Errorf("%s: missing %v in %v", name, f, ids[0].Facts)
			}
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "no lsusb",
		"U-Boot 2010.06 (Aug 30 2017)\n":   "no lsusb",
		"FF 01 00 04 20 00 25":             "no lsusb",
		"idVendor=2bdfx\nidProduct=0281\n": "idVendor \"2bdfx\" is not 4 hex digits",
		"idVendor=zz\n":                    "is not 4 hex digits",
		"/sys/bus/usb/devices/1-1/idProduct:12345\n":            "idProduct",
		"Bus 001 Device 002: ID 2bdf:0281\n  idVendor 0xq2bd\n": "not 4 hex digits",
		"\x00\x01\x02": "binary",
		strings.Repeat("idVendor=2bdf\n", usb.MaxInput/14+1): "larger than",
		manyDevices(300): "more than 256 devices",
	} {
		ids, err := usb.Parse([]byte(in))
		if err == nil || ids != nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "usb: ") || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("Parse(%.40q) = %v, %v; want one-line error with %q", in, ids, err, want)
		}
	}
}

// manyDevices is an lsusb listing of n distinct devices.
func manyDevices(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Bus %03d Device %03d: ID 2bdf:0281\n", 1+i/100, 1+i%100)
	}
	return b.String()
}

// corpusMachine builds a sysfs tree with the devices of the corpus
// captures: a Raspberry Pi's hubs, network adapters and webcam, the
// Hikvision webcams and the Dahua industrial camera.
func corpusMachine(t *testing.T) (root string, want []usb.Device) {
	root = t.TempDir()
	pi := devices(t, "usb_lsusb_rpi_gembird_webcam.txt")
	places := map[string]string{"1d6b": "usb1", "0424:9514": "1-1", "0424:ec00": "1-1.1", "7392": "1-1.2", "1908": "1-1.3"}
	for i := range pi {
		d := &pi[i]
		d.BusPath = places[d.VID]
		if p, ok := places[d.VID+":"+d.PID]; ok {
			d.BusPath = p
		}
		d.Bus, d.Dev, d.Desc = 0, 0, ""
		switch d.VID {
		case "1d6b", "0424":
			if d.PID != "ec00" {
				d.Class = "09"
			}
		case "1908":
			d.Class, d.Product, d.Interfaces, d.Video = "ef", "USB2.0 PC CAMERA", []string{"0e", "01"}, []string{"USB2.0 PC CAMERA: USB2.0 PC CAMERA"}
		}
	}
	hik := devices(t, "usb_hik_ds-u14_dmesg.txt")[0]
	hik.BusPath = "2-1" // the DS-U14's 1-1 is the Pi's hub here
	hik.Class, hik.Interfaces, hik.Video = "ef", []string{"0e", "0e", "01"}, []string{"HIK 2K USB CAMERA: HIK 2K USB", "HIK 2K USB CAMERA: HIK 2K USB"}
	hik2 := devices(t, "usb_hik_2k_camera_lsusb_line.txt")[0]
	hik2.BusPath, hik2.Bus, hik2.Dev, hik2.Manufacturer, hik2.Product, hik2.Desc = "3-1", 0, 0, "SN0002", "HIK 2K Camera", ""
	dahua := devices(t, "usb_dahua_a5501cu60_lsusb_v.txt")[0]
	dahua.BusPath, dahua.Bus, dahua.Dev = "4-2", 0, 0
	want = append(pi, hik, hik2, dahua)
	usbtest.WriteSysfs(t, root, want...)
	return root, want
}

// TestReadSysfs: a temporary sysfs tree built from the corpus captures reads
// back device by device, with interfaces and video4linux names.
func TestReadSysfs(t *testing.T) {
	root, want := corpusMachine(t)
	got, err := usb.Reader{Root: root}.Devices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b usb.Device) int { return strings.Compare(a.BusPath, b.BusPath) })
	if len(got) != len(want) {
		t.Fatalf("%d devices, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		w, g := want[i], got[i]
		// Interface classes are read once each.
		w.Interfaces = slices.Compact(w.Interfaces)
		w.Video = slices.Compact(w.Video)
		if g.BusPath != w.BusPath || g.VID != w.VID || g.PID != w.PID || g.Manufacturer != w.Manufacturer ||
			g.Product != w.Product || g.Serial != w.Serial || g.Class != w.Class ||
			!slices.Equal(g.Interfaces, w.Interfaces) || !slices.Equal(g.Video, w.Video) {
			t.Errorf("device %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	ids, err := usb.Reader{Root: root}.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, id := range ids {
		ports = append(ports, id.Port)
	}
	wantPorts := []string{"1-1.1 0424:ec00", "1-1.2 7392:7811", "1-1.3 1908:2310", "2-1 2bdf:0281", "3-1 2bdf:028a", "4-2 2e03:0001"}
	if !slices.Equal(ports, wantPorts) {
		t.Errorf("identities at %q, want %q (hubs left out)", ports, wantPorts)
	}
	for _, id := range ids {
		if id.Get("usb-vid") == "1908" && (id.Get("device-class") != "video" || id.Get("v4l-name") == "") {
			t.Errorf("webcam %+v", id)
		}
		if identity.MakeID("usb", id.Port) == "usb-2-1-2bdf-0281" {
			return
		}
	}
	t.Error("no id usb-2-1-2bdf-0281 for the DS-U14")
}

// TestReadSysfsMalformed: devices with a malformed or missing id are left
// out and named in one line; the rest are read; oversized and non-UTF-8
// strings are bounded and cleaned.
func TestReadSysfsMalformed(t *testing.T) {
	root := t.TempDir()
	usbtest.WriteSysfs(t, root,
		usb.Device{BusPath: "1-1", VID: "2bdf", PID: "0281", Manufacturer: "SN0002\xff\xfe", Product: strings.Repeat("HIK ", 50000)},
		usb.Device{BusPath: "1-2", VID: "zz12", PID: "0001"},
		usb.Device{BusPath: "1-3", VID: "2e03"},
		usb.Device{BusPath: "1-4", VID: "12d1", PID: "1506", Manufacturer: "HUAWEI", Interfaces: []string{"ff", "ff"}, Drivers: []string{"option", "huawei_cdc_ncm"}},
	)
	usbtest.File(t, root, "sys/bus/usb/devices/1-1:1.0/bInterfaceClass", "0e\n") // a stray interface link: ignored
	ids, err := usb.Reader{Root: root}.Read(t.Context())
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") || !strings.Contains(err.Error(), `1-2: idVendor "zz12"`) || !strings.Contains(err.Error(), "1-3: no idProduct") {
		t.Errorf("error %v", err)
	}
	if len(ids) != 2 || ids[0].Get("usb-vid") != "2bdf" || ids[1].Get("usb-vid") != "12d1" {
		t.Fatalf("identities %+v", ids)
	}
	if !slices.Contains(ids[1].Facts, fact("usb-driver", "option")) || !slices.Contains(ids[1].Facts, fact("usb-driver", "huawei_cdc_ncm")) {
		t.Errorf("drivers of the modem read from sysfs: %v", ids[1].Facts)
	}
	for _, f := range ids[0].Facts {
		if len(f.Value) > identity.MaxValueLen || !utf8.ValidString(f.Value) {
			t.Errorf("unbounded or unclean fact %.60q", f.Value)
		}
	}
	if _, err := (usb.Reader{Root: filepath.Join(root, "nothing")}).Read(t.Context()); err == nil {
		t.Error("a machine without sysfs gave no error")
	}
}

// FuzzParse: the USB text parser never panics; what it accepts are usb
// identities with 4-digit hex ids and clean facts.
func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if e.Name() != "INDEX.tsv" && !e.IsDir() {
			f.Add(read(f, e.Name()))
		}
	}
	f.Add([]byte("PRODUCT=2bdf/281/1100\nidVendor=2bdf\n\nE: ID_VENDOR_ID=12d1\nE: ID_MODEL_ENC=E3131\\x20"))
	f.Add([]byte("T:  Bus=01 Dev#=  2\nP:  Vendor=2e03 ProdID=0001\nS:  Product=A5501CU60\nI:  Cls=0e"))
	f.Add([]byte("/:  Bus 01.Port 1: Dev 1, Class=root_hub, Driver=x/1p, 480M\n    |__ Port 1: Dev 2, If 0, Class=Video, Driver=uvcvideo, 480M\n        ID 2bdf:0281 \n            |__ Port 9: Dev 3, If 0, Class=Hub, Driver=hub/4p, 480M\n        /sys/bus/usb/devices/1-1  /dev/bus/usb/001/002"))
	f.Add([]byte("looking at parent device '/devices/usb1/1-1/1-1:1.0':\nDRIVERS==\"huawei_cdc_ncm\"\nlooking at parent device '/devices/usb1/1-1':\nATTRS{idVendor}==\"12d1\"\nATTRS{idProduct}==\"1506\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := usb.Parse(b)
		if err != nil {
			if ids != nil || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error %q with %v", err, ids)
			}
			return
		}
		for _, id := range ids {
			if id.Source != identity.SourceUSB || len(id.Facts) == 0 {
				t.Fatalf("identity %+v", id)
			}
			for _, fa := range id.Facts {
				if (fa.Field == "usb-vid" || fa.Field == "usb-pid") && (len(fa.Value) != 4 || strings.Trim(fa.Value, "0123456789abcdef") != "") {
					t.Fatalf("id %q", fa.Value)
				}
				if fa.Value != identity.Clean(fa.Value) {
					t.Fatalf("unclean %q", fa.Value)
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var in []byte
	for range 40 { // 240 devices: under the 256 a capture may hold
		in = append(in, read(b, "usb_lsusb_rpi_gembird_webcam.txt")...)
		in = append(in, read(b, "usb_dahua_a5501cu60_lsusb_v.txt")...)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := usb.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadSysfs(b *testing.B) {
	root := b.TempDir()
	var devs []usb.Device
	for i := range 20 {
		devs = append(devs, usb.Device{BusPath: "1-1." + string(rune('1'+i%9)) + "." + string(rune('1'+i/9)), VID: "2bdf", PID: "0281",
			Manufacturer: "SN0002", Product: "HIK 2K USB CAMERA", Interfaces: []string{"0e", "01"}, Video: []string{"HIK"}})
	}
	usbtest.WriteSysfs(b, root, devs...)
	b.ReportAllocs()
	for b.Loop() {
		ids, err := usb.Reader{Root: root}.Read(b.Context())
		if err != nil || len(ids) != 20 {
			b.Fatal(len(ids), err)
		}
	}
}

// TestParseTrees: lsusb -t, -tv (ID lines of usbutils 017+), --tree -vvv
// (sysfs lines) and a listing with its tree give each device once, at its
// bus path, with its classes and bound drivers; a tree without ids still
// names the drivers.
func TestParseTrees(t *testing.T) {
	type want struct {
		port  string
		facts []identity.Fact
	}
	cases := map[string]struct {
		n    int
		want []want
	}{
		"usb_lsusb_tv_ids_eizo.txt": {9, []want{
			{"usb1 1d6b:0002", []identity.Fact{fact("usb-vid", "1d6b"), fact("model", "Linux Foundation 2.0 root hub"), fact("device-class", "hub")}},
			{"3-1.1 056d:4081", []identity.Fact{fact("usb-vid", "056d"), fact("usb-pid", "4081"), fact("model", "EIZO Corp."), fact("device-class", "hid"), fact("usb-driver", "usbhid")}},
			{"3-1.2.1.2 35ef:0021", []identity.Fact{fact("usb-vid", "35ef"), fact("device-class", "communications"), fact("usb-driver", "cdc_acm")}},
		}},
		"usb_lsusb_tree_vvv_sysfs_roccat.txt": {6, []want{
			{"3-2.2.3 1e7d:3098", []identity.Fact{fact("usb-vid", "1e7d"), fact("model", "ROCCAT"), fact("usb-driver", "usbhid")}},
			{"4-2 2109:0817", []identity.Fact{fact("usb-vid", "2109"), fact("device-class", "hub")}},
		}},
		"usb_lsusb_t_rpi3bplus.txt": {4, []want{
			{"1-1.1.1", []identity.Fact{fact("device-class", "vendor-specific"), fact("usb-driver", "lan78xx")}},
		}},
		"usb_lsusb_t_huawei_e3372_ncm.txt": {4, []want{
			{"1-1", []identity.Fact{fact("device-class", "vendor-specific"), fact("usb-driver", "option"), fact("usb-driver", "huawei_cdc_ncm"), fact("usb-driver", "usb-storage")}},
		}},
		"usb_lsusb_and_t_chicony_uvc.txt": {8, []want{
			{"1-5 04f2:b40a", []identity.Fact{fact("usb-vid", "04f2"), fact("model", "Chicony Electronics Co., Ltd USB2.0 HD UVC WebCam"), fact("device-class", "video"), fact("usb-driver", "uvcvideo")}},
			{"1-2 7392:a812", []identity.Fact{fact("usb-vid", "7392"), fact("device-class", "vendor-specific")}},
		}},
		"usb_devices_huawei_e3372s_15b6.txt": {1, []want{
			{"bus 2 device 28 12d1:15b6", []identity.Fact{fact("usb-vid", "12d1"), fact("manufacturer", "HUAWEI_MOBILE"), fact("usb-driver", "option"), fact("usb-driver", "huawei_cdc_ncm"), fact("usb-driver", "usb-storage")}},
		}},
		"usb_debugfs_devices_huawei_1506.txt": {1, []want{
			{"bus 3 device 2 12d1:1506", []identity.Fact{fact("usb-vid", "12d1"), fact("usb-pid", "1506"), fact("usb-driver", "huawei_cdc_ncm")}},
		}},
	}
	for name, c := range cases {
		ids, err := usb.Parse(read(t, name))
		if err != nil || len(ids) != c.n {
			t.Errorf("%s: %d identities, %v; want %d", name, len(ids), err, c.n)
			continue
		}
		for _, w := range c.want {
			i := slices.IndexFunc(ids, func(id identity.Identity) bool { return id.Port == w.port })
			if i < 0 {
				t.Errorf("%s: no device at %q", name, w.port)
				continue
			}
			for _, f := range w.facts {
				if !slices.Contains(ids[i].Facts, f) {
					t.Errorf("%s %s: missing %v in %v", name, w.port, f, ids[i].Facts)
				}
			}
		}
	}
	// A forum that strips the indentation loses the bus paths, never the
	// devices: they are placed by bus and device number.
	var flat []string
	for _, l := range strings.Split(string(read(t, "usb_lsusb_t_rpi3bplus.txt")), "\n") {
		flat = append(flat, strings.TrimSpace(l))
	}
	ids, err := usb.Parse([]byte(strings.Join(flat, "\n")))
	if err != nil || len(ids) != 4 || ids[3].Port != "bus 1 device 4" || ids[0].Port != "usb1" {
		t.Errorf("flattened tree: %+v, %v", ids, err)
	}
}

// TestParseUdevadmAttributeWalk: udevadm info -a, from a tty up through
// its interface and device to the root hub: the device's attributes and
// the interface's driver and class make one device; the tty and the PCI
// controller make none.
func TestParseUdevadmAttributeWalk(t *testing.T) {
	in := strings.Join([]string{
		"Udevadm info starts with the device specified by the devpath and then",
		"walks up the chain of parent devices.",
		"",
		"  looking at device '/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0':",
		`    KERNEL=="ttyUSB0"`,
		`    SUBSYSTEM=="tty"`,
		`    DRIVER==""`,
		"",
		"  looking at parent device '/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0':",
		`    KERNELS=="1-1:1.0"`,
		`    SUBSYSTEMS=="usb"`,
		`    DRIVERS=="option"`,
		`    ATTRS{bInterfaceClass}=="ff"`,
		"",
		"  looking at parent device '/devices/pci0000:00/0000:00:14.0/usb1/1-1':",
		`    KERNELS=="1-1"`,
		`    DRIVERS=="usb"`,
		`    ATTRS{idProduct}=="1506"`,
		`    ATTRS{idVendor}=="12d1"`,
		`    ATTRS{manufacturer}=="HUAWEI_MOBILE"`,
		`    ATTRS{bDeviceClass}=="00"`,
		"",
		"  looking at parent device '/devices/pci0000:00/0000:00:14.0':",
		`    KERNELS=="0000:00:14.0"`,
		`    ATTRS{vendor}=="0x8086"`,
	}, "\n")
	ids, err := usb.Parse([]byte(in))
	if err != nil || len(ids) != 1 {
		t.Fatalf("%+v, %v", ids, err)
	}
	for _, f := range []identity.Fact{fact("usb-vid", "12d1"), fact("usb-pid", "1506"), fact("manufacturer", "HUAWEI_MOBILE"), fact("usb-driver", "option"), fact("device-class", "vendor-specific")} {
		if !slices.Contains(ids[0].Facts, f) || ids[0].Port != "1-1 12d1:1506" {
			t.Errorf("missing %v in %q %v", f, ids[0].Port, ids[0].Facts)
		}
	}
	if _, err := usb.Parse([]byte("  looking at device '/devices/1-1':\n    ATTR{idVendor}==\"12d1x\"\n")); err == nil {
		t.Error("a malformed vendor id in udevadm info -a was accepted")
	}
}
