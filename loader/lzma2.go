package loader

import (
	"errors"
	"fmt"
	"slices"
)

// This file is GoZen's LZMA2 decoder, written for the one job it has:
// decompressing a kernel whose whole output is kept in memory. The output
// buffer is therefore also the LZMA dictionary: matches copy from earlier
// output, and no separate window (32 MiB for a kernel) is allocated, copied
// into or out of.
//
// LZMA2 is a sequence of chunks, each introduced by a control byte:
//
//	0x00         end of the data
//	0x01         uncompressed chunk, dictionary reset
//	0x02         uncompressed chunk
//	0x03..0x7F   invalid
//	0x80..0xFF   LZMA chunk; bits 5-6 say what is reset first:
//	             0 nothing, 1 the LZMA state, 2 the state with new
//	             properties (lc, lp, pb) following the sizes, 3 all that
//	             and the dictionary; bits 0-4 are the top bits of the
//	             unpacked size minus one.
//
// An uncompressed chunk has a 16-bit big-endian size minus one, then the
// data. An LZMA chunk has 16 more bits of its unpacked size, a 16-bit packed
// size minus one, the properties byte when bit 6 is set, and then packed
// bytes of range-coded LZMA data that decode to exactly the unpacked size.
// Each LZMA chunk starts a fresh range decoder; the probabilities, the
// state and the recent distances carry over unless reset.
//
// LZMA itself codes a sequence of literals and matches with adaptive
// binary probabilities. Per position it decodes "is this a match?"; a
// literal is then a byte coded bit by bit with a context of the previous
// byte's top lc bits and the position's low lp bits (and, right after a
// match, of the byte at the last match distance); a match is a length and
// either a new distance or one of the four most recent ones ("reps"). A
// 12-valued state remembers what the last few operations were and selects
// probabilities.
//
// A match may reach back to the last dictionary reset, however far: the
// whole output is at hand, so the dictionary size the xz block header
// declares does not limit it. Reaching before the reset is an error.

// prob is an adaptive probability that the next bit is 0, in units of
// 1/2048.
type prob uint16

const (
	probBits  = 11
	probInit  = 1 << probBits / 2
	probShift = 5 // adaptation rate

	lzmaStates    = 12
	lzmaLitStates = 7 // states below this follow a literal
	posStatesMax  = 1 << 4
	matchMinLen   = 2
	// Distance slots: slots 0-3 are the distances themselves, slots 4-13
	// code their low bits with probabilities (posSpecial), and higher
	// slots code the middle bits directly and the low 4 with align.
	distSlots       = 64
	distModelEnd    = 14
	distFull        = 1 << (distModelEnd / 2) // 128: distances below this are fully modelled
	distAlignBits   = 4
	lenToDistStates = 4 // the distance slot's context: the length, up to this
	// The LZMA2 limit on lc + lp; with it the literal probabilities are
	// at most 0x300 << 4.
	maxLcLp = 4
)

// Next state after a literal, a match, a rep match and a short rep (one
// byte at the last distance).
var stateAfterLit = [lzmaStates]uint8{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 4, 5}

func stateAfterMatch(s uint32) uint32 {
	if s < lzmaLitStates {
		return 7
	}
	return 10
}

func stateAfterRep(s uint32) uint32 {
	if s < lzmaLitStates {
		return 8
	}
	return 11
}

func stateAfterShortRep(s uint32) uint32 {
	if s < lzmaLitStates {
		return 9
	}
	return 11
}

// lenProbs code a match length: 2-9 (low, per position state), 10-17
// (mid) or 18-273 (high).
type lenProbs struct {
	choice, choice2 prob
	low, mid        [posStatesMax][1 << 3]prob
	high            [1 << 8]prob
}

// lzmaProbs are all of the LZMA model's probabilities.
type lzmaProbs struct {
	isMatch    [lzmaStates * posStatesMax]prob
	isRep      [lzmaStates]prob
	isRepG0    [lzmaStates]prob
	isRepG1    [lzmaStates]prob
	isRepG2    [lzmaStates]prob
	isRep0Long [lzmaStates * posStatesMax]prob
	distSlot   [lenToDistStates][distSlots]prob
	posSpecial [1 + distFull - distModelEnd]prob
	align      [1 << distAlignBits]prob
	matchLen   lenProbs
	repLen     lenProbs
	literal    [0x300 << maxLcLp]prob
}

// lzmaDecoder is the state that carries over from one LZMA chunk to the
// next.
type lzmaDecoder struct {
	lc, lp, pb uint32
	state      uint32
	rep        [4]uint32 // the last four distances, minus one
	p          lzmaProbs
	packed     [maxPacked]byte // the current chunk's packed bytes
}

// setProps sets lc, lp and pb from an LZMA2 properties byte.
func (d *lzmaDecoder) setProps(b byte) error {
	if b >= 9*5*5 {
		return fmt.Errorf("bad LZMA properties byte %#x", b)
	}
	lc, lp, pb := uint32(b%9), uint32(b/9%5), uint32(b/45)
	if lc+lp > maxLcLp {
		return fmt.Errorf("LZMA properties lc=%d lp=%d: LZMA2 allows lc+lp <= %d", lc, lp, maxLcLp)
	}
	d.lc, d.lp, d.pb = lc, lp, pb
	return nil
}

// reset resets the state, the distances and every probability.
func (d *lzmaDecoder) reset() {
	d.state = 0
	d.rep = [4]uint32{}
	for _, s := range [][]prob{
		d.p.isMatch[:], d.p.isRep[:], d.p.isRepG0[:], d.p.isRepG1[:], d.p.isRepG2[:],
		d.p.isRep0Long[:], d.p.posSpecial[:], d.p.align[:],
		d.p.literal[:0x300<<(d.lc+d.lp)], // the only part lc and lp use
	} {
		fillProbs(s)
	}
	for i := range d.p.distSlot {
		fillProbs(d.p.distSlot[i][:])
	}
	for _, l := range []*lenProbs{&d.p.matchLen, &d.p.repLen} {
		l.choice, l.choice2 = probInit, probInit
		for i := range l.low {
			fillProbs(l.low[i][:])
			fillProbs(l.mid[i][:])
		}
		fillProbs(l.high[:])
	}
}

func fillProbs(s []prob) {
	for i := range s {
		s[i] = probInit
	}
}

// rangeDecoder reads one LZMA chunk's range-coded bits. It works on a
// copy of the chunk's packed bytes in a buffer of the largest packed size,
// indexed modulo that size: the per-bit path then has no bounds check and
// no end-of-input test. Past the chunk's end it reads leftovers and counts
// on, and the caller checks afterwards that the chunk used exactly its
// packed bytes. The chunk's unpacked size bounds the work either way.
//
// Its methods take and return it by value: a struct of four words that is
// never addressed stays in registers through the decoding loop (and is
// passed in registers to the calls that are not inlined), where a pointer
// receiver would load and store the range and code in memory on every bit.
// Under QEMU's TCG, where hv decompresses, each of those memory accesses
// costs a software TLB lookup.
type rangeDecoder struct {
	rng, code uint32
	pos       uint32 // bytes consumed
	in        *[maxPacked]byte
}

// maxPacked is the largest packed size of an LZMA2 chunk.
const maxPacked = 1 << 16

// newRangeDecoder starts decoding the chunk whose packed bytes are in; buf
// holds them from then on.
func newRangeDecoder(in []byte, buf *[maxPacked]byte) (rangeDecoder, error) {
	if len(in) < 5 {
		return rangeDecoder{}, errors.New("LZMA chunk shorter than the range decoder's 5 initial bytes")
	}
	if in[0] != 0 {
		return rangeDecoder{}, errors.New("LZMA chunk does not start with a zero byte")
	}
	copy(buf[:], in)
	rc := rangeDecoder{rng: 0xFFFFFFFF, code: be32(in[1:]), pos: 5, in: buf}
	if rc.code == rc.rng {
		return rangeDecoder{}, errors.New("corrupt LZMA chunk start")
	}
	return rc, nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// normalize keeps the range at least 2^24 by shifting in an input byte.
func (rc rangeDecoder) normalize() rangeDecoder {
	if rc.rng < 1<<24 {
		rc.rng <<= 8
		rc.code = rc.code<<8 | uint32(rc.in[uint16(rc.pos)])
		rc.pos++
	}
	return rc
}

// bit decodes one bit with probability *p and adapts *p. It normalizes
// first rather than after, which makes it small enough for the compiler to
// inline (TestRangeDecoderBitInlined); a chunk's last normalization is
// then up to its caller.
func (rc rangeDecoder) bit(p *prob) (rangeDecoder, uint32) {
	if rc.rng < 1<<24 {
		rc.rng <<= 8
		rc.code = rc.code<<8 | uint32(rc.in[uint16(rc.pos)])
		rc.pos++
	}
	bound := (rc.rng >> probBits) * uint32(*p)
	if rc.code < bound {
		rc.rng = bound
		*p += (1<<probBits - *p) >> probShift
		return rc, 0
	}
	rc.rng -= bound
	rc.code -= bound
	*p -= *p >> probShift
	return rc, 1
}

// tree8 decodes an 8-bit number (the long match lengths), most significant
// bit first, with the probabilities p[1:256] arranged as a binary tree;
// with the array's size known, masking the index drops the bounds checks.
// The shorter trees (3-bit lengths, 6-bit distance slots, the reverse
// trees of the distance's low bits) are decoded inside length and
// distance, where a call of their own would cost more than their bits.
func (rc rangeDecoder) tree8(p *[1 << 8]prob) (rangeDecoder, uint32) {
	m := uint32(1)
	for range 8 {
		var b uint32
		rc, b = rc.bit(&p[m&(1<<8-1)])
		m = m<<1 | b
	}
	return rc, m - 1<<8
}

// direct decodes n bits with fixed probability 1/2.
func (rc rangeDecoder) direct(n uint32) (rangeDecoder, uint32) {
	var v uint32
	for range n {
		rc = rc.normalize()
		rc.rng >>= 1
		var b uint32
		if rc.code >= rc.rng {
			rc.code -= rc.rng
			b = 1
		}
		v = v<<1 | b
	}
	return rc, v
}

// length decodes a match length minus matchMinLen (0..271): 2-9 and 10-17
// with a 3-bit tree, 18-273 with tree8.
func (rc rangeDecoder) length(l *lenProbs, posState uint32) (rangeDecoder, uint32) {
	var b uint32
	var p *[8]prob
	base := uint32(0)
	if rc, b = rc.bit(&l.choice); b == 0 {
		p = &l.low[posState&(posStatesMax-1)]
	} else if rc, b = rc.bit(&l.choice2); b == 0 {
		p, base = &l.mid[posState&(posStatesMax-1)], 8
	} else {
		var v uint32
		rc, v = rc.tree8(&l.high)
		return rc, 16 + v
	}
	m := uint32(1)
	rc, b = rc.bit(&p[1])
	m = m<<1 | b
	rc, b = rc.bit(&p[m])
	m = m<<1 | b
	rc, b = rc.bit(&p[m&7])
	return rc, base + (m<<1 | b) - 8
}

// distance decodes a new match distance minus one, for a match of length
// len+matchMinLen. 0xFFFFFFFF is LZMA's end marker. The slot is a 6-bit
// tree; the bits below its top two come from a reverse tree (posSpecial)
// for slots below distModelEnd, otherwise as direct bits and a 4-bit
// reverse tree (align).
func (rc rangeDecoder) distance(p *lzmaProbs, len uint32) (rangeDecoder, uint32) {
	ps := &p.distSlot[min(len, lenToDistStates-1)]
	slot := uint32(1)
	for range 6 {
		var b uint32
		rc, b = rc.bit(&ps[slot&(1<<6-1)])
		slot = slot<<1 | b
	}
	slot -= 1 << 6
	if slot < 4 {
		return rc, slot
	}
	n := slot>>1 - 1 // bits below the slot's top two
	dist := (2 | slot&1) << n
	var probs []prob
	if slot < distModelEnd {
		probs = p.posSpecial[dist-slot:]
	} else {
		var v uint32
		rc, v = rc.direct(n - distAlignBits)
		dist += v << distAlignBits
		probs, n = p.align[:], distAlignBits
	}
	// The low n bits, least significant first (a reverse tree).
	m := uint32(1)
	for i := range n {
		var b uint32
		rc, b = rc.bit(&probs[m])
		m = m<<1 | b
		dist += b << i
	}
	return rc, dist
}

// decodeChunk decodes one LZMA chunk from rc into out[pos:end]. The
// dictionary is out[dictStart:pos]; positions count from dictStart. It
// returns the range decoder as the chunk left it.
func (d *lzmaDecoder) decodeChunk(rc rangeDecoder, out []byte, dictStart, pos, end int) (rangeDecoder, error) {
	out = out[:end]
	p := &d.p
	pbMask := uint32(1)<<d.pb - 1
	lpMask := uint32(1)<<d.lp - 1
	lc := d.lc
	state := d.state
	// rep0 lives in a register; the older distances stay in d.rep[1:],
	// which only matches touch, leaving the registers to the literal path.
	rep0 := d.rep[0]
	reps := &d.rep
	var b uint32

	for pos < end {
		dpos := uint32(pos - dictStart)
		posState := dpos & pbMask
		if rc, b = rc.bit(&p.isMatch[(state<<4 | posState)]); b == 0 {
			// A literal.
			var prev uint32
			if pos > dictStart {
				prev = uint32(out[pos-1])
			}
			lit := (*[0x300]prob)(p.literal[0x300*((dpos&lpMask)<<lc|prev>>(8-lc)):])
			sym := uint32(1)
			if state >= lzmaLitStates {
				// After a match the byte at the last distance is context
				// until the first bit that differs from it.
				match := uint32(out[pos-int(rep0)-1])
				for sym < 0x100 {
					mbit := match >> 7 & 1
					match <<= 1
					rc, b = rc.bit(&lit[(1+mbit)<<8|sym])
					sym = sym<<1 | b
					if b != mbit {
						break
					}
				}
			}
			for sym < 0x100 {
				rc, b = rc.bit(&lit[sym])
				sym = sym<<1 | b
			}
			out[pos] = byte(sym)
			pos++
			state = uint32(stateAfterLit[state])
			continue
		}

		var n uint32 // match length minus matchMinLen
		if rc, b = rc.bit(&p.isRep[state]); b == 0 {
			// A match at a new distance.
			rc, n = rc.length(&p.matchLen, posState)
			reps[3], reps[2], reps[1] = reps[2], reps[1], rep0
			rc, rep0 = rc.distance(p, n)
			state = stateAfterMatch(state)
			if rep0 == 0xFFFFFFFF {
				return rc, errors.New("LZMA end marker inside an LZMA2 chunk")
			}
		} else {
			// A match at one of the last four distances.
			if rc, b = rc.bit(&p.isRepG0[state]); b == 0 {
				if rc, b = rc.bit(&p.isRep0Long[(state<<4 | posState)]); b == 0 {
					// A short rep: one byte at the last distance.
					if rep0 >= dpos {
						return rc, fmt.Errorf("distance %d at position %d of the dictionary", rep0+1, dpos)
					}
					out[pos] = out[pos-int(rep0)-1]
					pos++
					state = stateAfterShortRep(state)
					continue
				}
			} else {
				var dist uint32
				if rc, b = rc.bit(&p.isRepG1[state]); b == 0 {
					dist = reps[1]
				} else {
					if rc, b = rc.bit(&p.isRepG2[state]); b == 0 {
						dist = reps[2]
					} else {
						dist = reps[3]
						reps[3] = reps[2]
					}
					reps[2] = reps[1]
				}
				reps[1] = rep0
				rep0 = dist
			}
			rc, n = rc.length(&p.repLen, posState)
			state = stateAfterRep(state)
		}
		if rep0 >= dpos {
			return rc, fmt.Errorf("distance %d at position %d of the dictionary", rep0+1, dpos)
		}
		length := int(n) + matchMinLen
		if length > end-pos {
			return rc, fmt.Errorf("a %d-byte match runs past the chunk's end (%d bytes left)", length, end-pos)
		}
		pos = copyMatch(out, pos, int(rep0)+1, length)
	}
	d.state = state
	reps[0] = rep0
	return rc, nil
}

// copyMatch copies n bytes from dist bytes back to out[pos:] and returns
// the new position. When the two overlap (dist < n) the copied bytes
// repeat with period dist, so each copy can take everything from the
// match's source to the current end, doubling the step every time.
func copyMatch(out []byte, pos, dist, n int) int {
	src, end := pos-dist, pos+n
	if n <= 8 && dist >= n {
		// Most matches are short: a byte loop costs less than a call to
		// memmove for them.
		o := out[src : src+n]
		d := out[pos:end]
		for i := range d {
			d[i] = o[i]
		}
		return end
	}
	for pos < end {
		pos += copy(out[pos:end], out[src:pos])
	}
	return pos
}

// lzma2Decode appends to out the decoding of the LZMA2 data p: exactly n
// bytes, with p ending at the LZMA2 end marker. out's spare capacity is
// used first; it grows by at most a chunk at a time, so only data that
// really decodes takes memory.
func lzma2Decode(out []byte, p []byte, n uint64) ([]byte, error) {
	start := len(out)
	if n > uint64(maxInt-start) {
		return out, fmt.Errorf("%d bytes do not fit in memory", n)
	}
	want := start + int(n)
	d := new(lzmaDecoder)
	dictStart := start
	needDictReset, needProps := true, true
	in := 0
	for {
		if in >= len(p) {
			return out, errors.New("truncated: no end marker")
		}
		c := p[in]
		in++
		if c == 0x00 {
			break
		}
		if c == 0x01 || c >= 0xE0 {
			dictStart = len(out)
			needDictReset, needProps = false, true
		} else if needDictReset {
			return out, fmt.Errorf("the first chunk (control byte %#02x) does not reset the dictionary", c)
		}
		where := len(out) - start
		if c < 0x80 {
			if c > 0x02 {
				return out, fmt.Errorf("invalid chunk control byte %#02x at output offset %d", c, where)
			}
			if len(p)-in < 2 {
				return out, errors.New("truncated chunk header")
			}
			size := int(p[in])<<8 | int(p[in+1]) + 1
			in += 2
			if size > len(p)-in {
				return out, fmt.Errorf("uncompressed chunk of %d bytes runs past the end of the data", size)
			}
			if size > want-len(out) {
				return out, fmt.Errorf("decodes to more than the %d bytes declared", n)
			}
			out = append(out, p[in:in+size]...)
			in += size
			continue
		}

		hdr := 4
		if c >= 0xC0 {
			hdr = 5
		}
		if len(p)-in < hdr {
			return out, errors.New("truncated chunk header")
		}
		usize := int(c&0x1F)<<16 | int(p[in])<<8 | int(p[in+1]) + 1
		psize := int(p[in+2])<<8 | int(p[in+3]) + 1
		if c >= 0xC0 {
			if err := d.setProps(p[in+4]); err != nil {
				return out, err
			}
			needProps = false
		} else if needProps {
			return out, fmt.Errorf("LZMA chunk (control byte %#02x) at output offset %d without properties", c, where)
		}
		in += hdr
		if c >= 0xA0 {
			d.reset()
		}
		if psize > len(p)-in {
			return out, fmt.Errorf("LZMA chunk of %d packed bytes runs past the end of the data", psize)
		}
		if usize > want-len(out) {
			return out, fmt.Errorf("decodes to more than the %d bytes declared", n)
		}
		rc, err := newRangeDecoder(p[in:in+psize], &d.packed)
		if err != nil {
			return out, err
		}
		pos := len(out)
		out = slices.Grow(out, usize)[:pos+usize]
		if rc, err = d.decodeChunk(rc, out, dictStart, pos, pos+usize); err != nil {
			return out[:pos], fmt.Errorf("LZMA chunk at output offset %d: %w", where, err)
		}
		rc = rc.normalize() // the bits normalize before, not after, they decode
		// The encoder flushes so that the chunk ends exactly at its
		// packed size with the range decoder's code at zero.
		if rc.pos != uint32(psize) {
			return out, fmt.Errorf("LZMA chunk at output offset %d: %d packed bytes declared, %d used", where, psize, rc.pos)
		}
		if rc.code != 0 {
			return out, fmt.Errorf("LZMA chunk at output offset %d: the range decoder does not end at zero", where)
		}
		in += psize
	}
	switch {
	case len(out) != want:
		return out, fmt.Errorf("decodes to %d bytes, %d declared", len(out)-start, n)
	case in != len(p):
		return out, fmt.Errorf("%d bytes left after the end marker", len(p)-in)
	}
	return out, nil
}

const maxInt = int(^uint(0) >> 1)
