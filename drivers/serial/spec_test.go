package serial

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	ok := []struct {
		in   string
		want Spec
	}{
		{"/dev/ttyUSB0", Spec{"/dev/ttyUSB0", 115200}},
		{"/dev/ttyUSB0:9600", Spec{"/dev/ttyUSB0", 9600}},
		{"ttyUSB1:2400", Spec{"/dev/ttyUSB1", 2400}},
		{"ttyAMA0", Spec{"/dev/ttyAMA0", 115200}},
		{"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0:115200",
			Spec{"/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", 115200}},
		// by-path names carry colons that are not rates
		{"/dev/serial/by-path/platform-3f980000.usb-usb-0:1.3:1.0-port0",
			Spec{"/dev/serial/by-path/platform-3f980000.usb-usb-0:1.3:1.0-port0", 115200}},
		{"/dev/serial/by-path/platform-3f980000.usb-usb-0:1.3:1.0-port0:4800",
			Spec{"/dev/serial/by-path/platform-3f980000.usb-usb-0:1.3:1.0-port0", 4800}},
		{"/dev//ttyUSB0/", Spec{"/dev/ttyUSB0", 115200}},
	}
	for _, c := range ok {
		got, err := ParseSpec(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := map[string]string{
		"":                                  "empty",
		":9600":                             "names no port",
		"/dev/ttyUSB0:12345":                "not a standard baud rate",
		"/dev/ttyUSB0:0":                    "not a standard baud rate",
		"/dev/ttyUSB0:99999999999999999999": "not a standard baud rate",
		"/dev/tty USB0":                     "space or control",
		"/dev/ttyUSB0\n:9600":               "space or control",
		"usb/ttyUSB0":                       "absolute path",
		"/":                                 "names no port",
		"/dev:9600":                         "names no port",
		strings.Repeat("a", 600):            "longer than",
	}
	for in, want := range bad {
		_, err := ParseSpec(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("ParseSpec(%.40q) error = %v, want one line containing %q", in, err, want)
		}
	}
}

// FuzzParseSpec: ParseSpec never panics, and what it accepts is an
// absolute, clean path with a standard rate that parses back the same.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"/dev/ttyUSB0", "ttyUSB0:9600", "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0:2400",
		":", "::", "/dev/x:", "/dev/x:115200:9600", "a/b", "\x00", "/dev/../etc/passwd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if !strings.HasPrefix(sp.Path, "/") || !validBaud(sp.Baud) || sp.Path == "/" {
			t.Fatalf("ParseSpec(%q) = %+v", s, sp)
		}
		again, err := ParseSpec(sp.String())
		if err != nil || again != sp {
			t.Fatalf("ParseSpec(%q) = %+v, but its String %q parses to %+v, %v", s, sp, sp.String(), again, err)
		}
	})
}
