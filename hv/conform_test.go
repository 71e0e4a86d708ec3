package hv

import (
	"bytes"
	"strings"
	"testing"

	"gozen/hv/backend"
	"gozen/hv/x86"
)

// Guest-visible behaviour Xen gives an HVM guest (issue 12 items 4, 5, 8).

// ICEBP (INT1) delivers #DB as a trap: RIP moves past the instruction
// first, and no #UD.
func TestICEBPDeliversDBAfterTheInstruction(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	f.rip = 0x100000
	h.handleExit(v, &backend.Exit{Reason: backend.ExitICEBP, InsnLen: 1})
	if len(f.injected) != 1 || f.injected[0] != dbVector || f.rip != 0x100001 {
		t.Errorf("ICEBP: injected %v rip %#x; want #DB (1) with rip 0x100001", f.injected, f.rip)
	}
	// Without a length from the hardware the core decodes it (F1, or with
	// a prefix: 66 F1).
	if err := v.dom.mem.WritePhys(0x100010, []byte{0x66, 0xf1}); err != nil {
		t.Fatal(err)
	}
	f.rip, f.injected = 0x100010, nil
	h.handleExit(v, &backend.Exit{Reason: backend.ExitICEBP})
	if len(f.injected) != 1 || f.injected[0] != dbVector || f.rip != 0x100012 {
		t.Errorf("66 F1: injected %v rip %#x; want #DB with rip 0x100012", f.injected, f.rip)
	}
}

// MSR_DEBUGCTL: 0, LBR and BTF are accepted and read back; any other bit
// is #GP and changes nothing.
func TestDebugCtlMSR(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	read := func() uint64 {
		h.rdmsr(v, rdmsrExit(msrDebugCtl))
		return f.regs[x86.RDX]<<32 | f.regs[x86.RAX]
	}
	if got := read(); got != 0 || len(f.injected) != 0 {
		t.Fatalf("initial DEBUGCTL %#x, injected %v", got, f.injected)
	}
	for _, val := range []uint64{0, 1, 2, 3, 0} {
		h.wrmsr(v, wrmsrExit(f, msrDebugCtl, val))
		if got := read(); got != val || len(f.injected) != 0 {
			t.Errorf("DEBUGCTL write %#x: reads %#x, injected %v", val, got, f.injected)
		}
	}
	h.wrmsr(v, wrmsrExit(f, msrDebugCtl, 3))
	for _, val := range []uint64{1 << 2, 1 << 6, 1 << 32, 1 << 63} {
		f.injected = nil
		h.wrmsr(v, wrmsrExit(f, msrDebugCtl, val|1))
		if len(f.injected) != 1 || f.injected[0] != gpVector {
			t.Errorf("DEBUGCTL write %#x: injected %v, want #GP", val|1, f.injected)
		}
		f.injected = nil
		if got := read(); got != 3 {
			t.Errorf("after refused write %#x DEBUGCTL reads %#x, want 3", val|1, got)
		}
	}
}

// An invalid-state exit crashes the domain with the backend's description
// of the refused state in the log line.
func TestInvalidStateCrashNamesTheState(t *testing.T) {
	h, _, v, _ := newSeamDomain(t)
	out := &bytes.Buffer{}
	h.out = out
	h.handleExit(v, &backend.Exit{Reason: backend.ExitInvalid, Code: 0xffffffff,
		Detail: "CR4 reserved or unsupported bits 0x1000 (cr0=0x80000011 cr4=0x1020)"})
	if v.dom.State() != DomainCrashed {
		t.Fatalf("domain %s", v.dom.StateString())
	}
	want := `crashed: the CPU refused the guest's state (VMRUN consistency check): CR4 reserved or unsupported bits 0x1000 (cr0=0x80000011 cr4=0x1020)`
	if !strings.Contains(out.String(), want) {
		t.Errorf("log %q lacks %q", out.String(), want)
	}
}

// mmioAt puts insn at 0x100100 and points the vCPU there.
func mmioAt(t *testing.T, v *VCPU, f *fakeVCPU, insn []byte) {
	t.Helper()
	if err := v.dom.mem.WritePhys(0x100100, insn); err != nil {
		t.Fatal(err)
	}
	f.rip = 0x100100
}

// Touching a frame with nothing behind it (one given back, a hole beyond
// RAM, the MMIO window) is emulated I/O with no device: reads give
// all-ones, writes are dropped, the guest goes on past the instruction.
func TestUnpopulatedReadsAllOnes(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	const back = 0x300 // a frame of the 4 MiB domain's RAM, given back
	if err := v.dom.mem.WritePhys(back*pageSize, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if !h.decreaseReservation(v.dom, back, 0) {
		t.Fatal("decrease_reservation failed")
	}
	for _, gpa := range []uint64{back * pageSize, 0x800000, 0x80000000, 0xfeb00000, 0x10_0000_0000} {
		mmioAt(t, v, f, insnLoadMem) // mov eax, [ebx]
		f.regs[x86.RAX], f.regs[x86.RBX] = 0x12345678, gpa
		h.handleExit(v, &backend.Exit{Reason: backend.ExitNPF, GPA: gpa})
		if v.dom.State() != DomainRunning || f.regs[x86.RAX] != 0xffffffff || f.rip != 0x100102 || len(f.injected) != 0 {
			t.Fatalf("read at %#x: domain %s eax %#x rip %#x injected %v", gpa, v.dom.StateString(), f.regs[x86.RAX], f.rip, f.injected)
		}
		// mov [ebx], ecx: dropped, and the frame stays unbacked.
		mmioAt(t, v, f, []byte{0x89, 0x0b})
		f.regs[x86.RCX] = 0xdeadbeef
		h.handleExit(v, &backend.Exit{Reason: backend.ExitNPF, GPA: gpa, Write: true})
		if v.dom.State() != DomainRunning || f.rip != 0x100102 || len(f.injected) != 0 || v.dom.mem.IsRAM(gpa/pageSize) {
			t.Fatalf("write at %#x: domain %s rip %#x injected %v", gpa, v.dom.StateString(), f.rip, f.injected)
		}
	}
}

// Executing from such a frame is what Xen cannot emulate: #GP(0) for the
// guest, which goes on to its handler.
func TestUnpopulatedFetchIsGP(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	f.rip = 0x80000000
	h.handleExit(v, &backend.Exit{Reason: backend.ExitNPF, GPA: 0x80000000, Fetch: true})
	if v.dom.State() != DomainRunning || len(f.injected) != 1 || f.injected[0] != gpVector || f.rip != 0x80000000 {
		t.Errorf("fetch: domain %s injected %v rip %#x; want #GP, rip unchanged", v.dom.StateString(), f.injected, f.rip)
	}
}

// A guest write to its read-only grant mapping is dropped and the guest goes
// on past the instruction (Xen's P2M_DISCARD_WRITE_TYPES: p2m_grant_map_ro
// writes go to the emulator, which discards them); the granter's page is
// unchanged.
func TestWriteToReadOnlyGrantIsDropped(t *testing.T) {
	p := newROPair(t)
	const gfn = 0x2000 // beyond a's RAM
	if st := p.mapRO(gfn); st != 0 {
		t.Fatalf("map: status %d", st)
	}
	v, f := p.a.vcpus[0], p.fv
	if err := p.a.mem.WritePhys(0x100100, []byte{0x89, 0x0b}); err != nil { // mov [rbx], ecx
		t.Fatal(err)
	}
	f.rip = 0x100100
	f.regs[x86.RBX], f.regs[x86.RCX] = gfn*pageSize+8, 0x41414141
	p.h.handleExit(v, &backend.Exit{Reason: backend.ExitNPF, GPA: gfn*pageSize + 8, Write: true, Present: true})
	if p.a.State() != DomainRunning || f.rip != 0x100102 || len(f.injected) != 0 {
		t.Errorf("domain %s rip %#x injected %v", p.a.StateString(), f.rip, f.injected)
	}
	p.checkCanary("a guest write to the read-only mapping")
}

// IA32_MISC_ENABLE exists on Intel hosts only, reads Xen's value (Linux
// reads it before anything else on Intel) and takes back only that value.
func TestMiscEnableMSR(t *testing.T) {
	h, be, v, f := newSeamDomain(t)
	h.rdmsr(v, rdmsrExit(msrMiscEnable))
	if len(f.injected) != 1 || f.injected[0] != gpVector {
		t.Fatalf("AMD host: injected %v, want #GP", f.injected)
	}
	be.hostCPUID = func(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
		if leaf == 0 {
			return 0xd, le32("Genu"), le32("ntel"), le32("ineI")
		}
		return fakeHostCPUID(leaf, sub)
	}
	f.injected = nil
	h.rdmsr(v, rdmsrExit(msrMiscEnable))
	if got := f.regs[x86.RDX]<<32 | f.regs[x86.RAX]; got != miscEnableGuest || len(f.injected) != 0 {
		t.Errorf("Intel host: reads %#x, injected %v", got, f.injected)
	}
	h.wrmsr(v, wrmsrExit(f, msrMiscEnable, miscEnableGuest))
	if len(f.injected) != 0 {
		t.Errorf("writing the value read back: injected %v", f.injected)
	}
	h.wrmsr(v, wrmsrExit(f, msrMiscEnable, miscEnableGuest|1<<34))
	if len(f.injected) != 1 || f.injected[0] != gpVector {
		t.Errorf("setting XD disable: injected %v, want #GP", f.injected)
	}
}
