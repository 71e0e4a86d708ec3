package hv

import (
	"gozen/abi/xen"
	"gozen/hv/vlapic"
)

// Multi-vCPU domains. vCPU 0 starts at the PVH entry; the others start the
// way secondary processors do on a PC: down, waiting for a start-up IPI
// (SDM vol. 3 §8.4, "Multiple-Processor (MP) Initialization"). Linux 6.1
// as a PVH guest brings them up with native_cpu_up → do_boot_cpu →
// wakeup_secondary_cpu_via_init, which sends INIT assert, INIT de-assert
// and two start-up IPIs through the local APIC, the same path Xen's
// vlapic.c serves (vlapic_accept_irq → vlapic_init_sipi_action). The
// vCPU then runs Linux's real-mode trampoline at the start-up vector's page.
//
// APIC IDs are the vCPU indexes, as the MADT (loader.ACPITables) and
// CPUID leaf 1 (cpuid.go) report them.

// apicID is vCPU i's local APIC ID.
func apicID(i int) uint8 { return uint8(i) }

// sendIPI routes an IPI from v's local APIC to the vCPUs it names and acts
// on each: fixed and lowest-priority vectors go to the target's IRR (and
// wake it), NMIs are queued, INIT puts the target down waiting for a
// start-up IPI, and a start-up IPI starts a waiting target.
func (h *Hypervisor) sendIPI(v *VCPU, ipi vlapic.IPI) {
	d := v.dom
	apics := d.apics[:0]
	for _, t := range d.vcpus {
		apics = append(apics, t.lapic)
	}
	d.apics = apics
	d.ipiTargets = vlapic.Targets(ipi, v.id, apics, d.ipiTargets)
	for _, i := range d.ipiTargets {
		t := d.vcpus[i]
		if t.state == VCPUDead {
			continue
		}
		switch ipi.Mode {
		case vlapic.ModeFixed, vlapic.ModeLowest:
			if t.lapic.Accept(ipi.Vector, ipi.Level) {
				h.kickVCPU(t)
			}
		case vlapic.ModeNMI:
			t.nmiPending = true
			h.kickVCPU(t)
		case vlapic.ModeINIT:
			h.initVCPU(t)
		case vlapic.ModeStartup:
			h.startupVCPU(t, ipi.Vector)
		}
	}
}

// initVCPU is INIT arriving at t: its local APIC is reset (keeping its ID),
// pending NMIs and its one-shot timer are dropped, and it stops, waiting for
// a start-up IPI (Xen's vlapic_init_sipi_one → hvm_vcpu_down). If t is the
// vCPU running now, it stops at the end of this exit. If no vCPU of the
// domain is left running, nothing can start one again: the domain powers
// off, as when every vCPU halts with interrupts off.
func (h *Hypervisor) initVCPU(t *VCPU) {
	if t.waitSIPI {
		return // already in the INIT state
	}
	t.lapic.Reset(apicID(t.id))
	t.nmiPending, t.timerFired = false, false
	t.timer, t.xen.xenTimer = 0, false
	t.waitSIPI = true
	if t.state == VCPUDown {
		return
	}
	h.vcpuDown(t)
}

// startupVCPU is a start-up IPI with vector arriving at t: a vCPU waiting
// for one starts in real mode at vector<<12; any other ignores it (the
// second of Linux's two start-up IPIs, or one sent to a running vCPU), as
// the SDM specifies.
func (h *Hypervisor) startupVCPU(t *VCPU, vector uint8) {
	if !t.waitSIPI || t.state != VCPUDown || t.dom.state != DomainRunning && t.dom.state != DomainPaused {
		return
	}
	t.waitSIPI = false
	t.arch.SetStartupEntry(vector)
	h.upVCPU(t)
}

// upVCPU makes a down vCPU runnable; in a paused domain it waits for
// Unpause like the domain's other vCPUs.
func (h *Hypervisor) upVCPU(t *VCPU) {
	if t.dom.state == DomainPaused {
		t.state = VCPUPaused
		return
	}
	t.state = VCPURunnable
	h.setRunstate(t, runstateRunnable)
	h.rq.Add(t)
	h.kick()
}

// BringUp implements hypercall.VCPUs (VCPUOP_up, Xen's do_vcpu_op): a vCPU
// still waiting for its first start-up IPI is not initialised (-EINVAL);
// a down one resumes where it stopped.
func (g *guest) BringUp(id int) xen.Errno {
	t := g.dom.vcpus[id]
	if t.waitSIPI || t.state == VCPUDead {
		return xen.EINVAL
	}
	if t.state == VCPUDown {
		g.h().upVCPU(t)
	}
	return 0
}

// TakeDown implements hypercall.VCPUs (VCPUOP_down).
func (g *guest) TakeDown(id int) {
	t := g.dom.vcpus[id]
	if t.state != VCPUDown && t.state != VCPUDead {
		g.h().vcpuDown(t)
	}
}

// SendNMI implements hypercall.VCPUs (VCPUOP_send_nmi): the NMI is
// injected at the target's next entry.
func (g *guest) SendNMI(id int) {
	t := g.dom.vcpus[id]
	t.nmiPending = true
	g.h().kickVCPU(t)
}
