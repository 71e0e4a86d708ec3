package hv

import (
	"gozen/hv/x86"
)

// Every vCPU has a local APIC (package hv/vlapic), at the architectural
// address in xAPIC mode (CPUID hides x2APIC). Linux needs one: it only
// leaves PIC mode, and so only installs the Xen clockevent
// (x86_init.timers.setup_percpu_clockev runs from native_smp_prepare_cpus
// in APIC mode), if it finds a local APIC and an MP table or ACPI MADT; it
// sends self-IPIs (irq_work) through it, and starts its secondary CPUs with
// INIT and start-up IPIs (smp.go).
//
// Event delivery does not go through it: the Xen callback vector is
// injected directly and needs no EOI, as Xen's hvm_vcpu_has_pending_irq
// does for HVMIRQ_callback_vector. deliverInterrupt arbitrates between the
// two sources.

// LAPICBase is the guest-physical address of the local APIC page.
const LAPICBase = 0xFEE00000

// lapicMMIO performs a decoded access to the APIC page at offset off.
// Registers are 32 bits wide on 16-byte boundaries: a narrower read inside
// a register returns its bytes, as Xen's vlapic_mmio_read allows; wider
// reads return the register zero-extended. Writes other than a whole
// aligned register are dropped (Xen logs and ignores them too). Nothing a
// guest does here crashes it or hv.
func (h *Hypervisor) lapicMMIO(v *VCPU, off uint64, op *x86.MMIO) {
	reg := uint32(off &^ 0xf)
	now := h.env.Now()
	if !op.Write {
		val := uint64(v.lapic.Read(reg, now))
		if op.Size < 4 {
			shift := (off & 3) * 8
			if off&0xc != 0 || int(off&3)+op.Size > 4 {
				val = 0 // outside the register's 32 bits
			} else {
				val = val >> shift & (1<<(8*op.Size) - 1)
			}
		} else if off&0xf != 0 {
			val = 0
		}
		op.Complete(v.arch.Regs(), val, v.arch.Mode())
		return
	}
	if op.Size < 4 || off&0xf != 0 {
		return
	}
	ipi, ok := v.lapic.Write(reg, uint32(op.Value), now)
	if ok {
		h.sendIPI(v, ipi)
	}
}

// deliverInterrupt injects what v should take next, before it enters the
// guest: a pending NMI first; then the higher of the event-channel upcall
// vector and the local APIC's highest deliverable vector (a tie goes to
// the upcall). The APIC vector moves to its ISR when injected; the upcall
// vector, as in Xen, does not pass through the APIC. When v cannot take an
// interrupt now, an interrupt window is requested.
func (h *Hypervisor) deliverInterrupt(v *VCPU) {
	if v.nmiPending {
		if v.arch.InjectNMI() {
			v.nmiPending = false
			return
		}
		v.arch.RequestInterruptWindow() // an exit soon, to try again
	}
	lvec, lok := v.lapic.Pending()
	up := v.dom.xen.upcallVector
	if up != 0 && v.upcallPending() && (!lok || up >= lvec) {
		h.deliverUpcall(v)
		return
	}
	if !lok {
		return
	}
	if v.arch.Interruptible() {
		v.lapic.Ack(lvec)
		v.arch.InjectInterrupt(lvec)
	} else {
		v.arch.RequestInterruptWindow()
	}
}

// lapicWake reports whether something the APIC holds ends a HLT: a
// deliverable vector or an NMI.
func (v *VCPU) lapicWake() bool {
	if v.nmiPending {
		return true
	}
	_, ok := v.lapic.Pending()
	return ok
}
