package hv

import (
	"bytes"
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// Tests of the backend seam: what the core asks of backend.Backend and
// backend.VCPU (host CPUID, the hypercall instruction, guest MSR state, the
// TSC offset, the nested paging format) instead of reaching for hardware.

// fakeHostCPUID is the fake backend's default host CPU: an AMD-like CPU
// with basic leaves up to 0xd and extended leaves up to 0x8000000A.
func fakeHostCPUID(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
	switch leaf {
	case 0:
		return 0xd, le32("Auth"), le32("cAMD"), le32("enti")
	case 0x80000000:
		return 0x8000000A, 0, 0, 0
	case 0x80000008:
		return 48, 0, 0, 0 // 48-bit physical addresses, as most hosts
	}
	return leaf, sub, 0, 0
}

// newSeamDomain builds a one-vCPU domain on a fresh fake hv and marks its
// vCPU running, for calling exit handlers directly.
func newSeamDomain(t *testing.T) (*Hypervisor, *fakeBackend, *VCPU, *fakeVCPU) {
	t.Helper()
	be := &fakeBackend{insn: x86.VMMCALL}
	// The host TSC is well past 0 when hv starts, as on a real machine.
	env := &fakeEnv{m: &fakeMachine{frames: map[uint64]*[4096]byte{}, next: 1 << 30}, now: 3_000_000_000}
	h := New(be, env, &bytes.Buffer{})
	d, err := h.CreateDomain(DomainConfig{Name: "seam", Mem: 4 << 20, Kernel: pvhELF(append([]byte{}, insnRDMSR...))})
	if err != nil {
		t.Fatal(err)
	}
	v := d.vcpus[0]
	v.state = VCPURunning
	return h, be, v, be.vcpus[0]
}

func rdmsrExit(msr uint32) *backend.Exit {
	return &backend.Exit{Reason: backend.ExitMSRRead, MSR: msr, InsnLen: 2}
}

func wrmsrExit(f *fakeVCPU, msr uint32, val uint64) *backend.Exit {
	f.regs[x86.RCX] = uint64(msr)
	f.regs[x86.RAX], f.regs[x86.RDX] = val&0xffffffff, val>>32
	return &backend.Exit{Reason: backend.ExitMSRWrite, MSR: msr, InsnLen: 2}
}

func TestHostCPUIDFromBackend(t *testing.T) {
	h, be, _ := newTestHV()
	var asked []uint32
	be.hostCPUID = func(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
		asked = append(asked, leaf)
		if leaf == 0 {
			return 7, le32("Genu"), le32("ntel"), le32("ineI")
		}
		return 0, 0, 0, 0
	}
	a, b, c, d := h.cpuid(nil, 0, 0)
	if a != 7 || b != le32("Genu") || c != le32("ntel") || d != le32("ineI") {
		t.Errorf("leaf 0 = %#x %#x %#x %#x, not the backend's host CPU", a, b, c, d)
	}
	if len(asked) == 0 {
		t.Error("the core did not ask the backend for host CPUID")
	}
	if a, _, _, _ := h.cpuid(nil, 8, 0); a != 0 {
		t.Errorf("leaf 8 beyond the backend's max basic leaf 7 = %#x, want 0", a)
	}
}

// The hypercall page holds the backend's instruction: VMMCALL for SVM,
// VMCALL for VT-x, with no knowledge of backend names in the core.
func TestHypercallPageUsesBackendInsn(t *testing.T) {
	for _, insn := range [][3]byte{x86.VMMCALL, x86.VMCALL} {
		h, be, v, f := newSeamDomain(t)
		be.insn = insn
		const gpa = 0x200000
		h.wrmsr(v, wrmsrExit(f, HypercallPageMSR, gpa))
		if len(f.injected) != 0 {
			t.Fatalf("%x: hypercall page write faulted: %v", insn, f.injected)
		}
		page := make([]byte, xen.HypercallPageSize)
		if err := v.dom.mem.ReadPhys(gpa, page); err != nil {
			t.Fatal(err)
		}
		// Stub 17 (xen_version): mov $17, %eax; insn; ret.
		want := []byte{0xb8, 17, 0, 0, 0, insn[0], insn[1], insn[2], 0xc3}
		if got := page[17*32 : 17*32+9]; !bytes.Equal(got, want) {
			t.Errorf("%x: stub 17 = %x, want %x", insn, got, want)
		}
	}
}

// EFER and PAT go to the backend vCPU; bad values get #GP and change
// nothing.
func TestGuestMSRsThroughBackend(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	efer := uint64(x86.EFERSCE | x86.EFERLME | x86.EFERNXE)
	h.wrmsr(v, wrmsrExit(f, msrEFER, efer))
	if f.efer != efer || len(f.injected) != 0 {
		t.Errorf("EFER write: backend has %#x, injected %v", f.efer, f.injected)
	}
	h.wrmsr(v, wrmsrExit(f, msrEFER, efer|x86.EFERSVME))
	if f.efer != efer || len(f.injected) != 1 || f.injected[0] != gpVector {
		t.Errorf("EFER.SVME write: backend has %#x, injected %v; want unchanged and #GP", f.efer, f.injected)
	}
	f.injected = nil
	h.rdmsr(v, rdmsrExit(msrEFER))
	if got := f.regs[x86.RDX]<<32 | f.regs[x86.RAX]; got != efer {
		t.Errorf("RDMSR EFER = %#x, want %#x", got, efer)
	}
	const pat = 0x0606060606060606
	h.wrmsr(v, wrmsrExit(f, msrPAT, pat))
	if f.pat != pat || len(f.injected) != 0 {
		t.Errorf("PAT write: backend has %#x, injected %v", f.pat, f.injected)
	}
	h.wrmsr(v, wrmsrExit(f, msrPAT, 0x0202020202020202)) // type 2 is reserved
	if f.pat != pat || len(f.injected) != 1 {
		t.Errorf("reserved PAT type: backend has %#x, injected %v; want unchanged and #GP", f.pat, f.injected)
	}
	f.pat = 0x0007040600070406
	h.rdmsr(v, rdmsrExit(msrPAT))
	if got := f.regs[x86.RDX]<<32 | f.regs[x86.RAX]; got != f.pat {
		t.Errorf("RDMSR PAT = %#x, want the backend's %#x", got, f.pat)
	}
}

// The core gives every vCPU the TSC offset that makes the guest TSC read 0
// at system time 0; RDMSR of the TSC, the hardware's RDTSC (host TSC plus
// the offset) and pvclock all agree.
func TestGuestTSCOffset(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	env := h.env.(*fakeEnv)
	env.now += 5_000_000 // 5 ms of host TSC after hv started
	if f.tscOff != -h.clock.anchor || h.clock.anchor == 0 {
		t.Fatalf("vCPU TSC offset %#x, want %#x (minus the anchor %#x)", f.tscOff, -h.clock.anchor, h.clock.anchor)
	}
	hostTSC := env.TSC()
	h.rdmsr(v, rdmsrExit(msrTSC))
	got := f.regs[x86.RDX]<<32 | f.regs[x86.RAX]
	if want := hostTSC + f.tscOff; got != want {
		t.Errorf("RDMSR TSC = %d, want host TSC + offset = %d", got, want)
	}
	// A guest computes system time from its own TSC with vcpu_time_info.
	ti := h.timeInfo()
	guestNanos := int64(xen.ScaleDelta(got-ti.TSCTimestamp, ti.TSCToSystemMul, ti.TSCShift)) + int64(ti.SystemTime)
	if sys := h.clock.nanos(hostTSC); guestNanos != sys {
		t.Errorf("guest pvclock from its TSC = %d ns, hv's system time = %d ns", guestNanos, sys)
	}
	if ti.TSCTimestamp != 0 {
		t.Errorf("tsc_timestamp %d, want 0 (guest TSC at system time 0)", ti.TSCTimestamp)
	}
}

// A backend whose paging format differs from the guest memory's is refused
// before any vCPU exists.
func TestPagingFormatMismatchRefused(t *testing.T) {
	h, be, _ := newTestHV()
	be.format = npt.EPT // fakeEnv builds NPT tables
	_, err := h.CreateDomain(DomainConfig{Name: "ept", Mem: 4 << 20, Kernel: pvhELF(append([]byte{}, insnHLT...))})
	if err == nil || !strings.Contains(err.Error(), "EPT") {
		t.Errorf("CreateDomain = %v, want a format mismatch error", err)
	}
	if len(be.vcpus) != 0 {
		t.Error("a vCPU was created over tables of the wrong format")
	}
}

// TestGuestFamilyOfEmulatedK8: an AMD host that says "family 0xF" and
// offers nested paging (QEMU's qemu64,+svm,+npt) is shown to guests as
// family 0x11, which Linux does not probe for a K8 GART; every other host
// signature passes through, as under Xen.
func TestGuestFamilyOfEmulatedK8(t *testing.T) {
	const (
		qemu64   = 0x00060FB1 // family 0xF, model 0x6B, stepping 1
		fam10h   = 0x00100F22 // family 0x10 (0xF + 1), model 2, stepping 2
		intelSig = 0x000906EA // family 6
	)
	for _, tc := range []struct {
		name      string
		vendor    string
		sig       uint32
		npt       bool
		want, fam uint32
	}{
		{"qemu64 with NPT", "AuthenticAMD", qemu64, true, 0x00260FB1, 0x11},
		{"K8 without NPT", "AuthenticAMD", qemu64, false, qemu64, 0xF},
		{"family 0x10 with NPT", "AuthenticAMD", fam10h, true, fam10h, 0x10},
		{"Intel", "GenuineIntel", intelSig, true, intelSig, 6},
		{"family 0xF, not AMD", "HygonGenuine", qemu64, true, qemu64, 0xF},
	} {
		h, be, _ := newTestHV()
		be.hostCPUID = func(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
			switch leaf {
			case 0:
				return 0xd, le32(tc.vendor[0:4]), le32(tc.vendor[8:12]), le32(tc.vendor[4:8])
			case 1, 0x80000001:
				return tc.sig, 0, 0, 0
			case 0x80000000:
				return 0x8000000A, 0, 0, 0
			case 0x8000000A:
				if tc.npt {
					return 1, 16, 0, svmNPT
				}
				return 1, 16, 0, 0
			}
			return 0, 0, 0, 0
		}
		a, _, _, _ := h.cpuid(nil, 1, 0)
		ext, _, _, _ := h.cpuid(nil, 0x80000001, 0)
		if a != tc.want || ext != tc.want || sigFamily(a) != tc.fam {
			t.Errorf("%s: leaf 1 EAX %#x, leaf 0x80000001 EAX %#x (family %#x); want %#x (family %#x)",
				tc.name, a, ext, sigFamily(a), tc.want, tc.fam)
		}
	}
}

// AMD's NB_CFG, which Linux writes on families 0x10-0x16 with plain
// RDMSR/WRMSR, reads as 0 and ignores writes (Xen's HVM handling), instead
// of the #GP of an unknown MSR.
func TestNBCfgMSRReadsZero(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	f.regs[x86.RAX], f.regs[x86.RDX] = 0x1234, 0x5678
	h.rdmsr(v, rdmsrExit(msrAMD64NBCfg))
	if len(f.injected) != 0 || f.regs[x86.RAX] != 0 || f.regs[x86.RDX] != 0 {
		t.Errorf("RDMSR NB_CFG: EDX:EAX %#x:%#x, injected %v; want 0 and no fault", f.regs[x86.RDX], f.regs[x86.RAX], f.injected)
	}
	h.wrmsr(v, wrmsrExit(f, msrAMD64NBCfg, 1<<46)) // EnableCf8ExtCfg
	h.rdmsr(v, rdmsrExit(msrAMD64NBCfg))
	if len(f.injected) != 0 || f.regs[x86.RAX]|f.regs[x86.RDX] != 0 {
		t.Errorf("NB_CFG after a write: %#x:%#x, injected %v; want 0, no fault", f.regs[x86.RDX], f.regs[x86.RAX], f.injected)
	}
}
