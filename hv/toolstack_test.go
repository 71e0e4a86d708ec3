package hv

import (
	"bytes"
	"fmt"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/mm/npt"
)

// The toolstack's side of hv, driven as dom0's libxc drives Xen: every
// step is dom0's hypercall through the dispatcher, with its arguments in
// dom0's memory (the fake vCPU runs with paging off, so addresses are
// guest-physical).

// poolHost reports the fake machine's guest pool: free is what is not
// allocated out of a pool of poolFrames.
type poolHost struct{ m *fakeMachine }

const poolFrames = 1 << 20

func (f poolHost) Memory() HostMemory {
	return HostMemory{GuestPool: poolFrames * pageSize, GuestFree: (poolFrames - uint64(len(f.m.frames))) * pageSize}
}
func (f poolHost) Counters() []Counter { return nil }

// ts is a dom0 on a fake hv, making hypercalls.
type ts struct {
	t  *testing.T
	h  *Hypervisor
	d0 *Domain
	g  *guest // the caller (dom0 unless a test says otherwise)
}

// Scratch addresses in dom0's RAM ([1 MiB, 9 MiB) in dom0HV) for hypercall
// arguments, and dom0 gfns outside its RAM for foreign mappings.
const (
	tsArg     = 0x300000 // the argument structure (RAM of dom0 and of a 4 MiB domU)
	tsBuf     = 0x301000 // buffers it points at
	tsBuf2    = 0x302000
	tsBuf3    = 0x303000
	tsShared  = 0x800   // dom0's shared_info gfn
	tsScratch = 0x20000 // gfn 512 MiB: not dom0's RAM
)

func newTS(t *testing.T) *ts {
	h, be, c := dom0HV(t)
	h.SetHost(poolHost{h.env.(*fakeEnv).m})
	d0, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	be.vcpus[0].mode = x86.Mode64 // the toolstack is 64-bit, as dom0 Linux
	s := &ts{t: t, h: h, d0: d0, g: (*guest)(d0.vcpus[0])}
	if r, _ := s.memop(xen.XenmemAddToPhysmap, &xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceSharedInfo, GPFN: tsShared}, xen.XenAddToPhysmapSize); r != 0 {
		t.Fatalf("dom0's shared_info: %d", r)
	}
	return s
}

func (s *ts) put(gpa uint64, b []byte) {
	s.t.Helper()
	if err := s.g.dom.mem.WritePhys(gpa, b); err != nil {
		s.t.Fatal(err)
	}
}

func (s *ts) get(gpa uint64, n int) []byte {
	s.t.Helper()
	b := make([]byte, n)
	if err := s.g.dom.mem.ReadPhys(gpa, b); err != nil {
		s.t.Fatal(err)
	}
	return b
}

func (s *ts) call(nr uint64, a ...uint64) int64 {
	var args [5]uint64
	copy(args[:], a)
	return s.h.hc.Call(s.g, nr, args)
}

func (s *ts) domctl(cmd uint32, dom uint16, u interface{ Encode([]byte) }) (int64, xen.XenDomctl) {
	op := xen.XenDomctl{Cmd: cmd, InterfaceVersion: xen.DomctlInterfaceVersion, Domain: dom}
	if u != nil {
		u.Encode(op.U[:])
	}
	b := make([]byte, xen.XenDomctlSize)
	op.Encode(b)
	s.put(tsArg, b)
	r := s.call(xen.HypercallDomctl, tsArg)
	op.Decode(s.get(tsArg, xen.XenDomctlSize))
	return r, op
}

func (s *ts) sysctl(cmd uint32, u interface{ Encode([]byte) }) (int64, xen.XenSysctl) {
	op := xen.XenSysctl{Cmd: cmd, InterfaceVersion: xen.SysctlInterfaceVersion}
	if u != nil {
		u.Encode(op.U[:])
	}
	b := make([]byte, xen.XenSysctlSize)
	op.Encode(b)
	s.put(tsArg, b)
	r := s.call(xen.HypercallSysctl, tsArg)
	op.Decode(s.get(tsArg, xen.XenSysctlSize))
	return r, op
}

func (s *ts) memop(cmd uint64, e interface{ Encode([]byte) }, size int) (int64, []byte) {
	b := make([]byte, size)
	e.Encode(b)
	s.put(tsArg, b)
	r := s.call(xen.HypercallMemoryOp, cmd, tsArg)
	return r, s.get(tsArg, size)
}

func (s *ts) info(dom uint16) xen.XenDomctlGetDomainInfo {
	s.t.Helper()
	r, op := s.domctl(xen.DomctlGetDomainInfo, dom, nil)
	if r != 0 {
		s.t.Fatalf("getdomaininfo %d = %d", dom, r)
	}
	var i xen.XenDomctlGetDomainInfo
	i.Decode(op.U[:])
	return i
}

func (s *ts) list() []uint16 {
	r, op := s.sysctl(xen.SysctlGetdomaininfolist, &xen.XenSysctlGetdomaininfolist{MaxDomains: 16, Buffer: tsBuf})
	if r != 0 {
		s.t.Fatalf("getdomaininfolist = %d", r)
	}
	var l xen.XenSysctlGetdomaininfolist
	l.Decode(op.U[:])
	var ids []uint16
	for i := range l.NumDomains {
		var info xen.XenDomctlGetDomainInfo
		info.Decode(s.get(tsBuf+uint64(i)*xen.XenDomctlGetDomainInfoSize, xen.XenDomctlGetDomainInfoSize))
		ids = append(ids, info.Domain)
	}
	return ids
}

func (s *ts) freePages() uint64 {
	r, op := s.sysctl(xen.SysctlPhysinfo, nil)
	if r != 0 {
		s.t.Fatalf("physinfo = %d", r)
	}
	var p xen.XenSysctlPhysinfo
	p.Decode(op.U[:])
	return p.FreePages
}

// bindDomExc binds VIRQ_DOM_EXC on dom0 and returns the port.
func (s *ts) bindDomExc() uint32 { return s.bindVIRQ(xen.VIRQDomExc) }

// bindVIRQ binds virq on dom0's vCPU 0 and returns the port.
func (s *ts) bindVIRQ(virq uint32) uint32 {
	b := make([]byte, xen.EvtchnBindVirqSize)
	(&xen.EvtchnBindVirq{Virq: virq}).Encode(b)
	s.put(tsArg, b)
	if r := s.call(xen.HypercallEventChannelOp, xen.EvtchnOpBindVirq, tsArg); r != 0 {
		s.t.Fatalf("bind_virq = %d", r)
	}
	var v xen.EvtchnBindVirq
	v.Decode(s.get(tsArg, xen.EvtchnBindVirqSize))
	return v.Port
}

// pvhContext is what libxc's bootlate_hvm sets: HEADER, CPU (32-bit flat
// protected mode at entry with EBX = start_info), END.
func pvhContext(entry, startInfo uint64) []byte {
	hdr := xen.HVMSaveHeader{Magic: xen.HVMFileMagic, Version: xen.HVMFileVersion}
	cpu := xen.HVMHWCPU{RIP: entry, RBX: startInfo, CR0: 0x11, RFlags: 2,
		CSLimit: ^uint32(0), DSLimit: ^uint32(0), ESLimit: ^uint32(0), SSLimit: ^uint32(0),
		CSARBytes: 0xc9b, DSARBytes: 0xc93, ESARBytes: 0xc93, SSARBytes: 0xc93, TRLimit: 0x67, TRARBytes: 0x8b}
	b := xen.AppendHVMRecord(nil, xen.HVMSaveCodeHeader, 0, xen.HVMSaveHeaderSize, &hdr)
	b = xen.AppendHVMRecord(b, xen.HVMSaveCodeCPU, 0, xen.HVMHWCPUSize, &cpu)
	return xen.AppendHVMRecord(b, xen.HVMSaveCodeEnd, 0, 0, nil)
}

var tsConfig = xen.XenDomctlCreateDomain{Flags: xen.DomctlCDFHVM | xen.DomctlCDFHAP, MaxVCPUs: 1, MaxEvtchnPort: 1023,
	MaxGrantFrames: 4, MaxMaptrackFrames: -1, EmulationFlags: xen.X86EmuLAPIC}

// TestToolstackBuildsDomain builds a domU from dom0 the way libxc does,
// runs it to its shutdown, destroys it and checks that nothing is left.
func TestToolstackBuildsDomain(t *testing.T) {
	s := newTS(t)
	port := s.bindDomExc()
	free0 := s.freePages()

	r, op := s.domctl(xen.DomctlCreateDomain, 0, &tsConfig)
	if r != 0 {
		t.Fatalf("createdomain = %d", r)
	}
	id := op.Domain
	d := s.h.byID(id)
	if id == 0 || d == nil || d.id == s.d0.id {
		t.Fatalf("created domain %d: %v", id, d)
	}
	if i := s.info(id); i.Domain != id || i.Flags&xen.DominfPaused == 0 || i.TotPages != 0 || i.MaxVCPUID != 0 {
		t.Errorf("new domain info %+v", i)
	}
	if d.ev.MaxPort() != tsConfig.MaxEvtchnPort {
		t.Errorf("max port %d, createdomain asked %d", d.ev.MaxPort(), tsConfig.MaxEvtchnPort)
	}
	if r, _ := s.domctl(xen.DomctlMaxMem, id, &xen.XenDomctlMaxMem{MaxMemKB: 4096}); r != 0 {
		t.Fatalf("max_mem = %d", r)
	}
	if r, _ := s.domctl(xen.DomctlMaxVCPUs, id, &xen.XenDomctlMaxVCPUs{Max: 1}); r != 0 {
		t.Errorf("max_vcpus 1 = %d", r)
	}
	if r, _ := s.domctl(xen.DomctlMaxVCPUs, id, &xen.XenDomctlMaxVCPUs{Max: 2}); r != -int64(xen.EINVAL) {
		t.Errorf("max_vcpus 2 = %d", r)
	}
	if r, _ := s.domctl(xen.DomctlSetVCPUAffinity, id, &xen.XenDomctlVCPUAffinity{Flags: xen.VCPUAffinityHard}); r != 0 {
		t.Errorf("setvcpuaffinity = %d", r)
	}

	// populate_physmap on the new domain: 4 MiB, then one extent more
	// than max_mem allows.
	ext := make([]byte, 24)
	le.PutUint64(ext[0:], 0)
	le.PutUint64(ext[8:], 0x200)
	le.PutUint64(ext[16:], 0x400)
	s.put(tsBuf, ext)
	if r, _ := s.memop(xen.XenmemPopulatePhysmap, &xen.XenMemoryReservation{ExtentStart: tsBuf, NrExtents: 3, ExtentOrder: 9, DomID: id}, xen.XenMemoryReservationSize); r != 2 {
		t.Fatalf("populate_physmap = %d, want 2 (the third is over max_mem)", r)
	}
	if i := s.info(id); i.TotPages != 1024 || i.MaxPages != 1024 {
		t.Errorf("after populate: %d of %d pages", i.TotPages, i.MaxPages)
	}
	if d.mem.BigPages() != 2 {
		t.Errorf("2 MiB extents from gfn 0 up are backed by %d 2 MiB pages, want 2", d.mem.BigPages())
	}

	// Map the domain's gfns 0x100 (its entry) and 1 (start_info) into dom0
	// (privcmd MMAPBATCH_V2), and write through the mapping.
	idx := make([]byte, 16)
	gpfns := make([]byte, 16)
	le.PutUint64(idx[0:], 0x100)
	le.PutUint64(idx[8:], 1)
	le.PutUint64(gpfns[0:], tsScratch)
	le.PutUint64(gpfns[8:], tsScratch+1)
	s.put(tsBuf, idx)
	s.put(tsBuf2, gpfns)
	batch := xen.XenAddToPhysmapBatch{DomID: xen.DomIDSelf, Space: xen.XenmapspaceGMFNForeign, Size: 2, ForeignDomID: id,
		Idxs: tsBuf, GPFNs: tsBuf2, Errs: tsBuf3}
	if r, _ := s.memop(xen.XenmemAddToPhysmapBatch, &batch, xen.XenAddToPhysmapBatchSize); r != 0 {
		t.Fatalf("add_to_physmap_batch = %d", r)
	}
	if errs := s.get(tsBuf3, 8); !bytes.Equal(errs, make([]byte, 8)) {
		t.Fatalf("errs %x", errs)
	}
	payload := append([]byte{}, insnVMMCALL...)
	s.put(tsScratch*pageSize, payload)
	si := make([]byte, xen.HVMStartInfoSize)
	(&xen.HVMStartInfo{Magic: xen.HVMStartInfoMagic, Version: 1}).Encode(si)
	s.put((tsScratch+1)*pageSize, si)
	got := make([]byte, len(payload))
	d.mem.ReadPhys(0x100000, got)
	if !bytes.Equal(got, payload) {
		t.Fatalf("the domain sees %x at its entry, dom0 wrote %x", got, payload)
	}
	// gdbsx_guestmemio writes the domain being built in one call, across
	// its frames (gfn 0x1ff/0x200 straddle two 2 MiB pages).
	big := make([]byte, 3*pageSize)
	for i := range big {
		big[i] = byte(i*13 + 5)
	}
	s.put(tsBuf, big)
	memio := func(gva uint64) int64 {
		r, _ := s.domctl(xen.DomctlGdbsxGuestMemIO, id, &xen.XenDomctlGdbsxMemIO{GVA: gva, UVA: tsBuf, Len: uint32(len(big)), GWr: 1})
		return r
	}
	if r := memio(0x1ff*pageSize - 0x80); r != 0 {
		t.Fatalf("gdbsx_guestmemio = %d", r)
	}
	got = make([]byte, len(big))
	d.mem.ReadPhys(0x1ff*pageSize-0x80, got)
	if !bytes.Equal(got, big) {
		t.Error("the domain does not see what gdbsx_guestmemio wrote")
	}
	if r := memio(0x3ff * pageSize); r != -int64(xen.EFAULT) {
		t.Errorf("gdbsx_guestmemio past the domain's RAM = %d", r)
	}
	// A gfn that is not the domain's RAM is refused entry by entry.
	le.PutUint64(idx[0:], 0x5000)
	s.put(tsBuf, idx)
	batch.Size = 1
	le.PutUint64(gpfns[0:], tsScratch+5)
	s.put(tsBuf2, gpfns)
	s.memop(xen.XenmemAddToPhysmapBatch, &batch, xen.XenAddToPhysmapBatchSize)
	if e := int32(le.Uint32(s.get(tsBuf3, 4))); e != -int32(xen.EINVAL) {
		t.Errorf("mapping an unpopulated gfn: err %d", e)
	}
	// dom0's own RAM is not a scratch gfn.
	le.PutUint64(idx[0:], 0x100)
	le.PutUint64(gpfns[0:], 0x300)
	s.put(tsBuf, idx)
	s.put(tsBuf2, gpfns)
	s.memop(xen.XenmemAddToPhysmapBatch, &batch, xen.XenAddToPhysmapBatchSize)
	if e := int32(le.Uint32(s.get(tsBuf3, 4))); e != -int32(xen.EBUSY) {
		t.Errorf("mapping over dom0's RAM: err %d", e)
	}

	// The grant table's frame 0 through acquire_resource; seed entry 1.
	le.PutUint64(gpfns[0:], tsScratch+2)
	s.put(tsBuf2, gpfns)
	if r, b := s.memop(xen.XenmemAcquireResource, &xen.XenMemAcquireResource{DomID: id, Type: xen.XenmemResourceGrantTable}, xen.XenMemAcquireResourceSize); r != 0 {
		t.Fatalf("acquire_resource size = %d", r)
	} else if n := le.Uint32(b[8:]); n != 4 {
		t.Errorf("grant frames %d, want max_grant_frames 4", n)
	}
	if r, _ := s.memop(xen.XenmemAcquireResource, &xen.XenMemAcquireResource{DomID: id, Type: xen.XenmemResourceGrantTable, NrFrames: 1, FrameList: tsBuf2}, xen.XenMemAcquireResourceSize); r != 0 {
		t.Fatalf("acquire_resource = %d", r)
	}
	ge := make([]byte, 8)
	le.PutUint16(ge[0:], xen.GTFPermitAccess)
	le.PutUint32(ge[4:], 0xfeffc)
	s.put((tsScratch+2)*pageSize+8, ge)
	if fl, dom, frame, ok := d.gnt.Entry(1); !ok || fl != xen.GTFPermitAccess || dom != 0 || frame != 0xfeffc {
		t.Errorf("grant entry 1 = %#x %d %#x %v", fl, dom, frame, ok)
	}

	// HVM params and the console's unbound port for dom0.
	hp := make([]byte, xen.XenHVMParamSize)
	(&xen.XenHVMParam{DomID: id, Index: xen.HVMParamStorePFN, Value: 0xfeffc}).Encode(hp)
	s.put(tsArg, hp)
	if r := s.call(xen.HypercallHVMOp, xen.HVMOpSetParam, tsArg); r != 0 || d.xen.params[xen.HVMParamStorePFN] != 0xfeffc {
		t.Errorf("set_param = %d", r)
	}
	au := make([]byte, xen.EvtchnAllocUnboundSize)
	(&xen.EvtchnAllocUnbound{Dom: id, RemoteDom: 0}).Encode(au)
	s.put(tsArg, au)
	if r := s.call(xen.HypercallEventChannelOp, xen.EvtchnOpAllocUnbound, tsArg); r != 0 {
		t.Errorf("alloc_unbound on the domain = %d", r)
	}

	// The vCPU's entry state, then unpause.
	if r, op := s.domctl(xen.DomctlGetHVMContext, id, &xen.XenDomctlHVMContext{}); r != 0 {
		t.Fatalf("gethvmcontext size = %d", r)
	} else {
		var c xen.XenDomctlHVMContext
		c.Decode(op.U[:])
		if c.Size != 3*8+xen.HVMSaveHeaderSize+xen.HVMHWCPUSize {
			t.Errorf("context size %d", c.Size)
		}
	}
	ctx := pvhContext(0x100000, 0x1000)
	s.put(tsBuf, ctx)
	if r, _ := s.domctl(xen.DomctlSetHVMContext, id, &xen.XenDomctlHVMContext{Size: uint32(len(ctx)), Buffer: tsBuf}); r != 0 {
		t.Fatalf("sethvmcontext = %d", r)
	}
	f := d.vcpus[0].arch.(*fakeVCPU)
	if f.rip != 0x100000 || f.regs[x86.RBX] != 0x1000 || d.vcpus[0].state != VCPUPaused {
		t.Errorf("vCPU 0 at %#x, RBX %#x, state %v", f.rip, f.regs[x86.RBX], d.vcpus[0].state)
	}
	sop := xen.XenDomctlSchedulerOp{SchedID: xen.SchedulerCredit, Cmd: xen.DomctlSchedopPutinfo}
	sop.SetCredit(512, 50)
	if r, _ := s.domctl(xen.DomctlSchedulerOp, id, &sop); r != 0 || d.weight != 512 || d.cap != 50 {
		t.Errorf("scheduler putinfo = %d: weight %d cap %d", r, d.weight, d.cap)
	}
	if r, _ := s.domctl(xen.DomctlUnpauseDomain, id, nil); r != 0 || d.state != DomainRunning || d.vcpus[0].state != VCPURunnable {
		t.Fatalf("unpause = %d: %v, vCPU %v", r, d.state, d.vcpus[0].state)
	}
	if i := s.info(id); i.Flags&xen.DominfPaused != 0 {
		t.Errorf("still paused: %#x", i.Flags)
	}
	if r := memio(0x100 * pageSize); r != -int64(xen.EOPNOTSUPP) {
		t.Errorf("gdbsx_guestmemio on a domain that has run = %d", r)
	}
	if ids := s.list(); len(ids) != 2 || ids[0] != 0 || s.d0.id != 0 || ids[1] != id {
		t.Errorf("list %v", ids)
	}

	// The domain powers off: dom0 hears of it and sees the reason.
	if s.d0.ev.IsPending(port) {
		t.Fatal("VIRQ_DOM_EXC pending before anything happened")
	}
	before := s.info(id)
	if before.TotPages == 0 || before.NrOnlineVCPUs != 1 {
		t.Fatalf("running domain: %d pages, %d vCPUs online", before.TotPages, before.NrOnlineVCPUs)
	}
	s.h.shutdownDomain(d, xen.ShutdownPoweroff)
	if !s.d0.ev.IsPending(port) {
		t.Error("no VIRQ_DOM_EXC on shutdown")
	}
	if i := s.info(id); i.Flags&xen.DominfShutdown == 0 || i.ShutdownCode() != xen.ShutdownPoweroff {
		t.Errorf("after shutdown: flags %#x", i.Flags)
	}
	// Shut down, it keeps its memory and vCPU (not runnable) until dom0
	// destroys it, as in Xen (xl list shows them).
	if i := s.info(id); i.TotPages != before.TotPages || i.NrOnlineVCPUs != 1 || d.released || d.mem == nil {
		t.Errorf("after shutdown: %d pages (had %d), %d vCPUs online, released %v", i.TotPages, before.TotPages, i.NrOnlineVCPUs, d.released)
	}
	if v := d.vcpus[0]; v.state != VCPUPaused {
		t.Errorf("vCPU 0 of the shut-down domain is %v", v.state)
	}
	if r, _ := s.domctl(xen.DomctlUnpauseDomain, id, nil); r != -int64(xen.EINVAL) || d.vcpus[0].state != VCPUPaused {
		t.Errorf("unpausing a shut-down domain = %d, vCPU %v", r, d.vcpus[0].state)
	}
	clearPending(t, s.d0, port)
	if r, _ := s.domctl(xen.DomctlDestroyDomain, id, nil); r != 0 {
		t.Fatalf("destroydomain = %d", r)
	}
	if !s.d0.ev.IsPending(port) {
		t.Error("no VIRQ_DOM_EXC on destroy")
	}
	if ids := s.list(); len(ids) != 1 || ids[0] != 0 {
		t.Errorf("list after destroy %v", ids)
	}
	// dom0 still maps three of its frames: its memory stays, and its ID
	// is not given out again.
	if s.h.zombies[id] != d || d.mem == nil || d.foreignRefs != 3 {
		t.Fatalf("destroyed while mapped: zombie %v, mem %v, refs %d", s.h.zombies[id] == d, d.mem != nil, d.foreignRefs)
	}
	if got := s.get(tsScratch*pageSize, len(payload)); !bytes.Equal(got, payload) {
		t.Errorf("dom0's mapping after destroy reads %x", got)
	}
	for i, gfn := range []uint64{tsScratch, tsScratch + 1, tsScratch + 2} {
		if d.mem == nil {
			t.Fatalf("memory freed after %d of 3 unmaps", i)
		}
		if r, _ := s.memop(xen.XenmemRemoveFromPhysmap, &xen.XenRemoveFromPhysmap{DomID: xen.DomIDSelf, GPFN: gfn}, xen.XenRemoveFromPhysmapSize); r != 0 {
			t.Fatalf("remove_from_physmap %#x = %d", gfn, r)
		}
	}
	if d.mem != nil || len(s.h.zombies) != 0 || len(s.h.foreignMFNs) != 0 {
		t.Errorf("after the last unmap: mem %v, %d zombies, %d foreign frames", d.mem != nil, len(s.h.zombies), len(s.h.foreignMFNs))
	}
	if free := s.freePages(); free != free0 {
		t.Errorf("free pages %d, %d before the domain", free, free0)
	}
}

// clearPending clears port's pending bit in d's shared_info (2-level,
// 64-bit layout), as the guest's upcall handler does.
func clearPending(t *testing.T, d *Domain, port uint32) {
	t.Helper()
	p := d.page(d.xen.sharedInfo)
	if p == nil {
		t.Fatal("no shared_info")
	}
	p[2048+port/8] &^= 1 << (port % 8)
	if d.ev.IsPending(port) {
		t.Fatal("port still pending")
	}
}

func TestToolstackDomUIsRefused(t *testing.T) {
	s := newTS(t)
	u, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	u.vcpus[0].arch.(*fakeVCPU).mode = x86.Mode64
	s.g = (*guest)(u.vcpus[0])
	for _, cmd := range []uint32{xen.DomctlCreateDomain, xen.DomctlDestroyDomain, xen.DomctlPauseDomain, xen.DomctlGetDomainInfo,
		xen.DomctlMaxMem, xen.DomctlSetHVMContext, xen.DomctlGetHVMContext, xen.DomctlSchedulerOp} {
		if r, _ := s.domctl(cmd, 0, nil); r != -int64(xen.EPERM) {
			t.Errorf("domU domctl %d = %d, want -EPERM", cmd, r)
		}
	}
	for _, cmd := range []uint32{xen.SysctlPhysinfo, xen.SysctlGetdomaininfolist, xen.SysctlReadconsole} {
		if r, _ := s.sysctl(cmd, nil); r != -int64(xen.EPERM) {
			t.Errorf("domU sysctl %d = %d, want -EPERM", cmd, r)
		}
	}
	batch := xen.XenAddToPhysmapBatch{DomID: xen.DomIDSelf, Space: xen.XenmapspaceGMFNForeign, Size: 1, ForeignDomID: 0,
		Idxs: tsBuf, GPFNs: tsBuf2, Errs: tsBuf3}
	if r, _ := s.memop(xen.XenmemAddToPhysmapBatch, &batch, xen.XenAddToPhysmapBatchSize); r != -int64(xen.EPERM) {
		t.Errorf("domU foreign map = %d", r)
	}
	if u.State() != DomainRunning || s.d0.State() != DomainRunning {
		t.Error("a refused call hurt a domain")
	}
}

// A domU's grant mapped by dom0 at a scratch gfn outside its RAM (what
// gntdev does), then the domU destroyed while mapped: its memory stays
// until dom0 unmaps.
func TestToolstackGrantMapIntoDom0Scratch(t *testing.T) {
	s := newTS(t)
	u, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	mfn, err := u.gnt.FrameMFN(0)
	if err != nil {
		t.Fatal(err)
	}
	tbl := s.h.env.PageBytes(mfn * pageSize)
	le.PutUint16(tbl[3*8+2:], s.d0.id)
	le.PutUint32(tbl[3*8+4:], 0x200)
	le.PutUint16(tbl[3*8:], xen.GTFPermitAccess)
	u.mem.WritePhys(0x200000, []byte("granted page"))

	m := xen.GnttabMapGrantRef{HostAddr: tsScratch * pageSize, Flags: xen.GNTMAPHostMap, Ref: 3, Dom: u.id}
	b := make([]byte, xen.GnttabMapGrantRefSize)
	m.Encode(b)
	s.put(tsArg, b)
	if r := s.call(xen.HypercallGrantTableOp, xen.GnttabOpMapGrantRef, tsArg, 1); r != 0 {
		t.Fatalf("map_grant_ref = %d", r)
	}
	m.Decode(s.get(tsArg, xen.GnttabMapGrantRefSize))
	if m.Status != 0 {
		t.Fatalf("map status %d", m.Status)
	}
	if got := string(s.get(tsScratch*pageSize, 12)); got != "granted page" {
		t.Fatalf("dom0 reads %q through the grant", got)
	}
	// The domU cannot give the frame back while dom0 maps it.
	if s.h.decreaseReservation(u, 0x200, 0) {
		t.Error("a frame dom0 maps was given back")
	}
	if err := s.h.Destroy(u); err != nil {
		t.Fatal(err)
	}
	if u.mem == nil || s.h.zombies[u.id] != u {
		t.Fatal("destroyed domU's memory freed while dom0 maps its grant")
	}
	if got := string(s.get(tsScratch*pageSize, 12)); got != "granted page" {
		t.Fatalf("after destroy dom0 reads %q", got)
	}
	um := xen.GnttabUnmapGrantRef{HostAddr: tsScratch * pageSize, Handle: m.Handle}
	b = make([]byte, xen.GnttabUnmapGrantRefSize)
	um.Encode(b)
	s.put(tsArg, b)
	if r := s.call(xen.HypercallGrantTableOp, xen.GnttabOpUnmapGrantRef, tsArg, 1); r != 0 {
		t.Fatalf("unmap = %d", r)
	}
	if u.mem != nil || len(s.h.zombies) != 0 {
		t.Error("memory kept after the last unmap")
	}
}

// A domU cannot give back a frame dom0 maps through a foreign mapping;
// dom0's own shutdown drops its mappings and frees a destroyed domain.
func TestToolstackForeignMappingPinsFrame(t *testing.T) {
	s := newTS(t)
	u, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	ts := toolstack{s.h, s.d0}
	fv := s.d0.vcpus[0].arch.(*fakeVCPU)
	flushes := fv.flushes
	if e := ts.MapForeign(u.id, 0x123, tsScratch); e != 0 {
		t.Fatalf("MapForeign = %v", e)
	}
	if fv.flushes != flushes {
		t.Errorf("mapping at an empty gfn flushed dom0's TLB")
	}
	if e := ts.MapForeign(u.id, 0x123, tsScratch); e != 0 {
		t.Fatalf("mapping over the same gfn again = %v", e) // replaces, counted once
	}
	if fv.flushes == flushes {
		t.Errorf("replacing a foreign mapping did not flush dom0's TLB")
	}
	flushes = fv.flushes
	if e := (*guest)(s.d0.vcpus[0]).RemoveFromPhysmap(tsScratch); e != 0 || fv.flushes == flushes {
		t.Fatalf("remove_from_physmap = %v, flushed %v", e, fv.flushes != flushes)
	}
	if e := ts.MapForeign(u.id, 0x123, tsScratch); e != 0 {
		t.Fatalf("MapForeign again = %v", e)
	}
	if u.foreignRefs != 1 {
		t.Errorf("refs %d after a replacing map", u.foreignRefs)
	}
	if s.h.decreaseReservation(u, 0x123, 0) {
		t.Error("a frame dom0 maps was given back")
	}
	if e := ts.MapForeign(s.d0.id, 0x300, tsScratch+1); e != xen.EINVAL {
		t.Errorf("dom0 mapping itself = %v", e)
	}
	if e := ts.MapForeign(77, 0x300, tsScratch+1); e != xen.ESRCH {
		t.Errorf("missing domain = %v", e)
	}
	if err := s.h.Destroy(u); err != nil {
		t.Fatal(err)
	}
	if u.mem == nil {
		t.Fatal("freed while mapped")
	}
	s.h.shutdownDomain(s.d0, xen.ShutdownPoweroff)
	if u.mem != nil || len(s.h.zombies) != 0 || len(s.h.foreignMFNs) != 0 {
		t.Errorf("dom0 gone: mem kept %v, zombies %d, foreign %d", u.mem != nil, len(s.h.zombies), len(s.h.foreignMFNs))
	}
}

func TestToolstackSetHVMContextChecks(t *testing.T) {
	s := newTS(t)
	r, op := s.domctl(xen.DomctlCreateDomain, 0, &tsConfig)
	if r != 0 {
		t.Fatal(r)
	}
	id := op.Domain
	set := func(ctx []byte) int64 {
		s.put(tsBuf, ctx)
		r, _ := s.domctl(xen.DomctlSetHVMContext, id, &xen.XenDomctlHVMContext{Size: uint32(len(ctx)), Buffer: tsBuf})
		return r
	}
	good := pvhContext(0x100000, 0x1000)
	bad := func(f func(c *xen.HVMHWCPU, h *xen.HVMSaveHeader)) []byte {
		b := append([]byte(nil), good...)
		var h xen.HVMSaveHeader
		var c xen.HVMHWCPU
		h.Decode(b[8:])
		c.Decode(b[8+24+8:])
		f(&c, &h)
		h.Encode(b[8:])
		c.Encode(b[8+24+8:])
		return b
	}
	for name, ctx := range map[string][]byte{
		"paging on":      bad(func(c *xen.HVMHWCPU, _ *xen.HVMSaveHeader) { c.CR0 |= 1 << 31 }),
		"real mode":      bad(func(c *xen.HVMHWCPU, _ *xen.HVMSaveHeader) { c.CR0 = 0x10 }),
		"16-bit code":    bad(func(c *xen.HVMHWCPU, _ *xen.HVMSaveHeader) { c.CSARBytes = 0x9b }),
		"based segment":  bad(func(c *xen.HVMHWCPU, _ *xen.HVMSaveHeader) { c.DSBase = 0x1000 }),
		"entry >4G":      bad(func(c *xen.HVMHWCPU, _ *xen.HVMSaveHeader) { c.RIP = 1 << 32 }),
		"bad magic":      bad(func(_ *xen.HVMHWCPU, h *xen.HVMSaveHeader) { h.Magic++ }),
		"no header":      good[8+24:],
		"cpu instance 1": append(append(append([]byte(nil), good[:8+24]...), 2, 0, 1, 0), good[8+24+4:]...),
	} {
		if r := set(ctx); r != -int64(xen.EINVAL) {
			t.Errorf("%s: %d", name, r)
		}
	}
	if d := s.h.byID(id); d.vcpus[0].state != VCPUDown {
		t.Fatalf("a refused context started vCPU 0: %v", d.vcpus[0].state)
	}
	if r := set(good); r != 0 {
		t.Fatalf("good context: %d", r)
	}
	if r := set(good); r != -int64(xen.EINVAL) {
		t.Errorf("vCPU 0 started twice: %d", r)
	}
	s.domctl(xen.DomctlUnpauseDomain, id, nil)
	if r := set(good); r != -int64(xen.EINVAL) {
		t.Errorf("context of a running domain: %d", r)
	}
	if r, _ := s.domctl(xen.DomctlPauseDomain, s.d0.id, nil); r != -int64(xen.EINVAL) {
		t.Errorf("dom0 pausing itself: %d", r)
	}
	if r, _ := s.domctl(xen.DomctlDestroyDomain, s.d0.id, nil); r != -int64(xen.EINVAL) {
		t.Errorf("dom0 destroying itself: %d", r)
	}
}

func TestToolstackVCPUInfoAndRemoteShutdown(t *testing.T) {
	s := newTS(t)
	port := s.bindDomExc()
	u, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	u.vcpus[0].cpuTime = 12345
	r, op := s.domctl(xen.DomctlGetVCPUInfo, u.id, &xen.XenDomctlGetVCPUInfo{})
	var v xen.XenDomctlGetVCPUInfo
	v.Decode(op.U[:])
	if r != 0 || v.Online != 1 || v.CPUTime != 12345 || v.Blocked != 0 {
		t.Errorf("getvcpuinfo = %d %+v", r, v)
	}
	b := make([]byte, xen.SchedRemoteShutdownSize)
	(&xen.SchedRemoteShutdown{DomainID: u.id, Reason: xen.ShutdownReboot}).Encode(b)
	s.put(tsArg, b)
	if r := s.call(xen.HypercallSchedOp, xen.SchedOpRemoteShutdown, tsArg); r != 0 {
		t.Fatalf("remote_shutdown = %d", r)
	}
	if u.State() != DomainShutdown || u.shutdown != xen.ShutdownReboot || !s.d0.ev.IsPending(port) {
		t.Errorf("after remote_shutdown: %v reason %d, VIRQ_DOM_EXC %v", u.State(), u.shutdown, s.d0.ev.IsPending(port))
	}
	if i := s.info(u.id); i.ShutdownCode() != xen.ShutdownReboot {
		t.Errorf("getdomaininfo shutdown code %d", i.ShutdownCode())
	}
}

func TestToolstackReadconsoleAndCrashEvent(t *testing.T) {
	s := newTS(t)
	port := s.bindDomExc()
	u, err := s.h.CreateDomain(DomainConfig{Name: "victim", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	s.h.Crash(u, "testing VIRQ_DOM_EXC")
	if !s.d0.ev.IsPending(port) {
		t.Error("no VIRQ_DOM_EXC on crash")
	}
	if i := s.info(u.id); i.Flags&xen.DominfShutdown == 0 || i.ShutdownCode() != xen.ShutdownCrash {
		t.Errorf("crashed domain flags %#x", i.Flags)
	}
	read := func(index uint32, incr, clear bool) (string, uint32) {
		rc := xen.XenSysctlReadconsole{Index: index, Buffer: tsBuf, Count: 4096}
		if incr {
			rc.Incremental = 1
		}
		if clear {
			rc.Clear = 1
		}
		r, op := s.sysctl(xen.SysctlReadconsole, &rc)
		if r != 0 {
			t.Fatalf("readconsole = %d", r)
		}
		rc.Decode(op.U[:])
		return string(s.get(tsBuf, int(rc.Count))), rc.Index
	}
	log, end := read(0, false, false)
	if !bytes.Contains([]byte(log), []byte(fmt.Sprintf(`domain %d "victim" crashed: testing VIRQ_DOM_EXC`, u.id))) {
		t.Errorf("readconsole lacks the crash line:\n%s", log)
	}
	s.h.logf("one more line")
	more, end2 := read(end, true, false)
	if more != "hv: one more line\n" || end2 != end+uint32(len(more)) {
		t.Errorf("incremental read %q, index %d -> %d", more, end, end2)
	}
	read(0, false, true)
	if rest, _ := read(0, false, false); rest != "" {
		t.Errorf("after clear: %q", rest)
	}
}

// TestConsoleRingVIRQ: a line on hv's console raises VIRQ_CON_RING in dom0
// on the run loop's next turn, once for what came since the last turn.
func TestConsoleRingVIRQ(t *testing.T) {
	s := newTS(t)
	port := s.bindVIRQ(xen.VIRQConRing)
	s.h.announceConsole() // what the boot wrote
	clearPending(t, s.d0, port)
	s.h.announceConsole()
	if s.d0.ev.IsPending(port) {
		t.Fatal("VIRQ_CON_RING raised with nothing new on the console")
	}
	s.h.logf("a line for dom0's reader")
	s.h.announceConsole()
	if !s.d0.ev.IsPending(port) {
		t.Fatal("no VIRQ_CON_RING after a console line")
	}
	clearPending(t, s.d0, port)
	s.h.announceConsole()
	if s.d0.ev.IsPending(port) {
		t.Error("VIRQ_CON_RING raised twice for one line")
	}
}

func TestConring(t *testing.T) {
	var r conring
	r.write(bytes.Repeat([]byte("x"), conringSize-2))
	r.write([]byte("abcd"))
	p := make([]byte, conringSize+10)
	n, end := r.read(p, 0, false, false)
	if n != conringSize || end != conringSize+2 || string(p[n-4:n]) != "abcd" || p[0] != 'x' {
		t.Errorf("wrapped ring: %d bytes to %d, tail %q", n, end, p[n-4:n])
	}
	// An index older than what is kept reads from the oldest byte.
	if n, _ := r.read(p, 1, true, false); n != conringSize {
		t.Errorf("stale index read %d", n)
	}
	if n, e := r.read(p[:2], end-4, true, false); n != 2 || string(p[:2]) != "ab" || e != end-2 {
		t.Errorf("partial read %q to %d", p[:2], e)
	}
}

// dom0 is domain 0; the console focus cycle starts there and goes round
// through the domUs and hv's monitor back to it.
func TestDom0IsDomainZeroInTheFocusCycle(t *testing.T) {
	s := newTS(t)
	u, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if s.d0.id != 0 || u.id != 1 {
		t.Fatalf("dom0 is domain %d, the domU %d", s.d0.id, u.id)
	}
	var got []uint16
	for range 4 {
		if !s.h.con.started {
			s.h.handleInput([]byte("x"))
		} else {
			s.h.handleInput([]byte("\x1d\x1d\x1d"))
		}
		got = append(got, s.h.con.focus)
	}
	if want := []uint16{0, 1, focusHV, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("focus cycle %v, want %v", got, want)
	}
}

// FuzzDom0Toolstack lets dom0 make one toolstack hypercall (domctl, sysctl,
// memory_op, hvm_op, sched_op, event_channel_op, grant_table_op) with
// fuzzed arguments and memory, beside a running domU and an empty domain
// the toolstack created (with memory populated and one of its frames
// mapped into dom0). hv must not panic; and once every domain is destroyed
// and dom0 has shut down, every frame is back: nothing leaks whatever dom0
// mapped, populated, created or destroyed.
func FuzzDom0Toolstack(f *testing.F) {
	dctl := func(cmd uint32, dom uint16, u interface{ Encode([]byte) }) []byte {
		op := xen.XenDomctl{Cmd: cmd, InterfaceVersion: xen.DomctlInterfaceVersion, Domain: dom}
		if u != nil {
			u.Encode(op.U[:])
		}
		b, _ := op.MarshalBinary()
		return b
	}
	f.Add(uint8(0), uint64(0), dctl(xen.DomctlCreateDomain, 0, &tsConfig))
	f.Add(uint8(0), uint64(0), dctl(xen.DomctlDestroyDomain, 2, nil))
	f.Add(uint8(0), uint64(0), dctl(xen.DomctlSetHVMContext, 2, &xen.XenDomctlHVMContext{Size: 1080, Buffer: tsBuf}))
	f.Add(uint8(0), uint64(0), dctl(xen.DomctlGdbsxGuestMemIO, 2, &xen.XenDomctlGdbsxMemIO{GVA: 0xff00, UVA: tsBuf, Len: 0x2000, GWr: 1}))
	f.Add(uint8(0), uint64(0), dctl(xen.DomctlGdbsxGuestMemIO, 2, &xen.XenDomctlGdbsxMemIO{GVA: 0x1000, UVA: tsBuf, Len: 0x1000}))
	f.Add(uint8(2), uint64(xen.XenmemAddToPhysmapBatch), []byte{0xf0, 0x7f, 4, 0, 1, 0, 2, 0, 0, 0x10, 0x30})
	f.Add(uint8(2), uint64(xen.XenmemAcquireResource), []byte{2, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x30})
	f.Add(uint8(2), uint64(xen.XenmemRemoveFromPhysmap), []byte{0xf0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 2})
	f.Add(uint8(2), uint64(xen.XenmemPopulatePhysmap), []byte{0, 0x10, 0x30, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})
	nrs := []uint64{xen.HypercallDomctl, xen.HypercallSysctl, xen.HypercallMemoryOp, xen.HypercallHVMOp,
		xen.HypercallSchedOp, xen.HypercallEventChannelOp, xen.HypercallGrantTableOp}
	f.Fuzz(func(t *testing.T, sel uint8, cmd uint64, mem []byte) {
		h, be, c := dom0HV(t)
		m := h.env.(*fakeEnv).m
		base := len(m.frames)
		d0, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
		if err != nil {
			t.Fatal(err)
		}
		be.vcpus[0].mode = x86.Mode64
		if _, err := h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)}); err != nil {
			t.Fatal(err)
		}
		e, errno := h.createEmptyDomain(0, &tsConfig)
		if errno != 0 {
			t.Fatal(errno)
		}
		e.maxMem, e.maxMemSet = 4<<20, true
		if !h.populate(e, 0, 9) {
			t.Fatal("populate")
		}
		ts := toolstack{h, d0}
		if r := ts.MapForeign(e.id, 0x100, tsScratch+7); r != 0 {
			t.Fatal(r)
		}
		if len(mem) > 8192 {
			mem = mem[:8192]
		}
		d0.mem.WritePhys(tsArg, mem)
		g := (*guest)(d0.vcpus[0])
		nr := nrs[int(sel)%len(nrs)]
		a := [5]uint64{cmd, tsArg, 1}
		if nr == xen.HypercallDomctl || nr == xen.HypercallSysctl {
			a[0] = tsArg
		}
		if r := h.hc.Call(g, nr, a); r > 1<<40 {
			t.Errorf("hypercall %d returned %#x", nr, r)
		}
		for _, d := range h.Domains() {
			if d != d0 {
				h.Destroy(d)
			}
		}
		if d0.State() == DomainRunning || d0.State() == DomainPaused {
			h.shutdownDomain(d0, xen.ShutdownPoweroff)
		}
		if len(h.zombies) != 0 || len(h.foreignMFNs) != 0 || len(m.frames) != base {
			t.Errorf("after hypercall %d cmd %#x: %d zombies, %d foreign frames, %d frames allocated (%d before)",
				nr, cmd, len(h.zombies), len(h.foreignMFNs), len(m.frames), base)
		}
	})
}

// A scratch gfn in the PCI hole that dom0 has already touched (so hv
// identity-mapped its 2 MiB block as device memory) takes a foreign
// mapping, and gets its device mapping back when dom0 removes it.
func TestToolstackForeignMapOverDom0DeviceMemory(t *testing.T) {
	s := newTS(t)
	u, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	const mmio = 0xe0000000
	if !s.h.dom0NPF(s.d0.vcpus[0], mmio) {
		t.Fatal("dom0NPF did not take the PCI hole")
	}
	gfn := uint64(mmio/pageSize + 1)
	if k, _ := s.d0.mem.Lookup(gfn); k != npt.Direct {
		t.Fatalf("gfn %#x is %v before the mapping", gfn, k)
	}
	u.mem.WritePhys(0x5000, []byte("domU frame"))
	if e := (toolstack{s.h, s.d0}).MapForeign(u.id, 5, gfn); e != 0 {
		t.Fatalf("MapForeign over device memory = %v", e)
	}
	if got := string(s.get(gfn*pageSize, 10)); got != "domU frame" {
		t.Fatalf("dom0 reads %q", got)
	}
	if e := s.g.RemoveFromPhysmap(gfn); e != 0 {
		t.Fatal(e)
	}
	if k, _ := s.d0.mem.Lookup(gfn); k != npt.Direct {
		t.Errorf("gfn %#x is %v after the unmap, not device memory again", gfn, k)
	}
	if k, _ := s.d0.mem.Lookup(gfn + 1); k != npt.Direct {
		t.Errorf("its neighbour is %v", k)
	}
}

// A running domain dom0 destroys (xl destroy) leaves hv's run clean.
func TestToolstackDestroyIsNotUnclean(t *testing.T) {
	s := newTS(t)
	r, op := s.domctl(xen.DomctlCreateDomain, 0, &tsConfig)
	if r != 0 {
		t.Fatalf("createdomain = %d", r)
	}
	if r, _ := s.domctl(xen.DomctlUnpauseDomain, op.Domain, nil); r != 0 {
		t.Fatalf("unpause = %d", r)
	}
	if r, _ := s.domctl(xen.DomctlDestroyDomain, op.Domain, nil); r != 0 {
		t.Fatalf("destroy = %d", r)
	}
	if s.h.unclean {
		t.Error("dom0's destroy of a running domain made hv's run unclean")
	}
}

// TestXenstoreInDom0: a boot-built domain whose xenstore is dom0's gets no
// store of hv's, HVM_PARAM_STORE_PFN ~0 and a store port offered to dom0;
// dom0 binding its console port takes its console over; it keeps its
// memory after shutdown until dom0 destroys it.
func TestXenstoreInDom0(t *testing.T) {
	s := newTS(t)
	u, err := s.h.CreateDomain(DomainConfig{Name: "late", Mem: 4 << 20, Kernel: pvhELF(insnHLT), XenstoreInDom0: true})
	if err != nil {
		t.Fatal(err)
	}
	if pfn := u.xen.params[xen.HVMParamStorePFN]; pfn != ^uint64(0) {
		t.Errorf("HVM_PARAM_STORE_PFN = %#x, want ~0", pfn)
	}
	sp := uint32(u.xen.params[xen.HVMParamStoreEvtchn])
	if st, r := u.ev.Status(xen.DomIDSelf, sp); r != 0 || sp == 0 || st.State != xen.EvtchnStatUnbound || st.RemoteDom != 0 {
		t.Errorf("store port %d: %+v (%d)", sp, st, r)
	}
	if s.h.xs.rings[uint32(u.id)] != nil {
		t.Error("hv serves its xenstore")
	}
	if _, err := s.h.storeCall(xen.XSRead, "/local/domain/"+fmt.Sprint(u.id)+"/name"); err == nil {
		t.Error("hv wrote its nodes in hv's store")
	}
	bind := func(dom uint16, port uint32) (int64, uint32) {
		b := make([]byte, xen.EvtchnBindInterdomainSize)
		(&xen.EvtchnBindInterdomain{RemoteDom: dom, RemotePort: port}).Encode(b)
		s.put(tsArg, b)
		r := s.call(xen.HypercallEventChannelOp, xen.EvtchnOpBindInterdomain, tsArg)
		var x xen.EvtchnBindInterdomain
		x.Decode(s.get(tsArg, xen.EvtchnBindInterdomainSize))
		return r, x.LocalPort
	}
	if r, _ := bind(u.id, sp); r != 0 {
		t.Errorf("dom0 binding the store port = %d", r)
	}
	// The console: hv's until dom0 binds its port.
	u.consoleWrite([]byte("before\n"))
	if n := s.h.consoleInput(u, []byte("x")); n != 1 {
		t.Errorf("console input before the handover: %d bytes", n)
	}
	cp := u.xen.consolePort
	r, local := bind(u.id, cp)
	if r != 0 || !u.xen.consoleOffered {
		t.Fatalf("dom0 binding the console port = %d, offered %v", r, u.xen.consoleOffered)
	}
	if st, _ := u.ev.Status(xen.DomIDSelf, cp); st.State != xen.EvtchnStatInterdomain || st.RemoteDom != 0 || st.RemotePort != local {
		t.Errorf("console port after the handover: %+v", st)
	}
	if n := s.h.consoleInput(u, []byte("y")); n != 0 {
		t.Errorf("hv wrote console input after the handover: %d bytes", n)
	}
	// An hv-served domain's console port stays hv's.
	o, err := s.h.CreateDomain(DomainConfig{Name: "other", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := bind(o.id, o.xen.consolePort); r != -int64(xen.EINVAL) || o.xen.consoleOffered {
		t.Errorf("binding an hv domain's console port = %d, offered %v", r, o.xen.consoleOffered)
	}
	// Managed by dom0: kept after shutdown, freed by destroydomain.
	pages := u.mem.Pages()
	s.h.shutdownDomain(u, xen.ShutdownPoweroff)
	if i := s.info(u.id); i.TotPages != pages || u.released {
		t.Errorf("after shutdown: %d pages (had %d), released %v", i.TotPages, pages, u.released)
	}
	if r, _ := s.domctl(xen.DomctlDestroyDomain, u.id, nil); r != 0 || !u.released {
		t.Errorf("destroydomain = %d, released %v", r, u.released)
	}
	// An hv domain without dom0's toolstack is released at shutdown.
	s.h.shutdownDomain(o, xen.ShutdownPoweroff)
	if !o.released {
		t.Error("hv domain kept after shutdown")
	}
}

// TestRunRaisesConsoleRingVIRQ: the run loop raises VIRQ_CON_RING for
// output that came while a guest ran. dom0, with the VIRQ bound, writes a
// line with console_io and yields; when it runs again its port is pending.
func TestRunRaisesConsoleRingVIRQ(t *testing.T) {
	h, be, c := dom0HV(t)
	code := append(append(append([]byte{}, insnVMMCALL...), insnVMMCALL...), insnVMMCALL...)
	msg := uint64(0x100000 + len(code))
	code = append(code, "hello\n"...)
	reason := uint64(0x100000 + len(code))
	code = append(code, 0, 0, 0, 0) // poweroff
	var d0 *Domain
	var port uint32
	var pendingAfterYield bool
	be.scripts = [][]step{{
		callXen(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 6, msg),
		callXen(xen.HypercallSchedOp, xen.SchedOpYield, 0),
		func(v *fakeVCPU) backend.Exit {
			pendingAfterYield = d0.ev.IsPending(port)
			return callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, reason)(v)
		},
	}}
	d0, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(code), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	be.vcpus[0].mode = x86.Mode64 // the hypercalls below take 64-bit layouts
	s := &ts{t: t, h: h, d0: d0, g: (*guest)(d0.vcpus[0])}
	if r, _ := s.memop(xen.XenmemAddToPhysmap, &xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceSharedInfo, GPFN: tsShared}, xen.XenAddToPhysmapSize); r != 0 {
		t.Fatalf("dom0's shared_info: %d", r)
	}
	port = s.bindVIRQ(xen.VIRQConRing)
	h.announceConsole() // what the build logged
	clearPending(t, d0, port)
	be.vcpus[0].mode = x86.Mode32 // flat and unpaged: the fake fetches the code at RIP
	h.Run()
	buf := make([]byte, conringSize)
	n, _ := h.con.out.ring.read(buf, 0, false, false)
	if !bytes.Contains(buf[:n], []byte("hello\n")) {
		t.Fatalf("dom0's line is not in the console ring:\n%s", buf[:n])
	}
	if !pendingAfterYield {
		t.Error("no VIRQ_CON_RING after dom0 wrote a line and the run loop came round")
	}
}

// TestDomainHandle: createdomain's handle (the toolstack's UUID) is what
// getdomaininfo reports; setdomainhandle replaces it, and gives one to a
// domain hv built at boot, as init-dom0less does.
func TestDomainHandle(t *testing.T) {
	s := newTS(t)
	c := tsConfig
	c.Handle = [16]byte{0x11, 15: 0x22}
	r, op := s.domctl(xen.DomctlCreateDomain, 0, &c)
	if r != 0 {
		t.Fatalf("createdomain = %d", r)
	}
	if got := s.info(op.Domain).Handle; got != c.Handle {
		t.Errorf("created domain's handle %x, want createdomain's %x", got, c.Handle)
	}
	boot, err := s.h.CreateDomain(DomainConfig{Name: "u", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.info(boot.id).Handle; got != [16]byte{} {
		t.Errorf("hv-built domain's handle %x, want zero until dom0 sets one", got)
	}
	for _, id := range []uint16{op.Domain, boot.id} {
		h := xen.XenDomctlSetDomainHandle{Handle: [16]byte{byte(id), 8: 0x40, 15: 0x99}}
		if r, _ := s.domctl(xen.DomctlSetDomainHandle, id, &h); r != 0 {
			t.Fatalf("setdomainhandle on %d = %d", id, r)
		}
		if got := s.info(id).Handle; got != h.Handle {
			t.Errorf("domain %d: handle %x after setdomainhandle %x", id, got, h.Handle)
		}
	}
	if r, _ := s.domctl(xen.DomctlSetDomainHandle, 777, &xen.XenDomctlSetDomainHandle{}); r != -int64(xen.ESRCH) {
		t.Errorf("setdomainhandle on no domain = %d, want -ESRCH", r)
	}
}
