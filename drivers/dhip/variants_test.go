package dhip_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// frameWith frames body behind a header of hlen bytes whose length fields
// say n.
func frameWith(hlen int, n int, body string) []byte {
	h := make([]byte, hlen)
	binary.LittleEndian.PutUint32(h, uint32(hlen))
	copy(h[4:8], "DHIP")
	binary.LittleEndian.PutUint32(h[16:], uint32(n))
	binary.LittleEndian.PutUint32(h[24:], uint32(n))
	return append(append(h, body...), '\n', 0)
}

// facts renders identities as "field=value" lines, with MAC and Addr, for
// comparison.
func facts(ids []identity.Identity) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString("|")
		}
		b.WriteString("mac=" + id.MAC + ";addr=")
		if id.Addr.IsValid() {
			b.WriteString(id.Addr.String())
		}
		for _, f := range id.Facts {
			b.WriteString(";" + f.Field + "=" + f.Value)
		}
	}
	return b.String()
}

func TestParseVariants(t *testing.T) {
	const tell = "protocol=dhip-notifydevinfo"
	// A body of exactly 121 bytes: its framed length (123 = '{') puts a
	// '{' inside the header's length fields.
	body123 := `{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"IPC-HFW1230S","SerialNo":"4M05CC9FAC28B0B"}}}`
	body123 += strings.Repeat(" ", 121-len(body123))
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{
			"numbers as numbers or strings, escaped slashes",
			[]byte(`{"mac":"08-ED-ED-87-42-7A","method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":31,"DeviceClass":"NVR","SerialNo":"6C01E93PAG69A7D","Version":"2.800.0000000.13.R\/x","Port":"37777","IPv4Address":{"IPAddress":"192.168.124.17"}}}}`),
			"mac=08:ed:ed:87:42:7a;addr=192.168.124.17;" + tell + ";model=31;device-class=NVR;serial=6C01E93PAG69A7D;firmware=2.800.0000000.13.R/x;mac=08:ed:ed:87:42:7a",
		},
		{
			"class word as DeviceType is kept",
			[]byte(`{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"HCVR","DeviceClass":"HCVR"}}}`),
			"mac=;addr=;" + tell + ";model=HCVR;device-class=HCVR",
		},
		{
			"redacted values are skipped",
			[]byte(`{"mac":"**:**:**:**:**:**","method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"W461ASC","SerialNo":"**************","MachineName":" *** ","Vendor":"Lorex"}}}`),
			"mac=;addr=;" + tell + ";model=W461ASC;vendor=Lorex",
		},
		{
			"method-less deviceInfo with SerialNo",
			[]byte("\r\n  {\"params\":{\"deviceInfo\":{\"SerialNo\":\"1F006E4PAX00075\",\"IPv4Address\":{\"IPAddress\":\"fe80::1\"}}}}\r\n"),
			"mac=;addr=;" + tell + ";serial=1F006E4PAX00075",
		},
		{
			"frame with a '{' in its length fields",
			dhiptest.Frame([]byte(body123)),
			"mac=;addr=;" + tell + ";model=IPC-HFW1230S;serial=4M05CC9FAC28B0B",
		},
		{
			"36-byte header",
			frameWith(36, 60, `{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"VTO2000A"}}}`),
			"mac=;addr=;" + tell + ";model=VTO2000A",
		},
		{
			"header length field wrong, JSON found by scanning",
			append([]byte{0, 0, 0, 0, 'D', 'H', 'I', 'P', 1, 2, '{', 3}, `{ "method" : "client.notifyDevInfo", "params" : { "deviceInfo" : { "DeviceClass" : "VTO" } } }`+"\n\x00\x00"...),
			"mac=;addr=;" + tell + ";device-class=VTO",
		},
		{
			"magic at offset 0",
			append([]byte("DHIP\x00\x00\x00\x00"), `{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"BSC"}}}`...),
			"mac=;addr=;" + tell + ";model=BSC",
		},
		{
			"Ruby pp with nil, \\# and => inside strings",
			[]byte(`{"mac"=>"00:1f:54:a9:2e:58", "method"=>"client.notifyDevInfo", "params"=>{"deviceInfo"=>{"DeviceType"=>"a=>b \#{x}", "DeviceID"=>nil, "Vendor"=>"Lorex"}}}`),
			"mac=00:1f:54:a9:2e:58;addr=;" + tell + ";model=a=>b #{x};vendor=Lorex;mac=00:1f:54:a9:2e:58",
		},
		{
			"JSON with => inside a string stays JSON",
			[]byte(`{"method":"client.notifyDevInfo","params":{"deviceInfo":{"MachineName":"cam=>1","DeviceType":"X"}}}`),
			"mac=;addr=;" + tell + ";model=X;name=cam=>1",
		},
		{
			"CSV: two notify rows, one other, CRLF, quoted commas",
			[]byte("\ufeff\"ip\",\"method\",\"device_model\",\"device_type\",\"device_serial\",\"mac_address\",\"ipv4_address\"\r\n" +
				"192.0.2.1,client.notifyDevInfo,\"NVR4108HS-8P-4KS2, rev B\",NVR,6C01E93PAG69A7D,08:ed:ed:00:00:01,10.0.0.1\r\n" +
				"192.0.2.2,DHDiscover.search,X,Y,Z,,\r\n" +
				",client.notifyDevInfo,IPC-HDW1431T1-S4,IPC,**,,10.0.0.3\r\n"),
			"mac=08:ed:ed:00:00:01;addr=192.0.2.1;" + tell + ";model=NVR4108HS-8P-4KS2, rev B;device-class=NVR;serial=6C01E93PAG69A7D;mac=08:ed:ed:00:00:01" +
				"|mac=;addr=10.0.0.3;" + tell + ";model=IPC-HDW1431T1-S4;device-class=IPC",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := dhip.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := facts(ids); got != tc.want {
				t.Errorf("Parse =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
