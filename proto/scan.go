package proto

import "unicode/utf8"

// The scanner below walks JSON that encoding/json.Valid has already accepted,
// so it only has to find where values start and end, never to reject input.
// It returns byte offsets into the original message, which is how payloads are
// forwarded without being copied or re-encoded.

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the offset just past the string token starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the offset just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// member is one key/value pair of an object: key is the raw key token without
// its quotes, value the raw value token.
type member struct {
	key, value []byte
}

// objectIter walks the members of the object token obj.
type objectIter struct {
	b []byte
	i int
}

func newObjectIter(obj []byte) objectIter {
	return objectIter{b: obj, i: 1} // past '{'
}

func (it *objectIter) next() (m member, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return m, false // '}' or end
	}
	end := skipString(b, i)
	m.key = b[i+1 : end-1]
	i = skipSpace(b, end)
	i = skipSpace(b, i+1) // past ':'
	end = skipValue(b, i)
	m.value = b[i:end]
	it.i = end
	return m, true
}

// keyIs compares a raw key token with a plain ASCII name, decoding the escapes
// a JSON encoder may legally use (e.g. "\u0065vent").
func keyIs(raw []byte, name string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			i++
			switch raw[i] {
			case 'u':
				if i+4 >= len(raw) {
					return false
				}
				r := hexRune(raw[i+1 : i+5])
				if r < 0 || r >= utf8.RuneSelf {
					return false
				}
				c = byte(r)
				i += 4
			case '"', '\\', '/':
				c = raw[i]
			default:
				return false // \b \f \n \r \t never appear in our field names
			}
		}
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return -1
		}
	}
	return r
}

// stringLen counts the characters of a raw string token's contents (quotes
// excluded), decoding escapes; a surrogate pair counts as one character.
func stringLen(raw []byte) int {
	n := 0
	for i := 0; i < len(raw); {
		if raw[i] == '\\' {
			if raw[i+1] == 'u' && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				r := hexRune(raw[i+2 : i+6])
				if r >= 0xD800 && r < 0xDC00 {
					i += 12 // high and low surrogate
					n++
					continue
				}
			}
			if raw[i+1] == 'u' {
				i += 6
			} else {
				i += 2
			}
			n++
			continue
		}
		_, size := utf8.DecodeRune(raw[i:])
		i += size
		n++
	}
	return n
}
