package banner

import (
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func TestParseHTTP(t *testing.T) {
	isapiXML := string(identitytest.ReadFile(t, "http-isapi-001.xml"))
	runGood(t, ParseHTTP, "http", []goodCase{
		{
			name: "curl -si -L: a 301 then a 200, CRLF",
			in: crlf("HTTP/1.1 301 Moved Permanently\nLocation: http://192.168.1.64/doc/page/login.asp\nServer: App-webs/\n\n" +
				"HTTP/1.1 200 OK\nServer: App-webs/\nContent-Type: text/html\n\n<!DOCTYPE html>\n<html><head><TITLE>\n  Network &amp; Camera </TITLE></head></html>\n"),
			facts: f("protocol", "http-response", "url", "http://192.168.1.64/doc/page/login.asp", "server", "App-webs/", "title", "Network & Camera"),
		},
		{
			name: "Dahua: upper-case headers and a BOM before the body",
			in: "HTTP/1.1 200 OK\r\nCONNECTION: close\r\nCONTENT-LENGTH: 120\r\nCONTENT-TYPE: text/html\r\n\r\n" +
				"\xef\xbb\xbf<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\"><html><head><title>WEB SERVICE</title></head></html>",
			facts: f("protocol", "http-response", "http-style", "uppercase-headers+bom", "title", "WEB SERVICE"),
		},
		{
			name:  "upper-case headers without a BOM",
			in:    "HTTP/1.0 401 Unauthorized\nSERVER: Webs\nCONTENT-TYPE: text/html\nDate: today\n\n",
			facts: f("protocol", "http-response", "server", "Webs", "http-style", "uppercase-headers"),
		},
		{
			name: "several challenges, quoted commas and escapes",
			in: "HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Digest realm=\"Login, to \\\"x\\\"\", nonce=\"abc\", qop=\"auth\", Basic realm=device\n" +
				"WWW-Authenticate: Negotiate\nWWW-Authenticate: Basic YWxhZGRpbjpvcGVu\n\n",
			facts: f("protocol", "http-response", "auth-scheme", "Digest", "realm", `Login, to "x"`, "auth-scheme", "Basic", "realm", "device", "auth-scheme", "Negotiate"),
		},
		{
			name:  "PDF artefact line and LF endings",
			in:    "HTTP/1.1 401 Unauthorized\n## Server:\nWWW-Authenticate: Basic realm=\"hikvision\"\n",
			facts: f("protocol", "http-response", "auth-scheme", "Basic", "realm", "hikvision"),
		},
		{
			name:  "ISAPI 401 with a ResponseStatus body",
			in:    "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/xml\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ResponseStatus version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><statusCode>4</statusCode></ResponseStatus>",
			facts: f("protocol", "http-response", "xmlns", "http://www.hikvision.com/ver20/XMLSchema"),
		},
		{
			name:  "ISAPI deviceInfo as a 200 body",
			in:    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n" + isapiXML,
			facts: append(f("protocol", "http-response"), mustParse(t, ParseHTTP, isapiXML)...),
			mac:   "a6:63:9e:f8:01:09",
		},
		{
			name:  "magicBox getVendor as a body",
			in:    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nvendor=Dahua\r\n",
			facts: f("protocol", "http-response", "protocol", "dahua-magicbox", "vendor", "Dahua"),
		},
		{
			name:  "header block without status line",
			in:    "Server: DNVRS-Webs\nWWW-Authenticate: Digest realm=\"DVRNVRDVS\", nonce=\"1\"\n",
			facts: f("server", "DNVRS-Webs", "auth-scheme", "Digest", "realm", "DVRNVRDVS"),
		},
		{
			name:  "a single WWW-Authenticate line",
			in:    "WWW-Authenticate: Basic realm=\"hikvision\"",
			facts: f("auth-scheme", "Basic", "realm", "hikvision"),
		},
		{
			name:  "a single Server line",
			in:    "server: Hikvision-Webs\r\n",
			facts: f("server", "Hikvision-Webs"),
		},
		{
			name:  "bare Digest value",
			in:    `Digest realm="IP Camera(21388)", nonce="x", stale="FALSE"`,
			facts: f("auth-scheme", "Digest", "realm", "IP Camera(21388)"),
		},
		{
			name:  "bare title fragment with a colon",
			in:    "UniFi NVR: Software Portal\n",
			facts: f("protocol", "http-fragment", "server", "UniFi NVR: Software Portal", "title", "UniFi NVR: Software Portal"),
		},
		{
			name:  "magicBox getVendor alone",
			in:    "vendor=Amcrest\r\n",
			facts: f("protocol", "dahua-magicbox", "vendor", "Amcrest"),
		},
		{
			name:  "magicBox Lorex NVR: deviceType 31, model in updateSerial",
			in:    "deviceType=31\nprocessor=ST7108\nserialNumber=ND0123456789012\nupdateSerial=DHI-NVR4108HS-8P-4KS2\n",
			facts: f("protocol", "dahua-magicbox", "model", "31", "soc", "ST7108", "serial", "ND0123456789012", "update-serial", "DHI-NVR4108HS-8P-4KS2"),
		},
		{
			name:  "magicBox getDeviceType and getSoftwareVersion",
			in:    "type=IPC-HDW5831R-ZE\nversion=2.800.0000016.0.R,build:2020-06-05\n",
			facts: f("protocol", "dahua-magicbox", "model", "IPC-HDW5831R-ZE", "firmware", "2.800.0000016.0.R,build:2020-06-05"),
		},
		{
			name:  "DeviceInfo in another namespace",
			in:    `<DeviceInfo xmlns="urn:example"><model>X1</model><firmwareVersion>1.0</firmwareVersion></DeviceInfo>`,
			facts: f("protocol", "deviceinfo-xml", "xmlns", "urn:example", "model", "X1", "firmware", "1.0"),
		},
		{
			name:  "ISAPI JSON without the response wrapper",
			in:    `{"DeviceInfo": {"@xmlns": "http://www.isapi.org/ver20/XMLSchema", "model": "DS-2CD2143G0-I", "macAddress": "BC-AD-28-12-34-56", "telecontrolID": 88}}`,
			facts: f("protocol", "hikvision-isapi-deviceinfo", "xmlns", "http://www.isapi.org/ver20/XMLSchema", "model", "DS-2CD2143G0-I", "mac", "bc:ad:28:12:34:56"),
			mac:   "bc:ad:28:12:34:56",
		},
		{
			name:  "Reolink API error answer (not logged in)",
			in:    `[{"cmd":"GetDevInfo","code":1,"error":{"detail":"please login first","rspCode":-6}}]`,
			facts: f("protocol", "reolink-api"),
		},
		{
			name:  "HTML page with a generator",
			in:    "<html><head><meta http-equiv=X-UA-Compatible content=IE=edge><META NAME=\"Generator\" CONTENT='Boa Web'><title>DCS-930L</title></head></html>",
			facts: f("title", "DCS-930L", "generator", "Boa Web"),
		},
		{
			name:  "Hikvision root page: a script redirect, no title",
			in:    `<script>location.href="/doc/page/login.asp?_"+(new Date()).getTime()</script>`,
			facts: nil,
		},
	})
}

// mustParse returns the facts parse gives for s.
func mustParse(t *testing.T, parse func([]byte) ([]identity.Identity, error), s string) []identity.Fact {
	t.Helper()
	ids, err := parse([]byte(s))
	if err != nil || len(ids) != 1 {
		t.Fatalf("parse: %v", err)
	}
	return ids[0].Facts
}

func TestParseHTTPBad(t *testing.T) {
	runBad(t, ParseHTTP, append(commonBad(), []badCase{
		{"non-UTF-8 header block", "HTTP/1.1 200 OK\r\nServer: \xff\xfeWebs\r\n\r\n", "not UTF-8"},
		{"control bytes in a header", "HTTP/1.1 200 OK\r\nServer: a\x01b\r\n\r\n", "control bytes"},
		{"truncated status line", "HTTP/1.1 2", "status line"},
		{"truncated ISAPI XML", `<?xml version="1.0"?><DeviceInfo xmlns="http://www.hikvision.com/ver20/XMLSchema"><model>DS-2CD`, "truncated"},
		{"truncated ISAPI JSON", `{"response": {"DeviceInfo": {"model": "DS-`, "truncated"},
		{"SADP XML", string(identitytest.ReadFile(t, "sadp-001.xml")), "not an HTTP response (a SADP message)"},
		{"DHIP JSON", string(identitytest.ReadFile(t, "dhip-001.json")), "not an HTTP response (a DHIP"},
		{"WS-Discovery SOAP", string(identitytest.ReadFile(t, "wsd-001.xml")), "not an HTTP response (a SOAP envelope)"},
		{"SSDP response", string(identitytest.ReadFile(t, "ssdp-001.txt")), "SSDP"},
		{"RTSP response", string(identitytest.ReadFile(t, "rtsp-003.txt")), "not an HTTP response (an RTSP response)"},
		{"RTSP transcript", string(identitytest.ReadFile(t, "rtsp-001.txt")), "not an HTTP response (a request)"},
		{"HTTP request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not an HTTP response (a request)"},
		{"PEM", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "not an HTTP response (PEM data)"},
		{"other XML", `<root><a>1</a></root>`, "not a known identity document"},
		{"other JSON", `{"a": 1}`, "not a known identity document"},
		{"JSON with trailing junk", `{"DeviceInfo": {}} x`, "data follows"},
		{"lone unknown key=value", "type=IPC-HDW1234", "key=value"},
		{"magicBox with a junk line", "vendor=Dahua\nhello there\n", "not an HTTP response"},
		{"two unknown key=value lines", "a=1\nb=2\n", "not an HTTP response"},
		{"free text lines", "hello\nworld\n", "not an HTTP response"},
		{"header block then junk line", "Server: x\nthis is not a header\n", "not an HTTP response"},
		{"line too long", strings.Repeat("x", 201), "too long"},
		{"control characters", "Sony\x07Camera", "control"},
	}...))
}
