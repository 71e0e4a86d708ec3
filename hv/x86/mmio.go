package x86

import (
	"errors"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// Regs is the guest's general-purpose register file indexed in x86 encoding
// order: RAX=0, RCX=1, RDX=2, RBX=3, RSP=4, RBP=5, RSI=6, RDI=7, R8=8 … R15=15.
type Regs [16]uint64

// Register indices.
const (
	RAX = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

// MMIO describes a decoded memory access that faulted on an MMIO address.
// The address itself is not decoded: the caller has it from the exit (the
// nested-page-fault guest-physical address).
type MMIO struct {
	Len   int  // instruction length (to advance RIP)
	Write bool // a store (else a load)
	Size  int  // access size in bytes: 1, 2, 4 or 8

	// Value is, for a store, the value to write, already taken from the
	// register or immediate and truncated to Size bytes.
	Value uint64

	// For a load: how the value lands in the destination register. Dest is
	// the register index, or -1 for stores. DestSize is the number of bytes
	// written to the register: Size for MOV, the operand size for MOVZX and
	// MOVSX. SignExtend is set for MOVSX.
	Dest       int
	DestSize   int
	SignExtend bool

	// HighByte is set when the register operand (the load's destination or
	// the store's source) is AH, CH, DH or BH: bits 15:8 of register
	// Dest (or of the source register, index 0-3).
	HighByte bool
}

// ErrUnsupportedMMIO is wrapped by DecodeMMIO's error for an instruction that
// is not one of the supported forms; the message goes on to name the
// instruction and its bytes.
var ErrUnsupportedMMIO = errors.New("unsupported MMIO instruction")

// DecodeMMIO decodes the instruction at the start of code, executing in mode,
// which made a memory access that faulted on an MMIO address. regs supplies
// the value for stores.
//
// Supported forms (with any operand-size, address-size, segment, REX and
// F2/F3 prefixes):
//
//	88 /r, 89 /r        MOV r/m, reg        (store)
//	8A /r, 8B /r        MOV reg, r/m        (load)
//	A0, A1              MOV AL/eAX, moffs   (load)
//	A2, A3              MOV moffs, AL/eAX   (store)
//	C6 /0 ib, C7 /0 iz  MOV r/m, imm        (store; REX.W sign-extends imm32)
//	0F B6/B7 /r         MOVZX reg, r/m8/16  (load)
//	0F BE/BF /r         MOVSX reg, r/m8/16  (load)
//
// The r/m operand must be memory. Anything else (including a LOCK prefix,
// which makes MOV #UD) gives an error wrapping ErrUnsupportedMMIO and naming
// the instruction, e.g. "unsupported MMIO instruction: add dword ptr [rax],
// ecx (01 08)". Bytes that end mid-instruction give an error wrapping
// ErrTruncated; an encoding longer than 15 bytes, ErrTooLong.
func DecodeMMIO(code []byte, mode Mode, regs *Regs) (MMIO, error) {
	if !mode.valid() {
		return MMIO{}, ErrBadMode
	}
	if len(code) > MaxInsnLen {
		code = code[:MaxInsnLen]
	}
	p := scanPrefixes(code, mode)
	i := p.n
	if i >= len(code) {
		if i >= MaxInsnLen {
			return MMIO{}, fmt.Errorf("% x: %w", code, ErrTooLong)
		}
		return MMIO{}, fmt.Errorf("% x: %w", code, ErrTruncated)
	}
	op := code[i]
	i++
	if op == 0x0f {
		if i >= len(code) {
			return MMIO{}, truncOrLong(code, i+1)
		}
		op2 := code[i]
		i++
		if op2 != 0xb6 && op2 != 0xb7 && op2 != 0xbe && op2 != 0xbf {
			return MMIO{}, unsupported(code, mode)
		}
		return decodeMovx(code, mode, &p, op2, i)
	}

	m := MMIO{Dest: -1}
	opSize := p.opSize(mode)
	switch op {
	case 0x88, 0x89, 0x8a, 0x8b:
		if i >= len(code) {
			return MMIO{}, truncOrLong(code, i+1)
		}
		modrm := code[i]
		if modrm>>6 == 3 {
			return MMIO{}, unsupported(code, mode)
		}
		m.Len = i + modrmLen(code[i:], p.addrSize(mode))
		m.Size = opSize
		if op&1 == 0 {
			m.Size = 1
		}
		reg := int(modrm>>3&7) | int(p.rex&0x04)<<1
		if m.Size == 1 && p.rex == 0 && reg >= 4 {
			reg -= 4
			m.HighByte = true
		}
		if op <= 0x89 {
			m.Write = true
			m.Value = regValue(regs, reg, m.Size, m.HighByte)
		} else {
			m.Dest, m.DestSize = reg, m.Size
		}

	case 0xa0, 0xa1, 0xa2, 0xa3:
		m.Len = i + p.addrSize(mode)
		m.Size = opSize
		if op&1 == 0 {
			m.Size = 1
		}
		if op >= 0xa2 {
			m.Write = true
			m.Value = regValue(regs, RAX, m.Size, false)
		} else {
			m.Dest, m.DestSize = RAX, m.Size
		}

	case 0xc6, 0xc7:
		if i >= len(code) {
			return MMIO{}, truncOrLong(code, i+1)
		}
		modrm := code[i]
		if modrm>>3&7 != 0 || modrm>>6 == 3 {
			// /1-/7 are #UD except C6 F8 (XABORT) and C7 F8 (XBEGIN);
			// mod=3 is a register destination.
			return MMIO{}, unsupported(code, mode)
		}
		i += modrmLen(code[i:], p.addrSize(mode))
		m.Write = true
		m.Size = opSize
		immSize := min(opSize, 4)
		if op == 0xc6 {
			m.Size, immSize = 1, 1
		}
		m.Len = i + immSize
		if m.Len > len(code) || m.Len > MaxInsnLen {
			break // reported below
		}
		var imm uint64
		for k := immSize - 1; k >= 0; k-- {
			imm = imm<<8 | uint64(code[i+k])
		}
		if m.Size == 8 {
			imm = uint64(int64(int32(uint32(imm))))
		}
		m.Value = imm

	default:
		return MMIO{}, unsupported(code, mode)
	}
	return finish(code, mode, &p, m)
}

// decodeMovx decodes MOVZX/MOVSX (0F op2 /r); i indexes the ModRM byte.
func decodeMovx(code []byte, mode Mode, p *prefixes, op2 byte, i int) (MMIO, error) {
	if i >= len(code) {
		return MMIO{}, truncOrLong(code, i+1)
	}
	modrm := code[i]
	if modrm>>6 == 3 {
		return MMIO{}, unsupported(code, mode)
	}
	m := MMIO{
		Len:        i + modrmLen(code[i:], p.addrSize(mode)),
		Size:       1 + int(op2&1),
		Dest:       int(modrm>>3&7) | int(p.rex&0x04)<<1,
		DestSize:   p.opSize(mode),
		SignExtend: op2 >= 0xbe,
	}
	return finish(code, mode, p, m)
}

// finish applies the checks common to all forms.
func finish(code []byte, mode Mode, p *prefixes, m MMIO) (MMIO, error) {
	if m.Len > MaxInsnLen || m.Len > len(code) {
		return MMIO{}, truncOrLong(code, m.Len)
	}
	if p.lock {
		return MMIO{}, unsupported(code[:m.Len], mode)
	}
	return m, nil
}

func truncOrLong(code []byte, need int) error {
	if need > MaxInsnLen {
		return fmt.Errorf("% x: %w", code, ErrTooLong)
	}
	return fmt.Errorf("% x: %w", code, ErrTruncated)
}

// unsupported builds the error for an instruction DecodeMMIO does not
// handle, naming it with x86asm when x86asm can decode it.
func unsupported(code []byte, mode Mode) error {
	n, err := InsnLen(code, mode)
	if err != nil {
		return fmt.Errorf("%w: undecodable bytes % x", ErrUnsupportedMMIO, code)
	}
	code = code[:n]
	p := scanPrefixes(code, mode)
	var buf [MaxInsnLen]byte
	clean, _ := stripIgnored(code, &p, &buf)
	inst, err := x86asm.Decode(clean, int(mode))
	if err != nil || inst.Op == 0 {
		return fmt.Errorf("%w: % x", ErrUnsupportedMMIO, code)
	}
	return fmt.Errorf("%w: %s (% x)", ErrUnsupportedMMIO, x86asm.IntelSyntax(inst, 0, nil), code)
}

// regValue reads a register operand of size bytes.
func regValue(regs *Regs, reg, size int, high bool) uint64 {
	if high {
		return regs[reg] >> 8 & 0xff
	}
	return regs[reg] & sizeMask(size)
}

func sizeMask(size int) uint64 {
	if size >= 8 {
		return ^uint64(0)
	}
	return uint64(1)<<(8*uint(size)) - 1
}

// Complete finishes a load: it writes value (the Size bytes read from the
// device, in the low bits) to the destination register with x86 semantics.
// The value is zero- or sign-extended from Size bytes to DestSize bytes;
// 8- and 16-bit destinations merge into the register (AH..BH into bits
// 15:8); a 32-bit destination zero-extends into the upper half in Mode64
// and, in the other modes, where the upper half is not architecturally
// visible, leaves it unchanged; a 64-bit destination replaces the register.
// Complete does nothing for a store. It does not advance RIP: add Len.
func (m MMIO) Complete(regs *Regs, value uint64, mode Mode) {
	if m.Write || m.Dest < 0 || m.Dest >= len(regs) {
		return
	}
	value &= sizeMask(m.Size)
	if m.SignExtend && m.Size < 8 {
		shift := 64 - 8*uint(m.Size)
		value = uint64(int64(value<<shift) >> shift)
	}
	r := &regs[m.Dest]
	switch m.DestSize {
	case 1:
		if m.HighByte {
			*r = *r&^0xff00 | value&0xff<<8
		} else {
			*r = *r&^0xff | value&0xff
		}
	case 2:
		*r = *r&^0xffff | value&0xffff
	case 4:
		if mode == Mode64 {
			*r = value & 0xffff_ffff
		} else {
			*r = *r&^0xffff_ffff | value&0xffff_ffff
		}
	case 8:
		*r = value
	}
}
