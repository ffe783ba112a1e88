package banner

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

// countingReader counts the bytes a bufio.Reader pulls from its source.
type countingReader struct {
	buf *bufio.Reader
	n   *int
}

type counter struct {
	r io.Reader
	n *int
}

func (c counter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	*c.n += k
	return k, err
}

func newCountingReader(r io.Reader) countingReader {
	n := new(int)
	return countingReader{buf: bufio.NewReader(counter{r, n}), n: n}
}

func TestReadHeadSkipsBlankLines(t *testing.T) {
	in := "\r\n\r\nRTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nbody"
	r := newCountingReader(strings.NewReader(in))
	head, err := readHead(r.buf)
	if err != nil || string(head) != "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n" {
		t.Fatalf("readHead = %q, %v", head, err)
	}
}

// endless yields an endless stream of pattern and counts what was read.
type endless struct {
	pattern []byte
	n       int
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.pattern[(e.n+i)%len(e.pattern)]
	}
	e.n += len(p)
	return len(p), nil
}

func TestWireCaps(t *testing.T) {
	const bufSize = 4096 // bufio.NewReader
	const maxBody = 1000
	for _, tc := range []struct {
		name    string
		prefix  string
		pattern string
		limit   int
	}{
		{"endless headers", "HTTP/1.1 200 OK\r\n", "X-A: b\r\n", maxHeaderBytes + bufSize},
		{"one endless header line", "HTTP/1.1 200 OK\r\n", "a", maxHeaderBytes + bufSize},
		{"endless blank lines", "", "\r\n", maxHeaderBytes + bufSize},
		{"endless body", "HTTP/1.1 200 OK\r\n\r\n", "x", maxBody + 2*bufSize},
		{"endless chunks", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "10\r\n0123456789abcdef\r\n", maxBody + 2*bufSize},
		{"huge chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n", "x", maxBody + 2*bufSize},
		{"huge Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "x", maxBody + 2*bufSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &endless{pattern: []byte(tc.pattern)}
			r := newCountingReader(io.MultiReader(strings.NewReader(tc.prefix), src))
			head, err := readHead(r.buf)
			var body []byte
			if err == nil {
				body, _ = readBody(r.buf, head, maxBody, true)
			}
			if len(head) > maxHeaderBytes || len(body) > maxBody {
				t.Errorf("kept %d head bytes and %d body bytes", len(head), len(body))
			}
			if *r.n > tc.limit {
				t.Errorf("read %d bytes, limit %d", *r.n, tc.limit)
			}
		})
	}
}
