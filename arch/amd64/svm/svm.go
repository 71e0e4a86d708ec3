// Package svm is GoZen's AMD SVM backend: it detects and enables SVM, owns
// the VMCBs, performs the world switch (run_amd64.s) and turns #VMEXITs into
// the arch-neutral exits of package hv/backend.
//
// Layout facts come from the AMD64 Architecture Programmer's Manual, vol. 2,
// chapter 15 and appendix B; vmcb_test.go asserts them.
package svm

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"gozen/arch/amd64"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// Features is what CPUID says about SVM (leaf 0x8000000A, APM §15.4) and
// whether firmware left it enabled (VM_CR.SVMDIS).
type Features struct {
	Present       bool // CPUID 0x80000001 ECX[2]
	Disabled      bool // VM_CR.SVMDIS: firmware turned SVM off
	Revision      uint32
	NumASIDs      uint32
	NestedPaging  bool // EDX[0]
	NRIPSave      bool // EDX[3]
	VMCBClean     bool // EDX[5]
	FlushByASID   bool // EDX[6]
	DecodeAssists bool // EDX[7]
	PauseFilter   bool // EDX[10]
	VGIF          bool // EDX[16]
}

// Detect reads the SVM feature leaves.
func Detect() Features {
	var f Features
	if max, _, _, _ := amd64.Cpuid(0x80000000, 0); max < 0x8000000A {
		return f
	}
	_, _, c, _ := amd64.Cpuid(0x80000001, 0)
	if c&(1<<2) == 0 {
		return f
	}
	f.Present = true
	f.Disabled = amd64.Rdmsr(amd64.MSRVMCR)&(1<<4) != 0
	a, b, _, d := amd64.Cpuid(0x8000000A, 0)
	f.Revision = a & 0xff
	f.NumASIDs = b
	f.NestedPaging = d&(1<<0) != 0
	f.NRIPSave = d&(1<<3) != 0
	f.VMCBClean = d&(1<<5) != 0
	f.FlushByASID = d&(1<<6) != 0
	f.DecodeAssists = d&(1<<7) != 0
	f.PauseFilter = d&(1<<10) != 0
	f.VGIF = d&(1<<16) != 0
	return f
}

func (f Features) String() string {
	var on []string
	for _, x := range []struct {
		ok   bool
		name string
	}{{f.NestedPaging, "npt"}, {f.NRIPSave, "nrip-save"}, {f.DecodeAssists, "decode-assists"},
		{f.VGIF, "vgif"}, {f.FlushByASID, "flush-by-asid"}, {f.VMCBClean, "vmcb-clean"}, {f.PauseFilter, "pause-filter"}} {
		if x.ok {
			on = append(on, x.name)
		}
	}
	return fmt.Sprintf("SVM rev %d, %d ASIDs, features: %s", f.Revision, f.NumASIDs, strings.Join(on, " "))
}

// Usable says why GoZen cannot use this CPU's SVM, or nil.
func (f Features) Usable() error {
	switch {
	case !f.Present:
		return errors.New("this CPU has no AMD SVM (CPUID 0x80000001 ECX.SVM is clear)")
	case f.Disabled:
		return errors.New("SVM is disabled by the firmware (VM_CR.SVMDIS is set): enable \"SVM mode\"/\"AMD-V\" in the BIOS setup")
	case !f.NestedPaging:
		return errors.New("this CPU's SVM has no nested paging (CPUID 0x8000000A EDX.NP is clear)")
	case f.NumASIDs < 2:
		return errors.New("this CPU's SVM reports fewer than 2 ASIDs")
	}
	return nil
}

// Frames is how the backend gets physical memory: zeroed, contiguous,
// identity-mapped frames (rt.AllocHVFrames on hardware).
type Frames interface {
	Alloc(n, align uint64) (pa uint64, ok bool)
	Free(pa, n uint64)
}

// Backend is the SVM implementation of backend.Backend for the one
// physical CPU GoZen uses.
type Backend struct {
	feat      Features
	frames    Frames
	hsavePA   uint64 // VM_HSAVE_PA: where VMRUN keeps host state
	hostVMSA  uint64 // VMSAVE area for host FS/GS/TR/... state
	iopmPA    uint64
	msrpmPA   uint64
	iopm      IOPM
	msrpm     MSRPM
	asids     ASIDs
	hostFxPA  uintptr
	hostFxBuf []byte
	cr4OK     uint64 // CR4 bits this CPU implements (cr4Supported), for invalid-state reports
}

const fxAreaSize = 512

// New enables SVM on this CPU (EFER.SVME, VM_HSAVE_PA) and sets up the
// shared I/O and MSR permission maps: everything intercepted except the MSRs
// VMLOAD/VMSAVE switch anyway.
func New(frames Frames) (*Backend, error) {
	f := Detect()
	if err := f.Usable(); err != nil {
		return nil, err
	}
	b := &Backend{feat: f, frames: frames}
	var ok [4]bool
	b.hsavePA, ok[0] = frames.Alloc(1, 1)
	b.hostVMSA, ok[1] = frames.Alloc(1, 1)
	b.iopmPA, ok[2] = frames.Alloc(IOPMSize/4096, 1)
	b.msrpmPA, ok[3] = frames.Alloc(MSRPMSize/4096, 1)
	if ok != [4]bool{true, true, true, true} {
		return nil, errors.New("svm: out of memory for SVM structures")
	}
	b.iopm = IOPM(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(b.iopmPA))), IOPMSize))
	b.msrpm = MSRPM(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(b.msrpmPA))), MSRPMSize))
	b.iopm.InterceptAll()
	b.msrpm.InterceptAll()
	// Switched by VMLOAD/VMSAVE (or held in the VMCB): safe to pass through.
	for _, m := range []uint32{amd64.MSRFSBase, amd64.MSRGSBase, amd64.MSRKernelGS,
		amd64.MSRSTAR, amd64.MSRLSTAR, 0xC0000083 /* CSTAR */, amd64.MSRFMASK,
		0x174, 0x175, 0x176 /* SYSENTER_CS/ESP/EIP */} {
		b.msrpm.Allow(m, true, true)
	}
	b.asids.Init(f.NumASIDs)
	b.cr4OK = cr4Supported(amd64.Cpuid)
	b.hostFxBuf = make([]byte, fxAreaSize+16)
	b.hostFxPA = alignFx(b.hostFxBuf)
	amd64.Wrmsr(amd64.MSREFER, amd64.Rdmsr(amd64.MSREFER)|amd64.EFERSVME)
	amd64.Wrmsr(amd64.MSRVMHsavePA, b.hsavePA)
	return b, nil
}

// alignFx returns the first 16-byte aligned address in buf. buf must stay
// alive (it is held by its owner) and the Go heap does not move objects.
func alignFx(buf []byte) uintptr {
	return (uintptr(unsafe.Pointer(&buf[0])) + 15) &^ 15
}

// Features reports what Detect found.
func (b *Backend) Features() Features { return b.feat }

// Name implements backend.Backend.
func (b *Backend) Name() string { return "svm" }

// HostCPUID implements backend.Backend: this CPU's CPUID.
func (b *Backend) HostCPUID(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32) {
	return amd64.Cpuid(leaf, subleaf)
}

// HypercallInsn implements backend.Backend: the guest's VMMCALL exits with
// VMEXIT_VMMCALL (intercepted in every VMCB, misc2Intercepts).
func (b *Backend) HypercallInsn() [3]byte { return x86.VMMCALL }

// PagingFormat implements backend.Backend: AMD nested page tables, whose
// root goes in the VMCB's N_CR3.
func (b *Backend) PagingFormat() npt.Format { return npt.NPT }

// VCPU is one SVM virtual CPU.
type VCPU struct {
	b      *Backend
	vmcbPA uint64
	vmcb   *VMCB
	regs   x86.Regs
	fxBuf  []byte
	fxPA   uintptr
	asid   uint32
	gen    uint64
	flush  bool
	// DR0-DR3 are not in the VMCB (DR6 and DR7 are, and VMRUN and #VMEXIT
	// switch them): every vCPU that has touched a debug register gets its
	// own DR0-DR3 loaded before each run and saved after it. Until then
	// its debug-register accesses are intercepted (drIntercepts), so a
	// vCPU that never uses them costs nothing and never sees another's
	// (Xen's lazy scheme: svm_save_dr/__restore_debug_registers).
	drUsed bool
	dr     [4]uint64
	// iopmPA is the vCPU's own I/O permission map (PassIOPorts), 0 while
	// it uses the backend's shared one.
	iopmPA uint64
}

// drIntercepts intercepts reads and writes of DR0-DR7 (InterceptDR bits
// 0-7 and 16-23).
const drIntercepts = 0x00ff_00ff

// useDebugRegs gives the vCPU its own debug registers from now on.
func (v *VCPU) useDebugRegs() {
	v.drUsed = true
	v.vmcb.InterceptDR = 0
}

// DebugRegs returns the guest's DR0-DR3 as the vCPU last ran with them
// (zero until it first touched a debug register), for tests and dumps.
func (v *VCPU) DebugRegs() [4]uint64 { return v.dr }

// Intercepts every vCPU starts with.
const (
	misc1Intercepts = 1<<Misc1INTR | 1<<Misc1NMI | 1<<Misc1SMI | 1<<Misc1INIT | 1<<Misc1CPUID |
		1<<Misc1HLT | 1<<Misc1INVD | 1<<Misc1IOIOProt | 1<<Misc1MSRProt | 1<<Misc1Shutdown | 1<<Misc1TaskSwitch
	misc2Intercepts = 1<<Misc2VMRUN | 1<<Misc2VMMCALL | 1<<Misc2VMLOAD | 1<<Misc2VMSAVE | 1<<Misc2STGI |
		1<<Misc2CLGI | 1<<Misc2SKINIT | 1<<Misc2ICEBP | 1<<Misc2MONITOR | 1<<Misc2MWAIT | 1<<Misc2MWAITCond | 1<<Misc2XSETBV |
		1<<Misc2RDPRU
)

// NewVCPU implements backend.Backend.
func (b *Backend) NewVCPU(nptRoot uint64) (backend.VCPU, error) {
	pa, ok := b.frames.Alloc(1, 1)
	if !ok {
		return nil, errors.New("svm: out of memory for a VMCB")
	}
	v := &VCPU{b: b, vmcbPA: pa, vmcb: (*VMCB)(unsafe.Pointer(uintptr(pa)))}
	v.fxBuf = make([]byte, fxAreaSize+16)
	v.fxPA = alignFx(v.fxBuf)
	fx := unsafe.Slice((*byte)(unsafe.Pointer(v.fxPA)), fxAreaSize)
	fx[0], fx[1] = 0x7f, 0x03                               // FCW: all x87 exceptions masked
	fx[24], fx[25], fx[26], fx[27] = 0x80, 0x1f, 0x00, 0x00 // MXCSR: all SSE exceptions masked
	c := v.vmcb
	c.InterceptMisc1 = misc1Intercepts
	c.InterceptMisc2 = misc2Intercepts
	c.InterceptExceptions = 1 << 18 // #MC: never let a guest swallow a machine check
	c.InterceptDR = drIntercepts
	c.IOPMBasePA = b.iopmPA
	c.MSRPMBasePA = b.msrpmPA
	c.NPControl = 1
	c.NCR3 = nptRoot
	c.VIntr = 1 << 24 // V_INTR_MASKING: the guest's IF does not mask host interrupts
	v.asid, _ = b.asids.Alloc()
	v.gen = b.asids.Generation()
	c.ASID = v.asid
	c.TLBControl = TLBFlushAll
	return v, nil
}

// Destroy implements backend.VCPU.
func (v *VCPU) Destroy() {
	if v.iopmPA != 0 {
		v.b.frames.Free(v.iopmPA, IOPMSize/4096)
		v.iopmPA = 0
	}
	if v.vmcbPA != 0 {
		v.b.frames.Free(v.vmcbPA, 1)
		v.vmcbPA, v.vmcb = 0, nil
	}
}

// SetPVHEntry implements backend.VCPU: the state Xen's PVH builder gives
// (docs/misc/pvh.pandoc): protected mode, paging off, flat 4 GiB segments,
// a busy 32-bit TSS, EBX = start_info.
func (v *VCPU) SetPVHEntry(entry, startInfo uint64) {
	c := v.vmcb
	flat := func(sel, attr uint16) Segment { return Segment{Selector: sel, Attrib: attr, Limit: 0xffffffff} }
	c.CS = flat(0x10, AttribCode32)
	c.DS, c.ES, c.SS, c.FS, c.GS = flat(0x18, AttribData), flat(0x18, AttribData), flat(0x18, AttribData), flat(0x18, AttribData), flat(0x18, AttribData)
	c.TR = Segment{Selector: 0x20, Attrib: AttribBusyTSS32, Limit: 0x67}
	c.LDTR = Segment{Attrib: 0x82, Limit: 0xffff}
	c.GDTR = Segment{Limit: 0xffff}
	c.IDTR = Segment{Limit: 0xffff}
	c.CPL = 0
	c.CR0 = amd64.CR0PE | 1<<4 // PE | ET
	c.CR3, c.CR4, c.CR2 = 0, 0, 0
	c.EFER = amd64.EFERSVME // required set while in guest mode; hidden from the guest
	c.RFLAGS = amd64.RFLAGSReserved
	c.RIP = entry
	c.RSP = 0
	c.RAX = 0
	c.DR6, c.DR7 = 0xffff0ff0, 0x400
	v.dr = [4]uint64{} // DR0-DR3 reset to 0 (the CPU's INIT state)
	c.GPAT = 0x0007040600070406
	v.regs = x86.Regs{}
	v.regs[x86.RBX] = startInfo
}

// Segment attributes of real mode after INIT (APM vol. 2 table 14-1, in
// the VMCB's packed form: descriptor bits 40-47 in 0-7): present, S=1,
// read/write data or execute/read code, accessed; LDTR a present LDT; TR a
// busy 32-bit TSS, as Xen's hvm_vcpu_reset_state sets it.
const (
	attribRealCode = 0x9b
	attribRealData = 0x93
	attribLDT      = 0x82
	attribRealTR   = 0x8b
)

// SetStartupEntry implements backend.VCPU: the INIT state, then a start-up
// IPI's entry in real mode at vector<<12 (CS = vector<<8, IP = 0). CR0 is
// ET only, as Xen's hvm_vcpu_reset_state (not the architectural
// CD|NW|ET: with nested paging the guest's CD would make its memory
// uncached until it turns caching on).
func (v *VCPU) SetStartupEntry(vector uint8) {
	c := v.vmcb
	seg := func(sel uint16, attr uint16) Segment {
		return Segment{Selector: sel, Attrib: attr, Limit: 0xffff, Base: uint64(sel) << 4}
	}
	c.CS = seg(uint16(vector)<<8, attribRealCode)
	c.DS, c.ES, c.SS, c.FS, c.GS = seg(0, attribRealData), seg(0, attribRealData), seg(0, attribRealData), seg(0, attribRealData), seg(0, attribRealData)
	c.LDTR = Segment{Attrib: attribLDT, Limit: 0xffff}
	c.TR = Segment{Attrib: attribRealTR, Limit: 0xffff}
	c.GDTR = Segment{Limit: 0xffff}
	c.IDTR = Segment{Limit: 0xffff}
	c.CPL = 0
	c.CR0 = 1 << 4 // ET
	c.CR2, c.CR3, c.CR4 = 0, 0, 0
	c.EFER = amd64.EFERSVME
	c.RFLAGS = amd64.RFLAGSReserved
	c.RIP = 0
	c.RSP, c.RAX = 0, 0
	c.DR6, c.DR7 = 0xffff0ff0, 0x400
	c.GPAT = 0x0007040600070406
	c.EventInj = 0
	c.InterruptShadow = 0
	c.VIntr &^= vIntrPost
	c.InterceptMisc1 &^= 1 << Misc1VINTR
	v.regs = x86.Regs{}
	v.flush = true
}

// InjectNMI implements backend.VCPU. SVM does not track the guest's NMI
// blocking (until IRET) without vNMI, so a second NMI may nest inside the
// first's handler; guests send NMI IPIs rarely (backtraces, stop on panic).
func (v *VCPU) InjectNMI() bool {
	c := v.vmcb
	if c.EventInj&(1<<31) != 0 || c.InterruptShadow&1 != 0 {
		return false
	}
	c.EventInj = EventInjection(2, EventNMI, 0, false)
	return true
}

// Run implements backend.VCPU.
func (v *VCPU) Run(e *backend.Exit) {
	c := v.vmcb
	if g := v.b.asids.Generation(); g != v.gen {
		// The ASID space wrapped: take a fresh ASID and flush.
		v.asid, _ = v.b.asids.Alloc()
		v.gen = v.b.asids.Generation()
		c.ASID = v.asid
		v.flush = true
	}
	if v.flush {
		c.TLBControl = TLBFlushAll
		v.flush = false
	}
	c.RAX = v.regs[x86.RAX]
	c.RSP = v.regs[x86.RSP]
	if v.drUsed {
		loadDR(&v.dr)
	}
	run(uintptr(v.vmcbPA), uintptr(v.b.hostVMSA), (*[16]uint64)(&v.regs), v.fxPA, v.b.hostFxPA)
	if v.drUsed {
		saveDR(&v.dr)
	}
	v.regs[x86.RAX] = c.RAX
	v.regs[x86.RSP] = c.RSP
	c.TLBControl = TLBNoFlush
	v.exit(e)
}

// exit classifies the #VMEXIT into e.
func (v *VCPU) exit(e *backend.Exit) {
	c := v.vmcb
	*e = backend.Exit{Code: c.ExitCode}
	if c.ExitIntInfo&(1<<31) != 0 {
		// An event was being delivered when the exit happened: deliver it
		// again on the next entry (APM §15.7.2), an external interrupt as
		// a virtual one again (see InjectInterrupt). QEMU reports a virtual
		// interrupt cut short as an exception with its vector (above 31,
		// which no exception has, and which EVENTINJ refuses).
		if ev := DecodeEvent(c.ExitIntInfo); ev.Type == EventExtIntr || ev.Type == EventException && ev.Vector > 31 {
			v.InjectInterrupt(ev.Vector)
		} else {
			c.EventInj = c.ExitIntInfo
		}
	}
	switch code := c.ExitCode; {
	case code == ExitVINTR:
		// The interrupt window opened: drop the virtual interrupt; the core
		// injects the real event.
		c.VIntr &^= vIntrPost
		c.InterceptMisc1 &^= 1 << Misc1VINTR
		e.Reason = backend.ExitNone
	case code == ExitINTR, code == ExitNMI, code == ExitSMI, code == ExitINIT:
		e.Reason = backend.ExitNone
	case code == ExitCPUID:
		e.Reason = backend.ExitCPUID
	case code == ExitMSR:
		e.MSR = uint32(v.regs[x86.RCX])
		if c.ExitInfo1 == 1 {
			e.Reason = backend.ExitMSRWrite
		} else {
			e.Reason = backend.ExitMSRRead
		}
	case code == ExitIOIO:
		io := DecodeIOInfo(c.ExitInfo1)
		e.Reason = backend.ExitIO
		e.Port, e.Size, e.In, e.String, e.Rep = io.Port, io.Size, io.In, io.String, io.Rep
		e.IONextRIP = c.ExitInfo2
		e.InsnLen = int(c.ExitInfo2 - c.RIP)
	case code == ExitHLT:
		e.Reason = backend.ExitHLT
	case code == ExitVMMCALL:
		e.Reason = backend.ExitHypercall
	case code == ExitNPF:
		n := DecodeNPF(c.ExitInfo1, c.ExitInfo2)
		e.Reason = backend.ExitNPF
		e.GPA, e.Write, e.Fetch, e.Present = n.GPA, n.Write, n.Fetch, n.Present
	case code == ExitShutdown:
		e.Reason = backend.ExitShutdown
	case code >= ExitExceptionBase && code < ExitExceptionBase+32:
		e.Reason = backend.ExitException
		e.Vector = uint8(code - ExitExceptionBase)
		e.ErrorCode = uint32(c.ExitInfo1)
	case IsInvalid(code):
		e.Reason = backend.ExitInvalid
		e.Detail = describeInvalid(c, v.b.cr4OK)
	case code == ExitICEBP:
		// INT1 is intercepted so that the core, not the CPU, delivers its
		// #DB: SVM cannot inject an exception with trap semantics (the
		// core moves RIP past it first, as Xen's svm_inject_event does for
		// X86_ET_PRIV_SW_EXC).
		e.Reason = backend.ExitICEBP
	case code >= ExitDRReadBase && code < ExitDRWriteBase+16:
		// The guest's first debug-register access: from now on its DR0-DR3
		// are switched around every run and it reaches the registers
		// directly. The access is retried, unintercepted.
		v.useDebugRegs()
		e.Reason = backend.ExitNone
	case code == ExitVMRUN, code == ExitVMLOAD, code == ExitVMSAVE, code == ExitSTGI, code == ExitCLGI,
		code == ExitSKINIT, code == ExitMONITOR, code == ExitMWAIT, code == ExitMWAITCond, code == ExitRDPRU:
		// SVM instructions and friends are not offered to guests: #UD.
		e.Reason = backend.ExitException
		e.Vector = 6
		v.InjectException(6, 0, false)
		e.Reason = backend.ExitNone
	default:
		e.Reason = backend.ExitUnhandled
	}
	if v.b.feat.NRIPSave && c.NextRIP != 0 && e.Reason != backend.ExitIO && e.Reason != backend.ExitInvalid {
		e.InsnLen = int(c.NextRIP - c.RIP)
	}
}

// Regs implements backend.VCPU.
func (v *VCPU) Regs() *x86.Regs { return &v.regs }

// RIP implements backend.VCPU.
func (v *VCPU) RIP() uint64 { return v.vmcb.RIP }

// SetRIP implements backend.VCPU. Moving past an instruction also ends an
// interrupt shadow (MOV SS/STI) it created.
func (v *VCPU) SetRIP(rip uint64) {
	v.vmcb.RIP = rip
	v.vmcb.InterruptShadow &^= 1
}

// RFlags implements backend.VCPU.
func (v *VCPU) RFlags() uint64 { return v.vmcb.RFLAGS }

// Paging implements backend.VCPU; EFER.SVME is hidden.
func (v *VCPU) Paging() x86.Paging {
	c := v.vmcb
	return x86.Paging{CR0: c.CR0, CR3: c.CR3, CR4: c.CR4, EFER: c.EFER &^ amd64.EFERSVME}
}

// SetEFER implements backend.VCPU. SVME stays set in the VMCB, as VMRUN
// requires, and Paging hides it from the guest.
func (v *VCPU) SetEFER(val uint64) { v.vmcb.EFER = val | amd64.EFERSVME }

// Mode implements backend.VCPU.
func (v *VCPU) Mode() x86.Mode {
	c := v.vmcb
	return x86.ModeOf(c.CR0, c.EFER, c.CS.Attrib&(1<<9) != 0, c.CS.Attrib&(1<<10) != 0)
}

// CSBase implements backend.VCPU.
func (v *VCPU) CSBase() uint64 { return v.vmcb.CS.Base }

// CPL implements backend.VCPU.
func (v *VCPU) CPL() int { return int(v.vmcb.CPL) }

// CodeState implements backend.VCPU.
func (v *VCPU) CodeState(s *x86.CodeState) {
	c := v.vmcb
	*s = x86.CodeState{
		Paging: x86.Paging{CR0: c.CR0, CR3: c.CR3, CR4: c.CR4, EFER: c.EFER &^ amd64.EFERSVME},
		CSBase: c.CS.Base,
		RIP:    c.RIP,
		Mode:   x86.ModeOf(c.CR0, c.EFER, c.CS.Attrib&(1<<9) != 0, c.CS.Attrib&(1<<10) != 0),
		User:   c.CPL == 3,
	}
}

// InjectException implements backend.VCPU.
func (v *VCPU) InjectException(vector uint8, errCode uint32, hasErr bool) {
	v.vmcb.EventInj = EventInjection(vector, EventException, errCode, hasErr)
}

// Interruptible implements backend.VCPU.
func (v *VCPU) Interruptible() bool {
	c := v.vmcb
	return c.RFLAGS&amd64.RFLAGSIF != 0 && c.InterruptShadow&1 == 0 && c.EventInj&(1<<31) == 0 && !v.posted()
}

// vIntrPending makes a virtual interrupt pending: V_IRQ, priority 15,
// V_IGN_TPR; vIntrPost is those bits and its vector.
const (
	vIntrPending = VIntrIRQ | VIntrPrioMask | VIntrIgnTPR
	vIntrPost    = vIntrPending | VIntrVectorMask
)

// posted reports whether an external interrupt waits in V_IRQ for the
// guest to take it (InjectInterrupt): V_IRQ without the VINTR intercept,
// which only an interrupt-window request sets. The CPU clears V_IRQ when
// the guest takes it.
func (v *VCPU) posted() bool {
	c := v.vmcb
	return c.VIntr&VIntrIRQ != 0 && c.InterceptMisc1&(1<<Misc1VINTR) == 0
}

// InjectInterrupt implements backend.VCPU. The interrupt goes in as a
// virtual interrupt (V_IRQ with its vector, priority 15, ignoring V_TPR,
// no VINTR intercept), not through EVENTINJ. The core injects only when
// Interruptible, so the CPU takes it at the first instruction boundary
// after VMRUN, before any guest instruction, as it would an EVENTINJ
// interrupt (APM vol. 2 §15.21.4).
//
// Why not EVENTINJ: QEMU's TCG VMRUN (helper_vmrun, 7.2) delivers an
// EVENTINJ external interrupt but leaves its vector as the vCPU's pending
// exception; if QEMU's vCPU thread is kicked before the guest's next
// exception or #VMEXIT, it delivers that vector a second time, whatever
// the guest's IF (qemu-test's guest-irqonce catches it inside its handler,
// interrupts off). Such a delivery inside dom0 Linux's entry code would
// explain the overrun of its 4 KiB entry stack seen once in CI ("BUG:
// ENTRY_TRAMPOLINE stack guard page was hit", xl-hostile-io's event
// flood). QEMU's virtual-interrupt path clears that slot.
func (v *VCPU) InjectInterrupt(vector uint8) {
	c := v.vmcb
	c.VIntr = c.VIntr&^vIntrPost | vIntrPending | uint64(vector)<<VIntrVectorShift
	c.InterceptMisc1 &^= 1 << Misc1VINTR
}

// RequestInterruptWindow implements backend.VCPU: a virtual interrupt
// (V_IRQ, priority 15, ignoring V_TPR) with the VINTR intercept makes the
// CPU exit exactly when the guest could take it (APM §15.21.4). While an
// interrupt is posted (InjectInterrupt) it is left alone: the guest takes
// it when the window opens, and the core goes on at the next exit.
func (v *VCPU) RequestInterruptWindow() {
	if v.posted() {
		return
	}
	c := v.vmcb
	c.VIntr = c.VIntr&^vIntrPost | vIntrPending
	c.InterceptMisc1 |= 1 << Misc1VINTR
}

// TLBFlush implements backend.VCPU.
func (v *VCPU) TLBFlush() { v.flush = true }

// Dump implements backend.VCPU.
func (v *VCPU) Dump() string {
	c := v.vmcb
	r := &v.regs
	return fmt.Sprintf("exit %s (%#x) info1=%#x info2=%#x intinfo=%#x eventinj=%#x vintr=%#x\n"+
		"rip=%#x rsp=%#x rflags=%#x cpl=%d cs=%#x/%#x cr0=%#x cr3=%#x cr4=%#x efer=%#x\n"+
		"rax=%#x rbx=%#x rcx=%#x rdx=%#x rsi=%#x rdi=%#x rbp=%#x",
		ExitName(c.ExitCode), c.ExitCode, c.ExitInfo1, c.ExitInfo2, c.ExitIntInfo, c.EventInj, c.VIntr,
		c.RIP, c.RSP, c.RFLAGS, c.CPL, c.CS.Selector, c.CS.Attrib, c.CR0, c.CR3, c.CR4, c.EFER,
		r[x86.RAX], r[x86.RBX], r[x86.RCX], r[x86.RDX], r[x86.RSI], r[x86.RDI], r[x86.RBP])
}

// PAT implements backend.VCPU: with nested paging the VMCB's G_PAT is the
// guest's PAT (APM §15.25.8).
func (v *VCPU) PAT() uint64 { return v.vmcb.GPAT }

// SetPAT implements backend.VCPU.
func (v *VCPU) SetPAT(val uint64) { v.vmcb.GPAT = val }

// SetTSCOffset implements backend.VCPU: the VMCB's TSC_OFFSET is added to
// the host TSC for the guest's RDTSC, RDTSCP and (unintercepted) RDMSR of
// the TSC (APM §15.30.5).
func (v *VCPU) SetTSCOffset(off uint64) { v.vmcb.TSCOffset = off }

// PassIOPorts implements backend.VCPU: the vCPU gets its own IOPM (three
// pages from the backend's frames), every port intercepted except ranges.
func (v *VCPU) PassIOPorts(ranges []backend.PortRange) error {
	if v.iopmPA == 0 {
		pa, ok := v.b.frames.Alloc(IOPMSize/4096, 1)
		if !ok {
			return errors.New("svm: out of memory for an I/O permission map")
		}
		v.iopmPA = pa
	}
	m := IOPM(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(v.iopmPA))), IOPMSize))
	passPorts(m, ranges)
	v.vmcb.IOPMBasePA = v.iopmPA
	v.vmcb.CleanBits = 0 // the IOPM base changed (APM §15.15.3, IOPM bit)
	return nil
}

// passPorts sets m to intercept every port except ranges.
func passPorts(m IOPM, ranges []backend.PortRange) {
	m.InterceptAll()
	for _, r := range ranges {
		m.Allow(r.First, r.N)
	}
}
