package dhip

import "bytes"

// rubyToJSON rewrites Ruby's pp (inspect) rendering of a parsed JSON value
// as JSON: outside string literals "=>" becomes ':' and nil becomes null;
// inside them the escapes Ruby has and JSON lacks (\#, \e, \a, \v) are
// translated. It reports false, and b is to be read as JSON, when b has
// no "=>" outside a string literal. Anything else Ruby-specific is left
// for the JSON decoder to reject.
func rubyToJSON(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	inStr, found := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch {
			case c == '\\' && i+1 < len(b):
				i++
				switch n := b[i]; n {
				case '#':
					out = append(out, '#')
				case 'e':
					out = append(out, `\u001b`...)
				case 'a':
					out = append(out, `\u0007`...)
				case 'v':
					out = append(out, `\u000b`...)
				default:
					out = append(out, c, n)
				}
				continue
			case c == '"':
				inStr = false
			}
			out = append(out, c)
			continue
		}
		switch {
		case c == '"':
			inStr = true
		case c == '=' && i+1 < len(b) && b[i+1] == '>':
			out = append(out, ':')
			i++
			found = true
			continue
		case c == 'n' && bytes.HasPrefix(b[i:], []byte("nil")) && !word(b, i-1) && !word(b, i+3):
			out = append(out, "null"...)
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out, found
}

// word reports whether b[i] exists and is an identifier character.
func word(b []byte, i int) bool {
	if i < 0 || i >= len(b) {
		return false
	}
	c := b[i]
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
