package x86

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// baseRegs gives every register distinct bytes: RAX = a7 a6 … a0 (low byte
// a7), RCX = a8 a7 … a1, and so on.
func baseRegs() Regs {
	var r Regs
	for i := range r {
		r[i] = 0xa0a1_a2a3_a4a5_a6a7 + uint64(i)*0x0101_0101_0101_0101
	}
	return r
}

var base = baseRegs()

func moffs(op byte, prefix []byte, n int) []byte {
	b := append(append([]byte{}, prefix...), op)
	for i := range n {
		b = append(b, byte(0x10+i))
	}
	return b
}

type mmioTest struct {
	name string
	mode Mode
	code []byte
	want MMIO
	// For loads: the value returned by the device and the register's
	// expected contents afterwards.
	in      uint64
	wantReg uint64
}

// store and load build expected MMIO values.
func store(n, size int, value uint64, high bool) MMIO {
	return MMIO{Len: n, Write: true, Size: size, Value: value, Dest: -1, HighByte: high}
}

func load(n, size, dest, destSize int, sign, high bool) MMIO {
	return MMIO{Len: n, Size: size, Dest: dest, DestSize: destSize, SignExtend: sign, HighByte: high}
}

var mmioTests = []mmioTest{
	// 64-bit stores from registers.
	{name: "mov [rax], cl", mode: Mode64, code: []byte{0x88, 0x08}, want: store(2, 1, base[RCX]&0xff, false)},
	{name: "mov [rax], ah", mode: Mode64, code: []byte{0x88, 0x20}, want: store(2, 1, base[RAX]>>8&0xff, true)},
	{name: "mov [rax], bh", mode: Mode64, code: []byte{0x88, 0x38}, want: store(2, 1, base[RBX]>>8&0xff, true)},
	{name: "mov [rax], spl", mode: Mode64, code: []byte{0x40, 0x88, 0x20}, want: store(3, 1, base[RSP]&0xff, false)},
	{name: "mov [rax], dil", mode: Mode64, code: []byte{0x40, 0x88, 0x38}, want: store(3, 1, base[RDI]&0xff, false)},
	{name: "mov [rax], r8b", mode: Mode64, code: []byte{0x44, 0x88, 0x00}, want: store(3, 1, base[R8]&0xff, false)},
	{name: "mov [r13+0], r12b", mode: Mode64, code: []byte{0x45, 0x88, 0x65, 0x00}, want: store(4, 1, base[R12]&0xff, false)},
	{name: "mov [rax], cx", mode: Mode64, code: []byte{0x66, 0x89, 0x08}, want: store(3, 2, base[RCX]&0xffff, false)},
	{name: "mov [rax], ecx", mode: Mode64, code: []byte{0x89, 0x08}, want: store(2, 4, base[RCX]&0xffff_ffff, false)},
	{name: "mov [rax], rcx", mode: Mode64, code: []byte{0x48, 0x89, 0x08}, want: store(3, 8, base[RCX], false)},
	{name: "mov [rsp], r15", mode: Mode64, code: []byte{0x4c, 0x89, 0x3c, 0x24}, want: store(4, 8, base[R15], false)},
	{name: "mov [r12+r13*8+disp32], r14d", mode: Mode64, code: []byte{0x47, 0x89, 0xb4, 0xec, 1, 2, 3, 4}, want: store(8, 4, base[R14]&0xffff_ffff, false)},
	{name: "mov [rip+disp32], esi", mode: Mode64, code: []byte{0x89, 0x35, 1, 2, 3, 4}, want: store(6, 4, base[RSI]&0xffff_ffff, false)},
	{name: "66 REX.W: REX.W wins", mode: Mode64, code: []byte{0x66, 0x48, 0x89, 0x08}, want: store(4, 8, base[RCX], false)},
	{name: "REX before 66 is ignored", mode: Mode64, code: []byte{0x48, 0x66, 0x89, 0x08}, want: store(4, 2, base[RCX]&0xffff, false)},
	{name: "REX before 2E is ignored: ah", mode: Mode64, code: []byte{0x40, 0x2e, 0x88, 0x20}, want: store(4, 1, base[RAX]>>8&0xff, true)},
	{name: "last REX counts", mode: Mode64, code: []byte{0x48, 0x41, 0x89, 0x08}, want: store(4, 4, base[RCX]&0xffff_ffff, false)},
	{name: "xrelease mov [rax], ecx", mode: Mode64, code: []byte{0xf3, 0x89, 0x08}, want: store(3, 4, base[RCX]&0xffff_ffff, false)},
	{name: "fs mov [rax], ecx", mode: Mode64, code: []byte{0x64, 0x89, 0x08}, want: store(3, 4, base[RCX]&0xffff_ffff, false)},
	{name: "mov [eax], ecx (a32)", mode: Mode64, code: []byte{0x67, 0x89, 0x08}, want: store(3, 4, base[RCX]&0xffff_ffff, false)},
	{name: "mov moffs64, al", mode: Mode64, code: moffs(0xa2, nil, 8), want: store(9, 1, base[RAX]&0xff, false)},
	{name: "mov moffs64, ax", mode: Mode64, code: moffs(0xa3, []byte{0x66}, 8), want: store(10, 2, base[RAX]&0xffff, false)},
	{name: "mov moffs64, eax", mode: Mode64, code: moffs(0xa3, nil, 8), want: store(9, 4, base[RAX]&0xffff_ffff, false)},
	{name: "mov moffs64, rax", mode: Mode64, code: moffs(0xa3, []byte{0x48}, 8), want: store(10, 8, base[RAX], false)},
	{name: "mov moffs32, rax", mode: Mode64, code: moffs(0xa3, []byte{0x67, 0x48}, 4), want: store(7, 8, base[RAX], false)},
	{name: "mov moffs, al with REX.B is still al", mode: Mode64, code: moffs(0xa2, []byte{0x41}, 8), want: store(10, 1, base[RAX]&0xff, false)},

	// 64-bit stores of immediates.
	{name: "mov byte [rax], 0x7f", mode: Mode64, code: []byte{0xc6, 0x00, 0x7f}, want: store(3, 1, 0x7f, false)},
	{name: "mov byte [rax+disp32], 0xff", mode: Mode64, code: []byte{0xc6, 0x80, 1, 2, 3, 4, 0xff}, want: store(7, 1, 0xff, false)},
	{name: "mov word [rax], 0x8234", mode: Mode64, code: []byte{0x66, 0xc7, 0x00, 0x34, 0x82}, want: store(5, 2, 0x8234, false)},
	{name: "mov dword [rax], 0x87654321", mode: Mode64, code: []byte{0xc7, 0x00, 0x21, 0x43, 0x65, 0x87}, want: store(6, 4, 0x8765_4321, false)},
	{name: "mov qword [rax], -0x80000000", mode: Mode64, code: []byte{0x48, 0xc7, 0x00, 0, 0, 0, 0x80}, want: store(7, 8, 0xffff_ffff_8000_0000, false)},
	{name: "mov qword [rax], 0x7fffffff", mode: Mode64, code: []byte{0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f}, want: store(7, 8, 0x7fff_ffff, false)},
	{name: "mov qword [rip+disp32], imm", mode: Mode64, code: []byte{0x48, 0xc7, 0x05, 1, 2, 3, 4, 0xfe, 0xff, 0xff, 0xff}, want: store(11, 8, 0xffff_ffff_ffff_fffe, false)},
	{name: "mov dword [r12+8], imm", mode: Mode64, code: []byte{0x41, 0xc7, 0x44, 0x24, 0x08, 1, 0, 0, 0}, want: store(9, 4, 1, false)},
	{name: "mov byte [rax], imm with REX", mode: Mode64, code: []byte{0x40, 0xc6, 0x00, 0x80}, want: store(4, 1, 0x80, false)},

	// 64-bit loads.
	{name: "mov cl, [rax]", mode: Mode64, code: []byte{0x8a, 0x08}, want: load(2, 1, RCX, 1, false, false), in: 0x5a, wantReg: base[RCX]&^0xff | 0x5a},
	{name: "mov cl, [rax] (extra bits)", mode: Mode64, code: []byte{0x8a, 0x08}, want: load(2, 1, RCX, 1, false, false), in: 0x1234, wantReg: base[RCX]&^0xff | 0x34},
	{name: "mov ah, [rax]", mode: Mode64, code: []byte{0x8a, 0x20}, want: load(2, 1, RAX, 1, false, true), in: 0x5a, wantReg: base[RAX]&^0xff00 | 0x5a00},
	{name: "mov dh, [rax]", mode: Mode64, code: []byte{0x8a, 0x30}, want: load(2, 1, RDX, 1, false, true), in: 0x5a, wantReg: base[RDX]&^0xff00 | 0x5a00},
	{name: "mov spl, [rax]", mode: Mode64, code: []byte{0x40, 0x8a, 0x20}, want: load(3, 1, RSP, 1, false, false), in: 0x5a, wantReg: base[RSP]&^0xff | 0x5a},
	{name: "mov bpl, [rax]", mode: Mode64, code: []byte{0x40, 0x8a, 0x28}, want: load(3, 1, RBP, 1, false, false), in: 0x5a, wantReg: base[RBP]&^0xff | 0x5a},
	{name: "mov r15b, [rax]", mode: Mode64, code: []byte{0x44, 0x8a, 0x38}, want: load(3, 1, R15, 1, false, false), in: 0xa5, wantReg: base[R15]&^0xff | 0xa5},
	{name: "mov cx, [rax]", mode: Mode64, code: []byte{0x66, 0x8b, 0x08}, want: load(3, 2, RCX, 2, false, false), in: 0xbeef, wantReg: base[RCX]&^0xffff | 0xbeef},
	{name: "mov ecx, [rax] zero-extends", mode: Mode64, code: []byte{0x8b, 0x08}, want: load(2, 4, RCX, 4, false, false), in: 0xdead_beef, wantReg: 0xdead_beef},
	{name: "mov rcx, [rax]", mode: Mode64, code: []byte{0x48, 0x8b, 0x08}, want: load(3, 8, RCX, 8, false, false), in: 0x0123_4567_89ab_cdef, wantReg: 0x0123_4567_89ab_cdef},
	{name: "mov r8, [rax]", mode: Mode64, code: []byte{0x4c, 0x8b, 0x00}, want: load(3, 8, R8, 8, false, false), in: 0xfedc_ba98_7654_3210, wantReg: 0xfedc_ba98_7654_3210},
	{name: "mov r11d, [rbx+rcx*4+8]", mode: Mode64, code: []byte{0x44, 0x8b, 0x5c, 0x8b, 0x08}, want: load(5, 4, R11, 4, false, false), in: 0x8000_0001, wantReg: 0x8000_0001},
	{name: "mov al, moffs64", mode: Mode64, code: moffs(0xa0, nil, 8), want: load(9, 1, RAX, 1, false, false), in: 0x11, wantReg: base[RAX]&^0xff | 0x11},
	{name: "mov ax, moffs64", mode: Mode64, code: moffs(0xa1, []byte{0x66}, 8), want: load(10, 2, RAX, 2, false, false), in: 0x1122, wantReg: base[RAX]&^0xffff | 0x1122},
	{name: "mov eax, moffs64", mode: Mode64, code: moffs(0xa1, nil, 8), want: load(9, 4, RAX, 4, false, false), in: 0x1122_3344, wantReg: 0x1122_3344},
	{name: "mov rax, moffs64", mode: Mode64, code: moffs(0xa1, []byte{0x48}, 8), want: load(10, 8, RAX, 8, false, false), in: 0x1122_3344_5566_7788, wantReg: 0x1122_3344_5566_7788},
	{name: "mov eax, moffs32", mode: Mode64, code: moffs(0xa1, []byte{0x67}, 4), want: load(6, 4, RAX, 4, false, false), in: 0x1122_3344, wantReg: 0x1122_3344},
	{name: "movzx ecx, byte [rax]", mode: Mode64, code: []byte{0x0f, 0xb6, 0x08}, want: load(3, 1, RCX, 4, false, false), in: 0x80, wantReg: 0x80},
	{name: "movzx cx, byte [rax]", mode: Mode64, code: []byte{0x66, 0x0f, 0xb6, 0x08}, want: load(4, 1, RCX, 2, false, false), in: 0x80, wantReg: base[RCX]&^0xffff | 0x80},
	{name: "movzx rcx, byte [rax]", mode: Mode64, code: []byte{0x48, 0x0f, 0xb6, 0x08}, want: load(4, 1, RCX, 8, false, false), in: 0xff80, wantReg: 0x80},
	{name: "movzx r9d, byte [rax]", mode: Mode64, code: []byte{0x44, 0x0f, 0xb6, 0x08}, want: load(4, 1, R9, 4, false, false), in: 0x80, wantReg: 0x80},
	{name: "movzx ecx, word [rax]", mode: Mode64, code: []byte{0x0f, 0xb7, 0x08}, want: load(3, 2, RCX, 4, false, false), in: 0x8001, wantReg: 0x8001},
	{name: "movzx rcx, word [rax]", mode: Mode64, code: []byte{0x48, 0x0f, 0xb7, 0x08}, want: load(4, 2, RCX, 8, false, false), in: 0x8001, wantReg: 0x8001},
	{name: "movsx ecx, byte [rax]", mode: Mode64, code: []byte{0x0f, 0xbe, 0x08}, want: load(3, 1, RCX, 4, true, false), in: 0x80, wantReg: 0xffff_ff80},
	{name: "movsx ecx, byte [rax] positive", mode: Mode64, code: []byte{0x0f, 0xbe, 0x08}, want: load(3, 1, RCX, 4, true, false), in: 0x7f, wantReg: 0x7f},
	{name: "movsx cx, byte [rax]", mode: Mode64, code: []byte{0x66, 0x0f, 0xbe, 0x08}, want: load(4, 1, RCX, 2, true, false), in: 0x80, wantReg: base[RCX]&^0xffff | 0xff80},
	{name: "movsx rcx, byte [rax]", mode: Mode64, code: []byte{0x48, 0x0f, 0xbe, 0x08}, want: load(4, 1, RCX, 8, true, false), in: 0x80, wantReg: 0xffff_ffff_ffff_ff80},
	{name: "movsx ecx, word [rax]", mode: Mode64, code: []byte{0x0f, 0xbf, 0x08}, want: load(3, 2, RCX, 4, true, false), in: 0x8001, wantReg: 0xffff_8001},
	{name: "movsx rcx, word [rax]", mode: Mode64, code: []byte{0x48, 0x0f, 0xbf, 0x08}, want: load(4, 2, RCX, 8, true, false), in: 0x8001, wantReg: 0xffff_ffff_ffff_8001},
	{name: "movsx r10, word [rax]", mode: Mode64, code: []byte{0x4c, 0x0f, 0xbf, 0x10}, want: load(4, 2, R10, 8, true, false), in: 0x1234_7001, wantReg: 0x7001},

	// 32-bit mode.
	{name: "32: mov [eax], ecx", mode: Mode32, code: []byte{0x89, 0x08}, want: store(2, 4, base[RCX]&0xffff_ffff, false)},
	{name: "32: mov [eax], cx", mode: Mode32, code: []byte{0x66, 0x89, 0x08}, want: store(3, 2, base[RCX]&0xffff, false)},
	{name: "32: mov [eax], bh", mode: Mode32, code: []byte{0x88, 0x38}, want: store(2, 1, base[RBX]>>8&0xff, true)},
	{name: "32: mov [disp32], edi", mode: Mode32, code: []byte{0x89, 0x3d, 1, 2, 3, 4}, want: store(6, 4, base[RDI]&0xffff_ffff, false)},
	{name: "32: mov [bx+si], ecx (a16)", mode: Mode32, code: []byte{0x67, 0x89, 0x08}, want: store(3, 4, base[RCX]&0xffff_ffff, false)},
	{name: "32: mov moffs32, eax", mode: Mode32, code: moffs(0xa3, nil, 4), want: store(5, 4, base[RAX]&0xffff_ffff, false)},
	{name: "32: mov moffs16, al", mode: Mode32, code: moffs(0xa2, []byte{0x67}, 2), want: store(4, 1, base[RAX]&0xff, false)},
	{name: "32: mov dword [disp32], imm32", mode: Mode32, code: []byte{0xc7, 0x05, 1, 2, 3, 4, 0xef, 0xbe, 0xad, 0xde}, want: store(10, 4, 0xdead_beef, false)},
	{name: "32: mov word [eax], imm16", mode: Mode32, code: []byte{0x66, 0xc7, 0x00, 0xef, 0xbe}, want: store(5, 2, 0xbeef, false)},
	{name: "32: mov byte [esp+4], imm8", mode: Mode32, code: []byte{0xc6, 0x44, 0x24, 0x04, 0x42}, want: store(5, 1, 0x42, false)},
	{name: "32: mov ecx, [eax] keeps the upper half", mode: Mode32, code: []byte{0x8b, 0x08}, want: load(2, 4, RCX, 4, false, false), in: 0xdead_beef, wantReg: base[RCX]&^0xffff_ffff | 0xdead_beef},
	{name: "32: mov cx, [eax]", mode: Mode32, code: []byte{0x66, 0x8b, 0x08}, want: load(3, 2, RCX, 2, false, false), in: 0xbeef, wantReg: base[RCX]&^0xffff | 0xbeef},
	{name: "32: mov ah, [disp32]", mode: Mode32, code: []byte{0x8a, 0x24, 0x25, 1, 2, 3, 4}, want: load(7, 1, RAX, 1, false, true), in: 0x77, wantReg: base[RAX]&^0xff00 | 0x7700},
	{name: "32: mov eax, moffs32", mode: Mode32, code: moffs(0xa1, nil, 4), want: load(5, 4, RAX, 4, false, false), in: 0x1234_5678, wantReg: base[RAX]&^0xffff_ffff | 0x1234_5678},
	{name: "32: mov al, moffs16", mode: Mode32, code: moffs(0xa0, []byte{0x67}, 2), want: load(4, 1, RAX, 1, false, false), in: 0x12, wantReg: base[RAX]&^0xff | 0x12},
	{name: "32: movzx edx, word [eax]", mode: Mode32, code: []byte{0x0f, 0xb7, 0x10}, want: load(3, 2, RDX, 4, false, false), in: 0xf00d, wantReg: base[RDX]&^0xffff_ffff | 0xf00d},
	{name: "32: movsx edx, byte [eax]", mode: Mode32, code: []byte{0x0f, 0xbe, 0x10}, want: load(3, 1, RDX, 4, true, false), in: 0xf0, wantReg: base[RDX]&^0xffff_ffff | 0xffff_fff0},
	{name: "32: movsx dx, byte [eax]", mode: Mode32, code: []byte{0x66, 0x0f, 0xbe, 0x10}, want: load(4, 1, RDX, 2, true, false), in: 0xf0, wantReg: base[RDX]&^0xffff | 0xfff0},

	// 16-bit mode.
	{name: "16: mov [bx], ax", mode: Mode16, code: []byte{0x89, 0x07}, want: store(2, 2, base[RAX]&0xffff, false)},
	{name: "16: mov [bx], eax", mode: Mode16, code: []byte{0x66, 0x89, 0x07}, want: store(3, 4, base[RAX]&0xffff_ffff, false)},
	{name: "16: mov [bp+2], ch", mode: Mode16, code: []byte{0x88, 0x6e, 0x02}, want: store(3, 1, base[RCX]>>8&0xff, true)},
	{name: "16: mov word [disp16], imm16", mode: Mode16, code: []byte{0xc7, 0x06, 0x00, 0x10, 0x34, 0x12}, want: store(6, 2, 0x1234, false)},
	{name: "16: mov dword [disp16], imm32", mode: Mode16, code: []byte{0x66, 0xc7, 0x06, 0x00, 0x10, 0x78, 0x56, 0x34, 0x12}, want: store(9, 4, 0x1234_5678, false)},
	{name: "16: mov moffs16, ax", mode: Mode16, code: moffs(0xa3, nil, 2), want: store(3, 2, base[RAX]&0xffff, false)},
	{name: "16: mov ax, [bp+2]", mode: Mode16, code: []byte{0x8b, 0x46, 0x02}, want: load(3, 2, RAX, 2, false, false), in: 0x4321, wantReg: base[RAX]&^0xffff | 0x4321},
	{name: "16: mov dx, [disp16]", mode: Mode16, code: []byte{0x8b, 0x16, 0x34, 0x12}, want: load(4, 2, RDX, 2, false, false), in: 0x4321, wantReg: base[RDX]&^0xffff | 0x4321},
	{name: "16: mov ax, [esp] (a32)", mode: Mode16, code: []byte{0x67, 0x8b, 0x04, 0x24}, want: load(4, 2, RAX, 2, false, false), in: 0x4321, wantReg: base[RAX]&^0xffff | 0x4321},
	{name: "16: mov eax, [bx]", mode: Mode16, code: []byte{0x66, 0x8b, 0x07}, want: load(3, 4, RAX, 4, false, false), in: 0x8765_4321, wantReg: base[RAX]&^0xffff_ffff | 0x8765_4321},
	{name: "16: mov eax, moffs32 (a32)", mode: Mode16, code: moffs(0xa1, []byte{0x66, 0x67}, 4), want: load(7, 4, RAX, 4, false, false), in: 0x8765_4321, wantReg: base[RAX]&^0xffff_ffff | 0x8765_4321},
	{name: "16: movzx ax, byte [si]", mode: Mode16, code: []byte{0x0f, 0xb6, 0x04}, want: load(3, 1, RAX, 2, false, false), in: 0x99, wantReg: base[RAX]&^0xffff | 0x99},
	{name: "16: movsx eax, word [si]", mode: Mode16, code: []byte{0x66, 0x0f, 0xbf, 0x04}, want: load(4, 2, RAX, 4, true, false), in: 0x9999, wantReg: base[RAX]&^0xffff_ffff | 0xffff_9999},
}

func TestDecodeMMIO(t *testing.T) {
	for _, tt := range mmioTests {
		regs := base
		// Trailing bytes must not matter.
		code := append(append([]byte{}, tt.code...), 0x90, 0x90)
		m, err := DecodeMMIO(code, tt.mode, &regs)
		if err != nil {
			t.Errorf("%s: DecodeMMIO(% x) error: %v", tt.name, tt.code, err)
			continue
		}
		if m != tt.want {
			t.Errorf("%s: DecodeMMIO(% x) =\n\t%+v, want\n\t%+v", tt.name, tt.code, m, tt.want)
			continue
		}
		if regs != base {
			t.Errorf("%s: DecodeMMIO changed the registers", tt.name)
		}
		// The decoded length agrees with InsnLen.
		if n, err := InsnLen(code, tt.mode); n != m.Len || err != nil {
			t.Errorf("%s: InsnLen = %d, %v; DecodeMMIO Len %d", tt.name, n, err, m.Len)
		}
		// Without its last byte the instruction is truncated.
		if _, err := DecodeMMIO(tt.code[:len(tt.code)-1], tt.mode, &regs); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: truncated: %v", tt.name, err)
		}
		m.Complete(&regs, tt.in, tt.mode)
		want := base
		if !m.Write {
			want[m.Dest] = tt.wantReg
		}
		if regs != want {
			for i := range regs {
				if regs[i] != want[i] {
					t.Errorf("%s: after Complete(%#x), reg %d = %#x, want %#x", tt.name, tt.in, i, regs[i], want[i])
				}
			}
		}
	}
}

func TestDecodeMMIOUnsupported(t *testing.T) {
	tests := []struct {
		mode Mode
		code []byte
		want string // in the error message
	}{
		{Mode64, []byte{0x01, 0x08}, "unsupported MMIO instruction: add dword ptr [rax], ecx (01 08)"},
		{Mode64, []byte{0x89, 0xc8, 0x90}, "unsupported MMIO instruction: mov eax, ecx (89 c8)"},
		{Mode64, []byte{0xf0, 0x89, 0x08}, "lock mov dword ptr [rax], ecx (f0 89 08)"},
		{Mode64, []byte{0xc7, 0x48, 0x00, 1, 2, 3, 4}, "unsupported MMIO instruction: "},
		{Mode64, []byte{0xc7, 0xc0, 1, 2, 3, 4}, "mov eax, 0x4030201"},
		{Mode64, []byte{0xc7, 0xf8, 0, 0, 0, 0}, "xbegin"},
		{Mode64, []byte{0x0f, 0xb6, 0xc1}, "movzx eax, cl"},
		{Mode64, []byte{0xa4}, "movsb"},
		{Mode64, []byte{0xf3, 0x48, 0xa5}, "rep movsq"},
		{Mode64, []byte{0x87, 0x08}, "xchg dword ptr [rax], ecx"},
		{Mode64, []byte{0x48, 0x63, 0x08}, "movsxd rcx, dword ptr [rax]"},
		{Mode64, []byte{0x0f, 0x01, 0xd9}, "0f 01 d9"},
		{Mode64, []byte{0x8c, 0x18}, "mov word ptr [rax], ds"},
		{Mode64, []byte{0x85, 0x08}, "test dword ptr [rax], ecx"},
		{Mode64, []byte{0x0f, 0xc3, 0x08}, "movnti dword ptr [rax], ecx"},
		{Mode64, []byte{0xc5, 0xf9, 0x7e, 0x00}, "vmovd dword ptr [rax], xmm0"},
		{Mode32, []byte{0x48, 0x89, 0x08}, "dec eax (48)"},
		{Mode32, []byte{0x0f, 0x0b}, "ud2"},
		{Mode64, []byte{0x0f, 0x04}, "undecodable bytes 0f 04"},
	}
	for _, tt := range tests {
		regs := base
		m, err := DecodeMMIO(tt.code, tt.mode, &regs)
		if !errors.Is(err, ErrUnsupportedMMIO) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecodeMMIO(% x, %v) = %+v, %v; want an error containing %q", tt.code, tt.mode, m, err, tt.want)
		}
	}

	for _, tt := range []struct {
		mode Mode
		code []byte
		want error
	}{
		{Mode64, nil, ErrTruncated},
		{Mode64, []byte{0x8b}, ErrTruncated},
		{Mode64, []byte{0x66, 0x48}, ErrTruncated},
		{Mode64, []byte{0x0f}, ErrTruncated},
		{Mode64, []byte{0x48, 0xa1, 1, 2}, ErrTruncated},
		{Mode64, []byte{0xc7, 0x00, 1, 2}, ErrTruncated},
		{Mode64, []byte{0xc7}, ErrTruncated},
		{Mode64, []byte{0x8b, 0x04}, ErrTruncated},
		{Mode16, []byte{0x8b, 0x06, 1}, ErrTruncated},
		{Mode64, append(bytes.Repeat([]byte{0x2e}, 14), 0x8b, 0x00), ErrTooLong},
		{Mode64, append(bytes.Repeat([]byte{0x2e}, 15), 0x8b, 0x00), ErrTooLong},
		{Mode64, append(bytes.Repeat([]byte{0x2e}, 10), 0xc7, 0x80, 1, 2, 3, 4, 5, 6, 7, 8), ErrTooLong},
		{Mode64, append(bytes.Repeat([]byte{0x2e}, 14), 0x0f, 0xb6, 0x00), ErrTooLong},
		{Mode(0), []byte{0x8b, 0x00}, ErrBadMode},
	} {
		regs := base
		if _, err := DecodeMMIO(tt.code, tt.mode, &regs); !errors.Is(err, tt.want) {
			t.Errorf("DecodeMMIO(% x, %v) = %v, want %v", tt.code, tt.mode, err, tt.want)
		}
	}
	// 15 bytes exactly is fine.
	regs := base
	code := append(bytes.Repeat([]byte{0x2e}, 13), 0x8b, 0x00)
	if m, err := DecodeMMIO(code, Mode64, &regs); err != nil || m.Len != 15 {
		t.Errorf("15-byte mov: %+v, %v", m, err)
	}
}

func TestCompleteIgnoresStores(t *testing.T) {
	regs := base
	MMIO{Len: 2, Write: true, Size: 4, Dest: -1}.Complete(&regs, 0x1234, Mode64)
	MMIO{Len: 2, Size: 4, Dest: -1, DestSize: 4}.Complete(&regs, 0x1234, Mode64)
	MMIO{Len: 2, Size: 4, Dest: 16, DestSize: 4}.Complete(&regs, 0x1234, Mode64)
	if regs != base {
		t.Errorf("Complete changed registers for a store / no destination")
	}
}

func TestDecodeMMIOAllocs(t *testing.T) {
	regs := base
	code := []byte{0x48, 0x8b, 0x84, 0x24, 1, 2, 3, 4}
	allocs := testing.AllocsPerRun(100, func() {
		m, err := DecodeMMIO(code, Mode64, &regs)
		if err != nil {
			t.Fatal(err)
		}
		m.Complete(&regs, 0x1234, Mode64)
	})
	if allocs != 0 {
		t.Errorf("DecodeMMIO+Complete allocate %v times", allocs)
	}
}
