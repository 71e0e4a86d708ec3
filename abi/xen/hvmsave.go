package xen

import "fmt"

// HVM save records (xen/include/public/hvm/save.h and
// arch-x86/hvm/save.h at Xen 4.17): what XEN_DOMCTL_gethvmcontext returns
// and sethvmcontext takes. The buffer is a sequence of records, each a
// descriptor (HVMSaveDescriptor) followed by Length bytes, starting with a
// HEADER and ending with an END record of length 0. libxc's PVH builder
// gets the context to learn the HEADER, then sets HEADER + one CPU record
// per vCPU (+ MTRR) + END to give vCPU 0 its entry state.

// HVM save type codes (the _code of DECLARE_HVM_SAVE_TYPE).
const (
	HVMSaveCodeEnd       = 0  // END: struct hvm_save_end (empty)
	HVMSaveCodeHeader    = 1  // HEADER: struct hvm_save_header
	HVMSaveCodeCPU       = 2  // CPU: struct hvm_hw_cpu, one per vCPU (instance = vCPU)
	HVMSaveCodeLAPIC     = 5  // LAPIC: struct hvm_hw_lapic
	HVMSaveCodeLAPICRegs = 6  // LAPIC_REGS
	HVMSaveCodeMTRR      = 14 // MTRR: struct hvm_hw_mtrr
)

// HVM_FILE_MAGIC and HVM_FILE_VERSION (arch-x86/hvm/save.h).
const (
	HVMFileMagic   = 0x54381286
	HVMFileVersion = 1
)

// XEN_X86_FPU_INITIALISED (hvm_hw_cpu.flags).
const X86FPUInitialised = 1 << 0

// Sizes.
const (
	HVMSaveDescriptorSize = 8    // struct hvm_save_descriptor
	HVMSaveHeaderSize     = 24   // struct hvm_save_header
	HVMHWCPUSize          = 1032 // struct hvm_hw_cpu
)

// HVMSaveDescriptor is struct hvm_save_descriptor (8 bytes), before each
// record.
type HVMSaveDescriptor struct {
	Typecode uint16 // typecode: HVMSaveCode*
	Instance uint16 // instance: the vCPU for per-vCPU records
	Length   uint32 // length of the record after the descriptor
}

// Encode writes x into b[:HVMSaveDescriptorSize]. It panics if b is shorter.
func (x *HVMSaveDescriptor) Encode(b []byte) {
	_ = b[HVMSaveDescriptorSize-1]
	le.PutUint16(b[0:], x.Typecode)
	le.PutUint16(b[2:], x.Instance)
	le.PutUint32(b[4:], x.Length)
}

// Decode reads x from the first HVMSaveDescriptorSize bytes of b, or
// returns an error if b is shorter.
func (x *HVMSaveDescriptor) Decode(b []byte) error {
	if len(b) < HVMSaveDescriptorSize {
		return shortError("hvm_save_descriptor", HVMSaveDescriptorSize, len(b))
	}
	*x = HVMSaveDescriptor{Typecode: le.Uint16(b[0:]), Instance: le.Uint16(b[2:]), Length: le.Uint32(b[4:])}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *HVMSaveDescriptor) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, HVMSaveDescriptorSize, x), nil
}

// MarshalBinary returns the HVMSaveDescriptorSize-byte encoding of x.
func (x *HVMSaveDescriptor) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly HVMSaveDescriptorSize bytes.
func (x *HVMSaveDescriptor) UnmarshalBinary(b []byte) error {
	if err := exactLength("hvm_save_descriptor", HVMSaveDescriptorSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// HVMSaveHeader is struct hvm_save_header (24 bytes), the HEADER record.
type HVMSaveHeader struct {
	Magic     uint32 // magic: HVMFileMagic
	Version   uint32 // version: HVMFileVersion
	Changeset uint64 // changeset: the saving hypervisor's version
	CPUID     uint32 // cpuid: CPUID[1].EAX of the saving machine
	GTSCKHz   uint32 // gtsc_khz: the guest's TSC frequency
}

// Encode writes x into b[:HVMSaveHeaderSize]. It panics if b is shorter.
func (x *HVMSaveHeader) Encode(b []byte) {
	_ = b[HVMSaveHeaderSize-1]
	le.PutUint32(b[0:], x.Magic)
	le.PutUint32(b[4:], x.Version)
	le.PutUint64(b[8:], x.Changeset)
	le.PutUint32(b[16:], x.CPUID)
	le.PutUint32(b[20:], x.GTSCKHz)
}

// Decode reads x from the first HVMSaveHeaderSize bytes of b, or returns
// an error if b is shorter.
func (x *HVMSaveHeader) Decode(b []byte) error {
	if len(b) < HVMSaveHeaderSize {
		return shortError("hvm_save_header", HVMSaveHeaderSize, len(b))
	}
	*x = HVMSaveHeader{Magic: le.Uint32(b[0:]), Version: le.Uint32(b[4:]), Changeset: le.Uint64(b[8:]),
		CPUID: le.Uint32(b[16:]), GTSCKHz: le.Uint32(b[20:])}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *HVMSaveHeader) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, HVMSaveHeaderSize, x), nil
}

// MarshalBinary returns the HVMSaveHeaderSize-byte encoding of x.
func (x *HVMSaveHeader) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly HVMSaveHeaderSize bytes.
func (x *HVMSaveHeader) UnmarshalBinary(b []byte) error {
	if err := exactLength("hvm_save_header", HVMSaveHeaderSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// HVMHWCPU is struct hvm_hw_cpu (1032 bytes), the CPU record: one vCPU's
// architectural state. Segment attributes (the *ARBytes fields) are in
// Xen's packed form: type, S, DPL, P in bits 0-7, AVL, L, D/B, G in bits
// 8-11 (0xc9b: a flat 32-bit code segment; 0xc93: flat data).
type HVMHWCPU struct {
	FPURegs [512]byte // fpu_regs: the FXSAVE image

	RAX, RBX, RCX, RDX, RBP, RSI, RDI, RSP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFlags                            uint64
	CR0, CR2, CR3, CR4                     uint64
	DR0, DR1, DR2, DR3, DR6, DR7           uint64

	CSSel, DSSel, ESSel, FSSel, GSSel, SSSel, TRSel, LDTRSel uint32

	CSLimit, DSLimit, ESLimit, FSLimit, GSLimit, SSLimit, TRLimit, LDTRLimit, IDTRLimit, GDTRLimit uint32

	CSBase, DSBase, ESBase, FSBase, GSBase, SSBase, TRBase, LDTRBase, IDTRBase, GDTRBase uint64

	CSARBytes, DSARBytes, ESARBytes, FSARBytes, GSARBytes, SSARBytes, TRARBytes, LDTRARBytes uint32

	SysenterCS, SysenterESP, SysenterEIP uint64
	ShadowGS                             uint64 // shadow_gs: MSR_KERNEL_GS_BASE
	MSRFlags                             uint64 // msr_flags (obsolete, ignored)
	MSRLSTAR, MSRSTAR, MSRCSTAR          uint64
	MSRSyscallMask, MSREFER, MSRTSCAux   uint64
	TSC                                  uint64 // tsc: the guest's TSC
	PendingEvent                         uint32 // pending_event: vector, type, error-valid, valid (bit 31)
	ErrorCode                            uint32 // error_code of the pending event
	Flags                                uint32 // flags: XEN_X86_FPU_INITIALISED
	Pad0                                 uint32
}

// fields64 and friends list the fields in ABI order, for Encode and Decode.
func (x *HVMHWCPU) regs64a() []*uint64 {
	return []*uint64{&x.RAX, &x.RBX, &x.RCX, &x.RDX, &x.RBP, &x.RSI, &x.RDI, &x.RSP,
		&x.R8, &x.R9, &x.R10, &x.R11, &x.R12, &x.R13, &x.R14, &x.R15, &x.RIP, &x.RFlags,
		&x.CR0, &x.CR2, &x.CR3, &x.CR4, &x.DR0, &x.DR1, &x.DR2, &x.DR3, &x.DR6, &x.DR7}
}

func (x *HVMHWCPU) regs32a() []*uint32 {
	return []*uint32{&x.CSSel, &x.DSSel, &x.ESSel, &x.FSSel, &x.GSSel, &x.SSSel, &x.TRSel, &x.LDTRSel,
		&x.CSLimit, &x.DSLimit, &x.ESLimit, &x.FSLimit, &x.GSLimit, &x.SSLimit, &x.TRLimit, &x.LDTRLimit, &x.IDTRLimit, &x.GDTRLimit}
}

func (x *HVMHWCPU) regs64b() []*uint64 {
	return []*uint64{&x.CSBase, &x.DSBase, &x.ESBase, &x.FSBase, &x.GSBase, &x.SSBase, &x.TRBase, &x.LDTRBase, &x.IDTRBase, &x.GDTRBase}
}

func (x *HVMHWCPU) regs32b() []*uint32 {
	return []*uint32{&x.CSARBytes, &x.DSARBytes, &x.ESARBytes, &x.FSARBytes, &x.GSARBytes, &x.SSARBytes, &x.TRARBytes, &x.LDTRARBytes}
}

func (x *HVMHWCPU) regs64c() []*uint64 {
	return []*uint64{&x.SysenterCS, &x.SysenterESP, &x.SysenterEIP, &x.ShadowGS, &x.MSRFlags,
		&x.MSRLSTAR, &x.MSRSTAR, &x.MSRCSTAR, &x.MSRSyscallMask, &x.MSREFER, &x.MSRTSCAux, &x.TSC}
}

func (x *HVMHWCPU) regs32c() []*uint32 {
	return []*uint32{&x.PendingEvent, &x.ErrorCode, &x.Flags, &x.Pad0}
}

// The byte offsets of each group of hvm_hw_cpu (checked by the layout test).
const (
	hwcpuOff64a = 512
	hwcpuOff32a = hwcpuOff64a + 28*8 // cs_sel: 736
	hwcpuOff64b = hwcpuOff32a + 18*4 // cs_base: 808
	hwcpuOff32b = hwcpuOff64b + 10*8 // cs_arbytes: 888
	hwcpuOff64c = hwcpuOff32b + 8*4  // sysenter_cs: 920
	hwcpuOff32c = hwcpuOff64c + 12*8 // pending_event: 1016
)

// Encode writes x into b[:HVMHWCPUSize]. It panics if b is shorter.
func (x *HVMHWCPU) Encode(b []byte) {
	_ = b[HVMHWCPUSize-1]
	copy(b[:512], x.FPURegs[:])
	for i, p := range x.regs64a() {
		le.PutUint64(b[hwcpuOff64a+8*i:], *p)
	}
	for i, p := range x.regs32a() {
		le.PutUint32(b[hwcpuOff32a+4*i:], *p)
	}
	for i, p := range x.regs64b() {
		le.PutUint64(b[hwcpuOff64b+8*i:], *p)
	}
	for i, p := range x.regs32b() {
		le.PutUint32(b[hwcpuOff32b+4*i:], *p)
	}
	for i, p := range x.regs64c() {
		le.PutUint64(b[hwcpuOff64c+8*i:], *p)
	}
	for i, p := range x.regs32c() {
		le.PutUint32(b[hwcpuOff32c+4*i:], *p)
	}
}

// Decode reads x from the first HVMHWCPUSize bytes of b, or returns an
// error if b is shorter.
func (x *HVMHWCPU) Decode(b []byte) error {
	if len(b) < HVMHWCPUSize {
		return shortError("hvm_hw_cpu", HVMHWCPUSize, len(b))
	}
	copy(x.FPURegs[:], b[:512])
	for i, p := range x.regs64a() {
		*p = le.Uint64(b[hwcpuOff64a+8*i:])
	}
	for i, p := range x.regs32a() {
		*p = le.Uint32(b[hwcpuOff32a+4*i:])
	}
	for i, p := range x.regs64b() {
		*p = le.Uint64(b[hwcpuOff64b+8*i:])
	}
	for i, p := range x.regs32b() {
		*p = le.Uint32(b[hwcpuOff32b+4*i:])
	}
	for i, p := range x.regs64c() {
		*p = le.Uint64(b[hwcpuOff64c+8*i:])
	}
	for i, p := range x.regs32c() {
		*p = le.Uint32(b[hwcpuOff32c+4*i:])
	}
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *HVMHWCPU) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, HVMHWCPUSize, x), nil
}

// MarshalBinary returns the HVMHWCPUSize-byte encoding of x.
func (x *HVMHWCPU) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from exactly HVMHWCPUSize bytes.
func (x *HVMHWCPU) UnmarshalBinary(b []byte) error {
	if err := exactLength("hvm_hw_cpu", HVMHWCPUSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// HVMSaveRecord is one record of a context buffer: its descriptor and
// the Length bytes after it.
type HVMSaveRecord struct {
	HVMSaveDescriptor
	Data []byte // aliases the buffer parsed
}

// ParseHVMContext splits buf into its records, up to and including the
// END record, checking that every record lies inside buf. It returns an
// error for a buffer without END or a truncated record; at most max
// records are accepted (a bound on work for a guest-supplied buffer).
func ParseHVMContext(buf []byte, max int) ([]HVMSaveRecord, error) {
	var out []HVMSaveRecord
	for off := 0; ; {
		if len(out) >= max {
			return nil, fmt.Errorf("hvm context: more than %d records", max)
		}
		var d HVMSaveDescriptor
		if d.Decode(buf[off:]) != nil {
			return nil, fmt.Errorf("hvm context: truncated descriptor at %d", off)
		}
		off += HVMSaveDescriptorSize
		if uint64(d.Length) > uint64(len(buf)-off) {
			return nil, fmt.Errorf("hvm context: record %d at %d has %d bytes, %d left", d.Typecode, off, d.Length, len(buf)-off)
		}
		out = append(out, HVMSaveRecord{d, buf[off : off+int(d.Length)]})
		off += int(d.Length)
		if d.Typecode == HVMSaveCodeEnd {
			return out, nil
		}
	}
}

// AppendHVMRecord appends a record of typecode and instance holding the
// encoding of e (size bytes) to b.
func AppendHVMRecord(b []byte, typecode, instance uint16, size int, e encoder) []byte {
	d := HVMSaveDescriptor{Typecode: typecode, Instance: instance, Length: uint32(size)}
	b = appendEncoded(b, HVMSaveDescriptorSize, &d)
	if e == nil {
		return b
	}
	return appendEncoded(b, size, e)
}
