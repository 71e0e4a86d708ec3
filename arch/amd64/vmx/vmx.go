// Package vmx is GoZen's Intel VT-x backend: it detects and enables VMX,
// owns a VMCS per vCPU, performs the world switch (run_amd64.s) and turns VM
// exits into the arch-neutral exits of package hv/backend, as package svm
// does for AMD. Guest memory is translated by EPT tables that mm/npt builds
// in the npt.EPT format.
//
// References are to the Intel SDM, vol. 3 (chapters 24-29 in the 2023+
// numbering: "VMX", "VMCS", "VM entries", "VM exits", "VMX support for
// address translation") and appendix A (capability MSRs), B (field
// encodings), C (exit reasons).
package vmx

import (
	"errors"
	"fmt"
	"unsafe"

	"gozen/arch/amd64"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// Frames is how the backend gets physical memory: zeroed, contiguous,
// identity-mapped frames (rt.AllocHVFrames on hardware).
type Frames interface {
	Alloc(n, align uint64) (pa uint64, ok bool)
	Free(pa, n uint64)
}

// hwHost reads the real CPU.
type hwHost struct{}

func (hwHost) CPUID(leaf, sub uint32) (a, b, c, d uint32) { return amd64.Cpuid(leaf, sub) }
func (hwHost) Rdmsr(msr uint32) uint64                    { return amd64.Rdmsr(msr) }

// DetectHost runs Detect on this CPU.
func DetectHost() Features { return Detect(hwHost{}) }

// MSRs the guest reaches directly: FS/GS bases and SYSENTER are guest-state
// fields of the VMCS; the SYSCALL MSRs and KERNEL_GS_BASE are switched by
// the VM-entry MSR-load and VM-exit MSR-store/load lists (switchedMSRs),
// because rt's own SYSCALL entry needs the host's values back before any
// Go code runs.
const (
	msrSysenterCS  = 0x174
	msrSysenterESP = 0x175
	msrSysenterEIP = 0x176
	msrCSTAR       = 0xC0000083
	msrPAT         = 0x277
)

var switchedMSRs = [...]uint32{amd64.MSRSTAR, amd64.MSRLSTAR, msrCSTAR, amd64.MSRFMASK, amd64.MSRKernelGS}

// msrTSCAux is IA32_TSC_AUX, which RDTSCP and RDPID read: a guest (Linux
// writes its CPU number there) gets its own, switched like the SYSCALL
// MSRs, when the CPU has the MSR. Loading an MSR the CPU lacks would fail
// the VM exit, so it is listed only then.
const msrTSCAux = 0xC0000103

// guestMSRs is the list of MSRs a guest reaches directly and the lists
// switch on this CPU: switchedMSRs, and TSC_AUX when RDTSCP or RDPID
// exist (CPUID 0x80000001 EDX[27], 7.0 ECX[22]).
func guestMSRs(cpuid func(leaf, sub uint32) (a, b, c, d uint32)) []uint32 {
	l := append([]uint32{}, switchedMSRs[:]...)
	maxExt, _, _, _ := cpuid(0x80000000, 0)
	max, _, _, _ := cpuid(0, 0)
	rdtscp, rdpid := false, false
	if maxExt >= 0x80000001 {
		_, _, _, d := cpuid(0x80000001, 0)
		rdtscp = d&(1<<27) != 0
	}
	if max >= 7 {
		_, _, c, _ := cpuid(7, 0)
		rdpid = c&(1<<22) != 0
	}
	if rdtscp || rdpid {
		l = append(l, msrTSCAux)
	}
	return l
}

// Backend is the VT-x implementation of backend.Backend for the one
// physical CPU GoZen uses.
type Backend struct {
	feat            Features
	ctl             Controls
	frames          Frames
	vmxonPA         uint64
	msrBitmapPA     uint64
	ioBitmapPA      uint64   // bitmaps A and B, two pages
	hostMSRPA       uint64   // VM-exit MSR-load list: the host's values of msrs
	msrs            []uint32 // guestMSRs on this CPU
	host            hostState
	hostFxBuf       []byte
	hostFxPA        uintptr
	vpids           VPIDs
	vpidFlush       bool // a VPID generation began: INVVPID all-context before the next entry
	cr0Must, cr0May uint64
	cr4Must, cr4May uint64
}

// hostState is what VM exits load into the CPU, read once.
type hostState struct {
	cr0, cr3, cr4, efer, pat uint64
	sel                      [7]uint16 // CS, SS, DS, ES, FS, GS, TR
	gdtBase, idtBase, trBase uint64
}

const fxAreaSize = 512

// New enables VMX on this CPU: IA32_FEATURE_CONTROL (set and locked if
// firmware left it unlocked), CR0/CR4 to the VMX fixed bits with
// CR4.VMXE, VMXON; and sets up the shared I/O and MSR bitmaps.
func New(frames Frames) (*Backend, error) {
	f := DetectHost()
	if err := f.Usable(); err != nil {
		return nil, err
	}
	ctl, err := ComputeControls(f)
	if err != nil {
		return nil, fmt.Errorf("vmx: %w", err)
	}
	b := &Backend{feat: f, ctl: ctl, frames: frames}
	b.cr0Must, b.cr0May = GuestCR0Fixed(f)
	b.cr4Must, b.cr4May = GuestCR4Fixed(f)
	if f.FeatureControl&FeatureControlLock == 0 {
		// Firmware left it open (Bochs, some hypervisors): allow VMX
		// outside SMX and lock, as Xen's _vmx_cpu_up does.
		amd64.Wrmsr(MSRFeatureControl, f.FeatureControl|FeatureControlVMXOut|FeatureControlLock)
	}
	var ok [4]bool
	b.vmxonPA, ok[0] = frames.Alloc(1, 1)
	b.msrBitmapPA, ok[1] = frames.Alloc(1, 1)
	b.ioBitmapPA, ok[2] = frames.Alloc(2, 1)
	b.hostMSRPA, ok[3] = frames.Alloc(1, 1)
	if ok != [4]bool{true, true, true, true} {
		return nil, errors.New("vmx: out of memory for VMX structures")
	}
	MSRBitmap(page(b.msrBitmapPA)).InterceptAll()
	for _, m := range []uint32{amd64.MSRFSBase, amd64.MSRGSBase, amd64.MSRKernelGS, amd64.MSRSTAR, amd64.MSRLSTAR,
		msrCSTAR, amd64.MSRFMASK, msrSysenterCS, msrSysenterESP, msrSysenterEIP} {
		MSRBitmap(page(b.msrBitmapPA)).Allow(m, true, true)
	}
	IOBitmap(pages(b.ioBitmapPA, 2)).InterceptAll()
	b.msrs = guestMSRs(amd64.Cpuid)
	for _, m := range b.msrs[len(switchedMSRs):] {
		MSRBitmap(page(b.msrBitmapPA)).Allow(m, true, true)
	}
	list := msrList(page(b.hostMSRPA), len(b.msrs))
	for i, m := range b.msrs {
		list[i] = msrEntry{Index: m, Value: amd64.Rdmsr(m)}
	}
	b.vpids.Init()

	// CR0 and CR4 as VMX operation requires (SDM §24.8 "Restrictions on
	// VMX Operation").
	cr0 := (amd64.ReadCR0() | f.CR0Fixed0) & f.CR0Fixed1
	amd64.WriteCR0(cr0)
	cr4 := (amd64.ReadCR4() | f.CR4Fixed0 | cr4VMXE) & f.CR4Fixed1
	amd64.WriteCR4(cr4)
	region := page(b.vmxonPA)
	*(*uint32)(unsafe.Pointer(&region[0])) = f.Revision()
	if st := vmxon(uintptr(b.vmxonPA)); st != 0 {
		return nil, fmt.Errorf("vmx: VMXON failed (status %d): is VMX already in use?", st)
	}
	b.host = hostState{cr0: amd64.ReadCR0(), cr3: amd64.ReadCR3(), cr4: amd64.ReadCR4(),
		efer: amd64.Rdmsr(amd64.MSREFER), pat: amd64.Rdmsr(msrPAT)}
	var gdtr, idtr [10]byte
	hostSegs(&b.host.sel, &gdtr, &idtr)
	b.host.gdtBase = le64(gdtr[2:])
	b.host.idtBase = le64(idtr[2:])
	b.host.trBase = tssBase(b.host.gdtBase, b.host.sel[6])
	b.hostFxBuf = make([]byte, fxAreaSize+16)
	b.hostFxPA = alignFx(b.hostFxBuf)
	return b, nil
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// tssBase reads the base of the 16-byte TSS descriptor at sel in the GDT
// at gdt (SDM §8.2.3 "TSS Descriptor in 64-bit mode").
func tssBase(gdt uint64, sel uint16) uint64 {
	d := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(gdt+uint64(sel&^7)))), 16)
	return DescriptorBase(d)
}

// DescriptorBase decodes the base of a 16-byte system descriptor.
func DescriptorBase(d []byte) uint64 {
	return uint64(d[2]) | uint64(d[3])<<8 | uint64(d[4])<<16 | uint64(d[7])<<24 |
		uint64(d[8])<<32 | uint64(d[9])<<40 | uint64(d[10])<<48 | uint64(d[11])<<56
}

func page(pa uint64) []byte { return pages(pa, 1) }
func pages(pa uint64, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(pa))), n*4096)
}

func alignFx(buf []byte) uintptr {
	return (uintptr(unsafe.Pointer(&buf[0])) + 15) &^ 15
}

// Features reports what detection found.
func (b *Backend) Features() Features { return b.feat }

// Controls reports the control words in use.
func (b *Backend) Controls() Controls { return b.ctl }

// Name implements backend.Backend.
func (b *Backend) Name() string { return "vmx" }

// HostCPUID implements backend.Backend.
func (b *Backend) HostCPUID(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32) {
	return amd64.Cpuid(leaf, subleaf)
}

// HypercallInsn implements backend.Backend: VMCALL, which always exits
// (ReasonVMCALL). A guest that executes VMMCALL instead gets #UD from the
// CPU, as under Xen, which intercepts #UD only for cross-vendor guests
// (hvm_ud_intercept; Xen commit "x86/hvm: don't intercept #UD exceptions in
// general"): GoZen's guests always see the host's vendor.
func (b *Backend) HypercallInsn() [3]byte { return x86.VMCALL }

// PagingFormat implements backend.Backend: Intel EPT.
func (b *Backend) PagingFormat() npt.Format { return npt.EPT }

// EPTP is the EPT pointer for tables rooted at root (SDM §25.6.11,
// table 25-9): write-back paging-structure accesses (6), a 4-level walk
// (3 in bits 5:3), no accessed/dirty flags.
func EPTP(root uint64) uint64 { return root&^0xfff | 6 | 3<<3 }

// VCPU is one VT-x virtual CPU.
type VCPU struct {
	b        *Backend
	vmcsPA   uint64
	vmcs     fields
	msrPA    uint64 // guest switchedMSRs: VM-entry load and VM-exit store list
	msrs     []msrEntry
	ioPA     uint64 // own I/O bitmaps (PassIOPorts), 0 while shared
	eptp     uint64
	launched bool
	regs     x86.Regs
	fxBuf    []byte
	fxPA     uintptr
	vpid     uint16
	gen      uint64
	flush    bool
	proc     uint32 // the primary processor-based controls as last written
	entry    uint32 // the VM-entry controls as last written
	cr8      uint64 // the guest's CR8 (TPR) as it wrote it; it has no effect
	drUsed   bool
	dr       [5]uint64 // DR0-DR3, DR6
	// err is the first failed VMREAD/VMWRITE (an hv bug, never the
	// guest's doing); Run reports it as ExitInvalid.
	err error
}

// fields is how a vCPU reaches its VMCS: VMREAD/VMWRITE on hardware
// (hwFields), a map in tests, so exit decoding and the guest state the
// backend writes are host-tested.
type fields interface {
	read(f Field) (uint64, bool)
	write(f Field, x uint64) bool
}

// hwFields is a VMCS in memory at a physical address.
type hwFields uintptr

func (pa hwFields) read(f Field) (uint64, bool) {
	x, st := vmread(uintptr(pa), f)
	return x, st == 0
}

func (pa hwFields) write(f Field, x uint64) bool { return vmwrite(uintptr(pa), f, x) == 0 }

func (v *VCPU) read(f Field) uint64 {
	x, ok := v.vmcs.read(f)
	if !ok && v.err == nil {
		v.err = fmt.Errorf("VMREAD of field %#x failed", uint32(f))
	}
	return x
}

func (v *VCPU) write(f Field, x uint64) {
	if !v.vmcs.write(f, x) && v.err == nil {
		e, _ := v.vmcs.read(VMInstructionError)
		v.err = fmt.Errorf("VMWRITE of %#x to field %#x failed: %s", x, uint32(f), InsnErrorName(e))
	}
}

// NewVCPU implements backend.Backend: a VMCS (cleared, then filled with
// the controls, host state and a reset guest state) over the EPT tables at
// eptRoot.
func (b *Backend) NewVCPU(eptRoot uint64) (backend.VCPU, error) {
	pa, ok := b.frames.Alloc(1, 1)
	if !ok {
		return nil, errors.New("vmx: out of memory for a VMCS")
	}
	mpa, ok := b.frames.Alloc(1, 1)
	if !ok {
		b.frames.Free(pa, 1)
		return nil, errors.New("vmx: out of memory for an MSR list")
	}
	*(*uint32)(unsafe.Pointer(uintptr(pa))) = b.feat.Revision()
	if st := vmclear(uintptr(pa)); st != 0 {
		b.frames.Free(pa, 1)
		b.frames.Free(mpa, 1)
		return nil, fmt.Errorf("vmx: VMCLEAR of a new VMCS failed (status %d)", st)
	}
	v := &VCPU{b: b, vmcsPA: pa, vmcs: hwFields(pa), msrPA: mpa, eptp: EPTP(eptRoot)}
	v.fxBuf = make([]byte, fxAreaSize+16)
	v.fxPA = alignFx(v.fxBuf)
	fx := unsafe.Slice((*byte)(unsafe.Pointer(v.fxPA)), fxAreaSize)
	fx[0], fx[1] = 0x7f, 0x03                               // FCW: all x87 exceptions masked
	fx[24], fx[25], fx[26], fx[27] = 0x80, 0x1f, 0x00, 0x00 // MXCSR: all SSE exceptions masked
	v.msrs = msrList(page(mpa), len(b.msrs))
	for i, m := range b.msrs {
		v.msrs[i] = msrEntry{Index: m}
	}
	c := b.ctl
	v.proc, v.entry = c.Proc, c.Entry
	if b.feat.VPID() {
		var all bool
		v.vpid, all = b.vpids.Alloc()
		v.gen = b.vpids.Generation()
		b.vpidFlush = b.vpidFlush || all
	} else {
		c.Proc2 &^= Proc2VPID
	}
	for _, w := range []struct {
		f Field
		x uint64
	}{
		{PinControls, uint64(c.Pin)}, {ProcControls, uint64(v.proc)}, {Proc2Controls, uint64(c.Proc2)},
		{ExitControls, uint64(c.Exit)}, {EntryControls, uint64(v.entry)},
		{ExceptionBitmap, 1 << 18}, // #MC: never let a guest swallow a machine check
		{PFErrorCodeMask, 0}, {PFErrorCodeMatch, 0}, {CR3TargetCount, 0},
		{IOBitmapAAddr, b.ioBitmapPA}, {IOBitmapBAddr, b.ioBitmapPA + 4096}, {MSRBitmapAddr, b.msrBitmapPA},
		{ExitMSRStoreAdr, mpa}, {ExitMSRStoreCount, uint64(len(b.msrs))},
		{EntryMSRLoadAdr, mpa}, {EntryMSRLoadCount, uint64(len(b.msrs))},
		{ExitMSRLoadAdr, b.hostMSRPA}, {ExitMSRLoadCount, uint64(len(b.msrs))},
		{EPTPointer, v.eptp}, {VPID, uint64(v.vpid)}, {TSCOffset, 0},
		{CR0GuestHostMask, ownedMask(b.cr0Must, b.cr0May)}, {CR4GuestHostMask, ownedMask(b.cr4Must, b.cr4May)},
		{VMCSLinkPointer, ^uint64(0)},
		// Host state (SDM §25.5): what a VM exit loads. RSP, RIP and
		// the FS/GS bases are written by run before every entry.
		{HostCR0, b.host.cr0}, {HostCR3, b.host.cr3}, {HostCR4, b.host.cr4},
		{HostCSSel, uint64(b.host.sel[0] &^ 7)}, {HostSSSel, uint64(b.host.sel[1] &^ 7)},
		{HostDSSel, uint64(b.host.sel[2] &^ 7)}, {HostESSel, uint64(b.host.sel[3] &^ 7)},
		{HostFSSel, uint64(b.host.sel[4] &^ 7)}, {HostGSSel, uint64(b.host.sel[5] &^ 7)},
		{HostTRSel, uint64(b.host.sel[6] &^ 7)},
		{HostTRBase, b.host.trBase}, {HostGDTRBase, b.host.gdtBase}, {HostIDTRBase, b.host.idtBase},
		{HostSysenterCS, 0}, {HostSysenterESP, 0}, {HostSysenterEIP, 0},
		{HostEFER, b.host.efer}, {HostPAT, b.host.pat},
	} {
		v.write(w.f, w.x)
	}
	if v.err != nil {
		v.Destroy()
		return nil, fmt.Errorf("vmx: %w", v.err)
	}
	v.flush = true
	return v, nil
}

// Destroy implements backend.VCPU.
func (v *VCPU) Destroy() {
	if v.vmcsPA != 0 {
		vmclear(uintptr(v.vmcsPA))
		v.b.frames.Free(v.vmcsPA, 1)
		v.vmcsPA = 0
	}
	if v.msrPA != 0 {
		v.b.frames.Free(v.msrPA, 1)
		v.msrPA = 0
	}
	if v.ioPA != 0 {
		v.b.frames.Free(v.ioPA, 2)
		v.ioPA = 0
	}
}

// setSeg writes a guest segment register.
func (v *VCPU) setSeg(s Seg, sel uint16, base uint64, limit uint32, ar uint32) {
	v.write(s.Selector(), uint64(sel))
	v.write(s.Base(), base)
	v.write(s.Limit(), uint64(limit))
	v.write(s.AR(), uint64(ar))
}

// setCR0 and setCR4 load a guest value: the CPU gets it with GoZen's fixed
// bits, the guest reads its own value back through the read shadow.
func (v *VCPU) setCR0(x uint64) {
	v.write(GuestCR0, (x|v.b.cr0Must)&v.b.cr0May)
	v.write(CR0ReadShadow, x)
}

func (v *VCPU) setCR4(x uint64) {
	v.write(GuestCR4, (x|v.b.cr4Must)&v.b.cr4May)
	v.write(CR4ReadShadow, x)
}

// resetCommon is the state both entry states share: no events, no
// blocking, DR7 and PAT at reset, EFER 0, nothing pending.
func (v *VCPU) resetCommon() {
	v.write(GuestCR3, 0)
	v.setCR4(0)
	v.write(GuestDR7, 0x400)
	v.write(GuestRFLAGS, 2)
	v.write(GuestRSP, 0)
	v.write(GuestEFER, 0)
	v.write(GuestPAT, 0x0007040600070406)
	v.write(GuestDebugCtl, 0)
	v.write(GuestSysenterCS, 0)
	v.write(GuestSysenterESP, 0)
	v.write(GuestSysenterEIP, 0)
	v.write(GuestInterruptibility, 0)
	v.write(GuestActivityState, 0)
	v.write(GuestPendingDebug, 0)
	v.write(EntryIntrInfo, 0)
	v.setIA32e(false)
	v.proc &^= ProcIntrWindow
	v.write(ProcControls, uint64(v.proc))
	v.write(GuestLDTRSel, 0)
	v.setSeg(SegLDTR, 0, 0, 0xffff, ARLDT)
	v.write(GuestGDTRBase, 0)
	v.write(GuestGDTRLimit, 0xffff)
	v.write(GuestIDTRBase, 0)
	v.write(GuestIDTRLimit, 0xffff)
	v.dr = [5]uint64{3: 0, 4: 0xffff0ff0}
	v.cr8 = 0
	v.regs = x86.Regs{}
	for i := range v.msrs {
		v.msrs[i].Value = 0
	}
	v.flush = true
}

// SetPVHEntry implements backend.VCPU: the state Xen's PVH builder gives
// (docs/misc/pvh.pandoc): protected mode, paging off, flat 4 GiB segments,
// a busy 32-bit TSS, EBX = start_info.
func (v *VCPU) SetPVHEntry(entry, startInfo uint64) {
	v.resetCommon()
	v.setCR0(cr0PE | cr0ET)
	v.setSeg(SegCS, 0x10, 0, 0xffffffff, ARCode32)
	for _, s := range []Seg{SegDS, SegES, SegSS, SegFS, SegGS} {
		v.setSeg(s, 0x18, 0, 0xffffffff, ARData)
	}
	v.setSeg(SegTR, 0x20, 0, 0x67, ARBusyTSS)
	v.write(GuestRIP, entry)
	v.regs[x86.RBX] = startInfo
}

// SetStartupEntry implements backend.VCPU: the INIT state, then a start-up
// IPI's entry in real mode at vector<<12 (CS = vector<<8, IP = 0). CR0 is
// ET only, as Xen's hvm_vcpu_reset_state (see package svm). Unrestricted
// guest runs real mode directly.
func (v *VCPU) SetStartupEntry(vector uint8) {
	v.resetCommon()
	v.setCR0(cr0ET)
	sel := uint16(vector) << 8
	v.setSeg(SegCS, sel, uint64(sel)<<4, 0xffff, ARRealCode)
	for _, s := range []Seg{SegDS, SegES, SegSS, SegFS, SegGS} {
		v.setSeg(s, 0, 0, 0xffff, ARRealData)
	}
	v.setSeg(SegTR, 0, 0, 0xffff, ARBusyTSS)
	v.write(GuestRIP, 0)
}

// Run implements backend.VCPU.
func (v *VCPU) Run(e *backend.Exit) { *e = v.enter() }

// enter is Run: one VM entry and the exit it ends with.
func (v *VCPU) enter() backend.Exit {
	if v.err != nil {
		return backend.Exit{Reason: backend.ExitInvalid, Detail: v.err.Error()}
	}
	b := v.b
	if b.feat.VPID() {
		if g := b.vpids.Generation(); g != v.gen {
			// The VPID space wrapped: take a fresh one. Alloc flushed every
			// VPID's mappings when it began the generation (flushAll).
			var all bool
			v.vpid, all = b.vpids.Alloc()
			v.gen = b.vpids.Generation()
			b.vpidFlush = b.vpidFlush || all
			v.write(VPID, uint64(v.vpid))
		}
		if b.vpidFlush {
			// A new generation: no VPID may keep mappings from its
			// previous owner.
			b.invvpidAll()
			b.vpidFlush = false
		}
	}
	if v.flush {
		b.invept(v.eptp)
		v.flush = false
	}
	if v.drUsed {
		loadDR(&v.dr)
	}
	v.write(GuestRSP, v.regs[x86.RSP])
	st := run(uintptr(v.vmcsPA), (*[16]uint64)(&v.regs), v.fxPA, b.hostFxPA, v.launched)
	if v.drUsed {
		saveDR(&v.dr)
	}
	if st != 0 {
		return v.entryFailed(st)
	}
	v.launched = true
	v.regs[x86.RSP] = v.read(GuestRSP)
	e := v.exit()
	if v.err != nil {
		return backend.Exit{Reason: backend.ExitInvalid, Detail: v.err.Error()}
	}
	return e
}

// entryFailed reports a VMLAUNCH/VMRESUME that did not enter the guest
// (SDM §26.1-26.2: checks of the controls and host state fail with
// VMfailValid and an error number).
func (v *VCPU) entryFailed(st uint8) backend.Exit {
	insn := "VMRESUME"
	if !v.launched {
		insn = "VMLAUNCH"
	}
	d := insn + " failed: VMfailInvalid (no current VMCS)"
	if st == 2 {
		n := v.read(VMInstructionError)
		d = fmt.Sprintf("%s failed: VMfailValid, VM-instruction error %d (%s)", insn, n, InsnErrorName(n))
	}
	return backend.Exit{Reason: backend.ExitInvalid, Code: uint64(st), Detail: d + "; " + v.stateSummary()}
}

func (b *Backend) invept(eptp uint64) {
	desc := [2]uint64{eptp, 0}
	if b.feat.EPTVPID&EPTCapINVEPTCtx != 0 {
		invept(1, &desc)
	} else {
		invept(2, &desc)
	}
}

func (b *Backend) invvpidAll() {
	if b.feat.EPTVPID&VPIDCapINVVPID != 0 && b.feat.EPTVPID&VPIDCapINVVPIDAll != 0 {
		desc := [2]uint64{}
		invvpid(2, &desc)
	}
}

// useDebugRegs gives the vCPU its own debug registers from now on (Xen's
// lazy scheme, vmx_dr_access): MOV DR no longer exits, and DR0-DR3 and DR6
// are switched around every run.
func (v *VCPU) useDebugRegs() {
	v.drUsed = true
	v.proc &^= ProcMOVDR
	v.write(ProcControls, uint64(v.proc))
}

// DebugRegs returns the guest's DR0-DR3 as it last ran with them.
func (v *VCPU) DebugRegs() [4]uint64 { return [4]uint64{v.dr[0], v.dr[1], v.dr[2], v.dr[3]} }

// exit classifies the VM exit.
func (v *VCPU) exit() backend.Exit {
	reason := v.read(ExitReason)
	e := backend.Exit{Code: reason & 0xffff}
	if reason&ExitReasonEntryFail != 0 {
		e.Reason = backend.ExitInvalid
		e.Detail = fmt.Sprintf("VM entry failed: %s (exit qualification %#x); %s",
			ReasonName(uint32(reason)), v.read(ExitQualification), v.stateSummary())
		return e
	}
	// An event whose delivery the exit interrupted is delivered again on
	// the next entry (SDM §28.2.4 "Information for VM Exits During Event
	// Delivery", §27.8 on re-injection).
	if idt := v.read(IDTVectoringInfo); idt&IntrValid != 0 {
		v.write(EntryIntrInfo, idt&^(IntrNMIUnblockIRET|0x7fff_e000))
		if idt&IntrErrValid != 0 {
			v.write(EntryExceptionCode, v.read(IDTVectoringError))
		}
		if t := (idt >> 8) & 7; t == IntrTypeSWInt || t == IntrTypePrivSWExc || t == IntrTypeSWExc {
			v.write(EntryInsnLen, v.read(ExitInsnLen))
		}
	}
	insnLen := func() int { return int(v.read(ExitInsnLen)) }
	switch r := reason & 0xffff; r {
	case ReasonException:
		info := v.read(ExitIntrInfo)
		v.nmiUnblock(info)
		if (info>>8)&7 == IntrTypeNMI {
			// A host NMI arrived in the guest and is consumed by the exit
			// (NMI exiting): hv does not use NMIs.
			e.Reason = backend.ExitNone
			break
		}
		e.Reason = backend.ExitException
		e.Vector = uint8(info)
		if info&IntrErrValid != 0 {
			e.ErrorCode = uint32(v.read(ExitIntrErrorCode))
		}
	case ReasonExtInt, ReasonINIT, ReasonSIPI, ReasonOtherSMI, ReasonIOSMI:
		e.Reason = backend.ExitNone
	case ReasonIntrWindow:
		v.proc &^= ProcIntrWindow
		v.write(ProcControls, uint64(v.proc))
		e.Reason = backend.ExitNone
	case ReasonTripleFault:
		e.Reason = backend.ExitShutdown
	case ReasonCPUID:
		e.Reason, e.InsnLen = backend.ExitCPUID, insnLen()
	case ReasonHLT:
		e.Reason, e.InsnLen = backend.ExitHLT, insnLen()
	case ReasonVMCALL:
		e.Reason, e.InsnLen = backend.ExitHypercall, insnLen()
	case ReasonRDMSR, ReasonWRMSR:
		e.Reason, e.InsnLen = backend.ExitMSRRead, insnLen()
		if r == ReasonWRMSR {
			e.Reason = backend.ExitMSRWrite
		}
		e.MSR = uint32(v.regs[x86.RCX])
	case ReasonIO:
		io := DecodeIOQual(v.read(ExitQualification))
		e.Reason = backend.ExitIO
		e.Port, e.Size, e.In, e.String, e.Rep = io.Port, io.Size, io.In, io.String, io.Rep
		e.InsnLen = insnLen()
		e.IONextRIP = v.RIP() + uint64(e.InsnLen)
	case ReasonEPTViolation:
		q := v.read(ExitQualification)
		v.nmiUnblock(q)
		ev := DecodeEPTViolation(q)
		e.Reason = backend.ExitNPF
		e.GPA, e.Write, e.Fetch, e.Present = v.read(GuestPhysAddr), ev.Write, ev.Fetch, ev.Present
	case ReasonCRAccess:
		e.Reason = backend.ExitNone
		v.crAccess(DecodeCRAccess(v.read(ExitQualification)), insnLen())
	case ReasonMOVDR:
		// The first debug-register access: retried unintercepted.
		v.useDebugRegs()
		e.Reason = backend.ExitNone
	case ReasonVMCLEAR, ReasonVMLAUNCH, ReasonVMPTRLD, ReasonVMPTRST, ReasonVMREAD, ReasonVMRESUME,
		ReasonVMWRITE, ReasonVMXOFF, ReasonVMXON, ReasonINVEPT, ReasonINVVPID, ReasonVMFUNC,
		ReasonMONITOR, ReasonMWAIT, ReasonGETSEC:
		// VMX instructions and friends are not offered to guests: #UD
		// (as svm does for SVM's).
		v.InjectException(6, 0, false)
		e.Reason = backend.ExitNone
	default:
		// Task switches, INVD, XSETBV, EPT misconfigurations, ...: the
		// core crashes the domain with the code.
		e.Reason = backend.ExitUnhandled
	}
	return e
}

// nmiUnblock: an exit that interrupted an IRET which unblocked NMIs
// (bit 12 of the exit interruption information or the EPT-violation
// qualification) must leave the guest NMI-blocked when the IRET is
// re-executed (SDM §28.2.3; Xen's ept_handle_violation).
func (v *VCPU) nmiUnblock(x uint64) {
	if x&IntrNMIUnblockIRET != 0 && v.b.ctl.Pin&PinVirtualNMIs != 0 && v.read(IDTVectoringInfo)&IntrValid == 0 {
		v.write(GuestInterruptibility, v.read(GuestInterruptibility)|BlockingNMI)
	}
}

// Regs implements backend.VCPU.
func (v *VCPU) Regs() *x86.Regs { return &v.regs }

// RIP implements backend.VCPU.
func (v *VCPU) RIP() uint64 { return v.read(GuestRIP) }

// SetRIP implements backend.VCPU. Moving past an instruction also ends an
// interrupt shadow (MOV SS/STI) it created.
func (v *VCPU) SetRIP(rip uint64) {
	v.write(GuestRIP, rip)
	if s := v.read(GuestInterruptibility); s&(BlockingSTI|BlockingMOVSS) != 0 {
		v.write(GuestInterruptibility, s&^(BlockingSTI|BlockingMOVSS))
	}
}

// RFlags implements backend.VCPU.
func (v *VCPU) RFlags() uint64 { return v.read(GuestRFLAGS) }

// guestCR reads a control register as the guest sees it: its own value in
// the bits GoZen owns (the read shadow), the CPU's elsewhere.
func (v *VCPU) guestCR(cr, shadow, mask Field) uint64 {
	m := v.read(mask)
	return v.read(cr)&^m | v.read(shadow)&m
}

// Paging implements backend.VCPU.
func (v *VCPU) Paging() x86.Paging {
	return x86.Paging{CR0: v.guestCR(GuestCR0, CR0ReadShadow, CR0GuestHostMask), CR3: v.read(GuestCR3),
		CR4: v.guestCR(GuestCR4, CR4ReadShadow, CR4GuestHostMask), EFER: v.read(GuestEFER)}
}

// SetEFER implements backend.VCPU: the guest EFER field (loaded by
// VM entry), and the IA-32e mode guest entry control, which must equal
// EFER.LMA (SDM §27.3.1.1).
func (v *VCPU) SetEFER(val uint64) {
	v.write(GuestEFER, val)
	v.setIA32e(val&x86.EFERLMA != 0)
}

// setIA32e sets the IA-32e mode guest entry control. It reads the field
// rather than trusting v.entry: every VM exit stores the guest's EFER.LMA
// into it (SDM §28.2 "Recording VM-Exit Information", the IA-32e mode
// guest control), so it changes when the guest enters or leaves long mode
// without an exit.
func (v *VCPU) setIA32e(on bool) {
	cur := uint32(v.read(EntryControls))
	e := cur &^ EntryIA32e
	if on {
		e |= EntryIA32e
	}
	v.entry = e
	if e != cur {
		v.write(EntryControls, uint64(e))
	}
}

// Mode implements backend.VCPU.
func (v *VCPU) Mode() x86.Mode {
	ar := v.read(GuestCSAR)
	return x86.ModeOf(v.read(GuestCR0), v.read(GuestEFER), ar&ARL != 0, ar&ARDB != 0)
}

// CSBase implements backend.VCPU.
func (v *VCPU) CSBase() uint64 { return v.read(GuestCSBase) }

// CPL implements backend.VCPU: SS.DPL is the CPL under VMX (SDM §27.3.1.2).
func (v *VCPU) CPL() int { return int(v.read(GuestSSAR)>>5) & 3 }

// CodeState implements backend.VCPU.
func (v *VCPU) CodeState(s *x86.CodeState) {
	*s = x86.CodeState{Paging: v.Paging(), CSBase: v.CSBase(), RIP: v.RIP(), Mode: v.Mode(), User: v.CPL() == 3}
}

// exceptionHasErr reports whether exception vector pushes an error code
// in protected mode (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP). VM entry
// fails if "deliver error code" disagrees (SDM §27.2.1.3), so the backend
// decides, not the caller.
func exceptionHasErr(vector uint8) bool {
	switch vector {
	case 8, 10, 11, 12, 13, 14, 17, 21:
		return true
	}
	return false
}

// InjectException implements backend.VCPU. In real mode (unrestricted
// guest with CR0.PE clear) no exception pushes an error code.
func (v *VCPU) InjectException(vector uint8, errCode uint32, hasErr bool) {
	hasErr = exceptionHasErr(vector) && v.read(GuestCR0)&cr0PE != 0
	v.write(EntryIntrInfo, uint64(IntrInfo(vector, IntrTypeHWExc, hasErr)))
	if hasErr {
		v.write(EntryExceptionCode, uint64(errCode))
	}
}

// Interruptible implements backend.VCPU.
func (v *VCPU) Interruptible() bool {
	return v.read(GuestRFLAGS)&x86.RFLAGSIF != 0 && v.read(GuestInterruptibility)&(BlockingSTI|BlockingMOVSS) == 0 &&
		v.read(EntryIntrInfo)&IntrValid == 0
}

// InjectInterrupt implements backend.VCPU.
func (v *VCPU) InjectInterrupt(vector uint8) {
	v.write(EntryIntrInfo, uint64(IntrInfo(vector, IntrTypeExternal, false)))
}

// InjectNMI implements backend.VCPU. With virtual NMIs the CPU tracks the
// guest's NMI blocking until IRET (BlockingNMI), so NMIs do not nest.
func (v *VCPU) InjectNMI() bool {
	if v.read(EntryIntrInfo)&IntrValid != 0 || v.read(GuestInterruptibility)&(BlockingSTI|BlockingMOVSS|BlockingNMI) != 0 {
		return false
	}
	v.write(EntryIntrInfo, uint64(IntrInfo(2, IntrTypeNMI, false)))
	return true
}

// RequestInterruptWindow implements backend.VCPU: interrupt-window exiting
// makes the CPU exit as soon as the guest can take an interrupt (SDM
// §26.7.5).
func (v *VCPU) RequestInterruptWindow() {
	if v.proc&ProcIntrWindow == 0 {
		v.proc |= ProcIntrWindow
		v.write(ProcControls, uint64(v.proc))
	}
}

// TLBFlush implements backend.VCPU: INVEPT before the next run drops the
// guest-physical and combined mappings of this EPT.
func (v *VCPU) TLBFlush() { v.flush = true }

// PAT implements backend.VCPU: the guest PAT field, loaded on entry and
// saved on exit.
func (v *VCPU) PAT() uint64 { return v.read(GuestPAT) }

// SetPAT implements backend.VCPU.
func (v *VCPU) SetPAT(val uint64) { v.write(GuestPAT, val) }

// SetTSCOffset implements backend.VCPU: "use TSC offsetting" is on in every
// VMCS.
func (v *VCPU) SetTSCOffset(off uint64) { v.write(TSCOffset, off) }

// PassIOPorts implements backend.VCPU: the vCPU gets its own I/O bitmaps A
// and B (two pages), every port intercepted except ranges.
func (v *VCPU) PassIOPorts(ranges []backend.PortRange) error {
	if v.ioPA == 0 {
		pa, ok := v.b.frames.Alloc(2, 1)
		if !ok {
			return errors.New("vmx: out of memory for I/O bitmaps")
		}
		v.ioPA = pa
	}
	m := IOBitmap(pages(v.ioPA, 2))
	m.InterceptAll()
	for _, r := range ranges {
		m.Allow(r.First, r.N)
	}
	v.write(IOBitmapAAddr, v.ioPA)
	v.write(IOBitmapBAddr, v.ioPA+4096)
	return nil
}

// stateSummary describes the guest state for crash reports.
func (v *VCPU) stateSummary() string {
	return fmt.Sprintf("cr0=%#x (shadow %#x) cr3=%#x cr4=%#x (shadow %#x) efer=%#x entry-ctls=%#x rflags=%#x rip=%#x "+
		"cs=%#x/%#x ss=%#x/%#x ds=%#x/%#x tr=%#x/%#x ldtr=%#x/%#x intr-state=%#x entry-intr=%#x",
		v.read(GuestCR0), v.read(CR0ReadShadow), v.read(GuestCR3), v.read(GuestCR4), v.read(CR4ReadShadow),
		v.read(GuestEFER), v.read(EntryControls), v.read(GuestRFLAGS), v.read(GuestRIP),
		v.read(GuestCSSel), v.read(GuestCSAR), v.read(GuestSSSel), v.read(GuestSSAR), v.read(GuestDSSel), v.read(GuestDSAR),
		v.read(GuestTRSel), v.read(GuestTRAR), v.read(GuestLDTRSel), v.read(GuestLDTRAR),
		v.read(GuestInterruptibility), v.read(EntryIntrInfo))
}

// Dump implements backend.VCPU.
func (v *VCPU) Dump() string {
	r := &v.regs
	reason := v.read(ExitReason)
	return fmt.Sprintf("exit %s (%d) qual=%#x gpa=%#x intr=%#x idt=%#x\n%s\n"+
		"rsp=%#x rax=%#x rbx=%#x rcx=%#x rdx=%#x rsi=%#x rdi=%#x rbp=%#x",
		ReasonName(uint32(reason)), reason&0xffff, v.read(ExitQualification), v.read(GuestPhysAddr),
		v.read(ExitIntrInfo), v.read(IDTVectoringInfo), v.stateSummary(),
		r[x86.RSP], r[x86.RAX], r[x86.RBX], r[x86.RCX], r[x86.RDX], r[x86.RSI], r[x86.RDI], r[x86.RBP])
}
