// Package amd64 is GoZen's door to the x86-64 CPU: port I/O, MSRs, control
// registers, descriptor tables and a few instructions, each a tiny assembly
// function declared here. Every other package reaches the hardware through
// this one (or through small interfaces built on it), so device logic can be
// tested on the host with fakes.
//
// All functions are safe to call before the Go runtime is initialised and
// from trap context: they are NOSPLIT leaves that do not allocate.
package amd64

// Outb writes v to I/O port port.
func Outb(port uint16, v uint8)

// Inb reads a byte from I/O port port.
func Inb(port uint16) uint8

// Outw writes a 16-bit value to I/O port port.
func Outw(port uint16, v uint16)

// Inw reads a 16-bit value from I/O port port.
func Inw(port uint16) uint16

// Outl writes a 32-bit value to I/O port port.
func Outl(port uint16, v uint32)

// Inl reads a 32-bit value from I/O port port.
func Inl(port uint16) uint32

// Rdmsr reads model-specific register msr.
func Rdmsr(msr uint32) uint64

// Wrmsr writes model-specific register msr.
func Wrmsr(msr uint32, v uint64)

// Cpuid executes CPUID with EAX=leaf, ECX=sub.
func Cpuid(leaf, sub uint32) (a, b, c, d uint32)

// Rdtsc reads the time-stamp counter.
func Rdtsc() uint64

// ReadCR0 returns CR0.
func ReadCR0() uint64

// WriteCR0 sets CR0.
func WriteCR0(v uint64)

// ReadCR2 returns CR2, the last page-fault linear address.
func ReadCR2() uint64

// ReadCR3 returns CR3, the page-table root.
func ReadCR3() uint64

// WriteCR3 loads CR3, which also flushes non-global TLB entries.
func WriteCR3(v uint64)

// ReadCR4 returns CR4.
func ReadCR4() uint64

// WriteCR4 sets CR4.
func WriteCR4(v uint64)

// Lgdt loads the GDT register from the 10-byte descriptor at desc.
func Lgdt(desc uintptr)

// Lidt loads the IDT register from the 10-byte descriptor at desc.
func Lidt(desc uintptr)

// Ltr loads the task register with selector sel.
func Ltr(sel uint16)

// ReloadSegments loads DS, ES and SS with data, clears GS, and reloads CS
// with code through a far return. FS is left alone: it holds the TLS base.
func ReloadSegments(code, data uint16)

// Invlpg drops the TLB entry for va.
func Invlpg(va uintptr)

// Halt executes HLT: the CPU sleeps until the next interrupt.
func Halt()

// DisableInterrupts executes CLI.
func DisableInterrupts()

// EnableInterrupts executes STI.
func EnableInterrupts()

// Pause executes PAUSE, the spin-wait hint.
func Pause()

// Fxsave stores the x87/SSE state at area, which must be 16-byte aligned and
// 512 bytes long.
func Fxsave(area uintptr)

// Fninit resets the x87 FPU.
func Fninit()

// Ldmxcsr loads the SSE control/status register.
func Ldmxcsr(v uint32)

func rdrand() (v uint64, ok bool)
func rdseed() (v uint64, ok bool)

// Control-register and MSR bits GoZen uses.
const (
	CR0PE = 1 << 0
	CR0MP = 1 << 1
	CR0EM = 1 << 2
	CR0TS = 1 << 3
	CR0NE = 1 << 5
	CR0WP = 1 << 16
	CR0PG = 1 << 31

	CR4PAE        = 1 << 5
	CR4PGE        = 1 << 7
	CR4OSFXSR     = 1 << 9
	CR4OSXMMEXCPT = 1 << 10

	MSREFER        = 0xC0000080
	MSRSTAR        = 0xC0000081
	MSRLSTAR       = 0xC0000082
	MSRFMASK       = 0xC0000084
	MSRFSBase      = 0xC0000100
	MSRGSBase      = 0xC0000101
	MSRKernelGS    = 0xC0000102
	MSRAPICBase    = 0x1B
	MSRVMCR        = 0xC0010114
	MSRVMHsavePA   = 0xC0010117
	EFERSCE        = 1 << 0
	EFERLME        = 1 << 8
	EFERNXE        = 1 << 11
	EFERSVME       = 1 << 12
	RFLAGSIF       = 1 << 9
	RFLAGSReserved = 1 << 1
)

// Features is the subset of CPUID GoZen looks at.
type Features struct {
	Vendor              [12]byte
	RDRAND, RDSEED      bool
	SVM, NX, LongMode   bool
	InvariantTSC        bool
	MaxLeaf, MaxExtLeaf uint32
	Family, Model, Step uint32
	APICID              uint32
}

// DetectFeatures reads the CPUID leaves GoZen needs.
func DetectFeatures() Features {
	var f Features
	a, b, c, d := Cpuid(0, 0)
	f.MaxLeaf = a
	putLE(f.Vendor[0:4], b)
	putLE(f.Vendor[4:8], d)
	putLE(f.Vendor[8:12], c)
	if f.MaxLeaf >= 1 {
		a, b, c, _ = Cpuid(1, 0)
		f.RDRAND = c&(1<<30) != 0
		f.Step = a & 0xf
		f.Model = (a >> 4) & 0xf
		f.Family = (a >> 8) & 0xf
		if f.Family == 0xf {
			f.Family += (a >> 20) & 0xff
			f.Model |= ((a >> 16) & 0xf) << 4
		}
		f.APICID = b >> 24
	}
	if f.MaxLeaf >= 7 {
		_, b, _, _ = Cpuid(7, 0)
		f.RDSEED = b&(1<<18) != 0
	}
	a, _, _, _ = Cpuid(0x80000000, 0)
	f.MaxExtLeaf = a
	if a >= 0x80000001 {
		_, _, c, d = Cpuid(0x80000001, 0)
		f.SVM = c&(1<<2) != 0
		f.NX = d&(1<<20) != 0
		f.LongMode = d&(1<<29) != 0
	}
	if a >= 0x80000007 {
		_, _, _, d = Cpuid(0x80000007, 0)
		f.InvariantTSC = d&(1<<8) != 0
	}
	return f
}

func putLE(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// Rand returns a hardware random number from RDSEED or RDRAND, retrying a few
// times as the vendors recommend. ok is false when neither instruction is
// available or both keep failing.
func Rand(f *Features) (uint64, bool) {
	for i := 0; i < 16; i++ {
		if f.RDSEED {
			if v, ok := rdseed(); ok {
				return v, true
			}
		}
		if f.RDRAND {
			if v, ok := rdrand(); ok {
				return v, true
			}
		}
	}
	return 0, false
}

// PortIO is the CPU's I/O-port space as a value drivers can hold.
type PortIO struct{}

// In8 reads a byte from port.
func (PortIO) In8(port uint16) uint8 { return Inb(port) }

// Out8 writes a byte to port.
func (PortIO) Out8(port uint16, v uint8) { Outb(port, v) }
