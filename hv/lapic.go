package hv

// A minimal local APIC for PVH guests (Xen emulates one too). Linux only
// leaves PIC mode, and so only installs the Xen clockevent
// (x86_init.timers.setup_percpu_clockev runs from native_smp_prepare_cpus
// in APIC mode), if it finds a local APIC and an MP table or ACPI MADT.
// GoZen gives it an ACPI MADT (loader.ACPITables) and this register file:
// identity and version, the registers Linux programs at boot (kept, with no
// effect), and the ICR for fixed-vector IPIs, which Linux uses for
// self-IPIs (irq_work). Event delivery does not go through it: the Xen
// callback vector is injected directly, as Xen does, and needs no EOI.

const (
	// LAPICBase is the guest-physical address of the local APIC page.
	LAPICBase = 0xFEE00000

	lapicID      = 0x20
	lapicVersion = 0x30
	lapicTPR     = 0x80
	lapicEOI     = 0xB0
	lapicLDR     = 0xD0
	lapicDFR     = 0xE0
	lapicSVR     = 0xF0
	lapicESR     = 0x280
	lapicICRLow  = 0x300
	lapicICRHigh = 0x310
	lapicLVTT    = 0x320
	lapicLVTErr  = 0x370
	lapicTimerCC = 0x390
	// lapicVersionValue: version 0x14 (integrated), 6 LVT entries.
	lapicVersionValue = 0x00050014
)

type lapic struct {
	regs    [0x400 / 16]uint32
	pending [4]uint64 // fixed-vector IPIs waiting for injection
}

func (l *lapic) reset(id int) {
	*l = lapic{}
	l.regs[lapicID/16] = uint32(id) << 24
	l.regs[lapicDFR/16] = 0xffffffff
	l.regs[lapicSVR/16] = 0xff
	for off := lapicLVTT; off <= lapicLVTErr; off += 16 {
		l.regs[off/16] = 1 << 16 // masked
	}
}

func (h *Hypervisor) lapicRead(v *VCPU, off uint64) uint32 {
	if off%16 != 0 || off >= 0x400 {
		return 0
	}
	switch off {
	case lapicVersion:
		return lapicVersionValue
	case lapicEOI, lapicESR, lapicTimerCC:
		return 0
	case lapicICRLow:
		return v.lapic.regs[off/16] &^ (1 << 12) // delivery status: idle
	}
	if off >= 0x100 && off < 0x280 {
		return 0 // ISR, TMR, IRR: nothing is in service
	}
	return v.lapic.regs[off/16]
}

func (h *Hypervisor) lapicWrite(v *VCPU, off uint64, val uint32) {
	if off%16 != 0 || off >= 0x400 {
		return
	}
	switch off {
	case lapicID, lapicVersion, lapicEOI, lapicESR:
		return // read-only, or nothing to acknowledge
	case lapicICRLow:
		v.lapic.regs[off/16] = val
		h.lapicIPI(v, val, v.lapic.regs[lapicICRHigh/16]>>24)
		return
	}
	v.lapic.regs[off/16] = val
}

// lapicIPI delivers a fixed (or lowest-priority) IPI. INIT, SIPI, NMI and
// SMI are ignored: secondary vCPUs are not brought up through the APIC yet.
func (h *Hypervisor) lapicIPI(v *VCPU, icr, dest uint32) {
	vec := uint8(icr)
	if mode := (icr >> 8) & 7; mode > 1 || vec < 16 {
		return
	}
	for _, t := range v.dom.vcpus {
		var hit bool
		switch (icr >> 18) & 3 {
		case 0:
			hit = uint32(t.id) == dest
		case 1:
			hit = t == v
		case 2:
			hit = true
		case 3:
			hit = t != v
		}
		if hit {
			t.lapic.pending[vec/64] |= 1 << (vec % 64)
			h.kickVCPU(t)
		}
	}
}

// lapicPending returns the highest pending IPI vector.
func (l *lapic) highest() (uint8, bool) {
	for i := 3; i >= 0; i-- {
		if w := l.pending[i]; w != 0 {
			for b := 63; b >= 0; b-- {
				if w&(1<<b) != 0 {
					return uint8(i*64 + b), true
				}
			}
		}
	}
	return 0, false
}

// deliverIPI injects the highest pending IPI when v can take it.
func (h *Hypervisor) deliverIPI(v *VCPU) {
	vec, ok := v.lapic.highest()
	if !ok {
		return
	}
	if v.arch.Interruptible() {
		v.arch.InjectInterrupt(vec)
		v.lapic.pending[vec/64] &^= 1 << (vec % 64)
	} else {
		v.arch.RequestInterruptWindow()
	}
}
