package hypercall

import "gozen/abi/xen"

// The toolstack's hypercalls: domctl and sysctl (Xen 4.17's interface
// version 0x15), and the memory_op, hvm_op and acquire_resource calls the
// control domain makes on other domains (libxc's domain builder, privcmd's
// MMAPBATCH_V2 and MMAP_RESOURCE). All of them are for the control domain
// only: Control.Toolstack is nil for everyone else, and they get what Xen's
// XSM dummy policy gives them (-EPERM for domctl and sysctl, after the
// structure is read and its interface version checked, as do_domctl and
// do_sysctl do).

// Toolstack is what the control domain may do to domains and the host.
// Domain IDs are as the caller gave them; the implementation answers
// -ESRCH for one that does not exist (or is no longer listed).
type Toolstack interface {
	// CreateDomain creates an empty, paused domain (no memory, its vCPUs
	// down) from c, with ID domid or, if domid is 0, a free one, and
	// returns its ID (XEN_DOMCTL_createdomain). c's flags and limits are
	// checked already (CheckCreateDomain).
	CreateDomain(domid uint16, c *xen.XenDomctlCreateDomain) (uint16, xen.Errno)
	// DestroyDomain, PauseDomain and UnpauseDomain are
	// XEN_DOMCTL_destroydomain, pausedomain and unpausedomain.
	DestroyDomain(domid uint16) xen.Errno
	PauseDomain(domid uint16) xen.Errno
	UnpauseDomain(domid uint16) xen.Errno
	// DomainInfo describes the listed domain with the lowest ID ≥ domid
	// (Xen 4.17's getdomaininfo and getdomaininfolist), false if none.
	DomainInfo(domid uint16) (xen.XenDomctlGetDomainInfo, bool)
	// SetMaxMem sets domid's memory limit to kb KiB (XEN_DOMCTL_max_mem).
	SetMaxMem(domid uint16, kb uint64) xen.Errno
	// SetHandle gives domid the toolstack's UUID, which DomainInfo then
	// reports (XEN_DOMCTL_setdomainhandle; any value, as Xen takes it).
	SetHandle(domid uint16, handle [xen.XenDomainHandleLen]byte) xen.Errno
	// CheckMaxVCPUs is XEN_DOMCTL_max_vcpus, which since Xen 4.13 only
	// confirms the count createdomain set: -EINVAL if n differs.
	CheckMaxVCPUs(domid uint16, n uint32) xen.Errno
	// CheckVCPU reports whether vcpu is a vCPU of domid (-EINVAL if not,
	// -ESRCH for no domain): setvcpuaffinity is accepted for a valid vCPU
	// and changes nothing (one physical CPU).
	CheckVCPU(domid uint16, vcpu uint32) xen.Errno
	// VCPUInfo describes vCPU vcpu of domid (XEN_DOMCTL_getvcpuinfo);
	// -EINVAL for a vCPU the domain does not have.
	VCPUInfo(domid uint16, vcpu uint32) (xen.XenDomctlGetVCPUInfo, xen.Errno)
	// RemoteShutdown shuts domid down with a SHUTDOWN_* reason
	// (SCHEDOP_remote_shutdown: `xl shutdown` of a guest without PV
	// control, `xl destroy`'s first step in some toolstacks).
	RemoteShutdown(domid uint16, reason uint32) xen.Errno
	// SchedCredit reads, and with set changes, domid's credit-scheduler
	// parameters (weight 1..65535; cap in percent of one CPU, 0 for none).
	SchedCredit(domid uint16, set bool, weight, cap uint16) (uint16, uint16, xen.Errno)
	// HVMContext is domid's HVM context: HEADER, one CPU record per vCPU,
	// END (XEN_DOMCTL_gethvmcontext).
	HVMContext(domid uint16) ([]byte, xen.Errno)
	// SetHVMContext loads records (parsed, ending with END) into domid
	// (XEN_DOMCTL_sethvmcontext).
	SetHVMContext(domid uint16, records []xen.HVMSaveRecord) xen.Errno
	// Physinfo is XEN_SYSCTL_physinfo.
	Physinfo() xen.XenSysctlPhysinfo
	// ReadConsole copies hv's console ring into p from index (or from its
	// oldest byte unless incremental), returns the bytes copied and the
	// index after them, and with clear empties the ring
	// (XEN_SYSCTL_readconsole).
	ReadConsole(p []byte, index uint32, incremental, clear bool) (int, uint32)
	// Foreign is domain domid for the caller's memory and parameter calls
	// on it (nil: no such domain; -ESRCH).
	Foreign(domid uint16) ForeignDomain
	// MapForeign maps frame gfn of domain domid at the caller's gpfn
	// (XENMEM_add_to_physmap_batch with XENMAPSPACE_gmfn_foreign). The
	// frame stays the caller's to use, and allocated, until the caller
	// removes it (RemoveFromPhysmap), even if domid dies.
	MapForeign(domid uint16, gfn, gpfn uint64) xen.Errno
	// AcquireGrantFrames maps frames [first, first+len(gpfns)) of domid's
	// grant table (the shared frames) at the caller's gpfns
	// (XENMEM_acquire_resource); GrantFrames is how many there may be.
	AcquireGrantFrames(domid uint16, first uint64, gpfns []uint64) xen.Errno
	GrantFrames(domid uint16) (uint32, xen.Errno)
}

// ForeignDomain is another domain's memory and HVM parameters, as the
// control domain's memory_op and hvm_op calls reach them (every gfn and
// order checked as for the domain's own calls).
type ForeignDomain interface {
	Reservation() (current, maximum uint64)
	PopulatePhysmap(gfn uint64, order uint32) bool
	DecreaseReservation(gfn uint64, order uint32) bool
	IncreaseReservation(order uint32) bool
	Param(idx uint32) uint64
	// SetParam sets parameter idx (< xen.HVMNrParams) as the domain
	// builder does.
	SetParam(idx uint32, value uint64) xen.Errno
	// Unstarted reports whether the domain is one dom0 created that has
	// never been unpaused: its vCPUs have not run, so nothing has turned
	// paging on and a guest-virtual address is a guest-physical one.
	Unstarted() bool
	// Frame is the hypervisor's view of RAM frame gfn of the domain, a
	// page the domain itself may write (not a grant or foreign mapping),
	// or nil.
	Frame(gfn uint64) *[xen.PageSize]byte
}

// Limits on the toolstack's calls (GoZen has no continuations).
const (
	// MaxDomainInfos bounds one getdomaininfolist.
	MaxDomainInfos = 1024
	// MaxHVMContext bounds a sethvmcontext buffer: a header, 128 CPU
	// records and change.
	MaxHVMContext = 256 << 10
	// MaxHVMRecords bounds the records in one.
	MaxHVMRecords = 1024
	// MaxReadConsole bounds one readconsole.
	MaxReadConsole = 64 << 10
	// MaxAcquireFrames is the most frames one XENMEM_acquire_resource
	// maps (Xen 4.17's acquire_resource has the same 32-entry array).
	MaxAcquireFrames = 32
	// MaxPhysmapBatch bounds one XENMEM_add_to_physmap_batch (Linux
	// privcmd sends 16 at a time).
	MaxPhysmapBatch = 512
	// MaxGuestMemIO bounds one XEN_DOMCTL_gdbsx_guestmemio (Xen has no
	// bound; without continuations a call copies at most 4 MiB).
	MaxGuestMemIO = 4 << 20
)

// toolstack is the caller's Toolstack, or nil if it is not the control
// domain.
func toolstack(g Guest) Toolstack {
	if c := g.Control(); c != nil {
		return c.Toolstack()
	}
	return nil
}

// CheckCreateDomain validates a createdomain request as Xen 4.17's
// sanitise_domain_config and arch_sanitise_domain_config do for the
// domains GoZen builds: HVM with HAP (PVH), no IOMMU, nested
// virtualisation or vPMU, at least one vCPU and no more than maxVCPUs,
// and the local APIC as the only emulated device (a PVH domain's
// XEN_X86_EMU_LAPIC). It returns -EINVAL otherwise.
func CheckCreateDomain(c *xen.XenDomctlCreateDomain, maxVCPUs uint32) xen.Errno {
	const known = xen.DomctlCDFHVM | xen.DomctlCDFHAP | xen.DomctlCDFS3Integrity | xen.DomctlCDFOOSOff |
		xen.DomctlCDFXSDomain | xen.DomctlCDFIOMMU | xen.DomctlCDFNestedVirt | xen.DomctlCDFVPMU
	switch {
	case c.Flags&^uint32(known) != 0:
		return xen.EINVAL
	case c.Flags&(xen.DomctlCDFHVM|xen.DomctlCDFHAP) != xen.DomctlCDFHVM|xen.DomctlCDFHAP:
		return xen.EINVAL // PV and shadow-paged domains: GoZen has neither
	case c.Flags&(xen.DomctlCDFIOMMU|xen.DomctlCDFNestedVirt|xen.DomctlCDFVPMU) != 0:
		return xen.EINVAL
	case c.IOMMUOpts != 0 || c.VmtraceSize != 0 || c.CPUPoolID != 0:
		return xen.EINVAL
	case c.MaxVCPUs == 0 || c.MaxVCPUs > maxVCPUs:
		return xen.EINVAL
	case c.EmulationFlags != xen.X86EmuLAPIC:
		return xen.EINVAL // a PVH domain: emulation_flags == XEN_X86_EMU_LAPIC
	case c.GrantOpts&^uint32(xen.DomctlGrantVersionMask) != 0 || c.GrantOpts&xen.DomctlGrantVersionMask > 1:
		return xen.EINVAL // grant tables v1 only
	}
	return 0
}

// MaxDomainVCPUs is the most vCPUs a domain may have (hv's vLAPIC IDs and
// its start-up path serve up to this many).
const MaxDomainVCPUs = 128

// domctl is __HYPERVISOR_domctl: the structure is copied in (-EFAULT), its
// interface version checked (-EACCES), then the caller's privilege
// (-EPERM), as Xen's do_domctl. Commands GoZen has no use for are -ENOSYS,
// which libxc reports by name.
func domctl(g Guest, arg uint64) int64 {
	var b [xen.XenDomctlSize]byte
	var op xen.XenDomctl
	if !g.CopyIn(arg, b[:]) || op.Decode(b[:]) != nil {
		return errno(xen.EFAULT)
	}
	if op.InterfaceVersion != xen.DomctlInterfaceVersion {
		return errno(xen.EACCES)
	}
	ts := toolstack(g)
	if ts == nil {
		return errno(xen.EPERM)
	}
	// copyBack writes the whole structure back, as Xen's copyback does.
	copyBack := func() int64 {
		op.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	}
	dom := op.Domain
	if dom >= xen.DomIDFirstReserved {
		// DOMID_SELF and the other reserved IDs name no domain here
		// (rcu_lock_domain_by_id fails: -ESRCH).
		return errno(xen.ESRCH)
	}
	switch op.Cmd {
	case xen.DomctlCreateDomain:
		var c xen.XenDomctlCreateDomain
		c.Decode(op.U[:])
		if e := CheckCreateDomain(&c, MaxDomainVCPUs); e != 0 {
			return errno(e)
		}
		id, e := ts.CreateDomain(dom, &c)
		if e != 0 {
			return errno(e)
		}
		op.Domain = id
		if r := copyBack(); r != 0 {
			// Xen destroys the new domain when the caller cannot learn
			// its ID.
			ts.DestroyDomain(id)
			return r
		}
		return 0
	case xen.DomctlDestroyDomain:
		return errno(ts.DestroyDomain(dom))
	case xen.DomctlPauseDomain:
		return errno(ts.PauseDomain(dom))
	case xen.DomctlUnpauseDomain:
		return errno(ts.UnpauseDomain(dom))
	case xen.DomctlGetDomainInfo:
		info, ok := ts.DomainInfo(dom)
		if !ok {
			return errno(xen.ESRCH)
		}
		op.Domain = info.Domain
		op.U = [xen.XenDomctlUnionSize]byte{}
		info.Encode(op.U[:])
		return copyBack()
	case xen.DomctlMaxMem:
		var m xen.XenDomctlMaxMem
		m.Decode(op.U[:])
		if m.MaxMemKB > 1<<(47-10) {
			return errno(xen.EINVAL) // beyond any guest-physical space
		}
		return errno(ts.SetMaxMem(dom, m.MaxMemKB))
	case xen.DomctlSetDomainHandle:
		var s xen.XenDomctlSetDomainHandle
		s.Decode(op.U[:])
		return errno(ts.SetHandle(dom, s.Handle))
	case xen.DomctlMaxVCPUs:
		var m xen.XenDomctlMaxVCPUs
		m.Decode(op.U[:])
		return errno(ts.CheckMaxVCPUs(dom, m.Max))
	case xen.DomctlSetVCPUAffinity:
		var a xen.XenDomctlVCPUAffinity
		a.Decode(op.U[:])
		if a.Flags&^uint32(xen.VCPUAffinityHard|xen.VCPUAffinitySoft|xen.VCPUAffinityForce) != 0 ||
			a.Flags&(xen.VCPUAffinityHard|xen.VCPUAffinitySoft) == 0 {
			return errno(xen.EINVAL)
		}
		return errno(ts.CheckVCPU(dom, a.VCPU))
	case xen.DomctlGetVCPUInfo:
		var v xen.XenDomctlGetVCPUInfo
		v.Decode(op.U[:])
		info, e := ts.VCPUInfo(dom, v.VCPU)
		if e != 0 {
			return errno(e)
		}
		info.VCPU = v.VCPU
		info.Encode(op.U[:])
		return copyBack()
	case xen.DomctlSchedulerOp:
		return schedulerOp(g, ts, &op, copyBack)
	case xen.DomctlGetHVMContext:
		return getHVMContext(g, ts, &op, copyBack)
	case xen.DomctlGdbsxGuestMemIO:
		return guestMemIO(g, ts, &op, copyBack)
	case xen.DomctlSetHVMContext:
		var c xen.XenDomctlHVMContext
		c.Decode(op.U[:])
		if c.Size > MaxHVMContext {
			return errno(xen.E2BIG)
		}
		buf := make([]byte, c.Size)
		if !g.CopyIn(c.Buffer, buf) {
			return errno(xen.EFAULT)
		}
		recs, err := xen.ParseHVMContext(buf, MaxHVMRecords)
		if err != nil {
			return errno(xen.EINVAL)
		}
		return errno(ts.SetHVMContext(dom, recs))
	}
	return errno(xen.ENOSYS)
}

// schedulerOp is XEN_DOMCTL_scheduler_op for the credit scheduler (the
// one GoZen's weighted fair share with caps stands for): putinfo changes
// the weight (0: unchanged) and cap (0xffff: unchanged; at most 100% per
// vCPU, as sched_credit.c checks), getinfo reads them. Another scheduler's
// ID is -EINVAL (Xen: not the domain's cpupool's scheduler); the per-vCPU
// commands are too (credit has none).
func schedulerOp(g Guest, ts Toolstack, op *xen.XenDomctl, copyBack func() int64) int64 {
	var s xen.XenDomctlSchedulerOp
	s.Decode(op.U[:])
	if s.SchedID != xen.SchedulerCredit {
		return errno(xen.EINVAL)
	}
	switch s.Cmd {
	case xen.DomctlSchedopGetinfo:
		w, c, e := ts.SchedCredit(op.Domain, false, 0, 0)
		if e != 0 {
			return errno(e)
		}
		s.SetCredit(w, c)
		s.Encode(op.U[:])
		return copyBack()
	case xen.DomctlSchedopPutinfo:
		w, c, e := ts.SchedCredit(op.Domain, false, 0, 0)
		if e != 0 {
			return errno(e)
		}
		if s.Weight() != 0 {
			w = s.Weight()
		}
		if s.Cap() != 0xffff {
			c = s.Cap()
		}
		_, _, e = ts.SchedCredit(op.Domain, true, w, c)
		return errno(e)
	}
	return errno(xen.EINVAL)
}

// getHVMContext is XEN_DOMCTL_gethvmcontext: with a NULL buffer it reports
// the size; otherwise the context is copied out if it fits (-ENOSPC if
// not, as Xen's hvm_save).
func getHVMContext(g Guest, ts Toolstack, op *xen.XenDomctl, copyBack func() int64) int64 {
	var c xen.XenDomctlHVMContext
	c.Decode(op.U[:])
	ctx, e := ts.HVMContext(op.Domain)
	if e != 0 {
		return errno(e)
	}
	if c.Buffer != 0 {
		if uint64(len(ctx)) > uint64(c.Size) {
			return errno(xen.ENOSPC)
		}
		if !g.CopyOut(c.Buffer, ctx) {
			return errno(xen.EFAULT)
		}
	}
	c.Size = uint32(len(ctx))
	c.Encode(op.U[:])
	return copyBack()
}

// guestMemIO is XEN_DOMCTL_gdbsx_guestmemio, which GoZen serves for a
// domain being built (ForeignDomain.Unstarted: its guest-virtual addresses
// are guest-physical ones, as Xen's walk of vCPU 0's tables finds with
// paging off); for a domain that has run it is -EOPNOTSUPP, since hv does
// not walk another domain's page tables. The copy goes between the
// caller's buffer (its own page tables) and the domain's RAM frames, a
// batch of frames per walk of the caller's tables when writing
// (memIOWrite); where either is missing it stops, and the call is -EFAULT
// with the structure not copied back, as in Xen. The caller's own domain is
// -EINVAL (dom0 reaches its memory without the hypervisor).
func guestMemIO(g Guest, ts Toolstack, op *xen.XenDomctl, copyBack func() int64) int64 {
	var m xen.XenDomctlGdbsxMemIO
	m.Decode(op.U[:])
	if m.Len > MaxGuestMemIO {
		return errno(xen.E2BIG)
	}
	if op.Domain == g.DomID() {
		return errno(xen.EINVAL)
	}
	f := ts.Foreign(op.Domain)
	if f == nil {
		return errno(xen.ESRCH)
	}
	if !f.Unstarted() {
		return errno(xen.EOPNOTSUPP)
	}
	var rest uint64
	if m.GWr != 0 {
		rest = memIOWrite(g, f, m.GVA, m.UVA, uint64(m.Len))
	} else {
		rest = memIORead(g, f, m.GVA, m.UVA, uint64(m.Len))
	}
	if m.Remain = uint32(rest); rest != 0 {
		return errno(xen.EFAULT)
	}
	m.Encode(op.U[:])
	return copyBack()
}

// memIOBatch is how many of the domain's pages one CopyInv of
// memIOWrite fills.
const memIOBatch = 128

// memIOWrite copies n bytes from the caller's gva-space uva into domain
// f's frames at gva and returns how many it could not copy. The frames of
// up to memIOBatch pages are read from the caller in one CopyInv, which
// walks the caller's tables once per 2 MiB region rather than once per
// page (a kernel's 48 MB are 11,700 pages).
func memIOWrite(g Guest, f ForeignDomain, gva, uva, n uint64) (rest uint64) {
	var dsts [memIOBatch][]byte
	for n > 0 {
		k, got := 0, uint64(0)
		for got < n && k < len(dsts) {
			a := gva + got
			off := a % xen.PageSize
			c := min(n-got, xen.PageSize-off)
			p := f.Frame(a / xen.PageSize)
			if p == nil {
				break
			}
			dsts[k] = p[off : off+c]
			k, got = k+1, got+c
		}
		if k == 0 {
			return n // the frame at gva is not RAM
		}
		if g.CopyInv(uva, dsts[:k]) {
			gva, uva, n = gva+got, uva+got, n-got
			continue
		}
		// Some page of the caller's is missing: page by page, to say
		// exactly how far the copy went.
		for _, d := range dsts[:k] {
			if !g.CopyIn(uva, d) {
				return n
			}
			c := uint64(len(d))
			gva, uva, n = gva+c, uva+c, n-c
		}
	}
	return 0
}

// memIORead copies n bytes from domain f's frames at gva to the caller's
// uva, page by page, and returns how many it could not copy.
func memIORead(g Guest, f ForeignDomain, gva, uva, n uint64) (rest uint64) {
	for n > 0 {
		off := gva % xen.PageSize
		c := min(n, xen.PageSize-off)
		p := f.Frame(gva / xen.PageSize)
		if p == nil || !g.CopyOut(uva, p[off:off+c]) {
			break
		}
		gva, uva, n = gva+c, uva+c, n-c
	}
	return n
}

// sysctl is __HYPERVISOR_sysctl, checked as domctl.
func sysctl(g Guest, arg uint64) int64 {
	var b [xen.XenSysctlSize]byte
	var op xen.XenSysctl
	if !g.CopyIn(arg, b[:]) || op.Decode(b[:]) != nil {
		return errno(xen.EFAULT)
	}
	if op.InterfaceVersion != xen.SysctlInterfaceVersion {
		return errno(xen.EACCES)
	}
	ts := toolstack(g)
	if ts == nil {
		return errno(xen.EPERM)
	}
	copyBack := func() int64 {
		op.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	}
	switch op.Cmd {
	case xen.SysctlPhysinfo:
		p := ts.Physinfo()
		op.U = [xen.XenSysctlUnionSize]byte{}
		p.Encode(op.U[:])
		return copyBack()
	case xen.SysctlGetdomaininfolist:
		var l xen.XenSysctlGetdomaininfolist
		l.Decode(op.U[:])
		max := min(l.MaxDomains, MaxDomainInfos)
		var n uint32
		var e [xen.XenDomctlGetDomainInfoSize]byte
		for id := uint32(l.FirstDomain); n < max && id < xen.DomIDFirstReserved; n++ {
			info, ok := ts.DomainInfo(uint16(id))
			if !ok {
				break
			}
			info.Encode(e[:])
			if !g.CopyOut(l.Buffer+uint64(n)*xen.XenDomctlGetDomainInfoSize, e[:]) {
				return errno(xen.EFAULT)
			}
			id = uint32(info.Domain) + 1
		}
		l.NumDomains = n
		l.Encode(op.U[:])
		return copyBack()
	case xen.SysctlReadconsole:
		var r xen.XenSysctlReadconsole
		r.Decode(op.U[:])
		n := min(r.Count, MaxReadConsole)
		buf := make([]byte, n)
		// Check the buffer first, so a bad pointer does not clear the ring.
		if n > 0 && !g.CopyOut(r.Buffer, buf) {
			return errno(xen.EFAULT)
		}
		got, end := ts.ReadConsole(buf, r.Index, r.Incremental != 0, r.Clear != 0)
		if got > 0 && !g.CopyOut(r.Buffer, buf[:got]) {
			return errno(xen.EFAULT)
		}
		r.Count, r.Index = uint32(got), end
		r.Encode(op.U[:])
		return copyBack()
	}
	return errno(xen.ENOSYS)
}

// addToPhysmapBatch is XENMEM_add_to_physmap_batch: the control domain
// maps other domains' frames into its own physmap (Linux privcmd's
// MMAPBATCH_V2 on an auto-translated dom0, xen_xlate_remap_gfn_array).
// Each entry's result goes to errs[i]; the call itself fails only for a
// bad structure or buffer. Only XENMAPSPACE_gmfn_foreign is served (other
// spaces are -ENOSYS); a domU naming it gets -EPERM, as from Xen's XSM
// check on the foreign domain.
func addToPhysmapBatch(g Guest, arg uint64) int64 {
	var b [xen.XenAddToPhysmapBatchSize]byte
	var x xen.XenAddToPhysmapBatch
	if !g.CopyIn(arg, b[:]) || x.Decode(b[:]) != nil {
		return errno(xen.EFAULT)
	}
	if !self(g, x.DomID) {
		return errno(xen.ESRCH) // only into the caller's own physmap
	}
	if x.Space != xen.XenmapspaceGMFNForeign {
		return errno(xen.ENOSYS)
	}
	ts := toolstack(g)
	if ts == nil {
		return errno(xen.EPERM)
	}
	if x.Size > MaxPhysmapBatch {
		return errno(xen.E2BIG)
	}
	if x.ForeignDomID == xen.DomIDSelf || x.ForeignDomID == g.DomID() {
		return errno(xen.EINVAL) // Xen: a domain cannot map itself as foreign
	}
	if x.ForeignDomID >= xen.DomIDFirstReserved {
		return errno(xen.ESRCH)
	}
	n := int(x.Size)
	idxs := make([]byte, 8*n)
	gpfns := make([]byte, 8*n)
	if !g.CopyIn(x.Idxs, idxs) || !g.CopyIn(x.GPFNs, gpfns) {
		return errno(xen.EFAULT)
	}
	errs := make([]byte, 4*n)
	for i := range n {
		idx, gpfn := le.Uint64(idxs[8*i:]), le.Uint64(gpfns[8*i:])
		var e xen.Errno
		if gpfn >= 1<<(47-12) || idx >= 1<<(47-12) {
			e = xen.EINVAL
		} else {
			e = ts.MapForeign(x.ForeignDomID, idx, gpfn)
		}
		le.PutUint32(errs[4*i:], uint32(-int32(e)))
	}
	return okOrFault(g.CopyOut(x.Errs, errs))
}

// acquireResource is XENMEM_acquire_resource for the grant table's shared
// frames (Linux privcmd's MMAP_RESOURCE, libxc's xc_dom_gnttab_seed): for
// an auto-translated caller, frame_list holds on input the caller's gfns
// to map the frames at. nr_frames 0 with a NULL frame_list asks the size.
func acquireResource(g Guest, arg uint64) int64 {
	var b [xen.XenMemAcquireResourceSize]byte
	var x xen.XenMemAcquireResource
	if !g.CopyIn(arg, b[:]) || x.Decode(b[:]) != nil {
		return errno(xen.EFAULT)
	}
	if x.Pad != 0 {
		return errno(xen.EINVAL)
	}
	ts := toolstack(g)
	if ts == nil {
		return errno(xen.EPERM)
	}
	if x.DomID >= xen.DomIDFirstReserved {
		return errno(xen.ESRCH)
	}
	if x.Type != xen.XenmemResourceGrantTable || x.ID != xen.XenmemResourceGrantTableIDShared {
		return errno(xen.EOPNOTSUPP)
	}
	if x.FrameList == 0 {
		if x.NrFrames != 0 {
			return errno(xen.EINVAL)
		}
		n, e := ts.GrantFrames(x.DomID)
		if e != 0 {
			return errno(e)
		}
		x.NrFrames = n
		x.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	}
	if x.NrFrames > MaxAcquireFrames {
		return errno(xen.E2BIG)
	}
	if x.NrFrames == 0 {
		return 0
	}
	list := make([]byte, 8*x.NrFrames)
	if !g.CopyIn(x.FrameList, list) {
		return errno(xen.EFAULT)
	}
	gpfns := make([]uint64, x.NrFrames)
	for i := range gpfns {
		if gpfns[i] = le.Uint64(list[8*i:]); gpfns[i] >= 1<<(47-12) {
			return errno(xen.EINVAL)
		}
	}
	return errno(ts.AcquireGrantFrames(x.DomID, x.Frame, gpfns))
}

// removeFromPhysmap is XENMEM_remove_from_physmap on the caller's own
// physmap: a foreign or acquired frame is unmapped (privcmd's unmap), RAM
// is given back as decrease_reservation would.
func removeFromPhysmap(g Guest, arg uint64) int64 {
	var b [xen.XenRemoveFromPhysmapSize]byte
	var x xen.XenRemoveFromPhysmap
	if !g.CopyIn(arg, b[:]) || x.Decode(b[:]) != nil {
		return errno(xen.EFAULT)
	}
	if !self(g, x.DomID) {
		return errno(xen.ESRCH)
	}
	if x.GPFN >= 1<<(47-12) {
		return errno(xen.EINVAL)
	}
	return errno(g.RemoveFromPhysmap(x.GPFN))
}
