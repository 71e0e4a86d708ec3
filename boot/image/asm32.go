package image

import (
	"encoding/binary"
	"fmt"
)

// asm32 emits the handful of 32-bit x86 instructions the boot stub needs.
// Go's assembler only produces 64-bit code, so the stub that runs between the
// boot loader (32-bit protected mode, paging off) and long mode is built here
// from documented encodings (Intel SDM vol. 2). stub_test.go decodes the
// result with golang.org/x/arch/x86/x86asm in 32-bit mode and compares it with
// the intended listing.
type asm32 struct {
	org    uint32 // address of buf[0] once loaded
	buf    []byte
	labels map[string]uint32
	fixups []fixup
}

type fixup struct {
	at    int    // offset of the rel32 field in buf
	label string // target
}

// Register numbers in ModRM encoding order.
const (
	eax = 0
	ecx = 1
	edx = 2
	ebx = 3
	esp = 4
	ebp = 5
	esi = 6
	edi = 7
)

func newAsm32(org uint32) *asm32 { return &asm32{org: org, labels: map[string]uint32{}} }

func (a *asm32) pc() uint32 { return a.org + uint32(len(a.buf)) }

func (a *asm32) b(bs ...byte) { a.buf = append(a.buf, bs...) }

func (a *asm32) imm32(v uint32) { a.buf = binary.LittleEndian.AppendUint32(a.buf, v) }

func (a *asm32) label(name string) { a.labels[name] = a.pc() }

func (a *asm32) rel32(label string) {
	a.fixups = append(a.fixups, fixup{at: len(a.buf), label: label})
	a.imm32(0)
}

// Instructions.
func (a *asm32) cli()                         { a.b(0xFA) }
func (a *asm32) cld()                         { a.b(0xFC) }
func (a *asm32) hlt()                         { a.b(0xF4) }
func (a *asm32) cpuid()                       { a.b(0x0F, 0xA2) }
func (a *asm32) rdmsr()                       { a.b(0x0F, 0x32) }
func (a *asm32) wrmsr()                       { a.b(0x0F, 0x30) }
func (a *asm32) repStosd()                    { a.b(0xF3, 0xAB) }
func (a *asm32) movRegImm(r int, v uint32)    { a.b(0xB8 + byte(r)); a.imm32(v) }        // mov r32, imm32
func (a *asm32) movRegReg(dst, src int)       { a.b(0x89, 0xC0|byte(src)<<3|byte(dst)) } // mov r/m32, r32
func (a *asm32) xorRegReg(dst, src int)       { a.b(0x31, 0xC0|byte(src)<<3|byte(dst)) }
func (a *asm32) movMemReg(addr uint32, r int) { a.b(0x89, 0x05|byte(r)<<3); a.imm32(addr) }  // mov [disp32], r32
func (a *asm32) movRegMem(r int, addr uint32) { a.b(0x8B, 0x05|byte(r)<<3); a.imm32(addr) }  // mov r32, [disp32]
func (a *asm32) movMemImm(addr, v uint32)     { a.b(0xC7, 0x05); a.imm32(addr); a.imm32(v) } // mov dword [disp32], imm32
func (a *asm32) movIndReg(base, r int)        { a.b(0x89, byte(r)<<3|byte(base)) }           // mov [base], r32 (base not esp/ebp)
func (a *asm32) addRegImm(r int, v uint32)    { a.b(0x81, 0xC0|byte(r)); a.imm32(v) }
func (a *asm32) orRegImm(r int, v uint32)     { a.b(0x81, 0xC8|byte(r)); a.imm32(v) }
func (a *asm32) andRegImm(r int, v uint32)    { a.b(0x81, 0xE0|byte(r)); a.imm32(v) }
func (a *asm32) cmpRegImm(r int, v uint32)    { a.b(0x81, 0xF8|byte(r)); a.imm32(v) }
func (a *asm32) testRegImm(r int, v uint32)   { a.b(0xF7, 0xC0|byte(r)); a.imm32(v) }
func (a *asm32) decReg(r int)                 { a.b(0xFF, 0xC8|byte(r)) }
func (a *asm32) movCR(cr int, r int)          { a.b(0x0F, 0x22, 0xC0|byte(cr)<<3|byte(r)) } // mov crN, r32
func (a *asm32) movFromCR(r int, cr int)      { a.b(0x0F, 0x20, 0xC0|byte(cr)<<3|byte(r)) } // mov r32, crN
func (a *asm32) lgdt(addr uint32)             { a.b(0x0F, 0x01, 0x15); a.imm32(addr) }
func (a *asm32) movzxRegMem8(r int, base int) { a.b(0x0F, 0xB6, byte(r)<<3|byte(base)) } // movzx r32, byte [base]
func (a *asm32) testRegReg(x, y int)          { a.b(0x85, 0xC0|byte(y)<<3|byte(x)) }
func (a *asm32) incReg(r int)                 { a.b(0xFF, 0xC0|byte(r)) }
func (a *asm32) outDxAl()                     { a.b(0xEE) }
func (a *asm32) inAlDx()                      { a.b(0xEC) }
func (a *asm32) movDxImm(v uint16)            { a.b(0x66, 0xBA, byte(v), byte(v>>8)) }
func (a *asm32) movAlImm(v uint8)             { a.b(0xB0, v) }
func (a *asm32) testAlImm(v uint8)            { a.b(0xA8, v) }
func (a *asm32) jmp(label string)             { a.b(0xE9); a.rel32(label) }
func (a *asm32) jcc(cc byte, label string)    { a.b(0x0F, 0x80|cc); a.rel32(label) }
func (a *asm32) ljmp(sel uint16, off uint32)  { a.b(0xEA); a.imm32(off); a.b(byte(sel), byte(sel>>8)) }

// Condition codes for jcc.
const (
	ccB  = 0x2 // below (CF=1)
	ccZ  = 0x4 // zero
	ccNZ = 0x5 // not zero
)

// finish resolves label references.
func (a *asm32) finish() ([]byte, error) {
	for _, f := range a.fixups {
		target, ok := a.labels[f.label]
		if !ok {
			return nil, fmt.Errorf("asm32: undefined label %q", f.label)
		}
		next := a.org + uint32(f.at) + 4
		binary.LittleEndian.PutUint32(a.buf[f.at:], target-next)
	}
	return a.buf, nil
}
