package ninjalog

import "encoding/binary"

// HashCommand returns the hash ninja (1.11 and 1.12, build log formats
// v5 and v6) records in .ninja_log for an edge whose evaluated command is
// cmd: 64-bit MurmurHash2 (MurmurHash64A) with seed 0xDECAFBADDECAFBAD,
// reading the input as little-endian 64-bit words, exactly as
// BuildLog::LogEntry::HashCommand in ninja's src/build_log.cc.
//
// For an edge with a response file, cmd must include the response file
// content the way ninja's Edge::EvaluateCommand(true) appends it:
// command + ";rspfile=" + rspfile_content (only when the content is
// non-empty). [Commands] returns strings in that form.
func HashCommand(cmd string) uint64 {
	const (
		seed = 0xDECAFBADDECAFBAD
		m    = 0xc6a4a7935bd1e995
		r    = 47
	)
	n := len(cmd)
	h := uint64(seed) ^ (uint64(n) * m)
	data := []byte(cmd)
	for len(data) >= 8 {
		k := binary.LittleEndian.Uint64(data)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		data = data[8:]
	}
	switch len(data) {
	case 7:
		h ^= uint64(data[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(data[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(data[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(data[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(data[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(data[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(data[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}
