package hv

import (
	"testing"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/vlapic"
	"gozen/hv/x86"
)

var insnStore = []byte{0x89, 0x03} // mov [ebx], eax

// apicStore is the guest writing val to APIC register reg with a 32-bit
// store (the code at RIP must be insnStore).
func apicStore(reg uint32, val uint32) step {
	return func(v *fakeVCPU) backend.Exit {
		v.regs[x86.RBX] = LAPICBase + uint64(reg)
		v.regs[x86.RAX] = uint64(val)
		return backend.Exit{Reason: backend.ExitNPF, GPA: LAPICBase + uint64(reg), Write: true}
	}
}

// Linux's wakeup_secondary_cpu_via_init, through the APIC page: INIT
// assert, INIT de-assert, two start-up IPIs. The secondary vCPU starts once,
// in real mode at the vector's page; the second start-up IPI is ignored.
func TestINITSIPIStartsSecondary(t *testing.T) {
	var code []byte
	for range 6 {
		code = append(code, insnStore...)
	}
	code = append(code, insnHLT...)
	var ranMode x86.Mode
	var ranRIP uint64 = 1
	bsp := []step{
		apicStore(vlapic.RegICRHigh, 1<<24),
		apicStore(vlapic.RegICRLow, 0xc500), // INIT, level, assert
		apicStore(vlapic.RegICRLow, 0x8500), // INIT level de-assert: nothing
		apicStore(vlapic.RegICRLow, 0x069a), // start-up, vector 0x9a
		apicStore(vlapic.RegICRLow, 0x069a), // the second: ignored
		apicStore(vlapic.RegICRLow, 0x0630), // start-up to a running vCPU: ignored
		exitOf(backend.ExitHLT),             // IF clear: vCPU 0 goes down
	}
	ap := []step{
		func(v *fakeVCPU) backend.Exit {
			ranMode, ranRIP = v.mode, v.rip
			return backend.Exit{Reason: backend.ExitHLT, InsnLen: 1}
		},
	}
	h, be, out := newTestHV(bsp, ap)
	d, err := h.CreateDomain(DomainConfig{Name: "smp", Mem: 4 << 20, VCPUs: 2, Kernel: pvhELF(code)})
	if err != nil {
		t.Fatal(err)
	}
	if d.vcpus[1].state != VCPUDown || !d.vcpus[1].waitSIPI {
		t.Fatal("a secondary vCPU must start down, waiting for a start-up IPI")
	}
	h.Run()
	if got := be.vcpus[1].startups; len(got) != 1 || got[0] != 0x9a {
		t.Errorf("start-up entries %#x, want one at vector 0x9a", got)
	}
	if ranMode != x86.Mode16 || ranRIP != 0 {
		t.Errorf("the secondary ran in mode %v at rip %#x, want real mode at 0", ranMode, ranRIP)
	}
	if d.State() != DomainShutdown {
		t.Errorf("domain %s; log:\n%s", d.StateString(), out)
	}
}

// INIT stops a running vCPU and resets its APIC; a start-up IPI restarts it.
func TestINITResetsTarget(t *testing.T) {
	h, _, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "i", Mem: 4 << 20, VCPUs: 3, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	v0, v1 := d.vcpus[0], d.vcpus[1]
	h.startupVCPU(v1, 0x10)
	if v1.state != VCPURunnable || v1.waitSIPI || !h.rq.Contains(v1) {
		t.Fatal("start-up IPI did not make vCPU 1 runnable")
	}
	v1.lapic.Write(vlapic.RegSVR, 0x1ff, 0)
	v1.lapic.Accept(0x50, false)
	v1.nmiPending = true
	h.sendIPI(v0, vlapic.IPI{Mode: vlapic.ModeINIT, Dest: 1})
	if v1.state != VCPUDown || !v1.waitSIPI || h.rq.Contains(v1) || v1.nmiPending {
		t.Errorf("INIT left vCPU 1 in state %d (waitSIPI %v)", v1.state, v1.waitSIPI)
	}
	if v1.lapic.Enabled() || v1.lapic.InRequest(0x50) || v1.lapic.ID() != 1 {
		t.Error("INIT did not reset the APIC (keeping its ID)")
	}
	if d.state != DomainRunning {
		t.Errorf("domain %s after INIT of one vCPU", d.state)
	}
	// All-but-self INIT leaves vCPU 0 running.
	h.sendIPI(v0, vlapic.IPI{Mode: vlapic.ModeINIT, Shorthand: vlapic.ShortAllButSelf})
	if v0.state == VCPUDown || d.vcpus[2].state != VCPUDown {
		t.Error("all-but-self INIT")
	}
}

// Fixed IPIs land in the target's IRR, wake it, and are injected by
// priority; EOI retires them; NMIs are injected as NMIs; an IPI to a
// software-disabled APIC is dropped.
func TestIPIDelivery(t *testing.T) {
	h, be, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "p", Mem: 4 << 20, VCPUs: 2, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	v0, v1 := d.vcpus[0], d.vcpus[1]
	h.startupVCPU(v1, 0x10)
	h.sendIPI(v0, vlapic.IPI{Vector: 0x40, Dest: 1})
	if v1.lapic.InRequest(0x40) {
		t.Error("a software-disabled APIC accepted a fixed IPI")
	}
	v1.lapic.Write(vlapic.RegSVR, 0x1ff, 0)
	v1.state = VCPUBlocked
	h.rq.Remove(v1)
	h.sendIPI(v0, vlapic.IPI{Vector: 0x40, Dest: 1})
	h.sendIPI(v0, vlapic.IPI{Vector: 0x61, Dest: 1})
	if v1.state != VCPURunnable {
		t.Error("the IPI did not wake the blocked vCPU")
	}
	f1 := be.vcpus[1]
	h.deliverInterrupt(v1)
	h.deliverInterrupt(v1) // 0x40 waits: 0x61 is in service
	if len(f1.irqs) != 1 || f1.irqs[0] != 0x61 || !v1.lapic.InService(0x61) {
		t.Fatalf("injected %#x, want [0x61] in service", f1.irqs)
	}
	v1.lapic.Write(vlapic.RegEOI, 0, 0)
	h.deliverInterrupt(v1)
	if len(f1.irqs) != 2 || f1.irqs[1] != 0x40 {
		t.Errorf("after EOI injected %#x, want 0x40 next", f1.irqs)
	}
	h.sendIPI(v0, vlapic.IPI{Mode: vlapic.ModeNMI, Shorthand: vlapic.ShortAll})
	h.deliverInterrupt(v1)
	if f1.nmis != 1 || v1.nmiPending || !v0.nmiPending {
		t.Errorf("NMI: injected %d, pending %v/%v", f1.nmis, v0.nmiPending, v1.nmiPending)
	}
}

// The APIC page through the MMIO path: ESR's write-before-read for an
// illegal vector, narrow reads, wide and misaligned accesses that do not
// crash the guest.
func TestLAPICMMIO(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	f.mode = x86.Mode64
	load := func(code []byte, off uint64) uint64 {
		f.regs[x86.RAX] = 0xdeadbeefdeadbeef
		op, err := x86.DecodeMMIO(code, x86.Mode64, &f.regs)
		if err != nil {
			t.Fatal(err)
		}
		h.lapicMMIO(v, off, &op)
		return f.regs[x86.RAX]
	}
	store := func(off uint64, val uint32) {
		f.regs[x86.RAX] = uint64(val)
		op, err := x86.DecodeMMIO(insnStore, x86.Mode64, &f.regs)
		if err != nil {
			t.Fatal(err)
		}
		h.lapicMMIO(v, off, &op)
	}
	if got := load(insnLoadMem, vlapic.RegVersion); got != vlapic.VersionValue {
		t.Errorf("version %#x", got)
	}
	if got := load([]byte{0x0f, 0xb6, 0x03}, vlapic.RegVersion+2); got != 0x05 { // movzx eax, byte [ebx]
		t.Errorf("byte 2 of the version register %#x, want 5", got)
	}
	store(vlapic.RegSVR, 0x1ff)
	store(vlapic.RegICRLow, 0x0003) // fixed, vector 3
	if got := load(insnLoadMem, vlapic.RegESR); got != 0 {
		t.Errorf("ESR before the write %#x", got)
	}
	store(vlapic.RegESR, 0)
	if got := load(insnLoadMem, vlapic.RegESR); got != vlapic.ESRSendIllegal {
		t.Errorf("ESR %#x, want send illegal vector", got)
	}
	store(vlapic.RegTPR+4, 0xff) // misaligned: dropped
	if got := load(insnLoadMem, vlapic.RegTPR); got != 0 {
		t.Errorf("misaligned store reached TPR: %#x", got)
	}
	if got := load([]byte{0x48, 0x8b, 0x03}, vlapic.RegID); got != 0 { // mov rax, [rbx]: 64-bit read
		t.Errorf("64-bit read of the ID %#x", got)
	}
	if v.dom.state != DomainRunning {
		t.Errorf("domain %s", v.dom.StateString())
	}
}

// CPUID leaf 1 reports each vCPU's APIC ID, and the APIC base MSR marks
// only vCPU 0 as the bootstrap processor.
func TestAPICIdentity(t *testing.T) {
	h, _, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "c", Mem: 4 << 20, VCPUs: 3, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range d.vcpus {
		_, b, c, _ := h.cpuid(v, 1, 0)
		if b>>24 != uint32(i) {
			t.Errorf("vCPU %d: CPUID.1 EBX %#x", i, b)
		}
		if c&leaf1ECXTSCDeadline != 0 {
			t.Error("TSC-deadline offered")
		}
		if v.lapic.Read(vlapic.RegID, 0)>>24 != uint32(i) {
			t.Errorf("vCPU %d: APIC ID register %#x", i, v.lapic.Read(vlapic.RegID, 0))
		}
		v.state = VCPURunning
		f := v.arch.(*fakeVCPU)
		h.rdmsr(v, rdmsrExit(msrAPICBase))
		if bsp := f.regs[x86.RAX]&apicBaseBSP != 0; bsp != (i == 0) {
			t.Errorf("vCPU %d: APIC base %#x", i, f.regs[x86.RAX])
		}
	}
}

// VCPUOP_up/down as Xen's do_vcpu_op: up refuses a vCPU never started,
// resumes one taken down without resetting it; down of the last vCPU
// powers the domain off.
func TestVCPUOpUpDown(t *testing.T) {
	h, be, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, VCPUs: 2, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	g0 := (*guest)(d.vcpus[0])
	v1 := d.vcpus[1]
	if e := g0.BringUp(1); e != xen.EINVAL {
		t.Errorf("up of a vCPU never started: %d, want -EINVAL", e)
	}
	h.startupVCPU(v1, 0x9a)
	g0.TakeDown(1)
	if v1.state != VCPUDown || h.rq.Contains(v1) || (&guest{dom: d}).VCPUUp(1) {
		t.Fatal("down did not stop vCPU 1")
	}
	if e := g0.BringUp(1); e != 0 || v1.state != VCPURunnable || !h.rq.Contains(v1) {
		t.Errorf("up: %d, state %d", e, v1.state)
	}
	if n := len(be.vcpus[1].startups); n != 1 {
		t.Errorf("up reset the vCPU (%d start-up entries)", n)
	}
	g0.SendNMI(1)
	if !v1.nmiPending {
		t.Error("send_nmi")
	}
	g0.TakeDown(1)
	g0.TakeDown(0)
	if d.state != DomainShutdown || d.shutdown != xen.ShutdownPoweroff {
		t.Errorf("last vCPU down: domain %s", d.StateString())
	}
}
