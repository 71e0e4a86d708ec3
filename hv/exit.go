package hv

import (
	"fmt"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// Guest-physical address map of a domain (see also loader.GuestMemoryMap):
// RAM is [0, mem), less what the guest gave back, plus what it populated;
// the local APIC is at LAPICBase. Any address below the guest's physical
// address width with nothing behind it reads as all-ones and ignores
// writes, as Xen's emulated I/O with no handler does (npf).
const (
	// DebugPort is the I/O port whose bytes go to hv's console (Bochs/QEMU
	// "port E9" convention).
	DebugPort = 0xE9
)

// handleExit acts on one exit of v.
func (h *Hypervisor) handleExit(v *VCPU, e *backend.Exit) {
	switch e.Reason {
	case backend.ExitNone:
	case backend.ExitCPUID:
		r := v.arch.Regs()
		a, b, c, d := h.cpuid(v, uint32(r[x86.RAX]), uint32(r[x86.RCX]))
		r[x86.RAX], r[x86.RBX], r[x86.RCX], r[x86.RDX] = uint64(a), uint64(b), uint64(c), uint64(d)
		h.skip(v, e)
	case backend.ExitMSRRead:
		h.rdmsr(v, e)
	case backend.ExitMSRWrite:
		h.wrmsr(v, e)
	case backend.ExitIO:
		h.io(v, e)
	case backend.ExitHLT:
		if !h.skip(v, e) {
			return
		}
		h.halt(v)
	case backend.ExitHypercall:
		if !h.skip(v, e) {
			return
		}
		h.hypercall(v)
	case backend.ExitNPF:
		h.npf(v, e)
	case backend.ExitShutdown:
		h.crashDomain(v, "triple fault (the guest's CPU shut down)")
	case backend.ExitException:
		h.crashDomain(v, fmt.Sprintf("unexpected exception %d (error code %#x)", e.Vector, e.ErrorCode))
	case backend.ExitICEBP:
		// INT1 raises #DB as a trap: the handler sees RIP after the
		// instruction, and DR6 is left alone (Xen's svm_inject_event for
		// X86_ET_PRIV_SW_EXC moves RIP past it and injects a hardware #DB).
		if !h.skip(v, e) {
			return
		}
		v.arch.InjectException(dbVector, 0, false)
	case backend.ExitInvalid:
		why := "the CPU refused the guest's state (VMRUN consistency check)"
		if e.Detail != "" {
			why += ": " + e.Detail
		}
		h.crashDomain(v, why)
	default:
		h.crashDomain(v, fmt.Sprintf("unhandled exit %#x", e.Code))
	}
}

// skip advances RIP past the exiting instruction, decoding it when the
// hardware did not report its length. It returns false if the domain had
// to be crashed (unreadable instruction).
func (h *Hypervisor) skip(v *VCPU, e *backend.Exit) bool {
	n := e.InsnLen
	if n > 0 && n <= 15 {
		advanceRIP(v, n)
		return true
	}
	n, err := h.insnLen(v)
	if err != nil {
		h.crashDomain(v, fmt.Sprintf("cannot decode the instruction at rip %#x: %v", v.arch.RIP(), err))
		return false
	}
	// insnLen fetched with v.code: RIP and mode as they are now.
	rip := v.code.RIP + uint64(n)
	if v.code.Mode != x86.Mode64 {
		rip &= 0xffffffff
	}
	v.arch.SetRIP(rip)
	return true
}

// advanceRIP moves v past an n-byte instruction; outside 64-bit mode the
// instruction pointer wraps at 4 GiB.
func advanceRIP(v *VCPU, n int) {
	rip := v.arch.RIP() + uint64(n)
	if v.arch.Mode() != x86.Mode64 {
		rip &= 0xffffffff
	}
	v.arch.SetRIP(rip)
}

// fetch reads the instruction bytes at the guest's RIP into v.insn (a
// buffer in the vCPU, so hot exits do not allocate one).
func (h *Hypervisor) fetch(v *VCPU) ([]byte, error) {
	v.arch.CodeState(&v.code)
	n, err := v.fetchCache.Fetch(v.dom.mem, &v.code, &v.insn)
	return v.insn[:n], err
}

func (h *Hypervisor) insnLen(v *VCPU) (int, error) {
	code, err := h.fetch(v)
	if err != nil {
		return 0, err
	}
	// The instructions that exit most often, unprefixed, without a full
	// decode: CPUID, RDMSR, WRMSR, VMMCALL, VMCALL, HLT.
	if len(code) >= 1 && code[0] == 0xf4 {
		return 1, nil
	}
	if len(code) >= 2 && code[0] == 0x0f {
		switch code[1] {
		case 0xa2, 0x30, 0x32:
			return 2, nil
		case 0x01:
			if len(code) >= 3 && (code[2] == 0xd9 || code[2] == 0xc1) {
				return 3, nil
			}
		}
	}
	return x86.InsnLen(code, v.arch.Mode())
}

// halt blocks v until its timer fires or an event arrives. A timer that
// already fired since the last halt makes HLT return at once.
func (h *Hypervisor) halt(v *VCPU) {
	if v.timerFired {
		v.timerFired = false
		return
	}
	if v.arch.RFlags()&x86.RFLAGSIF == 0 {
		// Interrupts off: only GoZen's test timer (gozen_op) can end this
		// HLT. Otherwise the vCPU is down for good (Linux's machine_halt),
		// as in Xen's hvm_hlt; when the last one goes, the domain powers off.
		if v.timer != 0 && !v.xen.xenTimer {
			v.state = VCPUBlocked
			return
		}
		h.vcpuDown(v)
		return
	}
	if v.dom.xen.upcallVector != 0 && v.upcallPending() {
		return // an event is already waiting
	}
	if v.lapicWake() {
		return // an APIC interrupt or an NMI is waiting
	}
	v.state = VCPUBlocked
}

// vcpuDown takes v offline; the domain powers off when none is left.
func (h *Hypervisor) vcpuDown(v *VCPU) {
	v.state = VCPUDown
	h.rq.Remove(v)
	h.setRunstate(v, runstateOffline)
	for _, o := range v.dom.vcpus {
		if o.state != VCPUDown && o.state != VCPUDead {
			return
		}
	}
	h.logf("domain %d %q: all vCPUs halted with interrupts off; powering off", v.dom.id, v.dom.name)
	if h.dom0Shutdown(v.dom, xen.ShutdownPoweroff, "all vCPUs halted with interrupts off") {
		return
	}
	h.shutdownDomain(v.dom, xen.ShutdownPoweroff)
}

func (h *Hypervisor) io(v *VCPU, e *backend.Exit) {
	r := v.arch.Regs()
	v.dom.io.ports.add(e.Port)
	if e.String {
		// INS/OUTS: not offered by any device GoZen emulates; drop them.
		v.arch.SetRIP(e.IONextRIP)
		return
	}
	if v.dom.dom0 != nil {
		// Past the instruction first: a power-off destroys the vCPU.
		v.arch.SetRIP(e.IONextRIP)
		if h.dom0IO(v, e.Port, e.In, e.Size, r[x86.RAX]) {
			return
		}
	}
	switch {
	case e.Port == DebugPort && !e.In:
		b := byte(r[x86.RAX])
		v.dom.consoleWrite([]byte{b})
	case isPITPort(e.Port) && e.Size == 1:
		if e.In {
			r[x86.RAX] = r[x86.RAX]&^0xff | uint64(v.dom.io.pit.in(e.Port, h.env.TSC(), h.clock.hz))
		} else {
			v.dom.io.pit.outb(e.Port, uint8(r[x86.RAX]), h.env.TSC(), h.clock.hz)
		}
	case e.In:
		// No device: the bus floats high.
		mask := uint64(1)<<(8*e.Size) - 1
		r[x86.RAX] = r[x86.RAX]&^mask | mask
		if e.Size == 4 {
			r[x86.RAX] &= 0xffffffff // 32-bit writes zero the upper half
			r[x86.RAX] |= mask
		}
	}
	v.arch.SetRIP(e.IONextRIP)
}

// npf handles a nested page fault the way Xen's hvm_hap_nested_page_fault
// does for an HVM guest. Xen's p2m reports every frame with nothing behind
// it (never populated, given back with decrease_reservation, or a hole in
// the memory map) as p2m_mmio_dm, emulated I/O with no device: the access
// is emulated (hvmemul_do_io with no ioreq server) and the guest goes on,
// reads returning all-ones and writes dropped. Writes to a read-only
// mapping (p2m_grant_map_ro, one of Xen's P2M_DISCARD_WRITE_TYPES) are
// emulated and dropped too. An instruction fetch from such a frame cannot be
// emulated (Xen's linear_read refuses PFEC_insn_fetch from MMIO, and
// handle_mmio's failure injects #GP(0)): the guest gets #GP(0).
//
// What is left crashes the domain: an address beyond the guest's physical
// address width (its own page walk cannot produce one), and faults on
// frames that are mapped (a protection hv did not expect).
func (h *Hypervisor) npf(v *VCPU, e *backend.Exit) {
	if v.dom.dom0 != nil {
		if h.dom0NPF(v, e.GPA) {
			return
		}
		if s := v.dom.dom0; !e.Fetch && (s.kept(e.GPA, 1) || s.pci != nil && s.pci.ecamTrapped(e.GPA)) {
			h.mmio(v, e) // hv's devices: the local APIC, IO-APICs, trapped PCI configuration; else all-ones
			return
		}
	}
	limit := v.dom.mem.Limit() // the guest's physical-address width, set at creation
	kind, writable := v.dom.mem.Lookup(e.GPA / pageSize)
	switch {
	case e.GPA < limit && kind == npt.Unbacked && !e.Fetch:
		h.mmio(v, e)
		return
	case e.GPA < limit && kind == npt.Unbacked:
		v.arch.InjectException(gpVector, 0, true)
		return
	case e.Present && e.Write && !e.Fetch && kind == npt.Mapped && !writable:
		h.mmio(v, e)
		return
	}
	what := "read"
	if e.Write {
		what = "write"
	} else if e.Fetch {
		what = "instruction fetch"
	}
	where := fmt.Sprintf("outside its %d MiB of RAM", v.dom.memSize>>20)
	if e.GPA >= limit {
		where = fmt.Sprintf("beyond its physical address width (%#x)", limit)
	} else if kind != npt.Unbacked {
		where = fmt.Sprintf("a %s it may not access that way", kind)
	}
	h.crashDomain(v, fmt.Sprintf("%s at guest-physical %#x, %s (rip %#x)", what, e.GPA, where, v.arch.RIP()))
}

// mmio emulates the access to a frame with nothing behind it (or the local
// APIC): reads return all-ones, writes are dropped. An instruction hv's
// decoder does not handle crashes the domain (Xen's full emulator would
// run it; hv decodes the MOV forms compilers emit for device access).
func (h *Hypervisor) mmio(v *VCPU, e *backend.Exit) {
	code, err := h.fetch(v)
	if err != nil {
		h.crashDomain(v, fmt.Sprintf("MMIO at %#x: cannot fetch the instruction: %v", e.GPA, err))
		return
	}
	mode := v.arch.Mode()
	op, err := x86.DecodeMMIO(code, mode, v.arch.Regs())
	if err != nil {
		h.crashDomain(v, fmt.Sprintf("MMIO at %#x: %v", e.GPA, err))
		return
	}
	if e.GPA&^0xfff == LAPICBase {
		h.lapicMMIO(v, e.GPA&0xfff, &op)
	} else if io := v.dom.dom0ioapic(e.GPA); io != nil {
		if op.Write {
			io.Write(e.GPA&0xfff, op.Size, op.Value)
		} else {
			op.Complete(v.arch.Regs(), io.Read(e.GPA&0xfff, op.Size), mode)
		}
	} else if s := v.dom.dom0; s != nil && s.pci != nil && !s.kept(e.GPA, 1) && s.pci.ecamTrapped(e.GPA) {
		x := h.dom0ECAM(s, e.GPA, &op)
		if !op.Write {
			op.Complete(v.arch.Regs(), x, mode)
		}
	} else if !op.Write {
		op.Complete(v.arch.Regs(), ^uint64(0), mode)
	}
	advanceRIP(v, op.Len)
}
