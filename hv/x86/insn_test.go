package x86

import (
	"bytes"
	"errors"
	"testing"
)

// Expected-length markers for insnTests.
const (
	errT = -1 // ErrTruncated
	errU = -2 // ErrUnknownInsn
	errL = -3 // ErrTooLong
)

var insnTests = []struct {
	name string
	code []byte
	len  [3]int // in Mode16, Mode32, Mode64
}{
	// Intercepted instructions.
	{"cpuid", []byte{0x0f, 0xa2}, [3]int{2, 2, 2}},
	{"rdmsr", []byte{0x0f, 0x32}, [3]int{2, 2, 2}},
	{"wrmsr", []byte{0x0f, 0x30}, [3]int{2, 2, 2}},
	{"rdtsc", []byte{0x0f, 0x31}, [3]int{2, 2, 2}},
	{"rdtscp", []byte{0x0f, 0x01, 0xf9}, [3]int{3, 3, 3}},
	{"rdpmc", []byte{0x0f, 0x33}, [3]int{2, 2, 2}},
	{"hlt", []byte{0xf4}, [3]int{1, 1, 1}},
	{"pause", []byte{0xf3, 0x90}, [3]int{2, 2, 2}},
	{"invd", []byte{0x0f, 0x08}, [3]int{2, 2, 2}},
	{"wbinvd", []byte{0x0f, 0x09}, [3]int{2, 2, 2}},
	{"xsetbv", []byte{0x0f, 0x01, 0xd1}, [3]int{3, 3, 3}},
	{"monitor", []byte{0x0f, 0x01, 0xc8}, [3]int{3, 3, 3}},
	{"mwait", []byte{0x0f, 0x01, 0xc9}, [3]int{3, 3, 3}},
	{"int3", []byte{0xcc}, [3]int{1, 1, 1}},
	{"int 0x80", []byte{0xcd, 0x80}, [3]int{2, 2, 2}},
	{"int1", []byte{0xf1}, [3]int{1, 1, 1}},
	{"into", []byte{0xce}, [3]int{1, 1, errU}},
	{"ud2", []byte{0x0f, 0x0b}, [3]int{2, 2, 2}},
	{"clts", []byte{0x0f, 0x06}, [3]int{2, 2, 2}},
	{"mov cr3, eax/rax", []byte{0x0f, 0x22, 0xd8}, [3]int{3, 3, 3}},
	{"mov cr3, r8", []byte{0x41, 0x0f, 0x22, 0xd8}, [3]int{1, 1, 4}}, // inc cx/ecx outside 64-bit
	{"mov rax, cr8", []byte{0x44, 0x0f, 0x20, 0xc0}, [3]int{1, 1, 4}},
	{"mov dr7, eax", []byte{0x0f, 0x23, 0xf8}, [3]int{3, 3, 3}},
	{"invlpg [rax]", []byte{0x0f, 0x01, 0x38}, [3]int{3, 3, 3}},
	{"invlpg [disp]", []byte{0x0f, 0x01, 0x3d, 1, 2, 3, 4}, [3]int{3, 7, 7}},
	{"invlpg [disp16]", []byte{0x0f, 0x01, 0x3e, 1, 2, 3, 4}, [3]int{5, 3, 3}},
	{"invlpg [sib+disp32]", []byte{0x0f, 0x01, 0xbc, 0x24, 1, 2, 3, 4}, [3]int{5, 8, 8}},
	{"lgdt", []byte{0x0f, 0x01, 0x10}, [3]int{3, 3, 3}},
	{"lmsw", []byte{0x0f, 0x01, 0xf0}, [3]int{3, 3, 3}},
	{"swapgs", []byte{0x0f, 0x01, 0xf8}, [3]int{3, 3, 3}}, // #UD outside 64-bit; the fallback still sizes it
	{"rdrand", []byte{0x0f, 0xc7, 0xf0}, [3]int{3, 3, 3}},

	// SVM and VMX instructions (not in x86asm: the fallback).
	{"vmrun", []byte{0x0f, 0x01, 0xd8}, [3]int{3, 3, 3}},
	{"vmmcall", []byte{0x0f, 0x01, 0xd9}, [3]int{3, 3, 3}},
	{"vmload", []byte{0x0f, 0x01, 0xda}, [3]int{3, 3, 3}},
	{"vmsave", []byte{0x0f, 0x01, 0xdb}, [3]int{3, 3, 3}},
	{"stgi", []byte{0x0f, 0x01, 0xdc}, [3]int{3, 3, 3}},
	{"clgi", []byte{0x0f, 0x01, 0xdd}, [3]int{3, 3, 3}},
	{"skinit", []byte{0x0f, 0x01, 0xde}, [3]int{3, 3, 3}},
	{"invlpga", []byte{0x0f, 0x01, 0xdf}, [3]int{3, 3, 3}},
	{"vmmcall with 66", []byte{0x66, 0x0f, 0x01, 0xd9}, [3]int{4, 4, 4}},
	{"vmmcall with REX.W", []byte{0x48, 0x0f, 0x01, 0xd9}, [3]int{1, 1, 4}},
	{"vmmcall with ignored REX", []byte{0x48, 0x2e, 0x0f, 0x01, 0xd9}, [3]int{1, 1, 5}},
	{"vmcall", []byte{0x0f, 0x01, 0xc1}, [3]int{3, 3, 3}},
	{"vmlaunch", []byte{0x0f, 0x01, 0xc2}, [3]int{3, 3, 3}},
	{"vmresume", []byte{0x0f, 0x01, 0xc3}, [3]int{3, 3, 3}},
	{"vmxoff", []byte{0x0f, 0x01, 0xc4}, [3]int{3, 3, 3}},
	{"vmfunc", []byte{0x0f, 0x01, 0xd4}, [3]int{3, 3, 3}},
	{"clac", []byte{0x0f, 0x01, 0xca}, [3]int{3, 3, 3}},
	{"stac", []byte{0x0f, 0x01, 0xcb}, [3]int{3, 3, 3}},
	{"encls", []byte{0x0f, 0x01, 0xcf}, [3]int{3, 3, 3}},
	{"rdpkru", []byte{0x0f, 0x01, 0xee}, [3]int{3, 3, 3}},
	{"monitorx", []byte{0x0f, 0x01, 0xfa}, [3]int{3, 3, 3}},
	{"mwaitx", []byte{0x0f, 0x01, 0xfb}, [3]int{3, 3, 3}},
	{"clzero", []byte{0x0f, 0x01, 0xfc}, [3]int{3, 3, 3}},
	{"rdpru", []byte{0x0f, 0x01, 0xfd}, [3]int{3, 3, 3}},
	{"invlpgb", []byte{0x0f, 0x01, 0xfe}, [3]int{3, 3, 3}},
	{"tlbsync", []byte{0x0f, 0x01, 0xff}, [3]int{3, 3, 3}},
	{"mcommit", []byte{0xf3, 0x0f, 0x01, 0xfa}, [3]int{4, 4, 4}},
	{"rdpid", []byte{0xf3, 0x0f, 0xc7, 0xf8}, [3]int{4, 4, 4}},
	{"vmptrld [rax]", []byte{0x0f, 0xc7, 0x30}, [3]int{3, 3, 3}},
	{"vmxon [rax+8]", []byte{0xf3, 0x0f, 0xc7, 0x70, 0x08}, [3]int{5, 5, 5}},
	{"vmread", []byte{0x0f, 0x78, 0xc8}, [3]int{3, 3, 3}},
	{"vmwrite", []byte{0x0f, 0x79, 0x08}, [3]int{3, 3, 3}},
	{"extrq", []byte{0x66, 0x0f, 0x78, 0xc0, 4, 8}, [3]int{6, 6, 6}},
	{"invept", []byte{0x66, 0x0f, 0x38, 0x80, 0x08}, [3]int{5, 5, 5}},
	{"invvpid", []byte{0x66, 0x0f, 0x38, 0x81, 0x48, 0x10}, [3]int{6, 6, 6}},
	{"invpcid", []byte{0x66, 0x0f, 0x38, 0x82, 0x08}, [3]int{5, 5, 5}},
	{"endbr64", []byte{0xf3, 0x0f, 0x1e, 0xfa}, [3]int{4, 4, 4}},
	{"getsec", []byte{0x0f, 0x37}, [3]int{2, 2, 2}},

	// Port I/O.
	{"in al, imm8", []byte{0xe4, 0x60}, [3]int{2, 2, 2}},
	{"in eax, imm8", []byte{0xe5, 0x71}, [3]int{2, 2, 2}},
	{"out imm8, al", []byte{0xe6, 0x80}, [3]int{2, 2, 2}},
	{"out imm8, ax", []byte{0x66, 0xe7, 0x80}, [3]int{3, 3, 3}},
	{"in al, dx", []byte{0xec}, [3]int{1, 1, 1}},
	{"in ax, dx", []byte{0x66, 0xed}, [3]int{2, 2, 2}},
	{"out dx, al", []byte{0xee}, [3]int{1, 1, 1}},
	{"out dx, eax", []byte{0xef}, [3]int{1, 1, 1}},
	{"rep insb", []byte{0xf3, 0x6c}, [3]int{2, 2, 2}},
	{"rep insd", []byte{0xf3, 0x6d}, [3]int{2, 2, 2}},
	{"rep outsw", []byte{0x66, 0xf3, 0x6f}, [3]int{3, 3, 3}},
	{"rep outsb cs:[esi]", []byte{0x2e, 0x67, 0xf3, 0x6e}, [3]int{4, 4, 4}},
	{"outsb with REX.W", []byte{0x48, 0x6e}, [3]int{1, 1, 2}},

	// Prefixes, ModRM, immediates.
	{"ds cpuid", []byte{0x3e, 0x0f, 0xa2}, [3]int{3, 3, 3}},
	{"mov eax, [rsp+disp32]", []byte{0x8b, 0x84, 0x24, 1, 2, 3, 4}, [3]int{4, 7, 7}},
	{"mov eax, [rip+disp32]", []byte{0x8b, 0x05, 1, 2, 3, 4}, [3]int{2, 6, 6}},
	{"mov eax, moffs", []byte{0xa1, 1, 2, 3, 4, 5, 6, 7, 8}, [3]int{3, 5, 9}},
	{"mov eax, moffs a32/a16", []byte{0x67, 0xa1, 1, 2, 3, 4}, [3]int{6, 4, 6}},
	{"mov [rax], imm", []byte{0xc7, 0x00, 1, 2, 3, 4}, [3]int{4, 6, 6}},
	{"mov [rax], imm, 66", []byte{0x66, 0xc7, 0x00, 1, 2, 3, 4}, [3]int{7, 5, 5}},
	{"mov rax, imm64", []byte{0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, [3]int{1, 1, 10}},
	{"ignored REX before 66", []byte{0x48, 0x66, 0x89, 0x00}, [3]int{1, 1, 4}},
	{"two REX", []byte{0x48, 0x41, 0x89, 0x00}, [3]int{1, 1, 4}},
	{"nop15", append(bytes.Repeat([]byte{0x66}, 14), 0x90), [3]int{15, 15, 15}},
	{"nop16", append(bytes.Repeat([]byte{0x66}, 15), 0x90), [3]int{errL, errL, errL}},
	{"REX-padded 16 bytes", append(bytes.Repeat([]byte{0x40, 0x2e}, 7), 0x0f, 0xa2), [3]int{1, 1, errL}},
	{"mov [rax], imm32 at 16 bytes", append(bytes.Repeat([]byte{0x2e}, 10), 0xc7, 0x80, 1, 2, 3, 4, 5, 6, 7, 8), [3]int{errL, errL, errL}},
	{"mov [bx+si+disp16], imm16 at 15 bytes", append(bytes.Repeat([]byte{0x2e}, 9), 0xc7, 0x80, 1, 2, 3, 4, 5, 6, 7, 8), [3]int{15, errL, errL}},
	{"VEX vzeroupper", []byte{0xc5, 0xf8, 0x77}, [3]int{errU, 3, 3}},

	// Truncated and invalid.
	{"empty", []byte{}, [3]int{errT, errT, errT}},
	{"0f", []byte{0x0f}, [3]int{errT, errT, errT}},
	{"0f 01", []byte{0x0f, 0x01}, [3]int{errT, errT, errT}},
	{"0f 01 /7 disp32 short", []byte{0x0f, 0x01, 0xbd, 1, 2}, [3]int{5, errT, errT}},
	{"in al, (missing imm)", []byte{0xe4}, [3]int{errT, errT, errT}},
	{"prefix only", []byte{0x66, 0xf3}, [3]int{errT, errT, errT}},
	{"moffs short", []byte{0xa1, 1, 2}, [3]int{3, errT, errT}},
	{"0f 38 short", []byte{0x66, 0x0f, 0x38}, [3]int{errT, errT, errT}},
	{"0f 04", []byte{0x0f, 0x04}, [3]int{errU, errU, errU}},
	{"c6 /1", []byte{0xc6, 0x08, 0x01}, [3]int{errU, errU, errU}},
}

func TestInsnLen(t *testing.T) {
	for _, tt := range insnTests {
		for mi, mode := range []Mode{Mode16, Mode32, Mode64} {
			want := tt.len[mi]
			n, err := InsnLen(tt.code, mode)
			var wantErr error
			switch want {
			case errT:
				wantErr = ErrTruncated
			case errU:
				wantErr = ErrUnknownInsn
			case errL:
				wantErr = ErrTooLong
			}
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Errorf("%s, %v: InsnLen(% x) = %d, %v; want %v", tt.name, mode, tt.code, n, err, wantErr)
				}
				continue
			}
			if err != nil || n != want {
				t.Errorf("%s, %v: InsnLen(% x) = %d, %v; want %d", tt.name, mode, tt.code, n, err, want)
			}
		}
	}
	if _, err := InsnLen([]byte{0x90}, 0); err != ErrBadMode {
		t.Errorf("InsnLen with mode 0: %v", err)
	}
	// Bytes past the instruction and past 15 are ignored.
	long := append([]byte{0x0f, 0x01, 0xd9}, make([]byte, 40)...)
	if n, err := InsnLen(long, Mode64); n != 3 || err != nil {
		t.Errorf("InsnLen(long) = %d, %v", n, err)
	}
}
