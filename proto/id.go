package proto

import (
	"crypto/rand"
	"fmt"
)

// ClientID is a client's identity: a version-4 UUID, 122 random bits and 6
// fixed ones (version and variant).
type ClientID [16]byte

// NewClientID returns a version-4 UUID from crypto/rand, so that ids cannot be
// guessed: reaching a client takes knowing its id and sharing its room.
func NewClientID() (ClientID, error) {
	var id ClientID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("client id: %w", err)
	}
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id, nil
}

const hexDigits = "0123456789abcdef"

// uuidLen is the length of the text form: 32 hex digits and 4 dashes.
const uuidLen = 36

// AppendText appends the canonical lower-case UUID form of id.
func (id ClientID) AppendText(dst []byte) []byte {
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}

// String returns the UUID form of id.
func (id ClientID) String() string {
	var buf [uuidLen]byte
	return string(id.AppendText(buf[:0]))
}

// MarshalText is AppendText for encoding/json and its kin.
func (id ClientID) MarshalText() ([]byte, error) { return id.AppendText(nil), nil }

// UnmarshalText parses the UUID form, as ParseClientID does.
func (id *ClientID) UnmarshalText(b []byte) error {
	parsed, ok := ParseClientID(b)
	if !ok {
		return fmt.Errorf("client id %q is not a UUID", b)
	}
	*id = parsed
	return nil
}

// ParseClientID parses the UUID form written by AppendText; upper-case hex
// digits are accepted too.
func ParseClientID(s []byte) (ClientID, bool) {
	var id ClientID
	if len(s) != uuidLen {
		return id, false
	}
	j := 0
	for i := 0; i < uuidLen; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return id, false
			}
			i++
			continue
		}
		hi, lo := unhex(s[i]), unhex(s[i+1])
		if hi < 0 || lo < 0 {
			return id, false
		}
		id[j] = byte(hi<<4 | lo)
		j++
		i += 2
	}
	return id, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
