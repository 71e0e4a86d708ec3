package hv

import (
	"bytes"
	"encoding"
	"fmt"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
	"gozen/loader"
	"gozen/mm/npt"
)

// Issue 14 §1: a domain that another domain granted a page read-only maps
// it into its own physmap and asks hv to write there. hv must answer as
// Xen does (-EFAULT, -EINVAL, #GP) and the granter's page must not change.

const (
	roCanaryGFN = 0x250    // the granter's page
	roRef       = 8        // its grant reference
	roArg       = 0x200000 // the attacker's argument structures
)

// roPair is an attacker (domain 1, "a") holding a read-only grant mapping
// of a page of the granter (domain 2, "b").
type roPair struct {
	t      *testing.T
	h      *Hypervisor
	a, b   *Domain
	fv     *fakeVCPU // a's vCPU 0
	out    *bytes.Buffer
	canary []byte
}

func newROPair(t *testing.T) *roPair {
	t.Helper()
	h, be, out, a, b := newTwoDomains(t)
	p := &roPair{t: t, h: h, a: a, b: b, fv: be.vcpus[0], out: out}
	p.fv.mode = x86.Mode64
	a.vcpus[0].state = VCPURunning
	// b's grant table at gfn 0x3000 (beyond its RAM), ref 8 = read-only
	// access for a to the canary page.
	if e := h.mapGrantFrame(b, 0, 0x3000); e != 0 {
		t.Fatalf("b: add_to_physmap(grant_table): %d", e)
	}
	ent := xen.GrantEntryV1{Flags: xen.GTFPermitAccess | xen.GTFReadonly, DomID: a.id, Frame: roCanaryGFN}
	p.put(b, 0x3000*pageSize+roRef*xen.GrantEntryV1Size, &ent)
	p.canary = bytes.Repeat([]byte("CANARY! "), pageSize/8)
	if err := b.mem.WritePhys(roCanaryGFN*pageSize, p.canary); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *roPair) put(d *Domain, gpa uint64, m encoding.BinaryMarshaler) {
	p.t.Helper()
	raw, err := m.MarshalBinary()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := d.mem.WritePhys(gpa, raw); err != nil {
		p.t.Fatalf("writing %T at %#x: %v", m, gpa, err)
	}
}

// call makes hypercall nr from a's vCPU 0.
func (p *roPair) call(nr uint64, args ...uint64) int64 {
	var a [5]uint64
	copy(a[:], args)
	return p.h.hc.Call((*guest)(p.a.vcpus[0]), nr, a)
}

// mapRO maps the canary read-only at a's gfn and returns the status.
func (p *roPair) mapRO(gfn uint64) int16 {
	st, _ := p.mapROHandle(gfn)
	return st
}

func (p *roPair) mapROHandle(gfn uint64) (int16, uint32) {
	p.t.Helper()
	op := xen.GnttabMapGrantRef{HostAddr: gfn * pageSize, Flags: xen.GNTMAPHostMap | xen.GNTMAPReadonly,
		Ref: roRef, Dom: p.b.id, Status: 0x7fff}
	p.put(p.a, roArg, &op)
	if r := p.call(xen.HypercallGrantTableOp, xen.GnttabOpMapGrantRef, roArg, 1); r != 0 {
		p.t.Fatalf("map_grant_ref: %d", r)
	}
	var b [xen.GnttabMapGrantRefSize]byte
	p.a.mem.ReadPhys(roArg, b[:])
	op.Decode(b[:])
	return op.Status, op.Handle
}

func (p *roPair) unmap(gfn uint64, handle uint32) {
	p.t.Helper()
	op := xen.GnttabUnmapGrantRef{HostAddr: gfn * pageSize, Handle: handle, Status: 0x7fff}
	p.put(p.a, roArg, &op)
	if r := p.call(xen.HypercallGrantTableOp, xen.GnttabOpUnmapGrantRef, roArg, 1); r != 0 {
		p.t.Fatalf("unmap_grant_ref: %d", r)
	}
	var b [xen.GnttabUnmapGrantRefSize]byte
	p.a.mem.ReadPhys(roArg, b[:])
	op.Decode(b[:])
	if op.Status != 0 {
		p.t.Fatalf("unmap_grant_ref: status %d", op.Status)
	}
}

func (p *roPair) checkCanary(what string) {
	p.t.Helper()
	got := make([]byte, pageSize)
	if err := p.b.mem.ReadPhys(roCanaryGFN*pageSize, got); err != nil {
		p.t.Fatal(err)
	}
	if !bytes.Equal(got, p.canary) {
		i := 0
		for i < pageSize && got[i] == p.canary[i] {
			i++
		}
		p.t.Errorf("%s changed the granter's read-only page (first at offset %#x)", what, i)
		copy(got, p.canary)
		p.b.mem.WritePhys(roCanaryGFN*pageSize, p.canary)
	}
}

func errnoOf(e xen.Errno) int64 { return -int64(e) }

func TestReadOnlyGrantRefusesEveryHVWrite(t *testing.T) {
	// Over one of a's RAM frames and beyond its RAM.
	for _, roGFN := range []uint64{0x300, 0x2000} {
		p := newROPair(t)
		if st := p.mapRO(roGFN); st != 0 {
			t.Fatalf("map_grant_ref read-only at %#x: status %d", roGFN, st)
		}
		if k, w := p.a.mem.Lookup(roGFN); k != npt.Mapped || w {
			t.Fatalf("Lookup of the mapping: %v, writable %v", k, w)
		}
		ro := roGFN * pageSize
		paths := []struct {
			name string
			do   func() int64
			want int64
		}{
			{"xen_version(extraversion)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverExtraversion, ro) }, errnoOf(xen.EFAULT)},
			{"xen_version(capabilities)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverCapabilities, ro) }, errnoOf(xen.EFAULT)},
			{"xen_version(changeset)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverChangeset, ro+100) }, errnoOf(xen.EFAULT)},
			{"xen_version(platform_parameters)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverPlatformParameters, ro) }, errnoOf(xen.EFAULT)},
			// The canary is no submap index 0: Xen's -EINVAL, before any write.
			{"xen_version(get_features)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverGetFeatures, ro) }, errnoOf(xen.EINVAL)},
			{"xen_version(compile_info)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverCompileInfo, ro) }, errnoOf(xen.EFAULT)},
			{"xen_version(guest_handle)", func() int64 { return p.call(xen.HypercallXenVersion, xen.XenverGuestHandle, ro) }, errnoOf(xen.EFAULT)},
			// Starting in a's own RAM and running into the mapping: nothing
			// is written, not even the part in a's RAM.
			{"xen_version(capabilities) across", func() int64 {
				return p.call(xen.HypercallXenVersion, xen.XenverCapabilities, ro-512)
			}, errnoOf(xen.EFAULT)},
			{"memory_map buffer", func() int64 {
				p.put(p.a, roArg+0x100, &xen.XenMemoryMap{NrEntries: 16, Buffer: ro})
				return p.call(xen.HypercallMemoryOp, xen.XenmemMemoryMap, roArg+0x100)
			}, errnoOf(xen.EFAULT)},
			{"memory_map struct", func() int64 { return p.call(xen.HypercallMemoryOp, xen.XenmemMemoryMap, ro) }, errnoOf(xen.EFAULT)},
			{"register_vcpu_info", func() int64 {
				p.put(p.a, roArg+0x100, &xen.VCPURegisterVCPUInfo{MFN: roGFN, Offset: 64})
				return p.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 0, roArg+0x100)
			}, errnoOf(xen.EINVAL)},
			{"register_runstate_memory_area", func() int64 {
				p.put(p.a, roArg+0x100, &xen.VCPURegisterRunstateMemoryArea{Addr: ro + 8})
				return p.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterRunstateMemoryArea, 0, roArg+0x100)
			}, errnoOf(xen.EFAULT)},
			{"register_vcpu_time_memory_area", func() int64 {
				p.put(p.a, roArg+0x100, &xen.VCPURegisterTimeMemoryArea{Addr: ro})
				return p.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUTimeMemoryArea, 0, roArg+0x100)
			}, errnoOf(xen.EFAULT)},
			{"get_runstate_info", func() int64 { return p.call(xen.HypercallVCPUOp, xen.VCPUOpGetRunstateInfo, 0, ro) }, errnoOf(xen.EFAULT)},
			{"evtchn init_control", func() int64 {
				p.put(p.a, roArg+0x100, &xen.EvtchnInitControl{ControlGFN: roGFN, Offset: 0, VCPU: 0})
				return p.call(xen.HypercallEventChannelOp, xen.EvtchnOpInitControl, roArg+0x100)
			}, errnoOf(xen.EINVAL)},
			{"add_to_physmap(shared_info)", func() int64 {
				p.put(p.a, roArg+0x100, &xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceSharedInfo, GPFN: roGFN})
				return p.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, roArg+0x100)
			}, errnoOf(xen.EINVAL)},
		}
		for _, path := range paths {
			if got := path.do(); got != path.want {
				t.Errorf("gfn %#x: %s = %d, want %d", roGFN, path.name, got, path.want)
			}
			p.checkCanary(path.name)
		}
		if p.a.vcpus[0].xen.vcpuInfoSet || p.a.vcpus[0].xen.runstateGVA != 0 {
			t.Error("a refused registration was kept")
		}
		// FIFO event array: init_control on a's own page, then expand_array
		// onto the mapping.
		p.put(p.a, roArg+0x100, &xen.EvtchnInitControl{ControlGFN: 0x280, VCPU: 0})
		if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpInitControl, roArg+0x100); r != 0 {
			t.Fatalf("init_control on own RAM: %d", r)
		}
		p.put(p.a, roArg+0x100, &xen.EvtchnExpandArray{ArrayGFN: roGFN})
		if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpExpandArray, roArg+0x100); r != errnoOf(xen.EINVAL) {
			t.Errorf("expand_array onto the mapping = %d, want -EINVAL", r)
		}
		p.checkCanary("expand_array")
		// A grant copy to the mapping as the caller's own frame.
		cp := xen.GnttabCopy{Source: xen.GnttabCopyPtr{U: 0x281, DomID: xen.DomIDSelf}, Dest: xen.GnttabCopyPtr{U: roGFN, DomID: xen.DomIDSelf}, Len: 64}
		p.put(p.a, roArg+0x100, &cp)
		p.call(xen.HypercallGrantTableOp, xen.GnttabOpCopy, roArg+0x100, 1)
		var cb [xen.GnttabCopySize]byte
		p.a.mem.ReadPhys(roArg+0x100, cb[:])
		cp.Decode(cb[:])
		if cp.Status == 0 {
			t.Error("grant copy into the mapping succeeded")
		}
		p.checkCanary("grant copy")
		// The hypercall page MSR: #GP, as Xen gives for a page that is not
		// the domain's own writable RAM.
		v := p.a.vcpus[0]
		r := p.fv.Regs()
		r[x86.RCX], r[x86.RAX], r[x86.RDX] = HypercallPageMSR, ro&0xffffffff, ro>>32
		p.fv.injected = nil
		p.h.wrmsr(v, &backend.Exit{Reason: backend.ExitMSRWrite, MSR: HypercallPageMSR})
		if len(p.fv.injected) != 1 || p.fv.injected[0] != gpVector {
			t.Errorf("hypercall page MSR at the mapping: injected %v, want #GP", p.fv.injected)
		}
		p.checkCanary("hypercall page MSR")
		// The same MSR on a's own RAM still works.
		r[x86.RAX], r[x86.RDX] = 0x281000, 0
		p.fv.injected = nil
		p.h.wrmsr(v, &backend.Exit{Reason: backend.ExitMSRWrite, MSR: HypercallPageMSR})
		if len(p.fv.injected) != 0 {
			t.Errorf("hypercall page MSR on own RAM: injected %v", p.fv.injected)
		}
		// The console ring's frame is hv's: no grant goes over it.
		if st := p.mapRO(loader.ConsoleGFN); st != xen.GNTSTGeneralError {
			t.Errorf("grant map over the console ring: status %d, want GNTST_general_error", st)
		}
		p.h.drainConsole(p.a)
		p.h.consoleInput(p.a, []byte("typed"))
		p.checkCanary("the console ring")
	}
}

// The frames hv keeps writing are checked again at every write, and a
// mapping cannot be put over the ones it pins: a registration made on the
// domain's own RAM never turns into a write into a grant.
func TestRegisteredAreasNeverWriteAGrant(t *testing.T) {
	p := newROPair(t)
	v := p.a.vcpus[0]
	// vcpu_info on a's page 0x260: a read-only grant over it, or a
	// grant-table frame, is refused; so is giving it back.
	p.put(p.a, roArg+0x100, &xen.VCPURegisterVCPUInfo{MFN: 0x260, Offset: 0})
	if r := p.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 0, roArg+0x100); r != 0 {
		t.Fatalf("register_vcpu_info on own RAM: %d", r)
	}
	if st := p.mapRO(0x260); st != xen.GNTSTGeneralError {
		t.Errorf("grant map over vcpu_info: status %d", st)
	}
	if e := p.h.mapGrantFrame(p.a, 0, 0x260); e != xen.EBUSY {
		t.Errorf("add_to_physmap(grant_table) over vcpu_info: %d, want -EBUSY", e)
	}
	if p.h.decreaseReservation(p.a, 0x260, 0) {
		t.Error("vcpu_info's frame given back")
	}
	// FIFO pages: one given back, then a read-only grant mapped where it
	// was. Events raised afterwards must not reach the grant.
	p.put(p.a, roArg+0x100, &xen.EvtchnInitControl{ControlGFN: 0x270, VCPU: 0})
	if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpInitControl, roArg+0x100); r != 0 {
		t.Fatalf("init_control: %d", r)
	}
	p.put(p.a, roArg+0x100, &xen.EvtchnExpandArray{ArrayGFN: 0x271})
	if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpExpandArray, roArg+0x100); r != 0 {
		t.Fatalf("expand_array: %d", r)
	}
	p.put(p.a, roArg+0x100, &xen.EvtchnBindIPI{VCPU: 0})
	if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpBindIPI, roArg+0x100); r != 0 {
		t.Fatalf("bind_ipi: %d", r)
	}
	var ipi xen.EvtchnBindIPI
	var ib [xen.EvtchnBindIPISize]byte
	p.a.mem.ReadPhys(roArg+0x100, ib[:])
	ipi.Decode(ib[:])
	// The event array first, then the control block (its event word is
	// fresh again then, so the send links it and writes the block).
	for _, gfn := range []uint64{0x271, 0x270} {
		if !p.h.decreaseReservation(p.a, gfn, 0) {
			t.Fatalf("decrease_reservation of FIFO page %#x refused", gfn)
		}
		st, handle := p.mapROHandle(gfn)
		if st != 0 {
			t.Fatalf("map at the freed gfn %#x: status %d", gfn, st)
		}
		p.put(p.a, roArg+0x100, &xen.EvtchnSend{Port: ipi.Port})
		if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpSend, roArg+0x100); r != 0 {
			t.Fatalf("send: %d", r)
		}
		p.checkCanary(fmt.Sprintf("an event with the grant at FIFO page %#x", gfn))
		p.unmap(gfn, handle)
		if !p.h.populate(p.a, gfn, 0) {
			t.Fatalf("populate %#x", gfn)
		}
	}
	// The runstate area, registered on a's page 0x290, which is then given
	// back and replaced by the grant.
	p.put(p.a, roArg+0x100, &xen.VCPURegisterRunstateMemoryArea{Addr: 0x290000 + 16})
	if r := p.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterRunstateMemoryArea, 0, roArg+0x100); r != 0 {
		t.Fatalf("register_runstate_memory_area on own RAM: %d", r)
	}
	if !p.h.decreaseReservation(p.a, 0x290, 0) {
		t.Fatal("decrease_reservation of the runstate page refused")
	}
	if st := p.mapRO(0x290); st != 0 {
		t.Fatalf("map at the runstate gfn: status %d", st)
	}
	p.h.setRunstate(v, runstateRunnable)
	p.h.setRunstate(v, runstateRunning)
	p.checkCanary("runstate updates")
	if v.xen.runstateGVA != 0 {
		t.Error("runstate updates continue into a frame that is not a's RAM")
	}
}

// Issue 14 §3: a grant-table frame added over shared_info's gfn takes the
// gfn, as in Xen, and hv's shared_info writes never land in it; shared_info
// added over a grant-table frame takes the gfn back.
func TestSharedInfoAndGrantFrameNeverAlias(t *testing.T) {
	p := newROPair(t)
	h, a := p.h, p.a
	const s = 0x2a0
	if e := h.mapSharedInfo(a, s); e != 0 {
		t.Fatalf("add_to_physmap(shared_info): %d", e)
	}
	mfn, err := a.gnt.FrameMFN(0)
	if err != nil {
		t.Fatal(err)
	}
	frame := h.env.PageBytes(mfn * pageSize)
	// Zeros where shared_info's event bitmaps and vcpu_info slots are, so
	// a pending bit written there shows.
	*frame = [pageSize]byte{}
	copy(frame[:], "GRANTTBL")
	want := *frame
	if e := h.mapGrantFrame(a, 0, s); e != 0 {
		t.Fatalf("add_to_physmap(grant_table) over shared_info: %d, want 0 (Xen replaces it)", e)
	}
	if a.xen.sharedInfoSet || a.vcpus[0].vcpuInfo() != nil {
		t.Error("shared_info still mapped at the gfn the grant frame took")
	}
	// Everything that writes shared_info: events (pending bits and the
	// legacy vcpu_info slot), time.
	p.put(a, roArg+0x100, &xen.EvtchnBindIPI{VCPU: 0})
	if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpBindIPI, roArg+0x100); r != 0 {
		t.Fatalf("bind_ipi: %d", r)
	}
	var ipi xen.EvtchnBindIPI
	var ib [xen.EvtchnBindIPISize]byte
	a.mem.ReadPhys(roArg+0x100, ib[:])
	ipi.Decode(ib[:])
	p.put(a, roArg+0x100, &xen.EvtchnSend{Port: ipi.Port})
	if r := p.call(xen.HypercallEventChannelOp, xen.EvtchnOpSend, roArg+0x100); r != 0 {
		t.Fatalf("send: %d", r)
	}
	h.raiseTimer(a.vcpus[0])
	if *frame != want {
		t.Error("hv wrote shared_info into the grant-table frame")
	}
	// And back: shared_info at the grant frame's gfn unhooks the frame;
	// the RAM page under it becomes shared_info.
	if e := h.mapSharedInfo(a, s); e != 0 {
		t.Fatalf("add_to_physmap(shared_info) over the grant frame: %d", e)
	}
	if _, ok := a.xen.grantFrames[0]; ok {
		t.Error("grant frame 0 still at the gfn")
	}
	if k, _ := a.mem.Lookup(s); k != npt.RAM || !a.xen.sharedInfoSet {
		t.Errorf("gfn %#x is %v after add_to_physmap(shared_info)", uint64(s), k)
	}
	if *frame != want {
		t.Error("add_to_physmap(shared_info) wrote the grant-table frame")
	}
	// Beyond RAM there is no page for shared_info: refused, the grant
	// frame stays.
	if e := h.mapGrantFrame(a, 0, 0x4000); e != 0 {
		t.Fatal(e)
	}
	if e := h.mapSharedInfo(a, 0x4000); e != xen.EINVAL {
		t.Errorf("shared_info over a grant frame beyond RAM: %d, want -EINVAL", e)
	}
	if g, ok := a.xen.grantFrames[0]; !ok || g != 0x4000 || *frame != want {
		t.Error("the grant frame moved or changed")
	}
	// Another grant frame at a gfn holding one: the old one is unhooked.
	if _, err := a.gnt.FrameMFN(1); err == nil {
		if e := h.mapGrantFrame(a, 1, 0x4000); e != 0 {
			t.Errorf("grant frame 1 over grant frame 0: %d", e)
		}
		if _, ok := a.xen.grantFrames[0]; ok {
			t.Error("grant frame 0 still mapped")
		}
	}
}
