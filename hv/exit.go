package hv

import (
	"fmt"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
)

// Guest-physical address map of a domain (see also loader.GuestMemoryMap):
// RAM is [0, mem); [MMIOBase, 4 GiB) is the MMIO window, where unassigned
// addresses read as all-ones and writes are dropped, as on a PC bus; every
// other address is outside the domain's allocation and touching it crashes
// the domain.
const (
	MMIOBase  = 0xC000_0000
	MMIOLimit = 0x1_0000_0000
	// DebugPort is the I/O port whose bytes go to hv's console (Bochs/QEMU
	// "port E9" convention).
	DebugPort = 0xE9
)

// handleExit acts on one exit of v.
func (h *Hypervisor) handleExit(v *VCPU, e backend.Exit) {
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
	case backend.ExitInvalid:
		h.crashDomain(v, "the CPU refused the guest's state (VMRUN consistency check)")
	default:
		h.crashDomain(v, fmt.Sprintf("unhandled exit %#x", e.Code))
	}
}

// skip advances RIP past the exiting instruction, decoding it when the
// hardware did not report its length. It returns false if the domain had
// to be crashed (unreadable instruction).
func (h *Hypervisor) skip(v *VCPU, e backend.Exit) bool {
	n := e.InsnLen
	if n <= 0 || n > 15 {
		var err error
		n, err = h.insnLen(v)
		if err != nil {
			h.crashDomain(v, fmt.Sprintf("cannot decode the instruction at rip %#x: %v", v.arch.RIP(), err))
			return false
		}
	}
	advanceRIP(v, n)
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
	a := v.arch
	n, err := x86.FetchInsn(v.dom.mem, a.Paging(), a.CSBase(), a.RIP(), a.Mode(), a.CPL() == 3, &v.insn)
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
	h.shutdownDomain(v.dom, xen.ShutdownPoweroff)
}

func (h *Hypervisor) io(v *VCPU, e backend.Exit) {
	r := v.arch.Regs()
	if e.String {
		// INS/OUTS: not offered by any device GoZen emulates; drop them.
		v.arch.SetRIP(e.IONextRIP)
		return
	}
	switch {
	case e.Port == DebugPort && !e.In:
		b := byte(r[x86.RAX])
		v.dom.consoleWrite([]byte{b})
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

// npf handles a nested page fault: MMIO emulation in the MMIO window, and a
// crash for anything else (the guest touched memory it does not have).
func (h *Hypervisor) npf(v *VCPU, e backend.Exit) {
	if e.GPA >= MMIOBase && e.GPA < MMIOLimit && !e.Fetch {
		h.mmio(v, e)
		return
	}
	what := "read"
	if e.Write {
		what = "write"
	} else if e.Fetch {
		what = "instruction fetch"
	}
	h.crashDomain(v, fmt.Sprintf("%s at guest-physical %#x, outside its %d MiB of RAM (rip %#x)",
		what, e.GPA, v.dom.memSize>>20, v.arch.RIP()))
}

// mmio emulates the access to unassigned MMIO: reads return all-ones,
// writes are dropped.
func (h *Hypervisor) mmio(v *VCPU, e backend.Exit) {
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
	} else if !op.Write {
		op.Complete(v.arch.Regs(), ^uint64(0), mode)
	}
	advanceRIP(v, op.Len)
}
