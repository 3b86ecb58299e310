package models

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Crockford's base32 alphabet, lower case: ids sort by creation time and read
// without ambiguity (no i, l, o, u).
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns prefix_ followed by 26 characters: 48 bits of milliseconds
// since the epoch and 80 random bits, so ids sort roughly by creation time.
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 0, len(prefix)+27)
	out = append(out, prefix...)
	out = append(out, '_')
	// 128 bits as 26 base32 digits: the first digit carries the top 3 bits.
	var digits [26]byte
	for i := 25; i >= 0; i-- {
		digits[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(append(out, digits[:]...))
}
