package banner

import (
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

func TestParseRTSP(t *testing.T) {
	dahua := crlf("RTSP/1.0 401 Unauthorized\nCSeq: 2\nServer: Rtsp Server/3.0\n" +
		"WWW-Authenticate: Digest realm=\"Login to 4M0747EPAA1D284\", nonce=\"1\"\nWWW-Authenticate: Basic realm=\"Login to 4M0747EPAA1D284\"\n\n" +
		"RTSP/1.0 200 OK\nCSeq: 3\nServer: Rtsp Server/3.0\nContent-Base: rtsp://[fe80::1]:554/cam/realmonitor?channel=1&subtype=0/\nContent-Type: application/sdp\nContent-Length: 200\n\n" +
		"v=0\no=- 2251938202 2251938202 IN IP4 0.0.0.0\ns=Media Server\nc=IN IP4 0.0.0.0\nt=0 0\na=control:*\na=packetization-supported:DH\na=rtppayload-supported:DH\na=range:npt=now-\nm=video 0 RTP/AVP 96\na=tool:LIVE555 Streaming Media\n")
	runGood(t, ParseRTSP, "rtsp", []goodCase{
		{
			name: "Dahua 401 then 200 with SDP",
			in:   dahua,
			facts: f("protocol", "rtsp-response", "server", "Rtsp Server/3.0", "auth-scheme", "Digest", "realm", "Login to 4M0747EPAA1D284", "auth-scheme", "Basic",
				"url", "rtsp://[fe80::1]:554/cam/realmonitor?channel=1&subtype=0/",
				"sdp", "o=- 2251938202 2251938202 IN IP4 0.0.0.0", "sdp", "s=Media Server", "sdp", "a=packetization-supported:DH", "sdp", "a=rtppayload-supported:DH", "sdp", "a=tool:LIVE555 Streaming Media"),
			addr: "fe80::1",
		},
		{
			name:  "405 to OPTIONS with a Server header",
			in:    "RTSP/1.0 405 Method Not Allowed\r\nCSeq: 1\r\nServer: Dahua Rtsp Server\r\n\r\n",
			facts: f("protocol", "rtsp-response", "server", "Dahua Rtsp Server"),
		},
		{
			name:  "request, response with no blank line between",
			in:    "OPTIONS rtsp://10.0.0.2/ RTSP/1.0\nCSeq: 1\nRTSP/1.0 200 OK\nCSeq: 1\nServer: Hipcam RealServer/V1.0\n",
			facts: f("protocol", "rtsp-response", "server", "Hipcam RealServer/V1.0"),
		},
		{
			name:  "bare Server value",
			in:    "Dahua Rtsp Server\n",
			facts: f("protocol", "rtsp-fragment", "server", "Dahua Rtsp Server"),
		},
		{
			name:  "bare challenge",
			in:    `Digest realm="Hikvision", nonce="x"`,
			facts: f("auth-scheme", "Digest", "realm", "Hikvision"),
		},
		{
			name:  "header block",
			in:    "CSeq: 1\nServer: AvigilonOnvifNvt/2.4\n",
			facts: f("server", "AvigilonOnvifNvt/2.4"),
		},
	})
}

func TestParseRTSPBad(t *testing.T) {
	runBad(t, ParseRTSP, append(commonBad(), []badCase{
		{"HTTP response", string(identitytest.ReadFile(t, "http-hik-401-001.txt")), "not an RTSP response (an HTTP response)"},
		{"HTTP request", "GET / HTTP/1.0\r\n\r\n", "not an RTSP response (an HTTP request)"},
		{"requests only", "OPTIONS rtsp://10.0.0.2/ RTSP/1.0\r\nCSeq: 1\r\n\r\nDESCRIBE rtsp://10.0.0.2/ RTSP/1.0\r\nCSeq: 2\r\n\r\n", "no response"},
		{"non-UTF-8 header block", "RTSP/1.0 200 OK\r\nServer: \xc3\x28\r\n\r\n", "not UTF-8"},
		{"truncated status line", "RTSP/1.0 ", "status line"},
		{"SADP XML", string(identitytest.ReadFile(t, "sadp-001.xml")), "not an RTSP response"},
		{"DHIP JSON", string(identitytest.ReadFile(t, "dhip-001.json")), "not an RTSP response"},
		{"PEM", "-----BEGIN CERTIFICATE-----\n", "not an RTSP response"},
		{"free text lines", "hello\nworld\n", "not an RTSP response"},
		{"line too long", "Server-ish " + strings.Repeat("x", 250), "too long"},
	}...))
}
