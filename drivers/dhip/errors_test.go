package dhip_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/dhip"
	"github.com/nvrguard/nvrguard/drivers/dhip/dhiptest"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

// header returns a 32-byte DHIP header with magic m and body length n.
func header(m string, n int) []byte {
	h := make([]byte, 32)
	binary.LittleEndian.PutUint32(h, 32)
	copy(h[4:8], m)
	binary.LittleEndian.PutUint32(h[16:], uint32(n))
	binary.LittleEndian.PutUint32(h[24:], uint32(n))
	return h
}

func TestParseErrors(t *testing.T) {
	good := identitytest.ReadFile(t, "dhip-001.json")
	framed := dhiptest.Frame(good)
	identitytest.RunErrors(t, "dhip: ", dhip.Parse, dhip.ErrNotReply, identitytest.ErrorCases{
		{"empty", nil, "empty", false},
		{"too large", append(bytes.Clone(good), bytes.Repeat([]byte(" "), 64<<10)...), "too large", false},
		{"JSON not UTF-8", []byte("{\"method\":\"client.notifyDevInfo\",\"params\":{\"deviceInfo\":{\"DeviceType\":\"\xff\"}}}"), "not UTF-8", false},
		{"framed body not UTF-8", dhiptest.Frame([]byte("{\"method\":\"client.notifyDevInfo\",\"x\":\"\xc3\"}")), "not UTF-8", false},
		{"CSV not UTF-8", []byte("method,device_model\nclient.notifyDevInfo,\xff\n"), "not UTF-8", false},
		{"truncated JSON", good[:len(good)/2], "truncated JSON", false},
		{"truncated frame", framed[:200], "truncated JSON", false},
		{"DHIP header without a body", header("DHIP", 0), "without a JSON body", false},
		{"DHIP header cut short", header("DHIP", 700)[:8], "without a JSON body", false},
		{"byte-swapped PIHD framing", append(header("PIHD", len(good)), good...), "PIHD", false},
		{"our request, framed", dhip.Probe(), "not a reply", true},
		{"a compact request, bare", []byte(`{"method":"DHDiscover.search","params":{"mac":"","uni":1}}`), "not a reply", true},
		{"Xiongmai SystemInfo", []byte(`{ "Name" : "SystemInfo", "Ret" : 100, "SessionID" : "0x00000001", "SystemInfo" : { "DeviceModel" : "HI3518E_50H10L_S39", "SerialNo" : "a1b2c3d4e5f6a7b8" } }`), "not a DHIP reply", false},
		{"other method", []byte(`{"method":"client.notifyOther","params":{"deviceInfo":{"DeviceType":"X"}}}`), "not client.notifyDevInfo", false},
		{"method not a string", []byte(`{"method":1,"params":{"deviceInfo":{"DeviceType":"X"}}}`), "not client.notifyDevInfo", false},
		{"notifyDevInfo without deviceInfo", []byte(`{"method":"client.notifyDevInfo","params":{}}`), "without a params.deviceInfo", false},
		{"deviceInfo not an object", []byte(`{"method":"client.notifyDevInfo","params":{"deviceInfo":"IPC"}}`), "without a params.deviceInfo", false},
		{"method-less deviceInfo without DeviceType or SerialNo", []byte(`{"params":{"deviceInfo":{"Vendor":"Dahua"}}}`), "neither DeviceType nor SerialNo", false},
		{"JSON array", []byte(`[{"method":"client.notifyDevInfo"}]`), "not a DHIP reply", false},
		{"JSON string after header", append(header("DHIP", 4), `"x"`...), "without a JSON body", false},
		{"trailing data", append(bytes.Clone(good), " {}"...), "data after", false},
		{"HTML", []byte("<!DOCTYPE html><html><head><title>WEB SERVICE</title></head></html>"), "not a DHIP reply", false},
		{"binary junk", []byte{0xa3, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0x7b}, "not a DHIP reply", false},
		{"SADP XML", []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ProbeMatch><Uuid>F93CF8DC</Uuid><DeviceDescription>DS-2CD2320D-I</DeviceDescription></ProbeMatch>\n"), "not a DHIP reply", false},
		{"CSV header only", []byte("\"timestamp\",\"ip\",\"method\"\n"), "no rows", false},
		{"CSV without notifyDevInfo rows", []byte("ip,method,device_model\n192.0.2.1,other,X\n"), "no client.notifyDevInfo row", false},
		{"CSV with too many rows", []byte("method\n" + strings.Repeat("x\n", 4097)), "more than 4096 rows", false},
		{"CSV with a ragged row", []byte("ip,method\n192.0.2.1,client.notifyDevInfo,extra\n"), "malformed CSV", false},
		{"Ruby pp with Ruby-only syntax", []byte(`{"mac"=>:sym, "method"=>"client.notifyDevInfo"}`), "malformed JSON", false},
		{"header too long before body", append(append([]byte("DHIP"), bytes.Repeat([]byte{0}, 300)...), good...), "within 256 bytes", false},
	})
}
