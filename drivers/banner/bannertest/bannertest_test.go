package bannertest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestSetCSeq(t *testing.T) {
	for _, tc := range []struct{ in, cseq, want string }{
		{"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: x\r\n\r\n", "7", "RTSP/1.0 200 OK\r\nCSeq: 7\r\nServer: x\r\n\r\n"},
		{"RTSP/1.0 200 OK\ncseq:1\n\nCSeq: 1 in the body\n", "12", "RTSP/1.0 200 OK\nCSeq: 12\n\nCSeq: 1 in the body\n"},
		{"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", "", "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"},
	} {
		if got := string(setCSeq([]byte(tc.in), tc.cseq)); got != tc.want {
			t.Errorf("setCSeq(%q, %q) = %q, want %q", tc.in, tc.cseq, got, tc.want)
		}
	}
}

func exchange(t *testing.T, port int, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestCamera(t *testing.T) {
	ok := "HTTP/1.0 200 OK\r\nServer: App-webs/\r\n\r\n"
	cam := &Camera{
		HTTP:       map[string][]byte{"/": []byte(ok)},
		RTSP:       [][]byte{[]byte("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"), []byte("RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n\r\n")},
		TLSSubject: pkix.Name{Organization: []string{"HIKVISION"}},
	}
	stop, err := cam.Start(t.Context(), netip.MustParseAddr("127.0.0.1"), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if cam.HTTPPort == 0 || cam.RTSPPort == 0 || cam.TLSPort == 0 {
		t.Fatalf("ports not set: %d %d %d", cam.HTTPPort, cam.RTSPPort, cam.TLSPort)
	}
	if got := exchange(t, cam.HTTPPort, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); got != ok {
		t.Errorf("GET / = %q", got)
	}
	if got := exchange(t, cam.HTTPPort, "GET /nope HTTP/1.1\r\n\r\n"); got != string(notFound) {
		t.Errorf("GET /nope = %q", got)
	}

	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cam.RTSPPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(c)
	for i, want := range []string{"RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n", "RTSP/1.0 401 Unauthorized\r\nCSeq: 6\r\n\r\n"} {
		if _, err := io.WriteString(c, "OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: "+strconv.Itoa(5+i)+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(r, buf); err != nil || string(buf) != want {
			t.Errorf("RTSP answer %d = %q, %v; want %q", i, buf, err, want)
		}
	}

	tc, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cam.TLSPort)), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if o := tc.ConnectionState().PeerCertificates[0].Subject.Organization; len(o) != 1 || o[0] != "HIKVISION" {
		t.Errorf("certificate organisation = %q", o)
	}
	if n := len(cam.Requests()); n != 4 {
		t.Errorf("%d requests recorded, want 4", n)
	}
}

func TestCameraServesOnlyWhatIsSet(t *testing.T) {
	cam := &Camera{RTSP: [][]byte{[]byte("RTSP/1.0 200 OK\r\n\r\n")}}
	stop, err := cam.Start(t.Context(), netip.MustParseAddr("127.0.0.1"), 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if cam.HTTPPort != 0 || cam.TLSPort != 0 || cam.RTSPPort == 0 {
		t.Errorf("ports %d %d %d", cam.HTTPPort, cam.RTSPPort, cam.TLSPort)
	}
}

// TestCameraPost: a POST target gets the response its function builds
// from the body; a GET of it is a 404, and Post alone serves HTTP.
func TestCameraPost(t *testing.T) {
	cam := &Camera{Post: map[string]func([]byte) []byte{
		"/onvif/device_service": func(body []byte) []byte {
			return []byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
		},
	}}
	stop, err := cam.Start(t.Context(), netip.MustParseAddr("127.0.0.1"), 0, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got := exchange(t, cam.HTTPPort, "POST /onvif/device_service HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
	if got != "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" {
		t.Errorf("POST = %q", got)
	}
	if got := exchange(t, cam.HTTPPort, "GET /onvif/device_service HTTP/1.1\r\n\r\n"); got != string(notFound) {
		t.Errorf("GET of a POST target = %q", got)
	}
}
