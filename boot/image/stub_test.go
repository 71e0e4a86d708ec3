package image

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// stubListing is the boot stub Build emits for the synthetic program of
// image_test.go (base 0x400000, stub tables at 0x409000, rt.entry64 at
// 0x401234), in Intel syntax as printed by x86asm. A "name: " prefix labels
// an instruction; branches to it print the name instead of an address.
//
// First-page addresses: 0x4000a0 GDTR, 0x4000a8 saved EAX, 0x4000ac saved EBX,
// 0x4000c0 "no long mode" message, 0x400111 "no NX" message.
// Page tables: 0x409000 PML4, 0x40a000 PDPT, 0x40b000-0x40e000 PD0-PD3.
var stubListing = []string{
	"cli",
	"cld",
	"mov dword ptr [0x4000a8], eax", // save the loader's magic
	"mov dword ptr [0x4000ac], ebx", // and its info address

	// Long mode needs extended CPUID leaf 0x80000001, EDX bit 29 (LM);
	// hv's page tables need EDX bit 20 (NX).
	"mov eax, 0x80000000",
	"cpuid",
	"cmp eax, 0x80000001",
	"jb nolm",
	"mov eax, 0x80000001",
	"cpuid",
	"test edx, 0x20000000",
	"jz nolm",
	"test edx, 0x100000",
	"jz nonx",

	// Zero the 6 table pages (0x1800 dwords).
	"mov edi, 0x409000",
	"mov ecx, 0x1800",
	"xor eax, eax",
	"rep stosd dword ptr [edi]",

	// PML4[0] -> PDPT, PDPT[0..3] -> PD0..PD3, present|writable.
	"mov dword ptr [0x409000], 0x40a003",
	"mov dword ptr [0x40a000], 0x40b003",
	"mov dword ptr [0x40a008], 0x40c003",
	"mov dword ptr [0x40a010], 0x40d003",
	"mov dword ptr [0x40a018], 0x40e003",

	// 2048 PD entries of 2 MiB, present|writable|huge: identity map 4 GiB.
	"mov edi, 0x40b000",
	"mov eax, 0x83",
	"mov ecx, 0x800",
	"fill: mov dword ptr [edi], eax",
	"add eax, 0x200000",
	"add edi, 0x8",
	"dec ecx",
	"jnz fill",

	// CR4 = PAE|OSFXSR|OSXMMEXCPT, CR3 = PML4.
	"mov eax, 0x620",
	"mov cr4, eax",
	"mov eax, 0x409000",
	"mov cr3, eax",

	// EFER (MSR 0xC0000080) |= SCE|LME|NXE.
	"mov ecx, 0xc0000080",
	"rdmsr",
	"or eax, 0x901",
	"wrmsr",

	"lgdt ptr [0x4000a0]",

	// CR0: clear EM, TS, NW, CD; set PE, MP, NE, PG. Long mode is active.
	"mov eax, cr0",
	"and eax, 0x9ffffff3",
	"or eax, 0x80000023",
	"mov cr0, eax",

	// rt.entry64(EDI = magic, ESI = info) in the 64-bit code segment 0x08.
	"mov edi, dword ptr [0x4000a8]",
	"mov esi, dword ptr [0x4000ac]",
	"jmp far 0x401234, 0x8", // x86asm's Intel syntax prints offset, selector

	// Failure: print the message on COM1 (0x3F8, polling LSR 0x3FD bit 5),
	// write the exit code to isa-debug-exit (port 0xF4), halt forever.
	"nolm: mov esi, 0x4000c0",
	"jmp fail",
	"nonx: mov esi, 0x400111",
	"fail: movzx ebx, byte ptr [esi]",
	"test ebx, ebx",
	"jz stop",
	"mov ecx, 0x186a0",
	"wait: mov dx, 0x3fd",
	"in al, dx",
	"test al, 0x20",
	"jnz ready",
	"dec ecx",
	"jnz wait",
	"ready: mov eax, ebx",
	"mov dx, 0x3f8",
	"out dx, al",
	"inc esi",
	"jmp fail",
	"stop: mov dx, 0xf4",
	"mov al, 0x2",
	"out dx, al",
	"halt: cli",
	"hlt",
	"jmp halt",
}

// stubBytes returns the stub as installed in img at OffStub, after checking
// it is exactly what buildStub assembles for the synthetic program.
func stubBytes(t *testing.T, img []byte) []byte {
	t.Helper()
	_, l, p := buildTest(t)
	want, err := buildStub(l, p.Entry64)
	if err != nil {
		t.Fatal(err)
	}
	if OffStub+len(want) > StubLimit {
		t.Fatalf("stub is %d bytes, does not fit before %#x", len(want), StubLimit)
	}
	got := img[OffStub : OffStub+len(want)]
	if !bytes.Equal(got, want) {
		t.Fatalf("image at %#x does not hold the assembled stub", OffStub)
	}
	return got
}

// decodedInst is one decoded stub instruction.
type decodedInst struct {
	pc   uint64
	inst x86asm.Inst
}

// decodeStub decodes the whole stub in 32-bit mode.
func decodeStub(t *testing.T, stub []byte, org uint64) []decodedInst {
	t.Helper()
	var out []decodedInst
	for off := 0; off < len(stub); {
		inst, err := x86asm.Decode(stub[off:], 32)
		if err != nil {
			t.Fatalf("decode at %#x: %v (bytes % x)", org+uint64(off), err, stub[off:min(off+8, len(stub))])
		}
		out = append(out, decodedInst{org + uint64(off), inst})
		off += inst.Len
	}
	return out
}

// splitLabel splits "name: text" into name and text.
func splitLabel(line string) (label, text string) {
	if name, rest, ok := strings.Cut(line, ": "); ok && !strings.ContainsAny(name, " ,[") {
		return name, rest
	}
	return "", line
}

// branchTarget returns the target of a near relative jump, jcc, call or loop.
func branchTarget(d decodedInst) (uint64, bool) {
	rel, ok := d.inst.Args[0].(x86asm.Rel)
	if !ok {
		return 0, false
	}
	return uint64(uint32(d.pc) + uint32(d.inst.Len) + uint32(rel)), true // 32-bit EIP wraps
}

func TestStubListing(t *testing.T) {
	img, _, _ := buildTest(t)
	stub := stubBytes(t, img)
	insts := decodeStub(t, stub, testBase+OffStub)

	// Labels come from the golden listing: line i labels instruction i.
	labels := map[uint64]string{}
	for i, line := range stubListing {
		if name, _ := splitLabel(line); name != "" && i < len(insts) {
			labels[insts[i].pc] = name
		}
	}
	sym := func(addr uint64) (string, uint64) {
		if name, ok := labels[addr]; ok {
			return name, addr
		}
		return "", 0
	}

	var got []string
	for _, d := range insts {
		s := x86asm.IntelSyntax(d.inst, d.pc, sym)
		if name, ok := labels[d.pc]; ok {
			s = name + ": " + s
		}
		got = append(got, s)
	}

	n := max(len(got), len(stubListing))
	var diff strings.Builder
	for i := 0; i < n; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(stubListing) {
			w = stubListing[i]
		}
		if g != w {
			pc := uint64(0)
			if i < len(insts) {
				pc = insts[i].pc
			}
			fmt.Fprintf(&diff, "  %3d %#x: got %-40q want %q\n", i, pc, g, w)
		}
	}
	if diff.Len() > 0 {
		var full strings.Builder
		for i, s := range got {
			fmt.Fprintf(&full, "  %#x  % -24x %s\n", insts[i].pc, stub[insts[i].pc-insts[0].pc:][:insts[i].inst.Len], s)
		}
		t.Errorf("stub listing differs from the golden listing:\n%s\nfull listing:\n%s", diff.String(), full.String())
	}
}

func TestStubBranchTargetsAreInstructionBoundaries(t *testing.T) {
	img, _, _ := buildTest(t)
	stub := stubBytes(t, img)
	insts := decodeStub(t, stub, testBase+OffStub)
	start := insts[0].pc
	end := start + uint64(len(stub))
	boundary := map[uint64]bool{}
	for _, d := range insts {
		boundary[d.pc] = true
	}
	branches := 0
	for _, d := range insts {
		target, ok := branchTarget(d)
		if !ok {
			continue
		}
		branches++
		if target < start || target >= end {
			t.Errorf("%#x %s: target %#x is outside the stub [%#x, %#x)", d.pc, d.inst, target, start, end)
		} else if !boundary[target] {
			t.Errorf("%#x %s: target %#x is not an instruction boundary", d.pc, d.inst, target)
		}
	}
	if branches != 10 {
		t.Errorf("found %d relative branches, want 10", branches)
	}
	// The last instruction is an unconditional jump: execution never runs
	// off the end of the stub into the zeroed rest of the page.
	if last := insts[len(insts)-1].inst; last.Op != x86asm.JMP {
		t.Errorf("last stub instruction is %s, want jmp", last)
	}
}

func TestStubFarJumpToEntry64(t *testing.T) {
	img, l, p := buildTest(t)
	stub := stubBytes(t, img)
	var far []decodedInst
	for _, d := range decodeStub(t, stub, testBase+OffStub) {
		if d.inst.Op == x86asm.LJMP {
			far = append(far, d)
		}
	}
	if len(far) != 1 {
		t.Fatalf("found %d far jumps, want 1", len(far))
	}
	// x86asm decodes ptr16:32 as Args[0] = selector, Args[1] = offset.
	selArg, _ := far[0].inst.Args[0].(x86asm.Imm)
	offArg, _ := far[0].inst.Args[1].(x86asm.Imm)
	sel, off := uint64(selArg), uint64(offArg)
	if sel != 0x08 || off != p.Entry64 {
		t.Fatalf("far jump to %#x:%#x, want 0x08:%#x (rt.entry64)", sel, off, p.Entry64)
	}
	if code := u64(img, OffGDT+int(sel)); code>>53&1 != 1 || code>>47&1 != 1 {
		t.Errorf("selector %#x: GDT entry %#x is not a present 64-bit code segment", sel, code)
	}
	if off < testTextStart || off >= l.TextEnd {
		t.Errorf("far jump target %#x is outside .text", off)
	}
}

// The failure paths load ESI with the address of a NUL-terminated message in
// the first page; check that each one points at the right message.
func TestStubFailurePathsLoadTheirMessages(t *testing.T) {
	img, _, _ := buildTest(t)
	stub := stubBytes(t, img)
	insts := decodeStub(t, stub, testBase+OffStub)
	at := map[uint64]x86asm.Inst{}
	for _, d := range insts {
		at[d.pc] = d.inst
	}
	// Collect the targets of the conditional jumps right after each CPUID check.
	var targets []uint64
	for i, d := range insts {
		if d.inst.Op != x86asm.JB && d.inst.Op != x86asm.JE {
			continue
		}
		prev := insts[i-1].inst
		if prev.Op != x86asm.CMP && prev.Op != x86asm.TEST || prev.Args[0] != x86asm.EAX && prev.Args[0] != x86asm.EDX {
			continue
		}
		target, _ := branchTarget(d)
		targets = append(targets, target)
	}
	want := []string{msgNoLM, msgNoLM, msgNoNX} // max leaf too low, no LM, no NX
	if len(targets) != len(want) {
		t.Fatalf("found %d CPUID failure branches, want %d", len(targets), len(want))
	}
	for i, target := range targets {
		inst, ok := at[target]
		if !ok {
			t.Errorf("CPUID check %d: target %#x is not an instruction", i, target)
			continue
		}
		imm, isImm := inst.Args[1].(x86asm.Imm)
		if inst.Op != x86asm.MOV || inst.Args[0] != x86asm.ESI || !isImm {
			t.Errorf("CPUID check %d: target %#x is %s, want mov esi, message", i, target, inst)
			continue
		}
		off := int(uint64(imm) - testBase)
		if off < OffMessages || off >= OffStub {
			t.Errorf("CPUID check %d: message address %#x is outside the message area", i, uint64(imm))
			continue
		}
		n := bytes.IndexByte(img[off:OffStub], 0)
		if n < 0 {
			t.Errorf("CPUID check %d: message at %#x is not NUL-terminated", i, uint64(imm))
			continue
		}
		if got := string(img[off : off+n+1]); got != want[i] {
			t.Errorf("CPUID check %d prints %q, want %q", i, got, want[i])
		}
	}
}

// The stub's addresses follow the image base.
func TestStubRelocatesWithBase(t *testing.T) {
	const shift = 0x200000
	p := testProgram()
	for i := range p.Segments {
		p.Segments[i].Vaddr += shift
	}
	p.Entry += shift
	p.Entry64 += shift
	p.LayoutSym += shift
	p.TextStart += shift
	img, l, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if l.StubTables != testStubTables+shift {
		t.Fatalf("StubTables = %#x, want %#x", l.StubTables, testStubTables+shift)
	}
	want, err := buildStub(l, p.Entry64)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[OffStub:OffStub+len(want)], want) {
		t.Fatalf("image does not hold the assembled stub")
	}
	// Every absolute 32-bit address in the stub that referred to the image
	// at 0x400000 now refers to it at 0x600000; relative branches are unchanged.
	orig := stubBytes(t, mustBuild(t))
	a := decodeStub(t, orig, testBase+OffStub)
	b := decodeStub(t, want, testBase+shift+OffStub)
	if len(a) != len(b) {
		t.Fatalf("stub has %d instructions at base %#x and %d at %#x", len(a), testBase, len(b), testBase+shift)
	}
	inImage := func(v uint64, base uint64) bool { return v >= base && v < base+(testImageEnd-testBase) }
	for i := range a {
		x, y := a[i].inst, b[i].inst
		if x.Op != y.Op || x.Len != y.Len {
			t.Errorf("instruction %d: %s vs %s", i, x, y)
			continue
		}
		for j := range x.Args {
			switch xa := x.Args[j].(type) {
			case x86asm.Imm:
				ya := y.Args[j].(x86asm.Imm)
				if inImage(uint64(xa), testBase) && uint64(ya) != uint64(xa)+shift {
					t.Errorf("instruction %d (%s): immediate %#x became %#x, want %#x", i, x, uint64(xa), uint64(ya), uint64(xa)+shift)
				}
			case x86asm.Mem:
				ya := y.Args[j].(x86asm.Mem)
				if xa.Base == 0 && inImage(uint64(xa.Disp), testBase) && ya.Disp != xa.Disp+shift {
					t.Errorf("instruction %d (%s): address %#x became %#x", i, x, xa.Disp, ya.Disp)
				}
			case x86asm.Rel:
				if y.Args[j] != xa {
					t.Errorf("instruction %d (%s): relative offset changed", i, x)
				}
			}
		}
	}
}

func mustBuild(t *testing.T) []byte {
	t.Helper()
	img, _, _ := buildTest(t)
	return img
}
