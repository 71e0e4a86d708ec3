package hv

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/hypercall"
	"gozen/mm/npt"
)

// The core is tested against a fake backend: a vCPU whose "guest" is a
// script of exits, over real nested-page-table code and fake machine memory.

type fakeMachine struct {
	frames map[uint64]*[4096]byte
	next   uint64
}

func (m *fakeMachine) Alloc(n, align uint64) (uint64, bool) {
	a := align * 4096
	pa := (m.next + a - 1) / a * a
	m.next = pa + n*4096
	for i := uint64(0); i < n; i++ {
		m.frames[pa+i*4096] = new([4096]byte)
	}
	return pa, true
}
func (m *fakeMachine) Free(pa, n uint64) {
	for i := uint64(0); i < n; i++ {
		delete(m.frames, pa+i*4096)
	}
}
func (m *fakeMachine) Bytes(pa, n uint64) []byte  { return m.frames[pa&^4095][pa%4096 : pa%4096+n] }
func (m *fakeMachine) AllocTable() (uint64, bool) { return m.Alloc(1, 1) }
func (m *fakeMachine) FreeTable(pa uint64)        { m.Free(pa, 1) }
func (m *fakeMachine) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(m.frames[pa]))
}

type fakeEnv struct {
	m     *fakeMachine
	now   int64
	armed []int64 // every ArmTimer deadline
	// Scratch memory: none when noScratch is set; lent counts the
	// buffers not given back.
	noScratch bool
	lent      int
	// scrub is how many ScrubIdle batches of work are left; scrubbed
	// counts the batches done and scrubAt the time of each.
	scrub    int
	scrubbed int
	scrubAt  []int64
}

func (e *fakeEnv) ScrubIdle() bool {
	if e.scrub == 0 {
		return false
	}
	e.scrub--
	e.scrubbed++
	e.scrubAt = append(e.scrubAt, e.now)
	return true
}

func (e *fakeEnv) Scratch(n uint64) ([]byte, func()) {
	if e.noScratch {
		return nil, nil
	}
	e.lent++
	return make([]byte, n), func() { e.lent-- }
}

func (e *fakeEnv) Now() int64       { e.now += 1000; return e.now }
func (e *fakeEnv) ArmTimer(d int64) { e.armed = append(e.armed, d) }
func (e *fakeEnv) NewGuestMemory(poolPages uint64) (*npt.Memory, error) {
	p, err := npt.NewPool(e.m, e.m, poolPages)
	if err != nil {
		return nil, err
	}
	return npt.NewWithPool(npt.NPT, p, e.m, e.m)
}

// step sets up registers and returns the exit the "guest" takes next.
type step func(v *fakeVCPU) backend.Exit

type fakeVCPU struct {
	regs     x86.Regs
	rip      uint64
	mode     x86.Mode
	steps    []step
	injected []uint8
	irqs     []uint8
	nmis     int
	startups []uint8 // SetStartupEntry vectors
	efer     uint64
	pat      uint64
	tscOff   uint64
	ports    []backend.PortRange // PassIOPorts
	flushes  int                 // TLBFlush calls
	// forever, if set, is the exit the guest takes once its script has
	// run out; page is a frame of the hv pool the vCPU holds, as a real
	// backend's VMCB (0: none); destroyed is set by Destroy.
	forever   step
	be        *fakeBackend
	page      uint64
	destroyed bool
}

func (f *fakeVCPU) Run(e *backend.Exit) { *e = f.run() }

func (f *fakeVCPU) run() backend.Exit {
	if f.destroyed {
		panic("destroyed vCPU run")
	}
	if len(f.steps) == 0 && f.forever != nil {
		return f.forever(f)
	}
	if len(f.steps) == 0 {
		panic("guest script ran out")
	}
	s := f.steps[0]
	f.steps = f.steps[1:]
	return s(f)
}
func (f *fakeVCPU) Regs() *x86.Regs         { return &f.regs }
func (f *fakeVCPU) RIP() uint64             { return f.rip }
func (f *fakeVCPU) SetRIP(r uint64)         { f.rip = r }
func (f *fakeVCPU) RFlags() uint64          { return 2 }
func (f *fakeVCPU) Paging() x86.Paging      { return x86.Paging{CR0: 0x11, EFER: f.efer} }
func (f *fakeVCPU) SetEFER(v uint64)        { f.efer = v }
func (f *fakeVCPU) PAT() uint64             { return f.pat }
func (f *fakeVCPU) SetPAT(v uint64)         { f.pat = v }
func (f *fakeVCPU) SetTSCOffset(off uint64) { f.tscOff = off }
func (f *fakeVCPU) PassIOPorts(r []backend.PortRange) error {
	f.ports = append([]backend.PortRange(nil), r...)
	return nil
}
func (f *fakeVCPU) Mode() x86.Mode { return f.mode }
func (f *fakeVCPU) CSBase() uint64 { return 0 }
func (f *fakeVCPU) CPL() int       { return 0 }
func (f *fakeVCPU) CodeState(s *x86.CodeState) {
	*s = x86.CodeState{Paging: f.Paging(), CSBase: f.CSBase(), RIP: f.RIP(), Mode: f.Mode(), User: f.CPL() == 3}
}
func (f *fakeVCPU) TLBFlush()                    { f.flushes++ }
func (f *fakeVCPU) Dump() string                 { return "fake state" }
func (f *fakeVCPU) Destroy()                     { f.destroy() }
func (f *fakeVCPU) SetPVHEntry(entry, si uint64) { f.rip = entry; f.regs[x86.RBX] = si }
func (f *fakeVCPU) Interruptible() bool          { return true }
func (f *fakeVCPU) InjectInterrupt(vec uint8)    { f.irqs = append(f.irqs, vec) }
func (f *fakeVCPU) InjectNMI() bool              { f.nmis++; return true }
func (f *fakeVCPU) SetStartupEntry(vec uint8) {
	f.startups = append(f.startups, vec)
	f.rip, f.mode, f.regs = 0, x86.Mode16, x86.Regs{}
}
func (f *fakeVCPU) RequestInterruptWindow() {}
func (f *fakeVCPU) InjectException(vec uint8, _ uint32, _ bool) {
	f.injected = append(f.injected, vec)
}

func (f *fakeVCPU) destroy() {
	if f.destroyed {
		panic("vCPU destroyed twice")
	}
	f.destroyed = true
	f.be.live--
	if f.page != 0 {
		f.be.frames.Free(f.page, 1)
	}
}

type fakeBackend struct {
	vcpus   []*fakeVCPU
	scripts [][]step
	// The host CPU and conventions it reports (seam_test.go).
	hostCPUID func(leaf, sub uint32) (uint32, uint32, uint32, uint32)
	insn      [3]byte
	format    npt.Format
	// forever is every new vCPU's exit after its script (see fakeVCPU).
	forever step
	// frames, if set, gives every vCPU a page, as a VMCB; live counts the
	// vCPUs not destroyed.
	frames *fakeMachine
	live   int
}

func (b *fakeBackend) Name() string             { return "fake" }
func (b *fakeBackend) HypercallInsn() [3]byte   { return b.insn }
func (b *fakeBackend) PagingFormat() npt.Format { return b.format }
func (b *fakeBackend) HostCPUID(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
	if b.hostCPUID != nil {
		return b.hostCPUID(leaf, sub)
	}
	return fakeHostCPUID(leaf, sub)
}
func (b *fakeBackend) NewVCPU(uint64) (backend.VCPU, error) {
	v := &fakeVCPU{mode: x86.Mode32, pat: 0x0007040600070406, forever: b.forever, be: b}
	b.live++
	if b.frames != nil {
		v.page, _ = b.frames.Alloc(1, 1)
	}
	if len(b.scripts) > 0 {
		v.steps = b.scripts[0]
		b.scripts = b.scripts[1:]
	}
	b.vcpus = append(b.vcpus, v)
	return v, nil
}

// pvhELF builds a minimal ELF64 PVH image: code at 0x100000 (entry), a Xen
// note type 18.
func pvhELF(code []byte) []byte { return pvhELFAt(code, 0) }

// pvhELFAt is pvhELF with the code at file offset codeOff (0: right after
// the program headers).
func pvhELFAt(code []byte, codeOff uint64) []byte {
	const base = 0x100000
	note := make([]byte, 12+4+8)
	binary.LittleEndian.PutUint32(note[0:], 4)  // namesz
	binary.LittleEndian.PutUint32(note[4:], 8)  // descsz
	binary.LittleEndian.PutUint32(note[8:], 18) // type
	copy(note[12:], "Xen\x00")
	binary.LittleEndian.PutUint64(note[16:], base)
	const ehsz, phsz = 64, 56
	if codeOff == 0 {
		codeOff = ehsz + 2*phsz
	}
	noteOff := codeOff + uint64(len(code))
	b := make([]byte, noteOff+uint64(len(note)))
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], base)
	le.PutUint64(b[32:], ehsz)
	le.PutUint16(b[52:], ehsz)
	le.PutUint16(b[54:], phsz)
	le.PutUint16(b[56:], 2)
	ph := func(i int, typ uint32, off, addr, size uint64) {
		p := b[ehsz+i*phsz:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], 5)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], addr)
		le.PutUint64(p[24:], addr)
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], 4)
	}
	ph(0, 1, codeOff, base, uint64(len(code)))
	ph(1, 4, noteOff, 0, uint64(len(note)))
	copy(b[codeOff:], code)
	copy(b[noteOff:], note)
	return b
}

func newTestHV(scripts ...[]step) (*Hypervisor, *fakeBackend, *bytes.Buffer) {
	be := &fakeBackend{scripts: scripts, insn: x86.VMMCALL}
	out := &bytes.Buffer{}
	h := New(be, &fakeEnv{m: &fakeMachine{frames: map[uint64]*[4096]byte{}, next: 1 << 30}}, out)
	return h, be, out
}

// Instruction bytes at the guest's entry, in order.
var (
	insnCPUID   = []byte{0x0f, 0xa2}
	insnVMMCALL = []byte{0x0f, 0x01, 0xd9}
	insnRDMSR   = []byte{0x0f, 0x32}
	insnHLT     = []byte{0xf4}
	insnLoadMem = []byte{0x8b, 0x03} // mov eax, [ebx]
)

func exitOf(r backend.Reason) step {
	return func(*fakeVCPU) backend.Exit { return backend.Exit{Reason: r} }
}

func callXen(nr uint64, args ...uint64) step {
	return func(v *fakeVCPU) backend.Exit {
		v.regs[x86.RAX] = nr
		regs := []int{x86.RBX, x86.RCX, x86.RDX, x86.RSI, x86.RDI}
		for i, a := range args {
			v.regs[regs[i]] = a
		}
		return backend.Exit{Reason: backend.ExitHypercall}
	}
}

func TestCPUIDHypercallShutdown(t *testing.T) {
	code := append(append(append([]byte{}, insnCPUID...), insnVMMCALL...), insnVMMCALL...)
	// A string for console_io, after the code.
	msgAddr := uint64(0x100000 + len(code))
	code = append(code, "hello\n"...)
	shutdownArg := uint64(0x100000 + len(code))
	code = append(code, 0, 0, 0, 0) // reason poweroff
	var sig x86.Regs
	h, be, out := newTestHV([]step{
		func(v *fakeVCPU) backend.Exit {
			v.regs[x86.RAX] = 0x40000000
			return backend.Exit{Reason: backend.ExitCPUID}
		},
		func(v *fakeVCPU) backend.Exit {
			sig = v.regs
			v.regs[x86.RAX] = xen.HypercallConsoleIO
			v.regs[x86.RBX], v.regs[x86.RCX], v.regs[x86.RDX] = xen.ConsoleIOWrite, 6, msgAddr
			return backend.Exit{Reason: backend.ExitHypercall}
		},
		callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, shutdownArg),
	})
	d, err := h.CreateDomain(DomainConfig{Name: "t", Mem: 4 << 20, Kernel: pvhELF(code), Cmdline: "x"})
	if err != nil {
		t.Fatal(err)
	}
	h.Run()
	var s [12]byte
	binary.LittleEndian.PutUint32(s[0:], uint32(sig[x86.RBX]))
	binary.LittleEndian.PutUint32(s[4:], uint32(sig[x86.RCX]))
	binary.LittleEndian.PutUint32(s[8:], uint32(sig[x86.RDX]))
	if string(s[:]) != XenSignature || sig[x86.RAX] != hvLeafMax {
		t.Errorf("CPUID 0x40000000 = %q, max %#x", s, sig[x86.RAX])
	}
	if !strings.Contains(out.String(), "(t) hello\n") {
		t.Errorf("console output missing: %q", out.String())
	}
	if d.State() != DomainShutdown || d.shutdown != xen.ShutdownPoweroff {
		t.Errorf("state %s", d.StateString())
	}
	if v := be.vcpus[0]; v.rip != 0x100000+2+3+3 {
		t.Errorf("rip %#x: RIP not advanced past each instruction", v.rip)
	}
	if !h.CleanShutdowns() {
		t.Error("not a clean shutdown")
	}
}

func TestUnknownMSRInjectsGP(t *testing.T) {
	code := append(append([]byte{}, insnRDMSR...), insnVMMCALL...)
	code = append(code, 0, 0, 0, 0)
	h, be, _ := newTestHV([]step{
		func(v *fakeVCPU) backend.Exit {
			v.regs[x86.RCX] = 0xC0011234
			return backend.Exit{Reason: backend.ExitMSRRead, MSR: 0xC0011234}
		},
		func(v *fakeVCPU) backend.Exit {
			// The guest's #GP handler skips the RDMSR.
			v.rip += 2
			return callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100000+5)(v)
		},
	})
	if _, err := h.CreateDomain(DomainConfig{Name: "m", Mem: 4 << 20, Kernel: pvhELF(code)}); err != nil {
		t.Fatal(err)
	}
	h.Run()
	if v := be.vcpus[0]; len(v.injected) != 1 || v.injected[0] != gpVector {
		t.Errorf("injected %v, want one #GP", v.injected)
	}
}

func TestIOAndMMIOReadAllOnes(t *testing.T) {
	code := append(append([]byte{}, insnLoadMem...), insnVMMCALL...)
	code = append(code, 0, 0, 0, 0)
	var inVal, mmioVal uint64
	h, _, _ := newTestHV([]step{
		func(v *fakeVCPU) backend.Exit {
			v.regs[x86.RAX] = 0x12345678
			return backend.Exit{Reason: backend.ExitIO, Port: 0x1234, Size: 2, In: true, IONextRIP: v.rip}
		},
		func(v *fakeVCPU) backend.Exit {
			inVal = v.regs[x86.RAX]
			v.regs[x86.RBX] = 0xFEB00000
			return backend.Exit{Reason: backend.ExitNPF, GPA: 0xFEB00000}
		},
		func(v *fakeVCPU) backend.Exit {
			mmioVal = v.regs[x86.RAX]
			return callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100000+5)(v)
		},
	})
	if _, err := h.CreateDomain(DomainConfig{Name: "io", Mem: 4 << 20, Kernel: pvhELF(code)}); err != nil {
		t.Fatal(err)
	}
	h.Run()
	if inVal != 0x1234ffff {
		t.Errorf("16-bit IN gave %#x, want the low half all-ones", inVal)
	}
	if mmioVal != 0xffffffff {
		t.Errorf("MMIO read gave %#x", mmioVal)
	}
}

func TestCrashIsolation(t *testing.T) {
	bad := []step{func(v *fakeVCPU) backend.Exit {
		// Beyond the guest's 48-bit physical address width: nothing a
		// guest's own page walk produces, so a crash (unbacked addresses
		// below it are emulated I/O, conform_test.go).
		return backend.Exit{Reason: backend.ExitNPF, GPA: 1 << 50}
	}}
	good := []step{exitOf(backend.ExitNone), callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100003)}
	h, _, out := newTestHV(bad, good)
	code := append(append([]byte{}, insnVMMCALL...), 0, 0, 0, 0)
	d1, err1 := h.CreateDomain(DomainConfig{Name: "bad", Mem: 4 << 20, Kernel: pvhELF(code)})
	d2, err2 := h.CreateDomain(DomainConfig{Name: "good", Mem: 4 << 20, Kernel: pvhELF(code)})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	h.Run()
	if d1.State() != DomainCrashed || !strings.Contains(d1.crash, "0x4000000000000") {
		t.Errorf("bad domain: %s", d1.StateString())
	}
	if d2.State() != DomainShutdown {
		t.Errorf("good domain: %s", d2.StateString())
	}
	if !strings.Contains(out.String(), `domain 1 "bad" crashed: read at guest-physical 0x4000000000000, beyond its physical address width`) {
		t.Errorf("crash not logged clearly: %q", out.String())
	}
}

func TestBadImagesAreRefused(t *testing.T) {
	h, _, _ := newTestHV()
	for name, tc := range map[string]struct {
		img  []byte
		mem  uint64
		want string
	}{
		"notelf":   {[]byte("hello world, not an ELF at all"), 4 << 20, "not an ELF"},
		"toosmall": {pvhELF(make([]byte, 64)), 1 << 20, "memory"},
	} {
		if _, err := h.CreateDomain(DomainConfig{Name: name, Mem: tc.mem, Kernel: tc.img}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	if len(h.Domains()) != 0 {
		t.Error("a refused domain was kept")
	}
}

func TestHotExitsDoNotAllocate(t *testing.T) {
	code := append(append([]byte{}, insnCPUID...), insnVMMCALL...)
	h, be, _ := newTestHV(nil)
	d, err := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(code)})
	if err != nil {
		t.Fatal(err)
	}
	v := d.vcpus[0]
	f := be.vcpus[0]
	v.state = VCPURunning
	for name, e := range map[string]backend.Exit{
		"cpuid":       {Reason: backend.ExitCPUID},
		"xen_version": {Reason: backend.ExitHypercall},
		"io":          {Reason: backend.ExitIO, Port: 0x80, Size: 1, IONextRIP: 0x100000},
		"pit":         {Reason: backend.ExitIO, Port: 0x42, Size: 1, In: true, IONextRIP: 0x100000},
		"intr":        {Reason: backend.ExitNone},
	} {
		allocs := testing.AllocsPerRun(200, func() {
			f.rip = 0x100000
			if e.Reason == backend.ExitHypercall {
				f.rip = 0x100002
				f.regs[x86.RAX] = xen.HypercallXenVersion
				f.regs[x86.RBX] = xen.XenverVersion
			}
			h.handleExit(v, &e)
		})
		if allocs != 0 {
			t.Errorf("%s exit: %v allocations per exit", name, allocs)
		}
	}
}

func TestCPUIDPolicy(t *testing.T) {
	h, be, _ := newTestHV()
	be.hostCPUID = func(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
		switch leaf {
		case 0:
			return 0xd, 0x68747541, 0x444d4163, 0x69746e65
		case 1:
			return 0x800f12, 0, 0xffffffff, 0xffffffff
		case 0x80000000:
			return 0x8000000A, 0, 0, 0
		case 0x80000001:
			return 0, 0, 0xffffffff, 0xffffffff
		}
		return 1, 2, 3, 4
	}
	if _, _, c, _ := h.cpuid(nil, 1, 0); c&(1<<5|1<<26|1<<28) != 0 || c&(1<<31) == 0 {
		t.Errorf("leaf 1 ECX %#x: VMX/XSAVE/AVX not hidden or hypervisor bit missing", c)
	}
	if _, _, c, _ := h.cpuid(nil, 0x80000001, 0); c&(1<<2) != 0 {
		t.Error("SVM visible to the guest")
	}
	for _, leaf := range []uint32{0xe, 0x8000000B, 0x4000FF00, 0x40000006, 0x8FFFFFFF} {
		if a, b, c, d := h.cpuid(nil, leaf, 0); a|b|c|d != 0 {
			t.Errorf("leaf %#x out of range not zero", leaf)
		}
	}
}

func (e *fakeEnv) TSC() uint64   { return uint64(e.now) }
func (e *fakeEnv) TSCHz() uint64 { return 1_000_000_000 }
func (e *fakeEnv) AllocPage() (uint64, error) {
	pa, _ := e.m.Alloc(1, 1)
	return pa, nil
}
func (e *fakeEnv) FreePage(pa uint64)              { e.m.Free(pa, 1) }
func (e *fakeEnv) PageBytes(pa uint64) *[4096]byte { return e.m.frames[pa] }

// A vCPU that sets its own timer in the middle of a slice moves the host
// timer forward to it, so the timer fires on time even if the guest never
// exits again.
func TestOwnTimerMidSliceRearmsHostTimer(t *testing.T) {
	code := append(append([]byte{}, insnVMMCALL...), insnVMMCALL...)
	var timer int64
	var v0 *VCPU
	h, _, _ := newTestHV([]step{
		exitOf(backend.ExitNone),
		callXen(hypercall.HypercallGoZenOp, hypercall.GoZenOpTimer, 50), // 50 µs from now
		func(v *fakeVCPU) backend.Exit {
			timer = v0.timer
			return backend.Exit{Reason: backend.ExitNone}
		},
		callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100000+6),
	})
	d, err := h.CreateDomain(DomainConfig{Name: "t", Mem: 4 << 20, Kernel: pvhELF(append(code, 0, 0, 0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	v0 = d.vcpus[0]
	h.Run()
	env := h.env.(*fakeEnv)
	if timer == 0 {
		t.Fatal("the guest's timer was not set")
	}
	for _, a := range env.armed {
		if a == timer {
			return
		}
	}
	t.Errorf("host timer armed at %v, never at the guest's timer %d", env.armed, timer)
}

// newTwoDomains builds domains a and b (4 MiB each, a VMMCALL at their
// entry) on a fresh fake hv: the pair the cross-domain tests need.
func newTwoDomains(t testing.TB) (h *Hypervisor, be *fakeBackend, out *bytes.Buffer, a, b *Domain) {
	t.Helper()
	h, be, out = newTestHV(nil, nil)
	var err error
	for _, p := range []struct {
		name string
		d    **Domain
	}{{"a", &a}, {"b", &b}} {
		*p.d, err = h.CreateDomain(DomainConfig{Name: p.name, Mem: 4 << 20, Kernel: pvhELF(append([]byte{}, insnVMMCALL...))})
		if err != nil {
			t.Fatal(err)
		}
	}
	return h, be, out, a, b
}

// While no vCPU can run, the run loop clears freed memory a batch at a
// time (Env.ScrubIdle) before it sleeps, and the blocked vCPU still wakes
// on time; the monitor's stats count the batches.
func TestIdleScrubsWhileBlocked(t *testing.T) {
	var v0 *VCPU
	var deadline int64
	h, _, _ := newTestHV([]step{
		exitOf(backend.ExitNone),
		callXen(hypercall.HypercallGoZenOp, hypercall.GoZenOpTimer, 50), // 50 µs from now
		func(v *fakeVCPU) backend.Exit {
			deadline = v0.timer
			return backend.Exit{Reason: backend.ExitHLT, InsnLen: 1} // IF clear: only the timer wakes it
		},
		callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100000+6),
	})
	env := h.env.(*fakeEnv)
	env.scrub = 5
	d, err := h.CreateDomain(DomainConfig{Name: "t", Mem: 4 << 20, Kernel: pvhELF(insnVMMCALL)})
	if err != nil {
		t.Fatal(err)
	}
	v0 = d.vcpus[0]
	h.Run()
	if env.scrubbed != 5 {
		t.Fatalf("%d scrub batches, want 5", env.scrubbed)
	}
	for _, at := range env.scrubAt {
		if deadline == 0 || at >= deadline {
			t.Fatalf("scrubbed at %d, not while the vCPU waited for its timer at %d", at, deadline)
		}
	}
	if d.state != DomainShutdown {
		t.Fatalf("domain %v: the vCPU did not wake after the idle scrub", d.state)
	}
	var got uint64
	for _, g := range (hvOps{h}).stats() {
		if g.Name == "idle" {
			got = g.Counts[0].Value
		}
	}
	if got != 5 {
		t.Fatalf("stats: scrub_batches %d, want 5", got)
	}
}
