package privxc

import (
	"errors"
	"fmt"
	"syscall"

	"gozen/abi/xen"
	"gozen/dom0/xc"
)

// Hypervisor is the Control over a Caller: every operation is one
// __HYPERVISOR_domctl or __HYPERVISOR_sysctl (Xen 4.17, interface 0x15)
// whose struct xen_domctl / xen_sysctl, and any buffer it points to, sit
// in Caller.Buffer memory (Linux's /dev/xen/hypercall in dom0), as libxc
// puts them in hypercall buffers: the hypervisor reads them through dom0's
// page tables, so ordinary Go memory (which may move or be paged) is
// never passed.
type Hypervisor struct{ c Caller }

// NewControl returns the domctl/sysctl half of xc.Interface over c.
func NewControl(c Caller) *Hypervisor { return &Hypervisor{c: c} }

var _ Control = (*Hypervisor)(nil)

// domctl issues command cmd on dom with the union filled by in (nil:
// zeros) and, if out is set, decodes the structure the hypervisor wrote
// back into it.
func (h *Hypervisor) domctl(op string, dom uint32, cmd uint32, in func(u []byte), out func(d *xen.XenDomctl)) error {
	id, err := domid(op, dom)
	if err != nil {
		return err
	}
	buf, release, err := h.c.Buffer(xen.XenDomctlSize)
	if err != nil {
		return &xc.Error{Op: op, Dom: dom, Err: err}
	}
	defer release()
	d := xen.XenDomctl{Cmd: cmd, InterfaceVersion: xen.DomctlInterfaceVersion, Domain: id}
	if in != nil {
		in(d.U[:])
	}
	d.Encode(buf)
	if _, err := h.c.Hypercall(xen.HypercallDomctl, addr(buf)); err != nil {
		return &xc.Error{Op: op, Dom: dom, Err: err}
	}
	if out != nil {
		d.Decode(buf)
		out(&d)
	}
	return nil
}

// sysctl is domctl's twin for __HYPERVISOR_sysctl.
func (h *Hypervisor) sysctl(op string, cmd uint32, in func(u []byte), out func(s *xen.XenSysctl)) error {
	buf, release, err := h.c.Buffer(xen.XenSysctlSize)
	if err != nil {
		return &xc.Error{Op: op, Err: err}
	}
	defer release()
	s := xen.XenSysctl{Cmd: cmd, InterfaceVersion: xen.SysctlInterfaceVersion}
	if in != nil {
		in(s.U[:])
	}
	s.Encode(buf)
	if _, err := h.c.Hypercall(xen.HypercallSysctl, addr(buf)); err != nil {
		return &xc.Error{Op: op, Err: err}
	}
	if out != nil {
		s.Decode(buf)
		out(&s)
	}
	return nil
}

// CreateDomain is XEN_DOMCTL_createdomain with domain 0 in, which asks the
// hypervisor to choose the ID (xc_domain_create); grant tables version 1.
func (h *Hypervisor) CreateDomain(c xc.CreateConfig) (uint32, error) {
	cd := xen.XenDomctlCreateDomain{Handle: c.UUID, Flags: c.Flags, MaxVCPUs: uint32(c.MaxVCPUs),
		MaxEvtchnPort: c.MaxEvtchnPort, MaxGrantFrames: int32(c.MaxGrantFrames),
		MaxMaptrackFrames: int32(c.MaxMaptrackFrames), GrantOpts: 1, EmulationFlags: c.EmulationFlags}
	var id uint32
	err := h.domctl("createdomain", 0, xen.DomctlCreateDomain, cd.Encode, func(d *xen.XenDomctl) { id = uint32(d.Domain) })
	return id, err
}

func (h *Hypervisor) DestroyDomain(dom uint32) error {
	return h.domctl("destroydomain", dom, xen.DomctlDestroyDomain, nil, nil)
}

func (h *Hypervisor) Pause(dom uint32) error {
	return h.domctl("pausedomain", dom, xen.DomctlPauseDomain, nil, nil)
}

func (h *Hypervisor) Unpause(dom uint32) error {
	return h.domctl("unpausedomain", dom, xen.DomctlUnpauseDomain, nil, nil)
}

// domainInfo converts the ABI's structure.
func domainInfo(i *xen.XenDomctlGetDomainInfo) xc.DomainInfo {
	maxID := -1
	if i.MaxVCPUID != xen.XenInvalidMaxVCPUID {
		maxID = int(i.MaxVCPUID)
	}
	return xc.DomainInfo{ID: uint32(i.Domain), Flags: i.Flags, TotPages: i.TotPages, MaxPages: i.MaxPages,
		SharedInfoFrame: i.SharedInfoFrame, CPUTimeNS: i.CPUTime, OnlineVCPUs: int(i.NrOnlineVCPUs),
		MaxVCPUID: maxID, Handle: i.Handle, CPUPool: i.CPUPool}
}

// DomainInfo is XEN_DOMCTL_getdomaininfo, which reports the first domain
// with an ID at or above dom: a different ID means dom does not exist
// (ESRCH, as xc_domain_getinfo_single checks).
func (h *Hypervisor) DomainInfo(dom uint32) (xc.DomainInfo, error) {
	var info xen.XenDomctlGetDomainInfo
	err := h.domctl("getdomaininfo", dom, xen.DomctlGetDomainInfo, nil, func(d *xen.XenDomctl) { info.Decode(d.U[:]) })
	if err != nil {
		return xc.DomainInfo{}, err
	}
	if uint32(info.Domain) != dom {
		return xc.DomainInfo{}, &xc.Error{Op: "getdomaininfo", Dom: dom, Err: syscall.ESRCH}
	}
	return domainInfo(&info), nil
}

// listBatch is how many domains one getdomaininfolist asks for.
const listBatch = 64

// ListDomains is XEN_SYSCTL_getdomaininfolist from domain 0 up, in
// batches until one comes back short.
func (h *Hypervisor) ListDomains() ([]xc.DomainInfo, error) {
	buf, release, err := h.c.Buffer(listBatch * xen.XenDomctlGetDomainInfoSize)
	if err != nil {
		return nil, &xc.Error{Op: "getdomaininfolist", Err: err}
	}
	defer release()
	var out []xc.DomainInfo
	for first := uint32(0); first < xen.DomIDFirstReserved; {
		l := xen.XenSysctlGetdomaininfolist{FirstDomain: uint16(first), MaxDomains: listBatch, Buffer: addr(buf)}
		err := h.sysctl("getdomaininfolist", xen.SysctlGetdomaininfolist, l.Encode, func(s *xen.XenSysctl) { l.Decode(s.U[:]) })
		if err != nil {
			return nil, err
		}
		if l.NumDomains > listBatch {
			return nil, &xc.Error{Op: fmt.Sprintf("getdomaininfolist (%d domains for %d slots)", l.NumDomains, listBatch), Err: syscall.EINVAL}
		}
		for i := range int(l.NumDomains) {
			var info xen.XenDomctlGetDomainInfo
			info.Decode(buf[i*xen.XenDomctlGetDomainInfoSize:])
			if len(out) > 0 && uint32(info.Domain) <= out[len(out)-1].ID {
				return nil, &xc.Error{Op: "getdomaininfolist (IDs out of order)", Err: syscall.EINVAL}
			}
			out = append(out, domainInfo(&info))
		}
		if l.NumDomains < listBatch {
			break
		}
		first = out[len(out)-1].ID + 1
	}
	return out, nil
}

func (h *Hypervisor) SetHandle(dom uint32, uuid [16]byte) error {
	m := xen.XenDomctlSetDomainHandle{Handle: uuid}
	return h.domctl("setdomainhandle", dom, xen.DomctlSetDomainHandle, m.Encode, nil)
}

func (h *Hypervisor) SetMaxMem(dom uint32, kib uint64) error {
	m := xen.XenDomctlMaxMem{MaxMemKB: kib}
	return h.domctl("max_mem", dom, xen.DomctlMaxMem, m.Encode, nil)
}

func (h *Hypervisor) SetMaxVCPUs(dom uint32, n int) error {
	if n < 1 {
		return &xc.Error{Op: "max_vcpus", Dom: dom, Err: syscall.EINVAL}
	}
	m := xen.XenDomctlMaxVCPUs{Max: uint32(n)}
	return h.domctl("max_vcpus", dom, xen.DomctlMaxVCPUs, m.Encode, nil)
}

// hvmContext is XEN_DOMCTL_gethvmcontext: first with a NULL buffer for
// the size, then into a buffer of that size.
func (h *Hypervisor) hvmContext(dom uint32) ([]byte, error) {
	var c xen.XenDomctlHVMContext
	err := h.domctl("gethvmcontext", dom, xen.DomctlGetHVMContext, c.Encode, func(d *xen.XenDomctl) { c.Decode(d.U[:]) })
	if err != nil {
		return nil, err
	}
	if c.Size == 0 || c.Size > 1<<20 {
		return nil, &xc.Error{Op: fmt.Sprintf("gethvmcontext (%d bytes)", c.Size), Dom: dom, Err: syscall.EINVAL}
	}
	buf, release, err := h.c.Buffer(int(c.Size))
	if err != nil {
		return nil, &xc.Error{Op: "gethvmcontext", Dom: dom, Err: err}
	}
	defer release()
	c.Buffer = addr(buf)
	err = h.domctl("gethvmcontext", dom, xen.DomctlGetHVMContext, c.Encode, func(d *xen.XenDomctl) { c.Decode(d.U[:]) })
	if err != nil {
		return nil, err
	}
	if int(c.Size) > len(buf) {
		return nil, &xc.Error{Op: "gethvmcontext (grew)", Dom: dom, Err: syscall.ENOSPC}
	}
	return append([]byte(nil), buf[:c.Size]...), nil
}

// hwCPU is ctx as an hvm_hw_cpu record: ES, FS and GS as DS, LDTR unusable
// (0), the other registers zero, as libxc's PVH builder writes it.
func hwCPU(ctx xc.VCPUContext) xen.HVMHWCPU {
	c := xen.HVMHWCPU{RIP: ctx.RIP, RSP: ctx.RSP, RBX: ctx.RBX, RSI: ctx.RSI,
		CR0: ctx.CR0, CR3: ctx.CR3, CR4: ctx.CR4, MSREFER: ctx.EFER, RFlags: 2}
	seg := func(s xc.Segment, sel, limit, ar *uint32, base *uint64) {
		*sel, *limit, *ar, *base = uint32(s.Sel), s.Limit, s.Arbytes, s.Base
	}
	seg(ctx.CS, &c.CSSel, &c.CSLimit, &c.CSARBytes, &c.CSBase)
	seg(ctx.DS, &c.DSSel, &c.DSLimit, &c.DSARBytes, &c.DSBase)
	seg(ctx.DS, &c.ESSel, &c.ESLimit, &c.ESARBytes, &c.ESBase)
	seg(ctx.DS, &c.FSSel, &c.FSLimit, &c.FSARBytes, &c.FSBase)
	seg(ctx.DS, &c.GSSel, &c.GSLimit, &c.GSARBytes, &c.GSBase)
	seg(ctx.SS, &c.SSSel, &c.SSLimit, &c.SSARBytes, &c.SSBase)
	seg(ctx.TR, &c.TRSel, &c.TRLimit, &c.TRARBytes, &c.TRBase)
	return c
}

// SetVCPUContext does what libxc's bootlate_hvm does: gethvmcontext for
// the hypervisor's HEADER record, then sethvmcontext with that HEADER,
// vCPU vcpu's CPU record and END.
func (h *Hypervisor) SetVCPUContext(dom uint32, vcpu int, ctx xc.VCPUContext) error {
	if vcpu < 0 || vcpu >= xen.DomIDFirstReserved {
		return &xc.Error{Op: "sethvmcontext", Dom: dom, Err: syscall.EINVAL}
	}
	cur, err := h.hvmContext(dom)
	if err != nil {
		return err
	}
	recs, err := xen.ParseHVMContext(cur, 1024)
	if err != nil || recs[0].Typecode != xen.HVMSaveCodeHeader || len(recs[0].Data) != xen.HVMSaveHeaderSize {
		return &xc.Error{Op: "gethvmcontext (no HEADER record)", Dom: dom, Err: syscall.EINVAL}
	}
	var hdr xen.HVMSaveHeader
	hdr.Decode(recs[0].Data)
	cpu := hwCPU(ctx)
	b := xen.AppendHVMRecord(nil, xen.HVMSaveCodeHeader, 0, xen.HVMSaveHeaderSize, &hdr)
	b = xen.AppendHVMRecord(b, xen.HVMSaveCodeCPU, uint16(vcpu), xen.HVMHWCPUSize, &cpu)
	b = xen.AppendHVMRecord(b, xen.HVMSaveCodeEnd, 0, 0, nil)
	buf, release, err := h.c.Buffer(len(b))
	if err != nil {
		return &xc.Error{Op: "sethvmcontext", Dom: dom, Err: err}
	}
	defer release()
	copy(buf, b)
	c := xen.XenDomctlHVMContext{Size: uint32(len(b)), Buffer: addr(buf)}
	return h.domctl("sethvmcontext", dom, xen.DomctlSetHVMContext, c.Encode, nil)
}

// SchedParams is XEN_DOMCTL_scheduler_op getinfo for the credit
// scheduler.
func (h *Hypervisor) SchedParams(dom uint32) (xc.Sched, error) {
	s := xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit, Cmd: xen.DomctlSchedopGetinfo}
	err := h.domctl("scheduler_op", dom, xen.DomctlSchedulerOp, s.Encode, func(d *xen.XenDomctl) { s.Decode(d.U[:]) })
	return xc.Sched{Weight: int(s.Weight()), Cap: int(s.Cap())}, err
}

// SetSchedParams is scheduler_op putinfo; the weight and cap are checked
// here for their 16-bit fields (the hypervisor checks the rest).
func (h *Hypervisor) SetSchedParams(dom uint32, p xc.Sched) error {
	if p.Weight < 1 || p.Weight > 0xffff || p.Cap < 0 || p.Cap >= 0xffff {
		return &xc.Error{Op: "scheduler_op", Dom: dom, Err: syscall.EINVAL}
	}
	s := xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit, Cmd: xen.DomctlSchedopPutinfo}
	s.SetCredit(uint16(p.Weight), uint16(p.Cap))
	return h.domctl("scheduler_op", dom, xen.DomctlSchedulerOp, s.Encode, nil)
}

// VCPUs is XEN_DOMCTL_getvcpuinfo for vCPUs 0..max_vcpu_id.
func (h *Hypervisor) VCPUs(dom uint32) ([]xc.VCPUInfo, error) {
	info, err := h.DomainInfo(dom)
	if err != nil {
		return nil, err
	}
	out := make([]xc.VCPUInfo, 0, info.MaxVCPUID+1)
	for i := 0; i <= info.MaxVCPUID; i++ {
		v := xen.XenDomctlGetVCPUInfo{VCPU: uint32(i)}
		err := h.domctl("getvcpuinfo", dom, xen.DomctlGetVCPUInfo, v.Encode, func(d *xen.XenDomctl) { v.Decode(d.U[:]) })
		if err != nil {
			return nil, err
		}
		out = append(out, xc.VCPUInfo{ID: i, Online: v.Online != 0, Blocked: v.Blocked != 0, Running: v.Running != 0,
			CPUTimeNS: v.CPUTime, CPU: int(v.CPU)})
	}
	return out, nil
}

// PhysInfo is XEN_SYSCTL_physinfo.
func (h *Hypervisor) PhysInfo() (xc.PhysInfo, error) {
	var p xen.XenSysctlPhysinfo
	err := h.sysctl("physinfo", xen.SysctlPhysinfo, nil, func(s *xen.XenSysctl) { p.Decode(s.U[:]) })
	nodes := max(int(p.NrNodes), 1)
	sockets := int(p.NrCPUs) / max(int(p.CoresPerSocket*p.ThreadsPerCore), 1) / nodes
	return xc.PhysInfo{NrCPUs: int(p.NrCPUs), NrNodes: int(p.NrNodes), CoresPerSocket: int(p.CoresPerSocket),
		ThreadsPerCore: int(p.ThreadsPerCore), Sockets: max(sockets, 1), CPUkHz: uint64(p.CPUKHz),
		TotalPages: p.TotalPages, FreePages: p.FreePages, ScrubPages: p.ScrubPages, Capabilities: p.Capabilities,
		HWCap: p.HWCap, MaxCPUID: int(p.MaxCPUID)}, err
}

// consoleChunk is one readconsole's buffer.
const consoleChunk = 16 << 10

// ReadConsole is XEN_SYSCTL_readconsole, incremental from the oldest byte
// until a read comes back empty (xc_readconsolering); clear empties the
// ring with the last read.
func (h *Hypervisor) ReadConsole(clear bool) (string, error) {
	s, _, err := h.readConsole(0, true, clear)
	return s, err
}

// ReadConsoleFrom reads hv's console ring from position index (what an
// earlier call returned) to its end, and returns the text and the position
// after it: a reader following the ring reads each byte once. An index
// older than what the ring keeps reads from the oldest byte kept.
func (h *Hypervisor) ReadConsoleFrom(index uint32) (string, uint32, error) {
	return h.readConsole(index, false, false)
}

func (h *Hypervisor) readConsole(index uint32, fromOldest, clear bool) (string, uint32, error) {
	buf, release, err := h.c.Buffer(consoleChunk)
	if err != nil {
		return "", index, &xc.Error{Op: "readconsole", Err: err}
	}
	defer release()
	var out []byte
	for first := true; ; first = false {
		r := xen.XenSysctlReadconsole{Index: index, Buffer: addr(buf), Count: consoleChunk}
		if !first || !fromOldest {
			r.Incremental = 1
		}
		err := h.sysctl("readconsole", xen.SysctlReadconsole, r.Encode, func(s *xen.XenSysctl) { r.Decode(s.U[:]) })
		if err != nil {
			return "", index, err
		}
		if r.Count > consoleChunk {
			return "", index, &xc.Error{Op: "readconsole (overlong)", Err: syscall.EINVAL}
		}
		out = append(out, buf[:r.Count]...)
		index = r.Index
		if r.Count == 0 || len(out) > 16<<20 {
			break
		}
	}
	if clear {
		r := xen.XenSysctlReadconsole{Clear: 1, Index: index, Incremental: 1, Buffer: addr(buf)}
		if err := h.sysctl("readconsole", xen.SysctlReadconsole, r.Encode, nil); err != nil {
			return "", index, err
		}
	}
	return string(out), index, nil
}

// WriteChunk is what one gdbsx_guestmemio copies at most: GoZen's bound
// (hypercall.MaxGuestMemIO; Xen has none). A hypervisor with a smaller one
// answers E2BIG, and WriteGuest halves the chunk.
const WriteChunk = 4 << 20

// WriteGuest is XEN_DOMCTL_gdbsx_guestmemio writing dom's memory, a chunk
// per call. The hypervisor reads the source through dom0's page tables:
// each chunk is passed in place when the Caller can make its pages
// resident (Resident: a mapped kernel or ramdisk file, Go memory), which
// saves dom0 copying it; where they are not (the call fails with EFAULT,
// a page having gone meanwhile) or cannot be, the chunk goes through a
// hypercall buffer, which is locked, as libxc's bounce buffers. The
// guest-virtual address the domctl takes is guest-physical in a domain
// whose vCPU 0 has not run.
func (h *Hypervisor) WriteGuest(dom uint32, gpa uint64, data []byte) error {
	const op = "gdbsx_guestmemio"
	id, err := domid(op, dom)
	if err != nil || len(data) == 0 {
		return err
	}
	ctl, releaseCtl, err := h.c.Buffer(xen.XenDomctlSize)
	if err != nil {
		return &xc.Error{Op: op, Dom: dom, Err: err}
	}
	defer releaseCtl()
	call := func(uva uint64, n int) error {
		m := xen.XenDomctlGdbsxMemIO{GVA: gpa, UVA: uva, Len: uint32(n), GWr: 1}
		d := xen.XenDomctl{Cmd: xen.DomctlGdbsxGuestMemIO, InterfaceVersion: xen.DomctlInterfaceVersion, Domain: id}
		m.Encode(d.U[:])
		d.Encode(ctl)
		_, err := h.c.Hypercall(xen.HypercallDomctl, addr(ctl))
		return err
	}
	var bounce []byte // a hypercall buffer, made when first needed
	chunk := WriteChunk
	for len(data) > 0 {
		n := min(len(data), chunk)
		var err error = syscall.EFAULT
		if h.c.Resident(data[:n]) {
			err = call(addr(data), n)
		}
		if errors.Is(err, syscall.EFAULT) {
			if bounce == nil {
				b, release, berr := h.c.Buffer(n)
				if berr != nil {
					return &xc.Error{Op: op, Dom: dom, Err: berr}
				}
				defer release()
				bounce = b
			}
			n = min(n, len(bounce))
			copy(bounce, data[:n])
			err = call(addr(bounce), n)
		}
		if err != nil {
			if errors.Is(err, syscall.E2BIG) && chunk > xc.PageSize {
				chunk /= 2
				continue
			}
			return &xc.Error{Op: fmt.Sprintf("%s of %d bytes at %#x", op, n, gpa), Dom: dom, Err: err}
		}
		data, gpa = data[n:], gpa+uint64(n)
	}
	return nil
}
