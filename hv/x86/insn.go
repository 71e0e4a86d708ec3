package x86

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// MaxInsnLen is the architectural limit on an instruction's length; longer
// encodings raise #GP.
const MaxInsnLen = 15

// Decoding errors. InsnLen and DecodeMMIO wrap them with the instruction's
// bytes; test with errors.Is.
var (
	// ErrTruncated means the bytes end inside an instruction.
	ErrTruncated = errors.New("x86: truncated instruction")
	// ErrUnknownInsn means the bytes are not an instruction this package can
	// decode (an invalid encoding, or one neither x86asm nor the fallback
	// table knows).
	ErrUnknownInsn = errors.New("x86: unrecognized instruction")
	// ErrTooLong means the encoding is longer than MaxInsnLen bytes.
	ErrTooLong = errors.New("x86: instruction longer than 15 bytes")
	// ErrBadMode means the Mode argument is not Mode16, Mode32 or Mode64.
	ErrBadMode = errors.New("x86: invalid execution mode")
)

// prefixes is the result of scanning an instruction's legacy and REX prefixes.
type prefixes struct {
	n        int  // bytes of prefixes, including ignored REX bytes
	rex      byte // the effective REX prefix (immediately before the opcode), or 0
	opsize   bool // 66
	addrsize bool // 67
	lock     bool // F0
	rep      byte // the last F2 or F3, or 0
	// ignored marks REX bytes that are not immediately followed by the
	// opcode: the CPU ignores them, x86asm rejects them.
	ignored uint16
}

// isLegacyPrefix reports whether b is a legacy (group 1-4) prefix byte.
func isLegacyPrefix(b byte) bool {
	switch b {
	case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3:
		return true
	}
	return false
}

// scanPrefixes scans the prefixes at the start of code (at most MaxInsnLen
// bytes are looked at). A REX byte (64-bit mode only) counts only when the
// opcode follows it directly; any other REX byte is ignored, as on the CPU.
func scanPrefixes(code []byte, mode Mode) prefixes {
	var p prefixes
	for ; p.n < len(code) && p.n < MaxInsnLen; p.n++ {
		b := code[p.n]
		legacy := isLegacyPrefix(b)
		rex := mode == Mode64 && b&0xf0 == 0x40
		if !legacy && !rex {
			break
		}
		if p.rex != 0 {
			// Another prefix follows the previous REX byte: it is ignored.
			p.ignored |= 1 << (p.n - 1)
			p.rex = 0
		}
		switch b {
		case 0x66:
			p.opsize = true
		case 0x67:
			p.addrsize = true
		case 0xf0:
			p.lock = true
		case 0xf2, 0xf3:
			p.rep = b
		default:
			if rex {
				p.rex = b
			}
		}
	}
	return p
}

// operand and address sizes in bytes.
func (p *prefixes) opSize(mode Mode) int {
	switch {
	case mode == Mode64 && p.rex&0x08 != 0:
		return 8
	case (mode == Mode16) != p.opsize:
		return 2
	default:
		return 4
	}
}

func (p *prefixes) addrSize(mode Mode) int {
	switch mode {
	case Mode64:
		if p.addrsize {
			return 4
		}
		return 8
	case Mode32:
		if p.addrsize {
			return 2
		}
		return 4
	default:
		if p.addrsize {
			return 4
		}
		return 2
	}
}

// modrmLen returns the length of the ModRM byte at code[0] with its SIB byte
// and displacement, for the given address size in bytes. When code is too
// short to tell, it returns len(code)+1.
func modrmLen(code []byte, addrSize int) int {
	if len(code) == 0 {
		return 1
	}
	m := code[0]
	mod, rm := m>>6, m&7
	if mod == 3 {
		return 1
	}
	n := 1
	if addrSize == 2 {
		switch {
		case mod == 0 && rm == 6, mod == 2:
			n += 2
		case mod == 1:
			n++
		}
		return n
	}
	if rm == 4 {
		if len(code) < 2 {
			return 2
		}
		n++
		if mod == 0 && code[1]&7 == 5 {
			n += 4
		}
	}
	switch {
	case mod == 0 && rm == 5, mod == 2:
		n += 4
	case mod == 1:
		n++
	}
	return n
}

// stripIgnored copies code without the ignored REX bytes marked in p, so that
// x86asm (which rejects them) can decode the rest. It returns the copy and
// how many bytes were dropped.
func stripIgnored(code []byte, p *prefixes, buf *[MaxInsnLen]byte) ([]byte, int) {
	if p.ignored == 0 {
		return code, 0
	}
	out, dropped := buf[:0], 0
	for i, b := range code {
		if i < p.n && p.ignored&(1<<i) != 0 {
			dropped++
			continue
		}
		out = append(out, b)
	}
	return out, dropped
}

// InsnLen decodes the instruction at the start of code (executing in mode)
// and returns its length in bytes. Only the first MaxInsnLen bytes are
// looked at.
//
// It uses x86asm, plus a fallback for instructions x86asm does not know but
// that can cause intercepts: the 0F 01 group's register forms (VMRUN,
// VMMCALL, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA, VMCALL, VMLAUNCH,
// VMRESUME, VMXOFF, VMFUNC, CLAC, STAC, ENCLS, ENCLU, RDPKRU, WRPKRU,
// MONITORX, MWAITX, CLZERO, RDPRU, INVLPGB, TLBSYNC, MCOMMIT and so on),
// VMREAD/VMWRITE and SSE4a EXTRQ/INSERTQ (0F 78/79), the 0F C7 group
// (VMPTRLD, VMCLEAR, VMXON, VMPTRST, RDPID), INVEPT/INVVPID/INVPCID
// (66 0F 38 80-82), MOVDIR64B/ENQCMD/MOVDIRI (0F 38 F8/F9), the hint-NOP space
// 0F 18-1F (ENDBR32/64, RDSSP), 0F 0D, 0F AE, GETSEC and FEMMS. A REX prefix
// that does not immediately precede the opcode is ignored, as on the CPU
// (x86asm rejects it).
//
// Errors wrap ErrTruncated (the bytes end mid-instruction), ErrTooLong,
// ErrUnknownInsn or ErrBadMode.
func InsnLen(code []byte, mode Mode) (int, error) {
	if !mode.valid() {
		return 0, ErrBadMode
	}
	if len(code) > MaxInsnLen {
		code = code[:MaxInsnLen]
	}
	if len(code) == 0 {
		return 0, ErrTruncated
	}
	p := scanPrefixes(code, mode)
	var buf [MaxInsnLen]byte
	clean, dropped := stripIgnored(code, &p, &buf)
	inst, err := x86asm.Decode(clean, int(mode))
	if err == nil && inst.Op != 0 {
		return checkLen(code, inst.Len+dropped)
	}
	// Prefix scan on the cleaned bytes: no ignored REX bytes remain.
	cp := scanPrefixes(clean, mode)
	if n, ok := fallbackLen(clean, mode, &cp); ok {
		return checkLen(code, n+dropped)
	}
	// x86asm reports a truncated instruction as a one-byte "prefix"
	// instruction with no error, and cannot see past 15 bytes. Tell
	// truncation and excess length from garbage by decoding a padded copy
	// with repeated prefix bytes removed (keeping each byte's last
	// occurrence, which leaves the instruction's meaning unchanged).
	var pad [MaxInsnLen]byte
	k, removed := 0, 0
	for i := 0; i < cp.n; i++ {
		if bytes.IndexByte(clean[i+1:cp.n], clean[i]) >= 0 {
			removed++
			continue
		}
		pad[k] = clean[i]
		k++
	}
	copy(pad[k:], clean[cp.n:])
	if inst, err := x86asm.Decode(pad[:], int(mode)); err == nil && inst.Op != 0 {
		return checkLen(code, inst.Len+removed+dropped)
	}
	if p.n >= MaxInsnLen {
		return 0, fmt.Errorf("% x: %w", code, ErrTooLong)
	}
	return 0, fmt.Errorf("% x: %w", code, ErrUnknownInsn)
}

func checkLen(code []byte, n int) (int, error) {
	switch {
	case n > MaxInsnLen:
		return 0, fmt.Errorf("% x: %w", code, ErrTooLong)
	case n > len(code):
		return 0, fmt.Errorf("% x: %w", code, ErrTruncated)
	}
	return n, nil
}

// fallbackLen computes the length of the instructions x86asm does not know
// (see InsnLen). It returns ok=false for anything else. The length may exceed
// len(code) (truncated) or MaxInsnLen; checkLen sorts that out.
func fallbackLen(code []byte, mode Mode, p *prefixes) (int, bool) {
	i := p.n
	// One-byte opcodes are all known to x86asm.
	if i >= len(code) || code[i] != 0x0f {
		return 0, false
	}
	if i+1 >= len(code) {
		return i + 2, true // truncated after the escape byte
	}
	op := code[i+1]
	i += 2
	as := p.addrSize(mode)
	switch op {
	case 0x05, 0x07, 0x0e, 0x37: // SYSCALL, SYSRET (x86asm: 64-bit only), FEMMS, GETSEC
		return i, true
	case 0x00, 0x01, 0x0d, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0xae, 0xc7, 0x79:
		return i + modrmLen(code[i:], as), true
	case 0x78:
		// VMREAD; with 66 (EXTRQ) or F2 (INSERTQ) it has two imm8 bytes.
		n := i + modrmLen(code[i:], as)
		if p.opsize || p.rep == 0xf2 {
			n += 2
		}
		return n, true
	case 0x38:
		if i >= len(code) {
			return i + 1, true
		}
		switch code[i] {
		case 0x80, 0x81, 0x82, 0xf8, 0xf9:
			i++
			return i + modrmLen(code[i:], as), true
		}
	}
	return 0, false
}
