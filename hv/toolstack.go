package hv

// The hypervisor side of the toolstack (issue 10): what dom0's domctl,
// sysctl and foreign memory calls do (package hypercall decodes and checks
// them; this is hypercall.Toolstack). A domain the toolstack creates starts
// empty, as under Xen: no RAM (dom0 populates it), its vCPUs down, paused,
// and hv builds nothing in it: no console ring and no xenstore connection
// of hv's (dom0's daemons serve those), only its event channels and grant
// table. dom0 loads it through foreign mappings and gives vCPU 0 its PVH
// entry state with sethvmcontext; unpausing it then runs it.
//
// Foreign mappings: dom0 maps frames of other domains at gfns of its own
// (XENMEM_add_to_physmap_batch with XENMAPSPACE_gmfn_foreign, and
// XENMEM_acquire_resource for grant-table frames). Each one is counted on
// the domain that owns the frame; a domain that dies while dom0 still maps
// some of its frames keeps its memory (and its grant-table frames) until
// the last such mapping is removed, the same zombie state a domain whose
// grants are mapped is in (lifecycle.go, release), and its frames cannot be
// given back with decrease_reservation while mapped.

import (
	"fmt"
	"sort"

	"gozen/abi/xen"
	"gozen/grant"
	"gozen/hv/vlapic"
	"gozen/hypercall"
	"gozen/mm/npt"
	"gozen/sched"
)

// foreignMap is one frame of another domain that dom0 maps.
type foreignMap struct {
	owner *Domain
	mfn   uint64
}

// invalidGFN marks "no such frame" (a toolstack-built domain has no
// console ring of hv's).
const invalidGFN = ^uint64(0)

// toolstackPoolPages is the p2m pool of a domain the toolstack creates: what
// libxl gives a 512 MiB domain with its vCPUs by default (the toolstack may
// not tell hv its memory before populating it).
func toolstackPoolPages(vcpus int) uint64 { return npt.DefaultPoolPages(512<<20, vcpus) }

// Toolstack implements hypercall.Control for dom0.
func (c dom0Control) Toolstack() hypercall.Toolstack { return toolstack{c.g.h(), c.g.dom} }

// toolstack is dom0's hypercall.Toolstack. Its methods run on the run loop
// (they are dom0's hypercalls), which owns every domain.
type toolstack struct {
	h      *Hypervisor
	caller *Domain
}

// target is a listed domain other than the caller, for the operations a
// domain may not do to itself; -ESRCH if there is none, -EINVAL for the
// caller (Xen refuses to pause or destroy the current domain).
func (t toolstack) target(id uint16) (*Domain, xen.Errno) {
	d := t.h.byID(id)
	if d == nil {
		return nil, xen.ESRCH
	}
	if d == t.caller {
		return nil, xen.EINVAL
	}
	return d, 0
}

func (t toolstack) CreateDomain(domid uint16, c *xen.XenDomctlCreateDomain) (uint16, xen.Errno) {
	d, e := t.h.createEmptyDomain(domid, c)
	if e != 0 {
		return 0, e
	}
	return d.id, 0
}

// createEmptyDomain is XEN_DOMCTL_createdomain (c checked by
// hypercall.CheckCreateDomain): a paused domain with no memory, c.MaxVCPUs
// vCPUs all down, its event channels and grant table.
func (h *Hypervisor) createEmptyDomain(domid uint16, c *xen.XenDomctlCreateDomain) (*Domain, xen.Errno) {
	if domid != 0 {
		if h.byID(domid) != nil || h.zombies[domid] != nil || h.grants.Domain(domid) != nil {
			return nil, xen.EEXIST
		}
	} else {
		id, err := h.allocID()
		if err != nil {
			return nil, xen.ENOMEM
		}
		domid = id
	}
	n := int(c.MaxVCPUs)
	mem, err := h.env.NewGuestMemory(toolstackPoolPages(n))
	if err != nil {
		h.logf("createdomain: no room for a p2m pool: %v", err)
		return nil, xen.ENOMEM
	}
	if mem.Format() != h.be.PagingFormat() {
		mem.Release()
		return nil, xen.EINVAL
	}
	mem.SetLimit(h.guestPhysLimit())
	d := &Domain{hv: h, id: domid, name: fmt.Sprintf("d%d", domid), mem: mem, state: DomainBuilding,
		reports: map[uint32][]uint32{}, toolstack: true, weight: sched.DefaultWeight, handle: c.Handle}
	d.xen.consoleGFN = invalidGFN
	fail := func(what string, err error) (*Domain, xen.Errno) {
		h.logf("createdomain %d: %s: %v", domid, what, err)
		d.release()
		return nil, xen.ENOMEM
	}
	for i := range n {
		a, err := h.be.NewVCPU(mem.Root())
		if err != nil {
			return fail("vCPU", err)
		}
		a.SetTSCOffset(h.tscOffset())
		// Every vCPU is down until sethvmcontext (vCPU 0) or a start-up
		// IPI / VCPUOP_up (the others) starts it.
		d.vcpus = append(d.vcpus, &VCPU{id: i, dom: d, arch: a, state: VCPUDown, waitSIPI: i != 0, lapic: vlapic.New(apicID(i))})
	}
	if err := h.addEventsMax(d, c.MaxEvtchnPort); err != nil {
		return fail("event channels", err)
	}
	opt := grant.DomainOptions{MaxMaptrack: domainMaptrack}
	if c.MaxGrantFrames > 0 {
		opt.MaxGrantFrames = int(c.MaxGrantFrames)
	}
	gd, err := h.grants.NewDomain(d.id, grantMem{d}, opt)
	if err != nil {
		return fail("grant table", err)
	}
	d.gnt = gd
	h.rq.SetGroup(int(d.id), uint64(d.weight), 0)
	for _, v := range d.vcpus {
		h.rq.Join(v, int(d.id))
	}
	h.mu.Lock()
	d.state = DomainPaused
	h.domains = append(h.domains, d)
	h.mu.Unlock()
	h.logf("domain %d %q created by dom0: empty, paused, %d vCPU(s)", d.id, d.name, n)
	return d, 0
}

// DestroyDomain is dom0's XEN_DOMCTL_destroydomain. A domain dom0's
// toolstack destroys ends by the machine owner's decision (`xl destroy`,
// or its on_poweroff policy after the guest shut down): it does not make
// hv's run unclean, as a domain hv's console destroys does.
func (t toolstack) DestroyDomain(id uint16) xen.Errno {
	d, e := t.target(id)
	if e != 0 {
		return e
	}
	unclean := t.h.unclean
	t.h.destroy(d)
	t.h.unclean = unclean
	return 0
}

func (t toolstack) PauseDomain(id uint16) xen.Errno {
	d, e := t.target(id)
	if e != 0 {
		return e
	}
	switch d.state {
	case DomainPaused:
		return 0 // Xen counts pauses; one unpause undoes them here
	case DomainRunning:
		t.h.pause(d)
		return 0
	}
	return xen.EINVAL // shut down or crashed: nothing to pause
}

func (t toolstack) UnpauseDomain(id uint16) xen.Errno {
	d, e := t.target(id)
	if e != 0 {
		return e
	}
	switch d.state {
	case DomainRunning:
		return 0
	case DomainPaused:
		t.h.unpause(d)
		return 0
	}
	return xen.EINVAL
}

// DomainInfo is Xen 4.17's getdomaininfo: the listed domain with the lowest
// ID ≥ id.
func (t toolstack) DomainInfo(id uint16) (xen.XenDomctlGetDomainInfo, bool) {
	var best *Domain
	for _, d := range t.h.domains {
		if d.id >= id && (best == nil || d.id < best.id) {
			best = d
		}
	}
	if best == nil {
		return xen.XenDomctlGetDomainInfo{}, false
	}
	return best.domainInfo(), true
}

// domainInfo fills xen_domctl_getdomaininfo for d.
func (d *Domain) domainInfo() xen.XenDomctlGetDomainInfo {
	i := xen.XenDomctlGetDomainInfo{Domain: d.id, Flags: xen.DominfHVMGuest | xen.DominfHAP,
		MaxPages: d.maxPages(), CPUTime: uint64(d.cpuTime), MaxVCPUID: uint32(len(d.vcpus)) - 1,
		EmulationFlags: xen.X86EmuLAPIC, Handle: d.handle}
	if len(d.vcpus) == 0 {
		i.MaxVCPUID = xen.XenInvalidMaxVCPUID
	}
	if d.mem != nil && !d.released {
		i.TotPages = d.mem.Pages()
	}
	if d.xen.sharedInfoSet {
		i.SharedInfoFrame = d.xen.sharedInfo
	}
	if lim := d.hv.guestPhysLimit(); lim > 0 {
		for lim > 1 {
			lim >>= 1
			i.GPAddrBits++
		}
	}
	running, blocked := false, true
	for _, v := range d.vcpus {
		switch v.state {
		case VCPURunning:
			running = true
		case VCPURunnable:
			blocked = false
		}
		if v.state != VCPUDown && v.state != VCPUDead {
			i.NrOnlineVCPUs++
		}
	}
	switch d.state {
	case DomainPaused:
		i.Flags |= xen.DominfPaused
	case DomainShutdown:
		i.Flags |= xen.DominfShutdown | (d.shutdown&xen.DominfShutdownMask)<<xen.DominfShutdownShift
	case DomainCrashed:
		// Xen shows a crashed domain as shut down with SHUTDOWN_crash.
		i.Flags |= xen.DominfShutdown | xen.ShutdownCrash<<xen.DominfShutdownShift
	case DomainRunning:
		if running {
			i.Flags |= xen.DominfRunning
		} else if blocked {
			i.Flags |= xen.DominfBlocked
		}
	}
	if d.privileged {
		i.EmulationFlags |= xen.X86EmuIOAPIC
	}
	return i
}

func (t toolstack) SetMaxMem(id uint16, kb uint64) xen.Errno {
	d := t.h.byID(id)
	if d == nil {
		return xen.ESRCH
	}
	// Xen allows a limit below what the domain holds (the balloon driver
	// gives the rest back); populate_physmap then fails until it has.
	d.maxMem = kb * 1024 &^ (pageSize - 1)
	d.maxMemSet = true
	return 0
}

func (t toolstack) SetHandle(id uint16, handle [xen.XenDomainHandleLen]byte) xen.Errno {
	d := t.h.byID(id)
	if d == nil {
		return xen.ESRCH
	}
	d.handle = handle
	return 0
}

func (t toolstack) CheckMaxVCPUs(id uint16, n uint32) xen.Errno {
	d := t.h.byID(id)
	if d == nil {
		return xen.ESRCH
	}
	if n != uint32(len(d.vcpus)) {
		return xen.EINVAL
	}
	return 0
}

func (t toolstack) CheckVCPU(id uint16, vcpu uint32) xen.Errno {
	d := t.h.byID(id)
	if d == nil {
		return xen.ESRCH
	}
	if vcpu >= uint32(len(d.vcpus)) {
		return xen.EINVAL
	}
	return 0
}

// VCPUInfo is XEN_DOMCTL_getvcpuinfo: online unless down, blocked,
// running (on the one CPU) and its CPU time.
func (t toolstack) VCPUInfo(id uint16, vcpu uint32) (xen.XenDomctlGetVCPUInfo, xen.Errno) {
	d := t.h.byID(id)
	if d == nil {
		return xen.XenDomctlGetVCPUInfo{}, xen.ESRCH
	}
	if vcpu >= uint32(len(d.vcpus)) {
		return xen.XenDomctlGetVCPUInfo{}, xen.EINVAL
	}
	v := d.vcpus[vcpu]
	i := xen.XenDomctlGetVCPUInfo{VCPU: vcpu, CPUTime: uint64(v.cpuTime)}
	if v.state != VCPUDown && v.state != VCPUDead {
		i.Online = 1
	}
	if v.state == VCPUBlocked {
		i.Blocked = 1
	}
	if v.state == VCPURunning {
		i.Running = 1
	}
	return i, 0
}

// RemoteShutdown is SCHEDOP_remote_shutdown: d shuts down as if it had
// asked to, with reason (dom0 may name itself).
func (t toolstack) RemoteShutdown(id uint16, reason uint32) xen.Errno {
	d := t.h.byID(id)
	if d == nil {
		return xen.ESRCH
	}
	if d.state != DomainRunning && d.state != DomainPaused {
		return 0 // already shut down: Xen's domain_shutdown does nothing more
	}
	t.h.logf("domain %d %q: dom0 asks it to shut down (%s)", d.id, d.name, ShutdownName(reason))
	t.h.shutdownDomain(d, reason)
	return 0
}

// SchedCredit reads or sets d's share: weight as the fair-share
// scheduler's group weight, cap in percent of one CPU (at most 100 per
// vCPU, as sched_credit.c checks).
func (t toolstack) SchedCredit(id uint16, set bool, weight, cap uint16) (uint16, uint16, xen.Errno) {
	d := t.h.byID(id)
	if d == nil {
		return 0, 0, xen.ESRCH
	}
	if set {
		if weight == 0 || int(cap) > 100*len(d.vcpus) {
			return 0, 0, xen.EINVAL
		}
		d.weight, d.cap = int(weight), int(cap)
		if !d.released {
			t.h.rq.SetGroup(int(d.id), uint64(weight), uint64(cap))
		}
	}
	return uint16(d.weight), uint16(d.cap), 0
}

// HVMContext is HEADER, one CPU record per vCPU (its registers as the
// backend reports them: general registers, RIP, RFLAGS, CR0/CR3/CR4, EFER;
// segment state is not read back), END.
func (t toolstack) HVMContext(id uint16) ([]byte, xen.Errno) {
	d := t.h.byID(id)
	if d == nil {
		return nil, xen.ESRCH
	}
	if d.released {
		return nil, xen.EINVAL
	}
	a, _, _, _ := t.h.cpuid(nil, 1, 0)
	hdr := xen.HVMSaveHeader{Magic: xen.HVMFileMagic, Version: xen.HVMFileVersion, CPUID: a,
		GTSCKHz: uint32(t.h.env.TSCHz() / 1000)}
	b := xen.AppendHVMRecord(nil, xen.HVMSaveCodeHeader, 0, xen.HVMSaveHeaderSize, &hdr)
	for _, v := range d.vcpus {
		r := v.arch.Regs()
		pg := v.arch.Paging()
		c := xen.HVMHWCPU{RAX: r[0], RCX: r[1], RDX: r[2], RBX: r[3], RSP: r[4], RBP: r[5], RSI: r[6], RDI: r[7],
			R8: r[8], R9: r[9], R10: r[10], R11: r[11], R12: r[12], R13: r[13], R14: r[14], R15: r[15],
			RIP: v.arch.RIP(), RFlags: v.arch.RFlags(), CR0: pg.CR0, CR3: pg.CR3, CR4: pg.CR4, MSREFER: pg.EFER}
		b = xen.AppendHVMRecord(b, xen.HVMSaveCodeCPU, uint16(v.id), xen.HVMHWCPUSize, &c)
	}
	return xen.AppendHVMRecord(b, xen.HVMSaveCodeEnd, 0, 0, nil), 0
}

// PVH entry state as libxc's bootlate_hvm writes it (dom0-toolstack.md
// §C.2 step 6): 32-bit protected mode, paging off, flat segments.
const (
	cr0PE          = 1 << 0
	cr0PG          = 1 << 31
	arbytesDB      = 1 << 10 // D/B in Xen's packed attribute form
	arbytesCode    = 1 << 3  // type bit 3: code
	hvmSaveMaxCode = 19      // TSC_ADJUST, the last type Xen 4.17 defines
)

// SetHVMContext loads records into d: a HEADER (Xen's magic and version),
// a CPU record for vCPU 0 describing the PVH entry state (which hv gives
// the vCPU as its own builder does: SetPVHEntry at RIP with RBX), the
// records Xen defines for devices GoZen models otherwise (ignored), END.
// The domain must be paused, vCPU 0 not yet started; anything else is
// -EINVAL (other vCPUs start through start-up IPIs or VCPUOP_up).
func (t toolstack) SetHVMContext(id uint16, recs []xen.HVMSaveRecord) xen.Errno {
	d := t.h.byID(id)
	if d == nil {
		return xen.ESRCH
	}
	if d.state != DomainPaused || d == t.caller {
		return xen.EINVAL
	}
	if len(recs) < 2 || recs[0].Typecode != xen.HVMSaveCodeHeader {
		return xen.EINVAL
	}
	var hdr xen.HVMSaveHeader
	if hdr.Decode(recs[0].Data) != nil || hdr.Magic != xen.HVMFileMagic || hdr.Version != xen.HVMFileVersion {
		return xen.EINVAL
	}
	var cpu *xen.HVMHWCPU
	for _, r := range recs[1:] {
		switch {
		case r.Typecode == xen.HVMSaveCodeEnd:
		case r.Typecode == xen.HVMSaveCodeCPU:
			if r.Instance != 0 || len(r.Data) != xen.HVMHWCPUSize || cpu != nil {
				return xen.EINVAL
			}
			cpu = new(xen.HVMHWCPU)
			cpu.Decode(r.Data)
		case r.Typecode == xen.HVMSaveCodeHeader || r.Typecode > hvmSaveMaxCode || r.Typecode == 16:
			return xen.EINVAL // Xen: unknown or repeated record type
		case int(r.Instance) >= len(d.vcpus):
			return xen.EINVAL
		}
	}
	if cpu == nil {
		return 0 // nothing GoZen keeps (MTRRs, the LAPIC)
	}
	if err := pvhEntryState(cpu); err != nil {
		t.h.logf("sethvmcontext on domain %d: %v: refused", d.id, err)
		return xen.EINVAL
	}
	v := d.vcpus[0]
	if v.state != VCPUDown {
		return xen.EINVAL // started already
	}
	v.arch.SetPVHEntry(cpu.RIP, cpu.RBX)
	v.waitSIPI = false
	v.state = VCPUPaused // the domain is paused: unpause makes it runnable
	t.h.setRunstate(v, runstateOffline)
	t.h.logf("domain %d %q: vCPU 0 starts at %#x, start_info %#x", d.id, d.name, cpu.RIP, cpu.RBX)
	return 0
}

// pvhEntryState checks that c is the PVH entry state hv's SetPVHEntry
// gives a vCPU: protected mode, paging off, flat 32-bit code and data
// segments, the entry and start_info below 4 GiB.
func pvhEntryState(c *xen.HVMHWCPU) error {
	switch {
	case c.CR0&(cr0PE|cr0PG) != cr0PE:
		return fmt.Errorf("CR0 %#x is not protected mode without paging", c.CR0)
	case c.MSREFER&(1<<8) != 0:
		return fmt.Errorf("EFER %#x has long mode enabled", c.MSREFER)
	case c.RIP >= 1<<32 || c.RBX >= 1<<32:
		return fmt.Errorf("entry %#x or start_info %#x beyond 4 GiB", c.RIP, c.RBX)
	case c.CSBase != 0 || c.DSBase != 0 || c.ESBase != 0 || c.SSBase != 0:
		return fmt.Errorf("segment bases are not 0")
	case c.CSARBytes&(arbytesDB|arbytesCode) != arbytesDB|arbytesCode:
		return fmt.Errorf("CS attributes %#x are not 32-bit code", c.CSARBytes)
	}
	return nil
}

// Physinfo is what `xl info` shows: one CPU (hv runs guests on the boot
// CPU), the guest pool's pages as total and free memory (the memory
// domains are built from), HVM with HAP, grant tables v1.
func (t toolstack) Physinfo() xen.XenSysctlPhysinfo {
	h := t.h
	p := xen.XenSysctlPhysinfo{ThreadsPerCore: 1, CoresPerSocket: 1, NrCPUs: 1, NrNodes: 1,
		CPUKHz: uint32(h.env.TSCHz() / 1000), Capabilities: xen.PhyscapHVM | xen.PhyscapHAP | xen.PhyscapGnttabV1}
	if h.con.host != nil {
		m := h.con.host.Memory()
		p.TotalPages, p.FreePages = m.GuestPool/pageSize, m.GuestFree/pageSize
	}
	return p
}

func (t toolstack) ReadConsole(p []byte, index uint32, incremental, clear bool) (int, uint32) {
	return t.h.con.out.ring.read(p, index, incremental, clear)
}

func (t toolstack) Foreign(id uint16) hypercall.ForeignDomain {
	d := t.h.byID(id)
	if d == nil || d.released || (d.state != DomainRunning && d.state != DomainPaused) {
		return nil
	}
	return foreignDomain{t.h, d}
}

// foreignDomain is a domain as dom0's memory_op and hvm_op reach it.
type foreignDomain struct {
	h *Hypervisor
	d *Domain
}

func (f foreignDomain) Reservation() (uint64, uint64) { return f.d.mem.Pages(), f.d.maxPages() }
func (f foreignDomain) PopulatePhysmap(gfn uint64, order uint32) bool {
	return f.h.populate(f.d, gfn, order)
}
func (f foreignDomain) DecreaseReservation(gfn uint64, order uint32) bool {
	return f.h.decreaseReservation(f.d, gfn, order)
}
func (f foreignDomain) IncreaseReservation(order uint32) bool {
	return f.h.increaseReservation(f.d, order)
}
func (f foreignDomain) Param(idx uint32) uint64 { return f.d.xen.params[idx] }

// SetParam stores what the domain builder tells the guest (the store and
// console pages and ports, the timer mode, ...); the guest reads them with
// HVMOP_get_param. The event callback is the guest's own to set.
func (f foreignDomain) SetParam(idx uint32, v uint64) xen.Errno {
	if idx == xen.HVMParamCallbackIRQ {
		return xen.EPERM
	}
	f.d.xen.params[idx] = v
	return 0
}

// Unstarted: dom0 created it and has not unpaused it yet (its vCPUs have
// never run).
func (f foreignDomain) Unstarted() bool { return f.d.toolstack && !f.d.ran }

// Frame is hv's view of RAM frame gfn of the domain (its own RAM, not a
// grant or foreign mapping), or nil.
func (f foreignDomain) Frame(gfn uint64) *[xen.PageSize]byte {
	if f.d.mem == nil || !f.d.mem.IsRAM(gfn) {
		return nil
	}
	p, ok := f.d.mem.HostPage(gfn * pageSize)
	if !ok {
		return nil
	}
	return p
}

// MapForeign maps frame gfn of domain id at dom0's gpfn.
func (t toolstack) MapForeign(id uint16, gfn, gpfn uint64) xen.Errno {
	d := t.h.byID(id)
	if d == nil || d.released || d.mem == nil {
		return xen.ESRCH
	}
	if d == t.caller {
		return xen.EINVAL
	}
	if !d.mem.IsRAM(gfn) {
		return xen.EINVAL // not RAM of that domain (Xen: get_page_from_gfn fails)
	}
	hpa, ok := d.mem.Translate(gfn * pageSize)
	if !ok {
		return xen.EINVAL
	}
	return t.h.mapForeignFrame(t.caller, d, hpa/pageSize, gpfn)
}

// mapForeignFrame maps machine frame mfn of owner at caller's gpfn and
// counts it on owner. A foreign frame already at gpfn is replaced (as
// Xen's p2m_add_foreign removes the old entry); dom0's own RAM, a grant
// mapping or a grant-table frame there is -EBUSY: dom0's RAM is its
// identity memory, which GoZen does not let it give up this way.
func (h *Hypervisor) mapForeignFrame(caller, owner *Domain, mfn, gpfn uint64) xen.Errno {
	s := caller.dom0
	if s == nil {
		return xen.EPERM
	}
	if _, ok := s.foreign[gpfn]; ok {
		h.unmapForeign(caller, gpfn)
	}
	// One Lookup says it all (MMAPBATCH_V2 comes a frame a hypercall):
	// dom0's RAM, or a grant mapping or grant-table frame (Mapped), is
	// busy.
	k, _ := caller.mem.Lookup(gpfn)
	if k == npt.RAM || k == npt.Mapped || caller.pinned(gpfn) {
		return xen.EBUSY
	}
	if s.kept(gpfn*pageSize, pageSize) {
		return xen.EBUSY // hv's emulated devices
	}
	if err := caller.mem.MapFrame(gpfn, mfn*pageSize, false); err != nil {
		h.noteP2M(caller, err)
		if err == npt.ErrTooHigh {
			return xen.EINVAL
		}
		return xen.ENOMEM
	}
	if k != npt.Unbacked {
		// Something was mapped at gpfn (dom0's direct MMIO): its
		// translations go. Filling an empty entry needs no flush: a TLB
		// holds no translation of an unmapped gpfn (removing one flushes),
		// so MMAPBATCH_V2's one hypercall a frame costs no flush a frame.
		caller.flushTLBs()
	}
	if s.foreign == nil {
		s.foreign = map[uint64]foreignMap{}
	}
	s.foreign[gpfn] = foreignMap{owner: owner, mfn: mfn}
	owner.foreignRefs++
	h.foreignMFNs[mfn]++
	return 0
}

// unmapForeign removes dom0's foreign mapping at gpfn and lets its owner's
// memory go if that was the last thing keeping it.
func (h *Hypervisor) unmapForeign(caller *Domain, gpfn uint64) {
	s := caller.dom0
	m := s.foreign[gpfn]
	delete(s.foreign, gpfn)
	if caller.mem != nil {
		caller.mem.UnmapFrame(gpfn)
		caller.flushTLBs()
	}
	h.dropForeign(m)
}

// dropForeign uncounts one foreign mapping.
func (h *Hypervisor) dropForeign(m foreignMap) {
	if h.foreignMFNs[m.mfn]--; h.foreignMFNs[m.mfn] <= 0 {
		delete(h.foreignMFNs, m.mfn)
	}
	m.owner.foreignRefs--
	m.owner.maybeFree()
}

// dropAllForeign forgets every foreign mapping of d (dom0 going away; its
// physmap goes with it).
func (h *Hypervisor) dropAllForeign(d *Domain) {
	if d.dom0 == nil {
		return
	}
	ms := d.dom0.foreign
	d.dom0.foreign = nil
	for _, m := range ms {
		h.dropForeign(m)
	}
}

// AcquireGrantFrames maps shared grant-table frames [first, first+n) of
// domain id at dom0's gpfns (XENMEM_acquire_resource): the table grows to
// cover them, as Xen's gnttab_acquire_resource does.
func (t toolstack) AcquireGrantFrames(id uint16, first uint64, gpfns []uint64) xen.Errno {
	d := t.h.byID(id)
	if d == nil || d.gnt == nil {
		return xen.ESRCH
	}
	if d == t.caller {
		return xen.EINVAL
	}
	end := first + uint64(len(gpfns))
	if end > uint64(d.gnt.MaxFrames()) || end < first {
		return xen.EINVAL
	}
	if _, st := t.h.grants.SetupTable(d.gnt, xen.DomIDSelf, uint32(max(uint64(d.gnt.NrFrames()), end))); st != 0 {
		return xen.ENOMEM
	}
	for i, gpfn := range gpfns {
		mfn, err := d.gnt.FrameMFN(int(first) + i)
		if err != nil {
			return xen.EINVAL
		}
		if e := t.h.mapForeignFrame(t.caller, d, mfn, gpfn); e != 0 {
			return e
		}
	}
	return 0
}

func (t toolstack) GrantFrames(id uint16) (uint32, xen.Errno) {
	d := t.h.byID(id)
	if d == nil || d.gnt == nil {
		return 0, xen.ESRCH
	}
	return uint32(d.gnt.MaxFrames()), 0
}

// RemoveFromPhysmap implements hypercall.Physmap: dom0's foreign mapping at
// gfn is undone; a grant-table frame is unmapped; RAM goes back as with
// decrease_reservation (-EBUSY when hv or another domain still uses it).
func (g *guest) RemoveFromPhysmap(gfn uint64) xen.Errno {
	d, h := g.dom, g.h()
	if d.dom0 != nil {
		if _, ok := d.dom0.foreign[gfn]; ok {
			h.unmapForeign(d, gfn)
			return 0
		}
	}
	if idx, ok := d.grantFrameAt(gfn); ok {
		d.mem.UnmapFrame(gfn)
		delete(d.xen.grantFrames, idx)
		d.flushTLBs()
		return 0
	}
	if d.mem.IsRAM(gfn) {
		if h.decreaseReservation(d, gfn, 0) {
			return 0
		}
		return xen.EBUSY
	}
	return xen.EINVAL
}

// domainException raises VIRQ_DOM_EXC for dom0 (the global VIRQ's handler)
// when domain d shuts down, crashes or is destroyed, as Xen's
// send_global_virq(VIRQ_DOM_EXC) does, so xenstored and xl learn of it.
func (h *Hypervisor) domainException(d *Domain) {
	if d.privileged {
		return
	}
	h.events.RaiseGlobalVIRQ(xen.VIRQDomExc)
}

// sortedIDs is for tests and logs: the listed domains' IDs in order.
func (h *Hypervisor) sortedIDs() []uint16 {
	var ids []uint16
	for _, d := range h.domains {
		ids = append(ids, d.id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
