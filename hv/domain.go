package hv

import (
	"errors"
	"fmt"
	"strings"

	"gozen/event"
	"gozen/grant"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/vlapic"
	"gozen/hv/x86"
	"gozen/loader"
	"gozen/mm/npt"
	"gozen/sched"
)

// DomainState is a domain's lifecycle state.
type DomainState int

// Domain states.
const (
	DomainBuilding DomainState = iota
	DomainRunning
	DomainPaused
	DomainShutdown // the guest asked to stop (see ShutdownReason)
	DomainCrashed  // hv stopped it (see CrashReason)
	DomainDead     // resources released
)

var domainStateNames = [...]string{"building", "running", "paused", "shutdown", "crashed", "dead"}

func (s DomainState) String() string { return domainStateNames[s] }

// ShutdownName names a SHUTDOWN_* reason (abi/xen's names).
func ShutdownName(r uint32) string {
	if n := xen.ShutdownReasonName(r); n != "" {
		return n
	}
	return fmt.Sprintf("reason %d", r)
}

// VCPUState is a vCPU's scheduling state.
type VCPUState int

// vCPU states.
const (
	VCPURunnable VCPUState = iota // waiting for the CPU
	VCPURunning                   // in the guest (or handling its exit)
	VCPUBlocked                   // halted until a timer or an event
	VCPUPaused                    // its domain is paused
	VCPUDown                      // not started (secondary vCPUs before bring-up)
	VCPUDead
)

func (s VCPUState) String() string {
	switch s {
	case VCPURunnable:
		return "runnable"
	case VCPURunning:
		return "running"
	case VCPUBlocked:
		return "blocked"
	case VCPUPaused:
		return "paused"
	case VCPUDown:
		return "down"
	case VCPUDead:
		return "dead"
	}
	return fmt.Sprintf("state %d", int(s))
}

// Domain is a guest.
type Domain struct {
	hv       *Hypervisor
	id       uint16
	name     string
	memSize  uint64
	mem      *npt.Memory
	vcpus    []*VCPU
	state    DomainState
	shutdown uint32
	crash    string
	console  lineBuffer
	// Reports from the test ABI (gozen_op report), by key.
	reports map[uint32][]uint32
	xen     xenDomain
	cpuTime int64 // ns its vCPUs ran
	ev      *event.Domain
	gnt     *grant.Domain
	xs      domainStore // its xenstore ring (xen_store.go)
	// released is set by release; lingering while its memory waits for
	// other domains to unmap its grants (it is in h.zombies).
	released, lingering bool
	io                  domainIO // port I/O: PIT channel 2, exit counts (portcount.go)
	// privileged: dom0 (DomainConfig.Dom0), whose event channels and grant
	// table are privileged and which may use the dom0-only hypercalls;
	// dom0 holds what hv keeps for it (dom0.go), nil for a domU.
	privileged bool
	dom0       *dom0State
	// apics and ipiTargets are reused by sendIPI (smp.go), so IPIs do not
	// allocate.
	apics      []*vlapic.LAPIC
	ipiTargets []int
	// toolstack: created empty by dom0's createdomain (toolstack.go), not
	// built by hv. ran: unpaused at least once (a toolstack domain that
	// has not run is still being built: toolstack.go, Unstarted).
	toolstack bool
	ran       bool
	// handle is the toolstack's UUID for the domain (xen_domain_handle_t),
	// which getdomaininfo reports: createdomain's, or the last
	// setdomainhandle's; zero for a domain hv built until dom0 names it.
	handle [xen.XenDomainHandleLen]byte
	// storeDom0: built by hv with XenstoreInDom0 (dom0's toolstack
	// manages it once dom0 introduces it).
	storeDom0 bool
	// weight and cap are its CPU share (the credit scheduler's parameters).
	weight, cap int
	// maxMem is its memory limit once dom0 has set one (max_mem).
	maxMem    uint64
	maxMemSet bool
	// foreignRefs counts dom0's foreign mappings of its frames; while it is
	// above 0 a released domain keeps its memory and grant-table frames
	// (maybeFree). grantsDone: no other domain maps its grants any more;
	// tableMFNs are its grant-table frames, freed with its memory.
	foreignRefs int
	grantsDone  bool
	tableMFNs   []uint64
}

// Privileged reports whether d is the privileged domain (dom0).
func (d *Domain) Privileged() bool { return d.privileged }

// ID is the domain ID.
func (d *Domain) ID() uint16 { return d.id }

// Name is the domain's name.
func (d *Domain) Name() string { return d.name }

// State is the domain's state (safe from any goroutine).
func (d *Domain) State() DomainState {
	d.hv.mu.Lock()
	defer d.hv.mu.Unlock()
	return d.state
}

// StateString describes the state with its reason.
func (d *Domain) StateString() string {
	switch d.state {
	case DomainShutdown:
		return "shutdown (" + ShutdownName(d.shutdown) + ")"
	case DomainCrashed:
		return "crashed: " + d.crash
	}
	return d.state.String()
}

// VCPU is one virtual CPU of a domain.
type VCPU struct {
	id         int
	dom        *Domain
	arch       backend.VCPU
	state      VCPUState
	timer      int64 // one-shot timer deadline (Env.Now units); 0 = none
	timerFired bool  // the timer fired since the vCPU last halted
	exitCount  uint64
	slices     uint64
	cpuTime    int64    // ns spent running
	insn       [15]byte // instruction fetch buffer
	// exit is the exit being handled (the backend's Run writes it in
	// place); code is the state the last instruction fetch ran with.
	exit backend.Exit
	code x86.CodeState
	// fetchCache remembers how the last fetch's code page translated, so
	// repeated exits from the same code skip the page walks.
	fetchCache x86.FetchCache
	// wakeOnUnpause: something woke the blocked vCPU while its domain was
	// paused; Unpause makes it runnable.
	wakeOnUnpause bool
	xen           xenVCPU
	// lapic is the vCPU's local APIC (lapic.go); nmiPending an NMI waiting
	// for injection; waitSIPI that INIT (or power-on, for a secondary
	// vCPU) left it down waiting for a start-up IPI (smp.go).
	lapic      *vlapic.LAPIC
	nmiPending bool
	waitSIPI   bool
}

// DomainConfig describes a domain to build.
type DomainConfig struct {
	Name    string
	Mem     uint64
	VCPUs   int
	Kernel  []byte // a PVH ELF image, or a Linux bzImage holding one
	Cmdline string
	Ramdisk []byte // optional initial ramdisk (start_info module 0)
	// KernelAt and RamdiskAt, when not 0, are the machine addresses of
	// Kernel and Ramdisk, which hv may then give to a domU as RAM in
	// place of a copy (lendOrWrite): the caller gives up those frames for
	// good, and neither it nor anyone else may use them after. Ignored
	// for dom0 and for a bzImage's kernel.
	KernelAt, RamdiskAt uint64
	// Weight (1..65535, default 256) and Cap (percent of one CPU, 0 for
	// none) set the domain's CPU share, as in Xen's credit scheduler.
	Weight, Cap int
	// P2MPool is the size in bytes of the domain's paging pool, which holds
	// its nested page tables (Xen's shadow_memory); 0 for the default,
	// npt.DefaultPoolPages. See p2mPoolPages in balloon.go.
	P2MPool uint64
	// Dom0 makes the domain the privileged dom0 (dom0.go): RAM at its
	// machine addresses, the machine's devices, ports and firmware tables.
	// At most one domain is dom0.
	Dom0 *Dom0Config
	// XenstoreInDom0 makes a domU's xenstore dom0's xenstored, reached
	// late (Xen's dom0less "xen,enhanced" domains): hv serves it no store,
	// sets HVM_PARAM_STORE_PFN to ~0 so Linux waits for its store port,
	// offered unbound to dom0, and hands its console to dom0's
	// xenconsoled when that binds the console port (setupStore,
	// offerConsole). dom0's `xl init-dom0less` connects it.
	XenstoreInDom0 bool
}

// lendOrWrite puts p at guest-physical gpa of a domain being built. With
// at, the machine address of p, not 0 and at and gpa at the same offset in
// their pages, the guest pages p fills completely become the machine frames
// that hold them (npt.Memory.Lend), instead of copies in the domain's own
// frames, which go back to the pool untouched; the partial pages at either
// end are copied. The caller lends no frame twice (segmentsShareBytes).
func lendOrWrite(mem *npt.Memory, gpa uint64, p []byte, at uint64) error {
	if at == 0 || (at-gpa)%pageSize != 0 {
		return mem.WritePhys(gpa, p)
	}
	head := int((pageSize - gpa%pageSize) % pageSize)
	head = min(head, len(p))
	if err := mem.WritePhys(gpa, p[:head]); err != nil {
		return err
	}
	off := head
	for ; off+pageSize <= len(p); off += pageSize {
		hpa, g := at+uint64(off), gpa+uint64(off)
		if mem.Lend(g/pageSize, hpa) == nil {
			continue
		}
		if err := mem.WritePhys(g, p[off:off+pageSize]); err != nil {
			return err
		}
	}
	return mem.WritePhys(gpa+uint64(off), p[off:])
}

// segmentsShareBytes reports whether two segments' data come from
// overlapping parts of the file. Only pages a segment fills completely are
// lent, so segments that share no byte share no lent frame.
func segmentsShareBytes(segs []loader.Segment) bool {
	for i, a := range segs {
		for _, b := range segs[i+1:] {
			if len(a.Data) > 0 && len(b.Data) > 0 &&
				a.Offset < b.Offset+uint64(len(b.Data)) && b.Offset < a.Offset+uint64(len(a.Data)) {
				return true
			}
		}
	}
	return false
}

// CreateDomain builds a domain from a PVH kernel image and starts it. On
// error nothing of the domain remains and the error says what was wrong
// with it; other domains are unaffected. Safe from any goroutine: the
// domain is built on the run loop (which owns the backend and the
// scheduler), so a large image stalls the running domains while it loads.
func (h *Hypervisor) CreateDomain(cfg DomainConfig) (*Domain, error) {
	var d *Domain
	var err error
	h.exec(func() { d, err = h.createDomain(cfg) })
	return d, err
}

func (h *Hypervisor) createDomain(cfg DomainConfig) (*Domain, error) {
	if cfg.VCPUs < 1 {
		cfg.VCPUs = 1
	}
	if cfg.Mem%4096 != 0 {
		cfg.Mem = (cfg.Mem + 4095) &^ 4095
	}
	kernel, kernelAt := cfg.Kernel, cfg.KernelAt
	if cfg.Dom0 != nil {
		kernelAt, cfg.RamdiskAt = 0, 0
	}
	if loader.IsBzImage(kernel) {
		kernelAt = 0
		vmlinux, release, err := h.extractVmlinux(cfg.Name, kernel)
		if err != nil {
			return nil, fmt.Errorf("kernel image: %w", err)
		}
		defer release() // the segments are in guest memory by then
		kernel = vmlinux
	}
	img, err := loader.ParseELF(kernel)
	if err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	memTop := cfg.Mem // RAM is [0, memTop) for a domU
	if cfg.Dom0 != nil {
		for _, o := range h.domains {
			if o.privileged {
				return nil, fmt.Errorf("domain %d %q is dom0 already: at most one domain can be dom0", o.id, o.name)
			}
		}
		cfg.Mem = dom0Total(cfg.Dom0.RAM)
		memTop = dom0Main(cfg.Dom0.RAM).End - dom0ACPISize
		if err := checkDom0Image(img, cfg.Dom0.RAM); err != nil {
			return nil, fmt.Errorf("kernel image: %w", err)
		}
	} else if err := img.Check(cfg.Mem, loader.LowLoadLimit); err != nil {
		return nil, fmt.Errorf("kernel image: %w", err)
	}
	var id uint16
	if cfg.Dom0 != nil {
		// dom0 is domain 0, as in Xen: Linux's XS_LOCAL xenstore binds
		// its own store port with bind_interdomain(remote_dom=0), and
		// the toolstack names it 0 (xl list's Domain-0).
		if h.byID(0) != nil || h.zombies[0] != nil || h.grants.Domain(0) != nil {
			return nil, errors.New("domain ID 0 is still in use")
		}
	} else if id, err = h.allocID(); err != nil {
		return nil, err
	}
	var mem *npt.Memory
	if cfg.Dom0 != nil {
		mem, err = h.newDom0Memory(cfg)
	} else {
		mem, err = h.newDomainMemory(cfg)
	}
	if err != nil {
		return nil, err
	}
	d := &Domain{hv: h, id: id, name: cfg.Name, memSize: cfg.Mem, mem: mem, state: DomainBuilding, reports: map[uint32][]uint32{},
		weight: cfg.Weight, cap: cfg.Cap, storeDom0: cfg.XenstoreInDom0 && cfg.Dom0 == nil}
	if d.weight == 0 {
		d.weight = sched.DefaultWeight
	}
	fail := func(err error) (*Domain, error) {
		d.release()
		return nil, err
	}
	if kernelAt != 0 && segmentsShareBytes(img.Segments) {
		kernelAt = 0 // a frame must not be lent at two places
	}
	for _, s := range img.Segments {
		at := uint64(0)
		if kernelAt != 0 {
			at = kernelAt + s.Offset
		}
		if err := lendOrWrite(mem, s.Paddr, s.Data, at); err != nil {
			return fail(fmt.Errorf("loading segment at %#x: %w", s.Paddr, err))
		}
		if s.Memsz > uint64(len(s.Data)) {
			if err := mem.Zero(s.Paddr+uint64(len(s.Data)), s.Memsz-uint64(len(s.Data))); err != nil {
				return fail(err)
			}
		}
	}
	var mods []loader.ModulePlacement
	if cfg.Ramdisk != nil {
		mods, err = img.PlaceModules(memTop, []loader.Module{{Data: cfg.Ramdisk}})
		if err != nil {
			return fail(fmt.Errorf("ramdisk: %w", err))
		}
		if err := lendOrWrite(mem, mods[0].Paddr, cfg.Ramdisk, cfg.RamdiskAt); err != nil {
			return fail(fmt.Errorf("ramdisk: %w", err))
		}
	}
	for i := 0; i < cfg.VCPUs; i++ {
		a, err := h.be.NewVCPU(mem.Root())
		if err != nil {
			return fail(err)
		}
		a.SetTSCOffset(h.tscOffset())
		v := &VCPU{id: i, dom: d, arch: a, state: VCPUDown, waitSIPI: i != 0, lapic: vlapic.New(apicID(i))}
		d.vcpus = append(d.vcpus, v)
	}
	var bi loader.BootInfo
	if cfg.Dom0 != nil {
		// dom0 gets the host's ACPI tables (rewritten) and the host's
		// memory map; a domU the tables Xen's toolstack builds.
		memmap, rsdp, err := h.setupDom0(d, cfg)
		if err != nil {
			return fail(fmt.Errorf("dom0: %w", err))
		}
		bi, err = loader.BuildStartInfo(loader.BootInfoBase, loader.BootInfoLimit, memmap, cfg.Cmdline, mods,
			xen.SIFPrivileged|xen.SIFInitDomain, rsdp)
		if err != nil {
			return fail(fmt.Errorf("boot information: %w", err))
		}
		if err := mem.WritePhys(bi.Paddr, bi.Bytes); err != nil {
			return fail(err)
		}
	} else if bi, err = writeBootInfo(mem, cfg, mods); err != nil {
		return fail(err)
	}
	d.vcpus[0].arch.SetPVHEntry(img.Entry32, bi.StartInfo)
	d.vcpus[0].state = VCPURunnable
	if err := h.addEvents(d); err != nil {
		return fail(fmt.Errorf("event channels: %w", err))
	}
	if err := h.addGrants(d); err != nil {
		return fail(fmt.Errorf("grant table: %w", err))
	}
	if err := h.setupXen(d); err != nil {
		return fail(err)
	}
	if err := h.setupStore(d); err != nil {
		return fail(err)
	}
	weight := uint64(cfg.Weight)
	if weight == 0 {
		weight = sched.DefaultWeight
	}
	h.rq.SetGroup(int(d.id), weight, uint64(cfg.Cap))
	for _, v := range d.vcpus {
		h.rq.Join(v, int(d.id))
	}
	h.mu.Lock()
	d.state = DomainRunning
	h.domains = append(h.domains, d)
	h.mu.Unlock()
	h.rq.Add(d.vcpus[0])
	h.kick()
	kind := ""
	if d.privileged {
		kind = ", dom0 (privileged, identity p2m " + rangesString(cfg.Dom0.RAM) + ")"
	}
	if n := mem.Lent(); n > 0 {
		kind += fmt.Sprintf(", %d KiB of its RAM the boot modules' own frames", n*pageSize>>10)
	}
	h.logf("domain %d %q: %d MiB (%d x 2 MiB pages), %d vCPU(s), PVH entry %#x, cmdline %q%s",
		d.id, d.name, cfg.Mem>>20, mem.BigPages(), cfg.VCPUs, img.Entry32, cfg.Cmdline, kind)
	return d, nil
}

// allocID picks the next free domain ID, Xen-style: IDs go round from the
// last one given, skipping those still in use by a listed domain or by one
// whose memory another domain still maps (a zombie), and never 0 (dom0's:
// CreateDomain gives it to the domain built with Dom0 set) or the reserved
// IDs from DOMID_FIRST_RESERVED.
func (h *Hypervisor) allocID() (uint16, error) {
	for range xen.DomIDFirstReserved {
		id := h.nextID
		h.nextID++
		if h.nextID >= xen.DomIDFirstReserved {
			h.nextID = 1
		}
		if h.byID(id) == nil && h.zombies[id] == nil && h.grants.Domain(id) == nil {
			return id, nil
		}
	}
	return 0, errors.New("no free domain ID")
}

// extractVmlinux decompresses the ELF kernel inside bzImage bz. It goes to
// Env's scratch memory when there is some, since hv's own heap is small
// (a distribution vmlinux is over 60 MiB), and otherwise to the heap.
// release gives the memory back; nothing may use vmlinux after it.
func (h *Hypervisor) extractVmlinux(name string, bz []byte) (vmlinux []byte, release func(), err error) {
	t0 := h.env.Now()
	n, err := loader.VmlinuxSize(bz)
	if err != nil {
		return nil, nil, err
	}
	buf, release := h.env.Scratch(uint64(n))
	if buf == nil {
		buf, release = make([]byte, n), func() {}
	}
	if err := loader.ExtractVmlinuxInto(bz, buf); err != nil {
		release()
		return nil, nil, err
	}
	h.logf("domain %q: bzImage of %d bytes decompressed to a %d-byte vmlinux in %d ms",
		name, len(bz), n, (h.env.Now()-t0)/1e6)
	return buf, release, nil
}

// release frees what d holds (Xen's domain_kill, then domain_destroy once
// nothing refers to it): its vCPUs and their backend structures, its
// scheduler entries, its event channels, the grant mappings it holds of
// other domains; then its RAM, nested page tables and grant-table frames
// (shared_info and vcpu_info live in its RAM). If another domain still
// maps one of its grants, those last go only when the last such mapping
// does: the grant package keeps the domain as a zombie and calls
// grantsGone then. Only the first call does anything.
func (d *Domain) release() {
	if d.released {
		return
	}
	d.released = true
	h := d.hv
	h.storeRelease(d) // before its memory (the ring page) goes
	for _, v := range d.vcpus {
		h.rq.Leave(v)
		if v.state != VCPUDead {
			v.state = VCPUDead
			v.arch.Destroy()
		}
	}
	h.rq.RemoveGroup(int(d.id))
	if d.ev != nil {
		h.events.RemoveDomain(d.ev)
		d.ev = nil
	}
	h.dropAllForeign(d) // dom0's mappings of other domains' frames
	// The domain is a zombie (its ID is not reused) until maybeFree frees
	// its memory: at once, or when nothing maps its frames any more.
	h.zombies[d.id] = d
	if d.gnt == nil {
		d.grantsDone = true
		d.maybeFree()
		return
	}
	// Other domains' grants this one mapped are undone. If others still
	// map this domain's grants, it lingers (a Xen zombie) until they let
	// go: its pages must not go to anyone else while they are mapped.
	// Otherwise grantsGone runs before ReleaseDomain returns.
	g := d.gnt
	d.gnt = nil
	if h.grants.ReleaseDomain(g) {
		d.lingering = true
		h.logf("domain %d %q: keeping its memory while other domains map its grants", d.id, d.name)
	}
}

// grantsGone is the grant package's OnGone: domain id's grant state is gone
// (released, and no foreign mapping of its grants is left), so its memory
// and its grant-table frames can be freed, unless dom0 still maps some of
// them (maybeFree).
func (h *Hypervisor) grantsGone(id uint16, tableMFNs []uint64) {
	d := h.zombies[id]
	if d == nil {
		for _, mfn := range tableMFNs {
			h.env.FreePage(mfn * pageSize)
		}
		return
	}
	d.grantsDone = true
	d.tableMFNs = tableMFNs
	d.maybeFree()
}

// maybeFree frees a released domain's memory and grant-table frames once
// no other domain maps its grants and dom0 maps none of its frames.
func (d *Domain) maybeFree() {
	if !d.released || !d.grantsDone {
		return
	}
	h := d.hv
	if d.foreignRefs > 0 {
		if !d.lingering {
			d.lingering = true
			h.logf("domain %d %q: keeping its memory while dom0 maps %d of its frames", d.id, d.name, d.foreignRefs)
		}
		return
	}
	if h.zombies[d.id] == d {
		delete(h.zombies, d.id)
	}
	d.freeMemory()
	if d.lingering {
		d.lingering = false
		h.logf("domain %d %q: memory released, no other domain maps it any more", d.id, d.name)
	}
	// After the physmap is gone (it mapped the table frames): nothing
	// refers to them any more.
	for _, mfn := range d.tableMFNs {
		h.env.FreePage(mfn * pageSize)
	}
	d.tableMFNs = nil
}

// freeMemory releases d's RAM and nested page tables.
func (d *Domain) freeMemory() {
	if d.mem != nil {
		d.mem.Release()
		d.mem = nil
	}
}

// crashDomain stops d because of something its guest did, with a log line
// that says what; hv and the other domains carry on.
func (h *Hypervisor) crashDomain(v *VCPU, why string) {
	d := v.dom
	if d.state != DomainRunning && d.state != DomainPaused {
		return
	}
	h.crash(d, v, why)
}

// crash stops running or paused d, logging why and the state of v (the
// vCPU whose exit caused it; nil when asked from outside).
func (h *Hypervisor) crash(d *Domain, v *VCPU, why string) {
	d.console.flush(h.out, d.name)
	h.logf("domain %d %q crashed: %s", d.id, d.name, why)
	h.logPortExits(d)
	if v != nil {
		fmt.Fprintf(h.out, "hv: vcpu %d state: %s\n", v.id, indent(v.arch.Dump()))
	}
	d.crash = why
	h.storeShutdown(d)
	h.endDomain(d)
	d.setState(DomainCrashed)
	h.domainException(d)
}

// shutdownDomain ends d at its guest's request.
func (h *Hypervisor) shutdownDomain(d *Domain, reason uint32) {
	if d.state != DomainRunning && d.state != DomainPaused {
		return
	}
	d.console.flush(h.out, d.name)
	h.logf("domain %d %q shut down: %s", d.id, d.name, ShutdownName(reason))
	h.logPortExits(d)
	h.logCPUTimes()
	d.shutdown = reason
	h.storeShutdown(d)
	h.endDomain(d)
	d.setState(DomainShutdown)
	h.domainException(d)
}

// endDomain stops d, which shut down or crashed. A domain dom0's toolstack
// created keeps its memory, grant table, event channels and vCPU records
// (none of them runnable again) until the toolstack destroys it, as in
// Xen, where a shut-down domain lists its memory and vCPUs (xl list's
// state s or c) until XEN_DOMCTL_destroydomain: that is what lets
// on_crash="preserve" keep a domain to inspect. A domain hv built has no
// toolstack to destroy it and is released at once, unless dom0's toolstack
// manages it (XenstoreInDom0).
func (h *Hypervisor) endDomain(d *Domain) {
	if !d.toolstack && !d.storeDom0 {
		d.release()
		return
	}
	for _, v := range d.vcpus {
		switch v.state {
		case VCPURunnable, VCPURunning, VCPUBlocked:
			// A running vCPU is the one whose exit ended the domain: its
			// slice ends (runSlice sees the state). VCPUPaused keeps it
			// counted online and out of unblock's and the timers' reach;
			// unpause refuses a domain that is not paused.
			h.rq.Remove(v)
			v.state = VCPUPaused
			v.wakeOnUnpause = false
			h.setRunstate(v, runstateOffline)
		}
	}
}

// CleanShutdowns reports whether every domain that ended shut down with
// poweroff.
func (h *Hypervisor) CleanShutdowns() bool {
	clean := true
	h.exec(func() {
		clean = !h.unclean // a domain destroyed before it powered off
		for _, d := range h.domains {
			if d.state != DomainShutdown || d.shutdown != xen.ShutdownPoweroff {
				clean = false
			}
		}
	})
	return clean
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// Report returns the values a domain reported through the test ABI under key.
func (d *Domain) Report(key uint32) []uint32 { return d.reports[key] }

// CPUTime is how long d's vCPUs have run.
func (d *Domain) CPUTime() int64 { return d.cpuTime }

// logCPUTimes prints how much CPU every domain has had so far.
func (h *Hypervisor) logCPUTimes() {
	line := "CPU time so far:"
	for _, o := range h.domains {
		line += fmt.Sprintf(" %s %.3fs", o.name, float64(o.cpuTime)/1e9)
	}
	h.logf("%s", line)
}
