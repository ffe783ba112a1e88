package console

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxLine is the longest line kept whole; longer runs without an end of
// line are cut into pieces of this size (a console that never ends its line
// cannot grow our buffer).
const MaxLine = 512

// splitter cuts a byte stream into lines at CR, LF, CRLF or LFCR, however
// the writes were split.
type splitter struct {
	buf []byte
}

// write feeds p and calls line for every line it completes.
func (s *splitter) write(p []byte, line func(string)) {
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			s.buf = append(s.buf, p...)
			p = nil
		} else {
			s.buf = append(s.buf, p[:i]...)
			p = p[i+1:]
			s.flush(line)
		}
		for len(s.buf) >= MaxLine {
			cut := MaxLine
			for cut < len(s.buf) && cut > MaxLine-utf8.UTFMax && !utf8.RuneStart(s.buf[cut]) {
				cut--
			}
			line(string(s.buf[:cut]))
			s.buf = append(s.buf[:0], s.buf[cut:]...)
		}
	}
}

// flush emits what is buffered as a line (nothing for an empty one).
func (s *splitter) flush(line func(string)) {
	if len(s.buf) > 0 {
		line(string(s.buf))
		s.buf = s.buf[:0]
	}
}

var (
	ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])`)
	kernelTime = regexp.MustCompile(`^\s*(<[0-7]>)?\[\s*[0-9]+\.[0-9]+\]\s?`)
)

// normalize turns a raw console line into text: terminal escapes and a
// kernel timestamp removed, invalid UTF-8 and control characters replaced
// by spaces, runs of space collapsed, trimmed.
func normalize(raw string) string {
	if strings.IndexByte(raw, 0x1b) >= 0 {
		raw = ansiEscape.ReplaceAllString(raw, "")
	}
	var b strings.Builder
	b.Grow(len(raw))
	space := false
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		i += size
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == ' ' || r == '\u00a0' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	s := b.String()
	if loc := kernelTime.FindStringIndex(s); loc != nil {
		s = s[loc[1]:]
	}
	return s
}
