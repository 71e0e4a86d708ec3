package hypercall

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"gozen/abi/xen"
)

// fakeToolstack is dom0's Toolstack over a few fake domains. It checks the
// promises the dispatcher makes about arguments and records every call.
type fakeToolstack struct {
	g       *fakeGuest
	doms    map[uint16]*fakeDom
	console []byte
	ctx     []byte // what HVMContext returns
}

type fakeDom struct {
	g      *fakeGuest // for the ForeignDomain calls
	id     uint16
	vcpus  uint32
	weight uint16
	cap    uint16
	params [xen.HVMNrParams]uint64
	// started: unpaused once (gdbsx_guestmemio refuses it); frames: its
	// RAM, fakeFrames frames, made on first use.
	started bool
	frames  map[uint64]*[xen.PageSize]byte
}

const fakeFrames = 16

func newFakeToolstack(g *fakeGuest) *fakeToolstack {
	ts := &fakeToolstack{g: g, doms: map[uint16]*fakeDom{}, console: []byte("hv: booted\nhv: domain 1 created\n")}
	for _, id := range []uint16{0, 3, 7} {
		ts.doms[id] = &fakeDom{g: g, id: id, vcpus: 2, weight: 256, started: id != 3}
	}
	hdr := xen.HVMSaveHeader{Magic: xen.HVMFileMagic, Version: xen.HVMFileVersion}
	ts.ctx = xen.AppendHVMRecord(nil, xen.HVMSaveCodeHeader, 0, xen.HVMSaveHeaderSize, &hdr)
	ts.ctx = xen.AppendHVMRecord(ts.ctx, xen.HVMSaveCodeEnd, 0, 0, nil)
	return ts
}

func (ts *fakeToolstack) dom(id uint16) (*fakeDom, xen.Errno) {
	if id >= xen.DomIDFirstReserved {
		ts.g.errorf("domain id %#x reached the toolstack", id)
	}
	d := ts.doms[id]
	if d == nil {
		return nil, xen.ESRCH
	}
	return d, 0
}

func (ts *fakeToolstack) CreateDomain(domid uint16, c *xen.XenDomctlCreateDomain) (uint16, xen.Errno) {
	if CheckCreateDomain(c, MaxDomainVCPUs) != 0 {
		ts.g.errorf("CreateDomain with a bad config %+v", c)
	}
	if domid == 0 {
		domid = 9
	}
	if ts.doms[domid] != nil {
		return 0, xen.EEXIST
	}
	ts.doms[domid] = &fakeDom{g: ts.g, id: domid, vcpus: c.MaxVCPUs, weight: 256}
	ts.g.record("create %d vcpus %d", domid, c.MaxVCPUs)
	return domid, 0
}

func (ts *fakeToolstack) simple(what string, id uint16) xen.Errno {
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	ts.g.record("%s %d", what, id)
	if what == "destroy" {
		delete(ts.doms, id)
	}
	return 0
}

func (ts *fakeToolstack) DestroyDomain(id uint16) xen.Errno { return ts.simple("destroy", id) }
func (ts *fakeToolstack) PauseDomain(id uint16) xen.Errno   { return ts.simple("pause", id) }
func (ts *fakeToolstack) UnpauseDomain(id uint16) xen.Errno { return ts.simple("unpause", id) }

func (ts *fakeToolstack) DomainInfo(id uint16) (xen.XenDomctlGetDomainInfo, bool) {
	for i := uint32(id); i < xen.DomIDFirstReserved; i++ {
		if d := ts.doms[uint16(i)]; d != nil {
			return xen.XenDomctlGetDomainInfo{Domain: d.id, Flags: xen.DominfHVMGuest, NrOnlineVCPUs: d.vcpus, MaxVCPUID: d.vcpus - 1}, true
		}
	}
	return xen.XenDomctlGetDomainInfo{}, false
}

func (ts *fakeToolstack) SetMaxMem(id uint16, kb uint64) xen.Errno {
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	ts.g.record("maxmem %d %d", id, kb)
	return 0
}

func (ts *fakeToolstack) SetHandle(id uint16, h [xen.XenDomainHandleLen]byte) xen.Errno {
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	ts.g.record("handle %d %x", id, h)
	return 0
}

func (ts *fakeToolstack) CheckMaxVCPUs(id uint16, n uint32) xen.Errno {
	d, e := ts.dom(id)
	if e != 0 {
		return e
	}
	if n != d.vcpus {
		return xen.EINVAL
	}
	return 0
}

func (ts *fakeToolstack) CheckVCPU(id uint16, vcpu uint32) xen.Errno {
	d, e := ts.dom(id)
	if e != 0 {
		return e
	}
	if vcpu >= d.vcpus {
		return xen.EINVAL
	}
	return 0
}

func (ts *fakeToolstack) SchedCredit(id uint16, set bool, w, c uint16) (uint16, uint16, xen.Errno) {
	d, e := ts.dom(id)
	if e != 0 {
		return 0, 0, e
	}
	if set {
		if w == 0 {
			ts.g.errorf("SchedCredit with weight 0")
		}
		d.weight, d.cap = w, c
		ts.g.record("sched %d weight %d cap %d", id, w, c)
	}
	return d.weight, d.cap, 0
}

func (ts *fakeToolstack) VCPUInfo(id uint16, vcpu uint32) (xen.XenDomctlGetVCPUInfo, xen.Errno) {
	d, e := ts.dom(id)
	if e != 0 {
		return xen.XenDomctlGetVCPUInfo{}, e
	}
	if vcpu >= d.vcpus {
		return xen.XenDomctlGetVCPUInfo{}, xen.EINVAL
	}
	return xen.XenDomctlGetVCPUInfo{VCPU: 99, Online: 1, CPUTime: 1000 + uint64(vcpu)}, 0
}

func (ts *fakeToolstack) RemoteShutdown(id uint16, reason uint32) xen.Errno {
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	ts.g.record("remote shutdown %d reason %d", id, reason)
	return 0
}

func (ts *fakeToolstack) HVMContext(id uint16) ([]byte, xen.Errno) {
	if _, e := ts.dom(id); e != 0 {
		return nil, e
	}
	return ts.ctx, 0
}

func (ts *fakeToolstack) SetHVMContext(id uint16, recs []xen.HVMSaveRecord) xen.Errno {
	if len(recs) == 0 || len(recs) > MaxHVMRecords || recs[len(recs)-1].Typecode != xen.HVMSaveCodeEnd {
		ts.g.errorf("SetHVMContext with %d records", len(recs))
	}
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	ts.g.record("sethvmcontext %d: %d records", id, len(recs))
	return 0
}

func (ts *fakeToolstack) Physinfo() xen.XenSysctlPhysinfo {
	return xen.XenSysctlPhysinfo{NrCPUs: 1, TotalPages: 1000, FreePages: 600, Capabilities: xen.PhyscapHVM | xen.PhyscapHAP}
}

func (ts *fakeToolstack) ReadConsole(p []byte, index uint32, incr, clear bool) (int, uint32) {
	if len(p) > MaxReadConsole {
		ts.g.errorf("ReadConsole of %d bytes", len(p))
	}
	start := uint32(0)
	if incr {
		start = min(index, uint32(len(ts.console)))
	}
	n := copy(p, ts.console[start:])
	if clear {
		ts.console = nil
	}
	return n, start + uint32(n)
}

func (ts *fakeToolstack) Foreign(id uint16) ForeignDomain {
	d, _ := ts.dom(id)
	if d == nil {
		return nil
	}
	return d
}

func (ts *fakeToolstack) MapForeign(id uint16, gfn, gpfn uint64) xen.Errno {
	if gfn >= 1<<35 || gpfn >= 1<<35 || id == xen.DomIDSelf || id == ts.g.DomID() {
		ts.g.errorf("MapForeign(%d, %#x, %#x)", id, gfn, gpfn)
	}
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	if gfn == 0xdead {
		return xen.EINVAL
	}
	ts.g.record("map %d:%#x at %#x", id, gfn, gpfn)
	return 0
}

func (ts *fakeToolstack) AcquireGrantFrames(id uint16, first uint64, gpfns []uint64) xen.Errno {
	if len(gpfns) == 0 || len(gpfns) > MaxAcquireFrames {
		ts.g.errorf("AcquireGrantFrames of %d frames", len(gpfns))
	}
	if _, e := ts.dom(id); e != 0 {
		return e
	}
	ts.g.record("acquire %d grant frames %d.. at %#x", id, first, gpfns)
	return 0
}

func (ts *fakeToolstack) GrantFrames(id uint16) (uint32, xen.Errno) {
	if _, e := ts.dom(id); e != 0 {
		return 0, e
	}
	return 64, 0
}

func (d *fakeDom) Reservation() (uint64, uint64) { return 10, 20 }
func (d *fakeDom) PopulatePhysmap(gfn uint64, order uint32) bool {
	return d.g.extent("foreign populate", gfn, order)
}
func (d *fakeDom) DecreaseReservation(gfn uint64, order uint32) bool {
	return d.g.extent("foreign decrease", gfn, order)
}
func (d *fakeDom) IncreaseReservation(order uint32) bool {
	return d.g.extent("foreign increase", 0, order)
}
func (d *fakeDom) Param(idx uint32) uint64 { return d.params[idx] }
func (d *fakeDom) SetParam(idx uint32, v uint64) xen.Errno {
	if idx >= xen.HVMNrParams {
		d.g.errorf("SetParam(%d)", idx)
	}
	d.params[idx] = v
	d.g.record("param %d:%d=%#x", d.id, idx, v)
	return 0
}

func (d *fakeDom) Unstarted() bool { return !d.started }
func (d *fakeDom) Frame(gfn uint64) *[xen.PageSize]byte {
	if gfn >= fakeFrames {
		return nil
	}
	if d.frames == nil {
		d.frames = map[uint64]*[xen.PageSize]byte{}
	}
	if d.frames[gfn] == nil {
		d.frames[gfn] = new([xen.PageSize]byte)
	}
	return d.frames[gfn]
}

func (g *fakeGuest) RemoveFromPhysmap(gfn uint64) xen.Errno {
	if gfn >= 1<<35 {
		g.errorf("RemoveFromPhysmap(%#x)", gfn)
	}
	g.record("remove %#x", gfn)
	return 0
}

// toolstackFake is a dom0 fake with a toolstack.
func toolstackFake(t *testing.T) *fakeGuest {
	g := dom0Fake(t)
	g.ctl.ts = newFakeToolstack(g)
	return g
}

func domctlBytes(cmd uint32, dom uint16, u interface{ Encode([]byte) }) []byte {
	op := xen.XenDomctl{Cmd: cmd, InterfaceVersion: xen.DomctlInterfaceVersion, Domain: dom}
	if u != nil {
		u.Encode(op.U[:])
	}
	return enc(&op, xen.XenDomctlSize)
}

func sysctlBytes(cmd uint32, u interface{ Encode([]byte) }) []byte {
	op := xen.XenSysctl{Cmd: cmd, InterfaceVersion: xen.SysctlInterfaceVersion}
	if u != nil {
		u.Encode(op.U[:])
	}
	return enc(&op, xen.XenSysctlSize)
}

// at puts b in the fake's memory at gva.
func (g *fakeGuest) at(gva uint64, b []byte) { copy(g.mem[gva-memBase:], b) }

func (g *fakeGuest) domctlResult() xen.XenDomctl {
	var op xen.XenDomctl
	op.Decode(g.mem[argAt-memBase:])
	return op
}

var pvhConfig = xen.XenDomctlCreateDomain{Flags: xen.DomctlCDFHVM | xen.DomctlCDFHAP, MaxVCPUs: 2, MaxEvtchnPort: 1023,
	MaxGrantFrames: 32, MaxMaptrackFrames: -1, EmulationFlags: xen.X86EmuLAPIC}

func TestDomctlPrivilegeAndVersion(t *testing.T) {
	for _, c := range []struct {
		name    string
		dom0    bool
		version uint32
		want    xen.Errno
	}{
		{"dom0", true, xen.DomctlInterfaceVersion, 0},
		{"domU", false, xen.DomctlInterfaceVersion, xen.EPERM},
		{"dom0 4.18 version", true, 0x16, xen.EACCES},
		{"domU wrong version", false, 0x17, xen.EACCES},
	} {
		g := newFake(t)
		if c.dom0 {
			g = toolstackFake(t)
		}
		op := xen.XenDomctl{Cmd: xen.DomctlPauseDomain, InterfaceVersion: c.version, Domain: 3}
		g.at(argAt, enc(&op, xen.XenDomctlSize))
		if got := g.call(xen.HypercallDomctl, argAt); got != -int64(c.want) {
			t.Errorf("%s: domctl = %d, want %d", c.name, got, -int64(c.want))
		}
		sop := xen.XenSysctl{Cmd: xen.SysctlPhysinfo, InterfaceVersion: c.version}
		g.at(argAt, enc(&sop, xen.XenSysctlSize))
		if got := g.call(xen.HypercallSysctl, argAt); got != -int64(c.want) {
			t.Errorf("%s: sysctl = %d, want %d", c.name, got, -int64(c.want))
		}
	}
	// A dom0 without a toolstack behind it (hv always has one) is a domU here.
	g := dom0Fake(t)
	g.at(argAt, domctlBytes(xen.DomctlPauseDomain, 3, nil))
	if got := g.call(xen.HypercallDomctl, argAt); got != -int64(xen.EPERM) {
		t.Errorf("no toolstack: %d", got)
	}
	g = toolstackFake(t)
	if got := g.call(xen.HypercallDomctl, 0x10); got != -int64(xen.EFAULT) {
		t.Errorf("bad pointer: %d", got)
	}
}

func TestDomctlLifecycle(t *testing.T) {
	g := toolstackFake(t)
	g.at(argAt, domctlBytes(xen.DomctlCreateDomain, 0, &pvhConfig))
	if got := g.call(xen.HypercallDomctl, argAt); got != 0 {
		t.Fatalf("createdomain = %d", got)
	}
	if op := g.domctlResult(); op.Domain != 9 {
		t.Errorf("new domain id %d written back, want 9", op.Domain)
	}
	bad := []xen.XenDomctlCreateDomain{pvhConfig, pvhConfig, pvhConfig, pvhConfig, pvhConfig, pvhConfig}
	bad[0].Flags = xen.DomctlCDFHVM      // shadow paging
	bad[1].Flags |= xen.DomctlCDFIOMMU   // passthrough
	bad[2].MaxVCPUs = 0                  // no vCPU
	bad[3].EmulationFlags = 0x3ff        // a full HVM
	bad[4].MaxVCPUs = MaxDomainVCPUs + 1 // too many
	bad[5].GrantOpts = 2                 // grant v2
	for i, c := range bad {
		g.at(argAt, domctlBytes(xen.DomctlCreateDomain, 0, &c))
		if got := g.call(xen.HypercallDomctl, argAt); got != -int64(xen.EINVAL) {
			t.Errorf("bad config %d: %d", i, got)
		}
	}
	g.at(argAt, domctlBytes(xen.DomctlCreateDomain, 3, &pvhConfig))
	if got := g.call(xen.HypercallDomctl, argAt); got != -int64(xen.EEXIST) {
		t.Errorf("create with an ID in use: %d", got)
	}
	for _, c := range []struct {
		cmd  uint32
		dom  uint16
		u    interface{ Encode([]byte) }
		want xen.Errno
	}{
		{xen.DomctlPauseDomain, 9, nil, 0},
		{xen.DomctlUnpauseDomain, 9, nil, 0},
		{xen.DomctlMaxMem, 9, &xen.XenDomctlMaxMem{MaxMemKB: 16384}, 0},
		{xen.DomctlMaxMem, 9, &xen.XenDomctlMaxMem{MaxMemKB: 1 << 40}, xen.EINVAL},
		{xen.DomctlMaxVCPUs, 9, &xen.XenDomctlMaxVCPUs{Max: 2}, 0},
		{xen.DomctlMaxVCPUs, 9, &xen.XenDomctlMaxVCPUs{Max: 3}, xen.EINVAL},
		{xen.DomctlSetDomainHandle, 9, &xen.XenDomctlSetDomainHandle{Handle: [16]byte{0xab, 15: 0xcd}}, 0},
		{xen.DomctlSetDomainHandle, 4, &xen.XenDomctlSetDomainHandle{}, xen.ESRCH},
		{xen.DomctlSetVCPUAffinity, 9, &xen.XenDomctlVCPUAffinity{VCPU: 1, Flags: xen.VCPUAffinityHard}, 0},
		{xen.DomctlSetVCPUAffinity, 9, &xen.XenDomctlVCPUAffinity{VCPU: 2, Flags: xen.VCPUAffinityHard}, xen.EINVAL},
		{xen.DomctlSetVCPUAffinity, 9, &xen.XenDomctlVCPUAffinity{VCPU: 0}, xen.EINVAL},
		{xen.DomctlPauseDomain, 4, nil, xen.ESRCH},
		{xen.DomctlPauseDomain, xen.DomIDSelf, nil, xen.ESRCH},
		{xen.DomctlSetNodeAffinity, 9, nil, xen.ENOSYS},
		{xen.DomctlDestroyDomain, 9, nil, 0},
		{xen.DomctlDestroyDomain, 9, nil, xen.ESRCH},
	} {
		g.at(argAt, domctlBytes(c.cmd, c.dom, c.u))
		if got := g.call(xen.HypercallDomctl, argAt); got != -int64(c.want) {
			t.Errorf("domctl %d on %d: %d, want %d", c.cmd, c.dom, got, -int64(c.want))
		}
	}
	want := "create 9 vcpus 2;pause 9;unpause 9;maxmem 9 16384;handle 9 ab0000000000000000000000000000cd;destroy 9"
	if got := strings.Join(g.calls, ";"); got != want {
		t.Errorf("calls %q\nwant  %q", got, want)
	}
}

func TestDomctlGetVCPUInfoAndRemoteShutdown(t *testing.T) {
	g := toolstackFake(t)
	g.at(argAt, domctlBytes(xen.DomctlGetVCPUInfo, 3, &xen.XenDomctlGetVCPUInfo{VCPU: 1}))
	if r := g.call(xen.HypercallDomctl, argAt); r != 0 {
		t.Fatalf("getvcpuinfo = %d", r)
	}
	res := g.domctlResult()
	var v xen.XenDomctlGetVCPUInfo
	v.Decode(res.U[:])
	if v.VCPU != 1 || v.Online != 1 || v.CPUTime != 1001 {
		t.Errorf("getvcpuinfo %+v (the vcpu field is the caller's)", v)
	}
	g.at(argAt, domctlBytes(xen.DomctlGetVCPUInfo, 3, &xen.XenDomctlGetVCPUInfo{VCPU: 2}))
	if r := g.call(xen.HypercallDomctl, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("getvcpuinfo of a missing vCPU = %d", r)
	}
	rs := enc(&xen.SchedRemoteShutdown{DomainID: 7, Reason: xen.ShutdownReboot}, xen.SchedRemoteShutdownSize)
	g.at(argAt, rs)
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpRemoteShutdown, argAt); r != 0 || g.calls[len(g.calls)-1] != "remote shutdown 7 reason 1" {
		t.Errorf("remote_shutdown = %d, calls %q", r, g.calls)
	}
	g.at(argAt, enc(&xen.SchedRemoteShutdown{DomainID: 4}, xen.SchedRemoteShutdownSize))
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpRemoteShutdown, argAt); r != -int64(xen.ESRCH) {
		t.Errorf("remote_shutdown of a missing domain = %d", r)
	}
	d := newFake(t)
	d.at(argAt, rs)
	if r := d.call(xen.HypercallSchedOp, xen.SchedOpRemoteShutdown, argAt); r != -int64(xen.EPERM) || len(d.calls) != 0 {
		t.Errorf("domU remote_shutdown = %d, calls %q", r, d.calls)
	}
}

func TestDomctlGetDomainInfo(t *testing.T) {
	g := toolstackFake(t)
	for _, c := range []struct{ ask, got uint16 }{{0, 0}, {1, 3}, {3, 3}, {4, 7}} {
		g.at(argAt, domctlBytes(xen.DomctlGetDomainInfo, c.ask, nil))
		if r := g.call(xen.HypercallDomctl, argAt); r != 0 {
			t.Fatalf("getdomaininfo %d = %d", c.ask, r)
		}
		op := g.domctlResult()
		var info xen.XenDomctlGetDomainInfo
		info.Decode(op.U[:])
		if op.Domain != c.got || info.Domain != c.got || info.NrOnlineVCPUs != 2 {
			t.Errorf("getdomaininfo %d: domain %d/%d (want %d), %+v", c.ask, op.Domain, info.Domain, c.got, info)
		}
	}
	g.at(argAt, domctlBytes(xen.DomctlGetDomainInfo, 8, nil))
	if r := g.call(xen.HypercallDomctl, argAt); r != -int64(xen.ESRCH) {
		t.Errorf("getdomaininfo past the last domain = %d", r)
	}
}

func TestDomctlScheduler(t *testing.T) {
	g := toolstackFake(t)
	put := func(w, c uint16) int64 {
		s := xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit, Cmd: xen.DomctlSchedopPutinfo}
		s.SetCredit(w, c)
		g.at(argAt, domctlBytes(xen.DomctlSchedulerOp, 3, &s))
		return g.call(xen.HypercallDomctl, argAt)
	}
	get := func() (uint16, uint16) {
		s := xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit, Cmd: xen.DomctlSchedopGetinfo}
		g.at(argAt, domctlBytes(xen.DomctlSchedulerOp, 3, &s))
		if r := g.call(xen.HypercallDomctl, argAt); r != 0 {
			t.Fatalf("getinfo = %d", r)
		}
		op := g.domctlResult()
		s.Decode(op.U[:])
		return s.Weight(), s.Cap()
	}
	if put(512, 50) != 0 {
		t.Fatal("putinfo failed")
	}
	if w, c := get(); w != 512 || c != 50 {
		t.Errorf("after put 512/50: %d/%d", w, c)
	}
	put(0, 0xffff) // both unchanged
	if w, c := get(); w != 512 || c != 50 {
		t.Errorf("after put 0/0xffff: %d/%d", w, c)
	}
	put(0, 0) // cap off, weight kept
	if w, c := get(); w != 512 || c != 0 {
		t.Errorf("after put 0/0: %d/%d", w, c)
	}
	s := xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit2, Cmd: xen.DomctlSchedopGetinfo}
	g.at(argAt, domctlBytes(xen.DomctlSchedulerOp, 3, &s))
	if r := g.call(xen.HypercallDomctl, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("credit2 = %d", r)
	}
}

func TestDomctlHVMContext(t *testing.T) {
	g := toolstackFake(t)
	const buf = memBase + 0x2000
	// Size query.
	g.at(argAt, domctlBytes(xen.DomctlGetHVMContext, 3, &xen.XenDomctlHVMContext{}))
	if r := g.call(xen.HypercallDomctl, argAt); r != 0 {
		t.Fatalf("size query = %d", r)
	}
	var c xen.XenDomctlHVMContext
	res := g.domctlResult()
	c.Decode(res.U[:])
	n := len(g.ctl.ts.ctx)
	if int(c.Size) != n {
		t.Fatalf("size %d, want %d", c.Size, n)
	}
	g.at(argAt, domctlBytes(xen.DomctlGetHVMContext, 3, &xen.XenDomctlHVMContext{Size: uint32(n - 1), Buffer: buf}))
	if r := g.call(xen.HypercallDomctl, argAt); r != -int64(xen.ENOSPC) {
		t.Errorf("short buffer = %d", r)
	}
	g.at(argAt, domctlBytes(xen.DomctlGetHVMContext, 3, &xen.XenDomctlHVMContext{Size: 4096, Buffer: buf}))
	if r := g.call(xen.HypercallDomctl, argAt); r != 0 || !bytes.Equal(g.mem[buf-memBase:buf-memBase+uint64(n)], g.ctl.ts.ctx) {
		t.Errorf("get = %d", r)
	}
	// Set: the context read back, plus a CPU record.
	ctx := append([]byte(nil), g.ctl.ts.ctx[:len(g.ctl.ts.ctx)-8]...)
	ctx = xen.AppendHVMRecord(ctx, xen.HVMSaveCodeCPU, 0, xen.HVMHWCPUSize, &xen.HVMHWCPU{RIP: 0x100000})
	ctx = xen.AppendHVMRecord(ctx, xen.HVMSaveCodeEnd, 0, 0, nil)
	g.at(buf, ctx)
	g.at(argAt, domctlBytes(xen.DomctlSetHVMContext, 3, &xen.XenDomctlHVMContext{Size: uint32(len(ctx)), Buffer: buf}))
	if r := g.call(xen.HypercallDomctl, argAt); r != 0 || g.calls[len(g.calls)-1] != "sethvmcontext 3: 3 records" {
		t.Errorf("set = %d, calls %q", r, g.calls)
	}
	for _, size := range []uint32{uint32(len(ctx) - 8), 5} {
		g.at(argAt, domctlBytes(xen.DomctlSetHVMContext, 3, &xen.XenDomctlHVMContext{Size: size, Buffer: buf}))
		if r := g.call(xen.HypercallDomctl, argAt); r != -int64(xen.EINVAL) {
			t.Errorf("set of %d bytes (no END) = %d", size, r)
		}
	}
	g.at(argAt, domctlBytes(xen.DomctlSetHVMContext, 3, &xen.XenDomctlHVMContext{Size: MaxHVMContext + 1, Buffer: buf}))
	if r := g.call(xen.HypercallDomctl, argAt); r != -int64(xen.E2BIG) {
		t.Errorf("huge set = %d", r)
	}
}

func TestSysctl(t *testing.T) {
	g := toolstackFake(t)
	g.at(argAt, sysctlBytes(xen.SysctlPhysinfo, nil))
	if r := g.call(xen.HypercallSysctl, argAt); r != 0 {
		t.Fatalf("physinfo = %d", r)
	}
	var op xen.XenSysctl
	op.Decode(g.mem[argAt-memBase:])
	var p xen.XenSysctlPhysinfo
	p.Decode(op.U[:])
	if p.TotalPages != 1000 || p.FreePages != 600 || p.NrCPUs != 1 {
		t.Errorf("physinfo %+v", p)
	}

	const buf = memBase + 0x2000
	list := func(first uint16, max uint32) (ids []uint16) {
		g.at(argAt, sysctlBytes(xen.SysctlGetdomaininfolist, &xen.XenSysctlGetdomaininfolist{FirstDomain: first, MaxDomains: max, Buffer: buf}))
		if r := g.call(xen.HypercallSysctl, argAt); r != 0 {
			t.Fatalf("getdomaininfolist = %d", r)
		}
		op.Decode(g.mem[argAt-memBase:])
		var l xen.XenSysctlGetdomaininfolist
		l.Decode(op.U[:])
		for i := range l.NumDomains {
			var info xen.XenDomctlGetDomainInfo
			info.Decode(g.mem[buf-memBase+uint64(i)*xen.XenDomctlGetDomainInfoSize:])
			ids = append(ids, info.Domain)
		}
		return ids
	}
	for _, c := range []struct {
		first uint16
		max   uint32
		want  string
	}{{0, 10, "[0 3 7]"}, {1, 10, "[3 7]"}, {0, 2, "[0 3]"}, {8, 10, "[]"}, {0, 0, "[]"}} {
		if got := fmt.Sprint(list(c.first, c.max)); got != c.want {
			t.Errorf("list from %d max %d = %s, want %s", c.first, c.max, got, c.want)
		}
	}

	rc := func(index uint32, incr, clear bool, count uint32) (string, uint32) {
		r := xen.XenSysctlReadconsole{Index: index, Buffer: buf, Count: count}
		if incr {
			r.Incremental = 1
		}
		if clear {
			r.Clear = 1
		}
		g.at(argAt, sysctlBytes(xen.SysctlReadconsole, &r))
		if res := g.call(xen.HypercallSysctl, argAt); res != 0 {
			t.Fatalf("readconsole = %d", res)
		}
		op.Decode(g.mem[argAt-memBase:])
		r.Decode(op.U[:])
		return string(g.mem[buf-memBase : buf-memBase+uint64(r.Count)]), r.Index
	}
	if s, end := rc(0, false, false, 4096); s != "hv: booted\nhv: domain 1 created\n" || end != 32 {
		t.Errorf("readconsole %q %d", s, end)
	}
	if s, end := rc(11, true, false, 4); s != "hv: " || end != 15 {
		t.Errorf("incremental readconsole %q %d", s, end)
	}
	rc(0, false, true, 4)
	if s, _ := rc(0, false, false, 100); s != "" {
		t.Errorf("after clear: %q", s)
	}
	g.at(argAt, sysctlBytes(xen.SysctlSchedID, nil))
	if r := g.call(xen.HypercallSysctl, argAt); r != -int64(xen.ENOSYS) {
		t.Errorf("sched_id = %d", r)
	}
}

func TestForeignMemoryOps(t *testing.T) {
	g := toolstackFake(t)
	const list = memBase + 0x2000
	le.PutUint64(g.mem[list-memBase:], 0x200)
	le.PutUint64(g.mem[list-memBase+8:], 0x400)
	r := xen.XenMemoryReservation{ExtentStart: list, NrExtents: 2, ExtentOrder: 9, DomID: 3}
	g.at(argAt, enc(&r, xen.XenMemoryReservationSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap, argAt); got != 2 {
		t.Errorf("foreign populate = %d", got)
	}
	r.DomID = 4
	g.at(argAt, enc(&r, xen.XenMemoryReservationSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap, argAt); got != -int64(xen.ESRCH) {
		t.Errorf("populate on a missing domain = %d", got)
	}
	r.DomID, r.NrExtents = 3, 1
	g.at(argAt, enc(&r, xen.XenMemoryReservationSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemDecreaseReservation, argAt); got != 1 {
		t.Errorf("foreign decrease = %d", got)
	}
	md := xen.XenMemoryDomain{DomID: 7}
	g.at(argAt, enc(&md, xen.XenMemoryDomainSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemCurrentReservation, argAt); got != 10 {
		t.Errorf("foreign current_reservation = %d", got)
	}
	p := xen.XenHVMParam{DomID: 3, Index: xen.HVMParamStorePFN, Value: 0xfeffc}
	g.at(argAt, enc(&p, xen.XenHVMParamSize))
	if got := g.call(xen.HypercallHVMOp, xen.HVMOpSetParam, argAt); got != 0 {
		t.Errorf("foreign set_param = %d", got)
	}
	p.Value = 0
	g.at(argAt, enc(&p, xen.XenHVMParamSize))
	if got := g.call(xen.HypercallHVMOp, xen.HVMOpGetParam, argAt); got != 0 {
		t.Errorf("foreign get_param = %d", got)
	}
	p.Decode(g.mem[argAt-memBase:])
	if p.Value != 0xfeffc {
		t.Errorf("foreign param read back %#x", p.Value)
	}
	want := "foreign populate 0x200/9;foreign populate 0x400/9;foreign decrease 0x200/9;param 3:1=0xfeffc"
	if got := strings.Join(g.calls, ";"); got != want {
		t.Errorf("calls %q\nwant  %q", got, want)
	}

	// A domU reaches no other domain.
	d := newFake(t)
	r.DomID = 3
	d.at(argAt, enc(&r, xen.XenMemoryReservationSize))
	if got := d.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap, argAt); got != -int64(xen.ESRCH) {
		t.Errorf("domU foreign populate = %d", got)
	}
	d.at(argAt, enc(&p, xen.XenHVMParamSize))
	if got := d.call(xen.HypercallHVMOp, xen.HVMOpSetParam, argAt); got != -int64(xen.ESRCH) {
		t.Errorf("domU foreign set_param = %d", got)
	}
}

func TestAddToPhysmapBatch(t *testing.T) {
	g := toolstackFake(t)
	const idxs, gpfns, errs = memBase + 0x2000, memBase + 0x3000, memBase + 0x4000
	for i, v := range []uint64{0x100, 0xdead, 0x102} {
		le.PutUint64(g.mem[idxs-memBase+8*i:], v)
		le.PutUint64(g.mem[gpfns-memBase+8*i:], 0x80000+uint64(i))
	}
	b := xen.XenAddToPhysmapBatch{DomID: xen.DomIDSelf, Space: xen.XenmapspaceGMFNForeign, Size: 3, ForeignDomID: 3,
		Idxs: idxs, GPFNs: gpfns, Errs: errs}
	g.at(argAt, enc(&b, xen.XenAddToPhysmapBatchSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmapBatch, argAt); got != 0 {
		t.Fatalf("batch = %d", got)
	}
	for i, want := range []int32{0, -int32(xen.EINVAL), 0} {
		if e := int32(le.Uint32(g.mem[errs-memBase+4*i:])); e != want {
			t.Errorf("errs[%d] = %d, want %d", i, e, want)
		}
	}
	if got := strings.Join(g.calls, ";"); got != "map 3:0x100 at 0x80000;map 3:0x102 at 0x80002" {
		t.Errorf("calls %q", got)
	}
	for _, c := range []struct {
		name string
		mod  func(*xen.XenAddToPhysmapBatch)
		want xen.Errno
	}{
		{"another domain's physmap", func(x *xen.XenAddToPhysmapBatch) { x.DomID = 3 }, xen.ESRCH},
		{"gmfn space", func(x *xen.XenAddToPhysmapBatch) { x.Space = xen.XenmapspaceGMFN }, xen.ENOSYS},
		{"itself as foreign", func(x *xen.XenAddToPhysmapBatch) { x.ForeignDomID = xen.DomIDSelf }, xen.EINVAL},
		{"too many", func(x *xen.XenAddToPhysmapBatch) { x.Size = MaxPhysmapBatch + 1 }, xen.E2BIG},
		{"bad errs", func(x *xen.XenAddToPhysmapBatch) { x.Errs = 8 }, xen.EFAULT},
	} {
		x := b
		c.mod(&x)
		g.at(argAt, enc(&x, xen.XenAddToPhysmapBatchSize))
		if got := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmapBatch, argAt); got != -int64(c.want) {
			t.Errorf("%s: %d, want %d", c.name, got, -int64(c.want))
		}
	}
	d := newFake(t)
	d.at(argAt, enc(&b, xen.XenAddToPhysmapBatchSize))
	if got := d.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmapBatch, argAt); got != -int64(xen.EPERM) {
		t.Errorf("domU batch = %d", got)
	}
	rm := xen.XenRemoveFromPhysmap{DomID: xen.DomIDSelf, GPFN: 0x80000}
	g.at(argAt, enc(&rm, xen.XenRemoveFromPhysmapSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemRemoveFromPhysmap, argAt); got != 0 || g.calls[len(g.calls)-1] != "remove 0x80000" {
		t.Errorf("remove = %d, calls %q", got, g.calls)
	}
}

func TestAcquireResource(t *testing.T) {
	g := toolstackFake(t)
	q := xen.XenMemAcquireResource{DomID: 3, Type: xen.XenmemResourceGrantTable}
	g.at(argAt, enc(&q, xen.XenMemAcquireResourceSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemAcquireResource, argAt); got != 0 {
		t.Fatalf("size query = %d", got)
	}
	q.Decode(g.mem[argAt-memBase:])
	if q.NrFrames != 64 {
		t.Errorf("nr_frames %d", q.NrFrames)
	}
	const list = memBase + 0x2000
	le.PutUint64(g.mem[list-memBase:], 0x90000)
	m := xen.XenMemAcquireResource{DomID: 3, Type: xen.XenmemResourceGrantTable, NrFrames: 1, FrameList: list}
	g.at(argAt, enc(&m, xen.XenMemAcquireResourceSize))
	if got := g.call(xen.HypercallMemoryOp, xen.XenmemAcquireResource, argAt); got != 0 || g.calls[0] != "acquire 3 grant frames 0.. at [0x90000]" {
		t.Errorf("acquire = %d, calls %q", got, g.calls)
	}
	for _, c := range []struct {
		name string
		mod  func(*xen.XenMemAcquireResource)
		want xen.Errno
	}{
		{"status frames", func(x *xen.XenMemAcquireResource) { x.ID = xen.XenmemResourceGrantTableIDStatus }, xen.EOPNOTSUPP},
		{"ioreq server", func(x *xen.XenMemAcquireResource) { x.Type = xen.XenmemResourceIoreqServer }, xen.EOPNOTSUPP},
		{"too many", func(x *xen.XenMemAcquireResource) { x.NrFrames = MaxAcquireFrames + 1 }, xen.E2BIG},
		{"pad", func(x *xen.XenMemAcquireResource) { x.Pad = 1 }, xen.EINVAL},
		{"missing domain", func(x *xen.XenMemAcquireResource) { x.DomID = 4 }, xen.ESRCH},
	} {
		x := m
		c.mod(&x)
		g.at(argAt, enc(&x, xen.XenMemAcquireResourceSize))
		if got := g.call(xen.HypercallMemoryOp, xen.XenmemAcquireResource, argAt); got != -int64(c.want) {
			t.Errorf("%s: %d, want %d", c.name, got, -int64(c.want))
		}
	}
	d := newFake(t)
	d.at(argAt, enc(&m, xen.XenMemAcquireResourceSize))
	if got := d.call(xen.HypercallMemoryOp, xen.XenmemAcquireResource, argAt); got != -int64(xen.EPERM) {
		t.Errorf("domU acquire = %d", got)
	}
}

// Fuzz targets for the toolstack's structures, from dom0 (the domU's
// answers are fixed by the privilege check, which TestDomctlPrivilegeAndVersion covers).

func domctlOutputs(g *fakeGuest) [][2]uint64 {
	var op xen.XenDomctl
	op.Decode(g.mem[argAt-memBase:])
	if op.Cmd == xen.DomctlGdbsxGuestMemIO {
		// A read (gwr 0) of at most MaxGuestMemIO bytes fills the buffer.
		var m xen.XenDomctlGdbsxMemIO
		m.Decode(op.U[:])
		if m.GWr != 0 || m.Len > MaxGuestMemIO {
			return nil
		}
		return [][2]uint64{{m.UVA, m.UVA + uint64(m.Len)}}
	}
	var c xen.XenDomctlHVMContext
	c.Decode(op.U[:])
	return [][2]uint64{{c.Buffer, c.Buffer + uint64(c.Size)}}
}

func sysctlOutputs(g *fakeGuest) [][2]uint64 {
	var op xen.XenSysctl
	op.Decode(g.mem[argAt-memBase:])
	switch op.Cmd {
	case xen.SysctlReadconsole:
		var r xen.XenSysctlReadconsole
		r.Decode(op.U[:])
		return [][2]uint64{{r.Buffer, r.Buffer + uint64(min(r.Count, MaxReadConsole))}}
	case xen.SysctlGetdomaininfolist:
		var l xen.XenSysctlGetdomaininfolist
		l.Decode(op.U[:])
		return [][2]uint64{{l.Buffer, l.Buffer + xen.XenDomctlGetDomainInfoSize*uint64(min(l.MaxDomains, MaxDomainInfos))}}
	}
	return nil
}

func FuzzDomctl(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallDomctl, size: xen.XenDomctlSize, dom0: true,
		args: func(uint64) []uint64 { return []uint64{argAt} }, outputs: domctlOutputs},
		domctlBytes(xen.DomctlCreateDomain, 0, &pvhConfig),
		domctlBytes(xen.DomctlGetDomainInfo, 1, nil),
		domctlBytes(xen.DomctlGetHVMContext, 3, &xen.XenDomctlHVMContext{Size: 4096, Buffer: argAt + 0x1000}),
		domctlBytes(xen.DomctlGdbsxGuestMemIO, 3, &xen.XenDomctlGdbsxMemIO{GVA: 0x1f00, UVA: argAt + 0x1000, Len: 0x300, GWr: 1}),
		domctlBytes(xen.DomctlGdbsxGuestMemIO, 3, &xen.XenDomctlGdbsxMemIO{GVA: 0xfff0, UVA: argAt + 0x1000, Len: 0x100}),
		domctlBytes(xen.DomctlSetHVMContext, 3, &xen.XenDomctlHVMContext{Size: 64, Buffer: argAt + xen.XenDomctlSize}),
		domctlBytes(xen.DomctlSchedulerOp, 3, &xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit}))
}

func FuzzSysctl(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallSysctl, size: xen.XenSysctlSize, dom0: true,
		args: func(uint64) []uint64 { return []uint64{argAt} }, outputs: sysctlOutputs},
		sysctlBytes(xen.SysctlPhysinfo, nil),
		sysctlBytes(xen.SysctlGetdomaininfolist, &xen.XenSysctlGetdomaininfolist{MaxDomains: 4, Buffer: argAt + 0x1000}),
		sysctlBytes(xen.SysctlReadconsole, &xen.XenSysctlReadconsole{Count: 64, Buffer: argAt + 0x1000}))
}

func FuzzAddToPhysmapBatch(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemAddToPhysmapBatch, size: xen.XenAddToPhysmapBatchSize, dom0: true,
		outputs: func(g *fakeGuest) [][2]uint64 {
			var x xen.XenAddToPhysmapBatch
			x.Decode(g.mem[argAt-memBase:])
			return [][2]uint64{{x.Errs, x.Errs + 4*uint64(x.Size)}}
		}},
		enc(&xen.XenAddToPhysmapBatch{DomID: xen.DomIDSelf, Space: xen.XenmapspaceGMFNForeign, Size: 2, ForeignDomID: 3,
			Idxs: argAt + 0x100, GPFNs: argAt + 0x200, Errs: argAt + 0x300}, xen.XenAddToPhysmapBatchSize))
}

func FuzzRemoteShutdown(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallSchedOp, cmd: xen.SchedOpRemoteShutdown, size: xen.SchedRemoteShutdownSize, dom0: true},
		enc(&xen.SchedRemoteShutdown{DomainID: 3}, xen.SchedRemoteShutdownSize))
}

func FuzzAcquireResource(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemAcquireResource, size: xen.XenMemAcquireResourceSize, dom0: true},
		enc(&xen.XenMemAcquireResource{DomID: 3, Type: xen.XenmemResourceGrantTable, NrFrames: 2, FrameList: argAt + 0x100}, xen.XenMemAcquireResourceSize))
}

func FuzzForeignPopulatePhysmap(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemPopulatePhysmap, size: xen.XenMemoryReservationSize, dom0: true},
		enc(&xen.XenMemoryReservation{ExtentStart: argAt + 0x100, NrExtents: 2, DomID: 3}, xen.XenMemoryReservationSize))
}

// TestGuestMemIO: dom0 writes a domain being built through
// XEN_DOMCTL_gdbsx_guestmemio and reads it back, across frame boundaries;
// a missing frame or buffer stops the copy (-EFAULT, nothing copied back),
// and a started domain, dom0 itself, an unknown domain and an oversized
// length are refused.
func TestGuestMemIO(t *testing.T) {
	g := toolstackFake(t)
	const src, dst = memBase + 0x1000, memBase + 0x4000
	data := make([]byte, 6000)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	g.at(src, data)
	io := func(dom uint16, gva, uva uint64, n uint32, write bool) int64 {
		m := xen.XenDomctlGdbsxMemIO{GVA: gva, UVA: uva, Len: n, Remain: 0xdead}
		if write {
			m.GWr = 1
		}
		g.at(argAt, domctlBytes(xen.DomctlGdbsxGuestMemIO, dom, &m))
		return g.call(xen.HypercallDomctl, argAt)
	}
	remain := func() uint32 {
		var m xen.XenDomctlGdbsxMemIO
		op := g.domctlResult()
		m.Decode(op.U[:])
		return m.Remain
	}
	if r := io(3, 0x1800, src, 6000, true); r != 0 || remain() != 0 {
		t.Fatalf("write = %d, remain %d", r, remain())
	}
	d := g.ctl.ts.doms[3]
	// 0x1800+6000 ends in frame 2; frame 3 is never touched.
	got := append(append([]byte{}, d.frames[1][0x800:]...), d.frames[2][:]...)
	if !bytes.Equal(got[:6000], data) || d.frames[1][0x7ff] != 0 || got[6000] != 0 || d.frames[3] != nil {
		t.Errorf("the domain's frames do not hold what was written")
	}
	if r := io(3, 0x1800, dst, 6000, false); r != 0 || !bytes.Equal(g.bytesAt(dst, 6000), data) {
		t.Errorf("read back = %d, equal %v", r, bytes.Equal(g.bytesAt(dst, 6000), data))
	}
	// The copy stops at the first frame the domain lacks: the pages
	// before it are written, the call is -EFAULT and the structure is
	// not copied back.
	if r := io(3, (fakeFrames-1)*xen.PageSize, src, 6000, true); r != -int64(xen.EFAULT) || remain() != 0xdead {
		t.Errorf("past the domain's RAM = %d, remain %#x", r, remain())
	}
	if !bytes.Equal(d.frames[fakeFrames-1][:], data[:xen.PageSize]) {
		t.Errorf("the frame before the missing one was not written")
	}
	if r := io(3, 0, memBase+0xff00, 0x200, true); r != -int64(xen.EFAULT) {
		t.Errorf("a buffer past the caller's memory = %d", r)
	}
	for _, c := range []struct {
		dom  uint16
		n    uint32
		want xen.Errno
	}{
		{7, 16, xen.EOPNOTSUPP},           // has run: its addresses are virtual
		{5, 16, xen.EINVAL},               // the caller itself
		{4, 16, xen.ESRCH},                // no such domain
		{3, MaxGuestMemIO + 1, xen.E2BIG}, // more than one call copies
	} {
		if r := io(c.dom, 0, src, c.n, true); r != -int64(c.want) {
			t.Errorf("gdbsx_guestmemio on %d of %d bytes = %d, want %d", c.dom, c.n, r, -int64(c.want))
		}
	}
	d0 := newFake(t)
	d0.at(argAt, domctlBytes(xen.DomctlGdbsxGuestMemIO, 3, &xen.XenDomctlGdbsxMemIO{UVA: src, Len: 16, GWr: 1}))
	if r := d0.call(xen.HypercallDomctl, argAt); r != -int64(xen.EPERM) {
		t.Errorf("a domU's gdbsx_guestmemio = %d", r)
	}
}

// vecGuest counts the readv calls memIOWrite makes.
type vecGuest struct {
	*fakeGuest
	invs int
}

func (g *vecGuest) CopyInv(gva uint64, dsts [][]byte) bool {
	g.invs++
	return g.fakeGuest.CopyInv(gva, dsts)
}

// bigDom is a domain being built with n frames.
type bigDom struct {
	*fakeDom
	n uint64
}

func (d bigDom) Frame(gfn uint64) *[xen.PageSize]byte {
	if gfn >= d.n {
		return nil
	}
	if d.frames[gfn] == nil {
		d.frames[gfn] = new([xen.PageSize]byte)
	}
	return d.frames[gfn]
}

// memIOWrite reads the caller's buffer into up to memIOBatch of the
// domain's pages a CopyInv, at any alignment, and when the caller's
// buffer ends mid-batch it still reports exactly how far it copied.
func TestMemIOWriteBatches(t *testing.T) {
	const pages = 2*memIOBatch + 40
	g := &vecGuest{fakeGuest: newFake(t)}
	g.mem = make([]byte, (pages+2)*xen.PageSize)
	for i := range g.mem {
		g.mem[i] = byte(i*13 + i>>12)
	}
	d := bigDom{fakeDom: &fakeDom{g: g.fakeGuest, id: 3, frames: map[uint64]*[xen.PageSize]byte{}}, n: pages + 1}
	const gva, uva, n = 0x800, memBase + 0x100, pages*xen.PageSize - 5
	if rest := memIOWrite(g, d, gva, uva, n); rest != 0 {
		t.Fatalf("memIOWrite left %d bytes", rest)
	}
	// pages*4096-5 bytes from offset 0x800 touch pages+1 frames.
	if want := (pages + 1 + memIOBatch - 1) / memIOBatch; g.invs != want {
		t.Errorf("%d CopyInv calls, want %d", g.invs, want)
	}
	for i := uint64(0); i < n; i++ {
		a := gva + i
		if got, want := d.frames[a/xen.PageSize][a%xen.PageSize], g.mem[uva-memBase+i]; got != want {
			t.Fatalf("byte %d (gva %#x) = %#x, want %#x", i, a, got, want)
		}
	}
	if d.frames[0][0x7ff] != 0 || d.frames[pages][0x800-5] != 0 {
		t.Errorf("bytes outside the range written")
	}
	// The caller's memory ends 3 pages and 0x100 bytes into the second
	// batch: the domain's pages before that are written, the rest
	// (from the page the caller's memory ends in) reported.
	d2 := bigDom{fakeDom: &fakeDom{g: g.fakeGuest, id: 4, frames: map[uint64]*[xen.PageSize]byte{}}, n: pages + 1}
	end := uint64(len(g.mem)) + memBase
	from := end - (memIOBatch+3)*xen.PageSize - 0x100
	rest := memIOWrite(g, d2, 0, from, 2*memIOBatch*xen.PageSize)
	whole := (end - from) / xen.PageSize // the domain's pages the caller had whole
	if want := uint64(2*memIOBatch-whole) * xen.PageSize; rest != want {
		t.Fatalf("memIOWrite past the caller's memory left %d bytes, want %d", rest, want)
	}
	if d2.frames[whole-1][xen.PageSize-1] != g.mem[from-memBase+whole*xen.PageSize-1] {
		t.Errorf("the last whole page was not written")
	}
}
