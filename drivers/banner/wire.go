package banner

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxHeaderBytes caps the status line and headers of one response read
// from the network.
const maxHeaderBytes = 32 << 10

var errHeaderTooLarge = errors.New("banner: response header block too large")

// readHead reads a start line and headers up to and including the blank
// line that ends them, at most maxHeaderBytes. Blank lines before the start
// line are skipped. On an error it returns what it read.
func readHead(r *bufio.Reader) ([]byte, error) {
	var head []byte
	lineStart := true // the next chunk begins a line
	for skipped := 0; ; {
		chunk, err := r.ReadSlice('\n')
		if lineStart && len(head) == 0 && len(bytes.TrimSpace(chunk)) == 0 && err == nil {
			if skipped += len(chunk); skipped > maxHeaderBytes {
				return nil, errHeaderTooLarge
			}
			continue // a blank line before the start line
		}
		blank := lineStart && err == nil && len(bytes.TrimRight(chunk, "\r\n")) == 0
		head = append(head, chunk...)
		if len(head) > maxHeaderBytes {
			return head[:maxHeaderBytes], errHeaderTooLarge
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			lineStart = false
			continue
		case err != nil:
			return head, err
		case blank:
			return head, nil
		}
		lineStart = true
	}
}

// headValue returns the value of the first header called name in a raw
// header block, or "".
func headValue(head []byte, name string) string {
	for _, line := range strings.Split(string(head), "\n") {
		if h, ok := splitHeader(strings.TrimRight(line, "\r")); ok && strings.EqualFold(h.name, name) {
			return h.value
		}
	}
	return ""
}

// readBody reads the body that follows head, at most max bytes: by
// Content-Length, by chunked transfer coding, or (when untilEOF) up to the
// end of the stream. Without either it reads nothing. A short body is not
// an error: what arrived is returned.
func readBody(r *bufio.Reader, head []byte, max int64, untilEOF bool) ([]byte, error) {
	if strings.Contains(strings.ToLower(headValue(head, "Transfer-Encoding")), "chunked") {
		return readChunked(r, max)
	}
	n := max
	if cl := headValue(head, "Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || v < 0 {
			return nil, errors.New("banner: malformed Content-Length")
		}
		n = min(v, max)
	} else if !untilEOF {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r, n))
	if len(body) > 0 {
		return body, nil
	}
	return body, err
}

// readChunked decodes a chunked body, keeping at most max bytes.
func readChunked(r *bufio.Reader, max int64) ([]byte, error) {
	var body []byte
	for int64(len(body)) < max {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return body, nil
		}
		size, _, _ := strings.Cut(strings.TrimSpace(string(line)), ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil || n < 0 {
			return body, errors.New("banner: malformed chunked body")
		}
		if n == 0 {
			return body, nil
		}
		buf := make([]byte, min(n, max-int64(len(body))))
		k, _ := io.ReadFull(r, buf)
		body = append(body, buf[:k]...)
		if k < len(buf) {
			return body, nil
		}
		if int64(len(buf)) < n {
			break
		}
		if _, err := r.ReadSlice('\n'); err != nil {
			return body, nil // the line ending after the chunk
		}
	}
	return body, nil
}
