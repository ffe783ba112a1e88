package banner

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxInput is the largest input a parser accepts.
const MaxInput = 256 << 10

// maxFragment is the longest bare one-line value taken as a Server or title
// fragment.
const maxFragment = 200

var utf8BOM = []byte("\xef\xbb\xbf")

// checkInput rejects empty and oversized inputs.
func checkInput(b []byte) error {
	if len(b) > MaxInput {
		return fmt.Errorf("banner: input too large (%d bytes, limit %d)", len(b), MaxInput)
	}
	if len(bytes.TrimSpace(bytes.TrimPrefix(b, utf8BOM))) == 0 {
		return errors.New("banner: empty input")
	}
	return nil
}

// parseOne checks b as every parser does and returns the one identity of
// source that into records from b without its leading BOM and white space.
func parseOne(b []byte, source string, into func(*identity.Identity, []byte) error) ([]identity.Identity, error) {
	if err := checkInput(b); err != nil {
		return nil, err
	}
	id := identity.Identity{Source: source}
	if err := into(&id, trimLead(b)); err != nil {
		return nil, err
	}
	return []identity.Identity{id}, nil
}

// trimLead drops a leading byte order mark and white space.
func trimLead(b []byte) []byte {
	return bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
}

// nextLine returns the line starting at pos without its line ending, and the
// position after the line ending.
func nextLine(b []byte, pos int) (string, int) {
	i := bytes.IndexByte(b[pos:], '\n')
	end, next := len(b), len(b)
	if i >= 0 {
		end, next = pos+i, pos+i+1
	}
	return strings.TrimRight(string(b[pos:end]), "\r"), next
}

// header is one header line as the device wrote it.
type header struct {
	name, value string
}

func isTokenChar(c byte) bool {
	return c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// splitHeader splits "Name: value"; ok is false when the line is not a
// header line.
func splitHeader(line string) (h header, ok bool) {
	name, value, found := strings.Cut(line, ":")
	if !found || !isToken(name) {
		return header{}, false
	}
	return header{name: name, value: strings.TrimSpace(value)}, true
}

// checkText fails on invalid UTF-8 and on control bytes other than tab.
func checkText(line string) error {
	if !utf8.ValidString(line) {
		return errors.New("banner: header block is not UTF-8 text")
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return errors.New("banner: control bytes in header block")
		}
	}
	return nil
}

// readHeaders reads header lines from pos up to a blank line, the end of b,
// or a line for which stop returns true. Lines that are text but not
// headers (such as the "## Server:" artefact of a PDF copy) are skipped
// when lenient is set and are an error otherwise. It returns the position
// after the blank line, or of the stop line.
func readHeaders(b []byte, pos int, lenient bool, stop func(string) bool) ([]header, int, error) {
	var hs []header
	for pos < len(b) {
		line, next := nextLine(b, pos)
		if strings.TrimSpace(line) == "" {
			return hs, next, nil
		}
		if stop != nil && stop(line) {
			return hs, pos, nil
		}
		if err := checkText(line); err != nil {
			return nil, 0, err
		}
		pos = next
		if (line[0] == ' ' || line[0] == '\t') && len(hs) > 0 {
			hs[len(hs)-1].value = strings.TrimSpace(hs[len(hs)-1].value + " " + strings.TrimSpace(line))
			continue
		}
		h, ok := splitHeader(line)
		if !ok {
			if lenient || line[0] == '#' {
				continue
			}
			return nil, 0, errors.New("banner: malformed header line")
		}
		hs = append(hs, h)
	}
	return hs, pos, nil
}

// eachMessage reads messages in a row, each a start line that isStart
// accepts, its header block and a body that runs up to the next start line
// or the end of b, and calls fn for each. Blank lines before a start line
// are skipped; any other line there is the error malformed.
func eachMessage(b []byte, isStart func(string) bool, malformed string, fn func(line string, hs []header, body []byte) error) error {
	for pos := 0; pos < len(b); {
		line, next := nextLine(b, pos)
		if strings.TrimSpace(line) == "" {
			pos = next
			continue
		}
		if !isStart(line) {
			return errors.New(malformed)
		}
		if err := checkText(line); err != nil {
			return err
		}
		hs, start, err := readHeaders(b, next, true, isStart)
		if err != nil {
			return err
		}
		end := start
		for end < len(b) {
			l, n := nextLine(b, end)
			if isStart(l) {
				break
			}
			end = n
		}
		if err := fn(line, hs, b[start:end]); err != nil {
			return err
		}
		pos = end
	}
	return nil
}

// commonHeaders are header names a single "Name: value" line must carry to
// be read as a header rather than as a title fragment such as
// "airVision: [NVR] - Software Portal".
var commonHeaders = map[string]bool{
	"server": true, "www-authenticate": true, "location": true, "content-type": true,
	"content-length": true, "date": true, "connection": true, "set-cookie": true,
	"cache-control": true, "keep-alive": true, "transfer-encoding": true, "etag": true,
	"last-modified": true, "pragma": true, "expires": true, "accept-ranges": true,
	"vary": true, "content-encoding": true, "public": true, "cseq": true,
	"session": true, "content-base": true,
}

// isHeaderLine reports whether a lone line reads as a well-known header.
func isHeaderLine(line string) bool {
	h, ok := splitHeader(line)
	if !ok {
		return false
	}
	n := strings.ToLower(h.name)
	return commonHeaders[n] || strings.HasPrefix(n, "x-")
}

// singleLine returns the text of b when it is one line (a trailing line
// ending and surrounding white space allowed).
func singleLine(b []byte) (string, bool) {
	s := strings.TrimSpace(string(trimLead(b)))
	if strings.ContainsAny(s, "\r\n") {
		return "", false
	}
	return s, true
}

// isKeyValue reports whether s looks like "key=value" with a bare
// identifier key, as magicBox and similar CGIs print.
func isKeyValue(s string) bool {
	k, _, found := strings.Cut(s, "=")
	if !found || k == "" || strings.ContainsAny(k, " \t") {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '.' || r == '[' || r == ']' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// fragment checks a lone line offered as a Server or title value: at most
// maxFragment bytes of printable UTF-8 text that is not markup and not a
// key=value pair.
func fragment(s string) error {
	switch {
	case s == "":
		return errors.New("banner: empty input")
	case len(s) > maxFragment:
		return fmt.Errorf("banner: a single line of %d bytes is too long for a header value (limit %d)", len(s), maxFragment)
	case !utf8.ValidString(s):
		return errors.New("banner: input is not UTF-8 text")
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != '\t' }) >= 0:
		return errors.New("banner: input holds control or non-printable characters")
	case strings.ContainsAny(s[:1], "<{"):
		return errors.New("banner: markup is not a header value")
	case strings.HasPrefix(s, "HTTP/"), strings.HasPrefix(s, "RTSP/"):
		return errors.New("banner: truncated or malformed status line")
	case isKeyValue(s):
		return errors.New("banner: a lone key=value line is not a known identity answer")
	case identity.NormalizeMAC(s) != "":
		return errors.New("banner: a MAC address is not a header value (use --protocol mac)")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return errors.New("banner: an IP address is not a header value")
	}
	return nil
}

// isStatusLine reports whether line is a status line of proto ("HTTP" or
// "RTSP"): PROTO/1.1 200 [reason]. HTTP/2 as curl prints it is accepted.
func isStatusLine(line, proto string) bool {
	rest, ok := strings.CutPrefix(line, proto+"/")
	if !ok {
		return false
	}
	ver, rest, ok := strings.Cut(rest, " ")
	if !ok || !isVersion(ver) {
		return false
	}
	rest = strings.TrimLeft(rest, " ")
	if len(rest) < 3 || !isDigits(rest[:3]) || len(rest) > 3 && rest[3] != ' ' {
		return false
	}
	return true
}

// isRequestLine reports whether line is a request line of proto:
// METHOD target PROTO/1.0.
func isRequestLine(line, proto string) bool {
	f := strings.Fields(line)
	if len(f) != 3 || !isToken(f[0]) || strings.ToUpper(f[0]) != f[0] {
		return false
	}
	ver, ok := strings.CutPrefix(f[2], proto+"/")
	return ok && isVersion(ver)
}

func isVersion(s string) bool {
	major, minor, dot := strings.Cut(s, ".")
	return isDigits(major) && len(major) == 1 && (!dot || isDigits(minor) && len(minor) == 1)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
