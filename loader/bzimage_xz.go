package loader

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"math/bits"
)

// This file decodes the .xz container (The .xz File Format, version 1.2.0,
// tukaani.org) as the kernel build writes it: scripts/xz_wrap.sh runs
// "xz --check=crc32 --x86 --lzma2=..." on x86, so each block is filtered
// with the x86 BCJ filter and then compressed with LZMA2. The container is
// parsed here, the LZMA2 data of each block is decoded by lzma2Decode
// (lzma2.go) straight into the output buffer, and the x86 BCJ filter is
// undone in place by bcjX86.
//
// Every size is checked before it is used. The stream's index, found through
// the stream footer, is read first: it gives each block's sizes, so the
// output is bounded before any decoding starts, and for a kernel its buffer
// is allocated once at its final size. Nothing else of any size is
// allocated: the output is also the LZMA2 dictionary, so the dictionary size
// the block header declares (32 MiB for a kernel) costs nothing. Integrity
// checks (CRC32, CRC64) are verified; SHA-256 streams are refused.

const (
	xzHeaderMagic = "\xFD7zXZ\x00"
	xzFooterMagic = "YZ"
	xzHeaderSize  = 12
	xzFooterSize  = 12

	// The kernel build appends the decompressed size (4 bytes) to the xz
	// stream; the footer is looked for this far back from the end.
	xzMaxTrailing = 64

	xzFilterX86   = 0x04
	xzFilterLZMA2 = 0x21
)

var xzFilterNames = map[uint64]string{
	0x03: "delta", 0x04: "x86 BCJ", 0x05: "PowerPC BCJ", 0x06: "IA-64 BCJ",
	0x07: "ARM BCJ", 0x08: "ARM-Thumb BCJ", 0x09: "SPARC BCJ", 0x0A: "ARM64 BCJ",
	0x0B: "RISC-V BCJ", 0x21: "LZMA2",
}

var crc64Table = crc64.MakeTable(crc64.ECMA)

// xzRecord is one index record: the sizes of one block.
type xzRecord struct {
	unpadded     uint64 // block header + compressed data + check, without padding
	uncompressed uint64
}

// xzBlockHeader is the part of a block header the decoder uses.
type xzBlockHeader struct {
	size                           uint64 // header size in bytes
	compressed                     uint64 // compressed size, if hasCompressed
	uncompressed                   uint64 // uncompressed size, if hasUncompressed
	hasCompressed, hasUncompressed bool
	x86                            bool   // the x86 BCJ filter precedes LZMA2
	x86Start                       uint32 // the BCJ filter's start offset
}

// xzStream is what the stream header, footer and index say of a stream.
type xzStream struct {
	check      byte   // integrity check type
	checkSize  uint64 // its size in bytes
	recs       []xzRecord
	total      uint64 // the uncompressed size: the sum of the records'
	indexStart uint64 // where the blocks end
}

// xzOpen reads the stream header, footer and index of the single .xz
// stream at the start of p, which may be followed by up to xzMaxTrailing
// bytes, and checks that it decompresses to at most limit bytes.
func xzOpen(p []byte, limit int) (*xzStream, error) {
	if len(p) < xzHeaderSize+xzFooterSize {
		return nil, fmt.Errorf("truncated: %d bytes", len(p))
	}
	if string(p[:6]) != xzHeaderMagic {
		return nil, errors.New("no xz stream header magic")
	}
	flags := p[6:8]
	if crc32.ChecksumIEEE(flags) != le.Uint32(p[8:]) {
		return nil, errors.New("stream header CRC32 mismatch")
	}
	if flags[0] != 0 || flags[1]&0xF0 != 0 {
		return nil, fmt.Errorf("unsupported stream flags %#02x %#02x", flags[0], flags[1])
	}
	s := &xzStream{check: flags[1]}
	var err error
	if s.checkSize, err = xzCheckSize(s.check); err != nil {
		return nil, err
	}

	footer, err := xzFindFooter(p, flags)
	if err != nil {
		return nil, err
	}
	indexSize := (uint64(le.Uint32(p[footer+4:])) + 1) * 4
	if indexSize > uint64(footer-xzHeaderSize) {
		return nil, fmt.Errorf("index size %d in the stream footer is larger than the stream", indexSize)
	}
	s.indexStart = uint64(footer) - indexSize
	if s.recs, s.total, err = xzParseIndex(p[s.indexStart:footer], limit); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeXZ decodes the single .xz stream at the start of p, which may be
// followed by up to xzMaxTrailing bytes, into at most limit bytes. With a
// non-nil buf, whose length must be the stream's uncompressed size, it
// decodes into buf and returns it; otherwise it allocates the output.
func decodeXZ(p []byte, limit int, buf []byte) (out []byte, err error) {
	s, err := xzOpen(p, limit)
	if err != nil {
		return nil, err
	}
	switch {
	case buf != nil && uint64(len(buf)) != s.total:
		return nil, fmt.Errorf("the stream decompresses to %d bytes, not %d", s.total, len(buf))
	case buf != nil:
		out = buf[:0] // the decoder never grows it past the total
	default:
		// The output is preallocated only as far as the input could
		// plausibly expand (a kernel compresses about 8:1); a hostile index
		// declaring huge blocks costs memory only when the data really
		// decompresses that far.
		out = make([]byte, 0, min(s.total, 64*uint64(len(p))+64<<10))
	}
	pos := uint64(xzHeaderSize)
	for i, rec := range s.recs {
		where := fmt.Sprintf("block %d at %#x", i, pos)
		hdr, err := xzParseBlockHeader(p[pos:s.indexStart])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if rec.unpadded < hdr.size+s.checkSize+1 {
			return nil, fmt.Errorf("%s: index gives %d bytes, less than the block header and check", where, rec.unpadded)
		}
		csize := rec.unpadded - hdr.size - s.checkSize
		if hdr.hasCompressed && hdr.compressed != csize {
			return nil, fmt.Errorf("%s: compressed size %d in the block header, %d in the index", where, hdr.compressed, csize)
		}
		if hdr.hasUncompressed && hdr.uncompressed != rec.uncompressed {
			return nil, fmt.Errorf("%s: uncompressed size %d in the block header, %d in the index", where, hdr.uncompressed, rec.uncompressed)
		}
		dataStart := pos + hdr.size
		padded := alignUp(csize, 4)
		if padded < csize || padded+s.checkSize > s.indexStart-dataStart {
			return nil, fmt.Errorf("%s: block data (%d bytes) runs into the index", where, csize)
		}
		start := len(out)
		if out, err = lzma2Decode(out, p[dataStart:dataStart+csize], rec.uncompressed); err != nil {
			return nil, fmt.Errorf("%s: LZMA2: %w", where, err)
		}
		for _, c := range p[dataStart+csize : dataStart+padded] {
			if c != 0 {
				return nil, fmt.Errorf("%s: non-zero block padding", where)
			}
		}
		block := out[start:]
		if hdr.x86 {
			bcjX86(block, hdr.x86Start, false)
		}
		sum := p[dataStart+padded : dataStart+padded+s.checkSize]
		if err := xzVerifyCheck(s.check, block, sum); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		pos = dataStart + padded + s.checkSize
	}
	if pos != s.indexStart {
		return nil, fmt.Errorf("the blocks end at %#x but the index starts at %#x", pos, s.indexStart)
	}
	return out, nil
}

// xzFindFooter returns the offset of the stream footer: the last valid one
// ending at most xzMaxTrailing bytes before the end of p.
func xzFindFooter(p []byte, flags []byte) (int, error) {
	for end := len(p) &^ 3; end >= xzHeaderSize+xzFooterSize && len(p)-end <= xzMaxTrailing; end -= 4 {
		f := p[end-xzFooterSize : end]
		if string(f[10:]) == xzFooterMagic && crc32.ChecksumIEEE(f[4:10]) == le.Uint32(f) {
			if !bytes.Equal(f[8:10], flags) {
				return 0, errors.New("stream footer flags differ from the stream header's")
			}
			return end - xzFooterSize, nil
		}
	}
	return 0, errors.New("no valid stream footer at the end of the data (truncated, or several concatenated streams?)")
}

// xzParseIndex decodes the index p (from its indicator byte to its CRC32)
// and returns its records and their total uncompressed size, at most limit.
func xzParseIndex(p []byte, limit int) ([]xzRecord, uint64, error) {
	if len(p) < 8 || p[0] != 0 {
		return nil, 0, errors.New("no index where the stream footer points")
	}
	body := p[:len(p)-4]
	if crc32.ChecksumIEEE(body) != le.Uint32(p[len(p)-4:]) {
		return nil, 0, errors.New("index CRC32 mismatch")
	}
	r := xzCursor{b: body, off: 1}
	count, err := r.varint()
	if err != nil {
		return nil, 0, fmt.Errorf("index: %w", err)
	}
	// A record takes at least two bytes: bound the allocation by the input.
	if count > uint64(len(body))/2 {
		return nil, 0, fmt.Errorf("index claims %d records in %d bytes", count, len(body))
	}
	recs := make([]xzRecord, count)
	var total uint64
	for i := range recs {
		if recs[i].unpadded, err = r.varint(); err == nil {
			recs[i].uncompressed, err = r.varint()
		}
		if err != nil {
			return nil, 0, fmt.Errorf("index record %d: %w", i, err)
		}
		total += recs[i].uncompressed
		if recs[i].uncompressed > uint64(limit) || total > uint64(limit) {
			return nil, 0, fmt.Errorf("the stream decompresses to more than %d bytes", limit)
		}
	}
	if len(body)-r.off >= 4 || !allZero(body[r.off:]) {
		return nil, 0, errors.New("index: bad padding after the records")
	}
	return recs, total, nil
}

// xzParseBlockHeader decodes the block header at the start of p.
func xzParseBlockHeader(p []byte) (xzBlockHeader, error) {
	var h xzBlockHeader
	if len(p) == 0 || p[0] == 0 {
		return h, errors.New("missing block (the index lists more blocks than the stream holds)")
	}
	h.size = (uint64(p[0]) + 1) * 4
	if h.size > uint64(len(p)) {
		return h, fmt.Errorf("block header (%d bytes) runs into the index", h.size)
	}
	hb := p[:h.size]
	if crc32.ChecksumIEEE(hb[:h.size-4]) != le.Uint32(hb[h.size-4:]) {
		return h, errors.New("block header CRC32 mismatch")
	}
	flags := hb[1]
	if flags&0x3C != 0 {
		return h, fmt.Errorf("reserved block flags %#02x", flags)
	}
	r := xzCursor{b: hb[:h.size-4], off: 2}
	var err error
	if flags&0x40 != 0 {
		h.hasCompressed = true
		if h.compressed, err = r.varint(); err != nil {
			return h, fmt.Errorf("compressed size: %w", err)
		}
	}
	if flags&0x80 != 0 {
		h.hasUncompressed = true
		if h.uncompressed, err = r.varint(); err != nil {
			return h, fmt.Errorf("uncompressed size: %w", err)
		}
	}
	n := int(flags&3) + 1
	for i := 0; i < n; i++ {
		id, err := r.varint()
		if err != nil {
			return h, fmt.Errorf("filter %d: %w", i, err)
		}
		psize, err := r.varint()
		if err != nil {
			return h, fmt.Errorf("filter %d properties: %w", i, err)
		}
		props, err := r.bytes(psize)
		if err != nil {
			return h, fmt.Errorf("filter %d properties: %w", i, err)
		}
		last := i == n-1
		switch {
		case id == xzFilterLZMA2 && last:
			// The one property byte is the dictionary size, 40 at most
			// (4 GiB - 1). The decoder needs no dictionary of its own.
			if len(props) != 1 || props[0] > 40 {
				return h, fmt.Errorf("bad LZMA2 properties % x", props)
			}
		case id == xzFilterX86 && !last && !h.x86:
			switch len(props) {
			case 0:
			case 4:
				h.x86Start = le.Uint32(props)
			default:
				return h, fmt.Errorf("bad x86 BCJ properties (%d bytes)", len(props))
			}
			h.x86 = true
		default:
			name := xzFilterNames[id]
			if name == "" {
				name = "unknown"
			}
			return h, fmt.Errorf("unsupported filter chain: filter %d of %d is %#x (%s); supported: [x86 BCJ,] LZMA2",
				i+1, n, id, name)
		}
	}
	if !allZero(r.b[r.off:]) {
		return h, errors.New("non-zero block header padding")
	}
	return h, nil
}

// xzCheckSize returns the size of the integrity check of type id, for the
// types this decoder can verify.
func xzCheckSize(id byte) (uint64, error) {
	switch id {
	case 0x00:
		return 0, nil
	case 0x01: // CRC32
		return 4, nil
	case 0x04: // CRC64
		return 8, nil
	case 0x0A:
		// SHA-256 would pull crypto/sha256 and, with it, the FIPS module's
		// 32 MiB of static memory into hv. Kernels use CRC32.
		return 0, errors.New("unsupported integrity check type 0xa (SHA-256): only CRC32 and CRC64 are verified")
	}
	return 0, fmt.Errorf("unsupported integrity check type %#x", id)
}

func xzVerifyCheck(id byte, data, sum []byte) error {
	var ok bool
	switch id {
	case 0x00:
		ok = true
	case 0x01:
		ok = crc32.ChecksumIEEE(data) == le.Uint32(sum)
	case 0x04:
		ok = crc64.Checksum(data, crc64Table) == le.Uint64(sum)
	}
	if !ok {
		return errors.New("integrity check mismatch: the decompressed data is corrupt")
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// xzCursor reads xz multibyte integers and byte runs from b.
type xzCursor struct {
	b   []byte
	off int
}

// varint reads a multibyte integer: 7 bits per byte, least significant
// first, at most 9 bytes, no superfluous zero byte at the end.
func (c *xzCursor) varint() (uint64, error) {
	var x uint64
	for i := 0; i < 9; i++ {
		if c.off >= len(c.b) {
			return 0, errors.New("truncated integer")
		}
		b := c.b[c.off]
		c.off++
		x |= uint64(b&0x7F) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, errors.New("overlong integer encoding")
			}
			return x, nil
		}
	}
	return 0, errors.New("integer longer than 9 bytes")
}

func (c *xzCursor) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(c.b)-c.off) {
		return nil, errors.New("truncated")
	}
	b := c.b[c.off : c.off+int(n)]
	c.off += int(n)
	return b, nil
}

// bcjX86 undoes (or, with encode, applies) the x86 branch converter, the
// xz "--x86" filter, in place on one block's data b, whose first byte is at
// stream position start (the filter's start offset, normally 0).
//
// The encoder turns the relative 32-bit displacement of each CALL (E8) and
// JMP (E9) that looks real into an absolute target, so that repeated calls
// of one function compress well; the decoder turns them back. A
// displacement looks real when its top byte is 0x00 or 0xFF (a target
// within ±16 MiB). Opcode bytes found within the four bytes after an
// unconverted E8/E9 are ambiguous: a 3-bit mask of such recent positions
// decides whether they are converted, and a converted value whose byte at
// the mask's position would itself look like an opcode's is flipped so that
// the encoder's choice can be replayed exactly. The last four bytes of a
// block are never converted (no room for a displacement).
func bcjX86(b []byte, start uint32, encode bool) {
	// Indexed by the mask: whether a candidate is allowed, and which byte
	// of the displacement (counting from its top) the mask refers to.
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	byteNum := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	topByte := func(c byte) bool { return c == 0x00 || c == 0xFF }

	var mask uint32
	prev := -1 // position of the last E8/E9 considered
	for i := 0; i+4 < len(b); i++ {
		// Skip eight bytes at a time while none is E8 or E9 (most of
		// them: the candidates are a few percent of x86 code), then go
		// straight to the first one. A byte is E8/E9 when it is 0xE8 with
		// bit 0 cleared, a zero byte of y. The zero-byte test is exact
		// about whether there is one, and its lowest set bit marks the
		// first (a borrow only runs upwards from a zero byte).
		for i+12 < len(b) {
			y := le.Uint64(b[i:])&0xFEFEFEFEFEFEFEFE ^ 0xE8E8E8E8E8E8E8E8
			if z := (y - 0x0101010101010101) &^ y & 0x8080808080808080; z != 0 {
				i += bits.TrailingZeros64(z) >> 3
				break
			}
			i += 8
		}
		if b[i]&0xFE != 0xE8 {
			continue
		}
		if d := i - prev; d > 3 {
			mask = 0
		} else {
			mask = (mask << uint(d-1)) & 7
			if mask != 0 && (!allowed[mask] || topByte(b[i+4-int(byteNum[mask])])) {
				prev = i
				mask = mask<<1 | 1
				continue
			}
		}
		prev = i
		if !topByte(b[i+4]) {
			mask = mask<<1 | 1
			continue
		}
		v := le.Uint32(b[i+1:])
		here := start + uint32(i) + 5
		var x uint32
		for {
			if encode {
				x = v + here
			} else {
				x = v - here
			}
			if mask == 0 {
				break
			}
			shift := 24 - byteNum[mask]*8
			if !topByte(byte(x >> shift)) {
				break
			}
			v = x ^ (1<<(shift+8) - 1)
		}
		// Keep 25 bits, sign-extending bit 24 into the top byte.
		x &= 0x01FFFFFF
		x |= -(x & 0x01000000)
		le.PutUint32(b[i+1:], x)
		i += 4
	}
}
