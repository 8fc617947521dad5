package pyc

import (
	"encoding/binary"
	"math/bits"
)

// sipHash is SipHash with c compression and d finalisation rounds, keyed
// with k0 and k1, as in CPython's Python/pyhash.c (siphash13, siphash24).
func sipHash(c, d int, k0, k1 uint64, src []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	b := uint64(len(src)) << 56
	for ; len(src) >= 8; src = src[8:] {
		m := binary.LittleEndian.Uint64(src)
		v3 ^= m
		for range c {
			round()
		}
		v0 ^= m
	}
	var last [8]byte
	copy(last[:], src)
	b |= binary.LittleEndian.Uint64(last[:])
	v3 ^= b
	for range c {
		round()
	}
	v0 ^= b
	v2 ^= 0xff
	for range d {
		round()
	}
	return v0 ^ v1 ^ v2 ^ v3
}
