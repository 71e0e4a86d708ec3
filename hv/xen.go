package hv

import (
	"encoding/binary"
	"errors"
	"time"

	"gozen/abi/xen"
	"gozen/hv/x86"
	"gozen/loader"
	"gozen/mm/npt"
)

// The Xen guest ABI a PVH domain sees: shared_info, vcpu_info and its time
// area, the runstate area, HVM parameters (callback vector, console ring)
// and the hypercalls that manage them. Event channels and grant tables are
// in packages event and grant; xen_events.go wires them in.
//
// Guest memory holding Xen structures is reached through the domain's
// nested page tables (page), never through guest-provided machine
// addresses, and every structure is checked to lie inside one page.

const pageSize = 4096

var le = binary.LittleEndian

// xenDomain is a domain's Xen state.
type xenDomain struct {
	sharedInfo    uint64 // gfn of shared_info (0 is a valid frame)
	sharedInfoSet bool   // shared_info has been mapped
	// compat: shared_info, vcpu_info and runstate areas are in Xen's
	// 32-bit layouts (has_32bit_shinfo), latched by latchSharedInfoSize.
	compat       bool
	params       [xen.HVMNrParams]uint64
	upcallVector uint8 // from HVM_PARAM_CALLBACK_IRQ, 0 = none
	consoleGFN   uint64
	consolePort  uint32
	// consoleOffered: hv no longer serves the console ring; its port was
	// handed to dom0's console back end (offerConsole).
	consoleOffered bool
	// grantFrames is where each grant-table frame is mapped (index -> gfn).
	grantFrames map[uint64]uint64
}

// xenVCPU is a vCPU's Xen state.
type xenVCPU struct {
	vcpuInfoGFN uint64 // registered vcpu_info (VCPUOP_register_vcpu_info)
	vcpuInfoOff uint64
	vcpuInfoSet bool
	runstateGVA uint64 // guest-virtual runstate area, 0 = none
	runstate    int32
	stateEntry  int64
	stateTime   [4]int64
	xenTimer    bool   // v.timer belongs to VCPUOP_set_singleshot_timer
	polling     bool   // blocked in SCHEDOP_poll
	pollTimer   int64  // its timeout (Env.Now units), 0 = none
	debugCtl    uint64 // MSR_IA32_DEBUGCTL as the guest wrote it (msr.go)
	runstateBuf [xen.VCPURunstateInfoSize]byte
}

// page returns the domain's guest page gfn for hv to read and write a Xen
// structure there, or nil unless gfn is the domain's own writable RAM.
//
// It is the one way hv reaches the pages it keeps writing on its own
// (shared_info, vcpu_info, the console ring, FIFO control blocks and event
// arrays through evMem, grant copies to a gfn through grantMem), and it
// checks the frame on every use. So a registration (Xen requires
// get_page_and_type(PGT_writable_page) of a page the domain owns) is
// refused unless gfn is such RAM, and if the mapping changes afterwards
// (another domain's grant, read-only or not, or a grant-table frame mapped
// there, the frame given back) hv's writes stop instead of landing in
// whatever is mapped there now. A frame mapped at gfn (Xen's
// p2m_grant_map_ro/rw, or a hypervisor page) is never returned.
func (d *Domain) page(gfn uint64) *[4096]byte {
	if d.mem == nil {
		return nil
	}
	if kind, writable := d.mem.Lookup(gfn); kind != npt.RAM || !writable {
		return nil
	}
	hpa, ok := d.mem.Translate(gfn * pageSize)
	if !ok {
		return nil
	}
	return d.hv.env.PageBytes(hpa &^ (pageSize - 1))
}

// writeRAM writes p at guest-physical gpa for hv's own purposes (the
// hypercall page), only if all of it is the domain's own writable RAM.
func (d *Domain) writeRAM(gpa uint64, p []byte) error {
	if d.mem == nil || !d.mem.WritableRAM(gpa, uint64(len(p))) {
		return errNotRAM
	}
	return d.mem.WritePhys(gpa, p)
}

var errNotRAM = errors.New("not the domain's own writable RAM")

// ramOnly is a domain's memory as x86.WriteVirt sees it when hv writes a
// structure it registered by virtual address (the runstate area): reads go
// through, writes land only in the domain's own writable RAM. A one-pointer
// struct, so passing it as an interface does not allocate.
type ramOnly struct{ *npt.Memory }

func (r ramOnly) WritePhys(gpa uint64, p []byte) error {
	if !r.WritableRAM(gpa, uint64(len(p))) {
		return errNotRAM
	}
	return r.Memory.WritePhys(gpa, p)
}

// vcpuInfo returns vCPU v's vcpu_info bytes (registered, or its slot in
// shared_info), or nil when it has none yet.
func (v *VCPU) vcpuInfo() []byte {
	d := v.dom
	if v.xen.vcpuInfoSet {
		p := d.page(v.xen.vcpuInfoGFN)
		if p == nil {
			return nil
		}
		return p[v.xen.vcpuInfoOff : v.xen.vcpuInfoOff+xen.VCPUInfoSize]
	}
	if !d.xen.sharedInfoSet || v.id >= xen.XenLegacyMaxVCPUs {
		return nil
	}
	p := d.page(d.xen.sharedInfo)
	if p == nil {
		return nil
	}
	return p[v.id*xen.VCPUInfoSize : (v.id+1)*xen.VCPUInfoSize]
}

// writeTimeInfo fills a vcpu_time_info in place, with an odd version while
// it does. GoZen's guest clock is one formula of the TSC (time.go), so this
// is written once per location.
func (h *Hypervisor) writeTimeInfo(b []byte) {
	t := h.timeInfo()
	t.Version = le.Uint32(b[0:]) | 1 // odd: update in progress
	t.Encode(b)
	le.PutUint32(b[0:], t.Version+1)
}

// timeInfo is the vcpu_time_info every vCPU sees (version 2: stable).
func (h *Hypervisor) timeInfo() xen.VCPUTimeInfo {
	return xen.VCPUTimeInfo{
		Version:        2,
		TSCTimestamp:   h.clock.anchor + h.tscOffset(), // 0: the guest TSC at system time 0
		TSCToSystemMul: h.clock.mul,
		TSCShift:       int8(h.clock.shift),
		Flags:          xen.XenPVClockTSCStableBit,
	}
}

// writeWallclock puts the Unix time of system time 0 into d's shared_info
// page p, in the domain's layout (Xen's update_domain_wallclock_time: the
// 32-bit layout keeps wc_sec_hi in arch).
func (h *Hypervisor) writeWallclock(d *Domain, p *[4096]byte) {
	l := xen.SharedInfoLayoutOf(d.xen.compat)
	boot := time.Now().UnixNano() - h.systemTime()
	if h.wallSet {
		boot = h.wallBoot // dom0 set the time (XENPF_settime)
	}
	sec := uint64(boot / 1e9)
	ver := le.Uint32(p[l.WcVersion:]) | 1
	le.PutUint32(p[l.WcVersion:], ver)
	le.PutUint32(p[l.WcSec:], uint32(sec))
	le.PutUint32(p[l.WcNsec:], uint32(boot%1e9))
	le.PutUint32(p[l.WcSecHi:], uint32(sec>>32))
	le.PutUint32(p[l.WcVersion:], ver+1)
}

// latchSharedInfoSize is Xen's hvm_latch_shinfo_size, run when v sets
// HVM_PARAM_CALLBACK_IRQ or writes the hypercall page MSR, "among the very
// first" things a guest's PV drivers do: from then on the domain's
// shared_info, vcpu_info and runstate areas use the 32-bit layouts if v is
// not in 64-bit mode, the 64-bit ones if it is. As in Xen, only the wall
// clock is rewritten in the new layout; the rest of the page stays.
func (h *Hypervisor) latchSharedInfoSize(v *VCPU) {
	d := v.dom
	d.xen.compat = v.arch.Mode() != x86.Mode64
	if d.ev != nil {
		d.ev.SetCompat(d.xen.compat)
	}
	if d.xen.sharedInfoSet {
		if p := d.page(d.xen.sharedInfo); p != nil {
			h.writeWallclock(d, p)
		}
	}
}

// mapSharedInfo implements XENMEM_add_to_physmap(XENMAPSPACE_shared_info):
// the page at gfn becomes shared_info. GoZen uses the guest's own RAM page
// there (zeroed), so no machine page changes hands.
func (h *Hypervisor) mapSharedInfo(d *Domain, gfn uint64) xen.Errno {
	if d.xen.sharedInfoSet && d.xen.sharedInfo == gfn {
		return 0 // already there: keep its contents, as Xen does
	}
	if idx, ok := d.grantFrameAt(gfn); ok && d.mem.HidesRAM(gfn) {
		// A grant-table frame is there: Xen unhooks it first, and the two
		// never share a frame. GoZen's shared_info is the RAM page under
		// it, which comes back. (With no RAM under it there is no page for
		// shared_info: -EINVAL below, and the grant frame stays.)
		d.mem.UnmapFrame(gfn)
		delete(d.xen.grantFrames, idx)
		d.flushTLBs()
	}
	if !d.mem.IsRAM(gfn) {
		return xen.EINVAL
	}
	p := d.page(gfn)
	if p == nil {
		return xen.EINVAL
	}
	*p = [4096]byte{}
	d.xen.sharedInfo, d.xen.sharedInfoSet = gfn, true
	h.writeWallclock(d, p)
	for _, v := range d.vcpus {
		if !v.xen.vcpuInfoSet && v.id < xen.XenLegacyMaxVCPUs {
			h.writeTimeInfo(p[v.id*xen.VCPUInfoSize+xen.VCPUInfoTimeOffset:])
		}
	}
	h.eventsSharedInfo(d, gfn)
	return 0
}

// registerVCPUInfo implements VCPUOP_register_vcpu_info.
func (h *Hypervisor) registerVCPUInfo(v *VCPU, gfn, off uint64) xen.Errno {
	if off > pageSize-xen.VCPUInfoSize || v.xen.vcpuInfoSet {
		return xen.EINVAL
	}
	p := v.dom.page(gfn)
	if p == nil {
		return xen.EINVAL
	}
	// Carry over what the old slot held, as Xen does.
	var old [xen.VCPUInfoSize]byte
	if b := v.vcpuInfo(); b != nil {
		copy(old[:], b)
	}
	v.xen.vcpuInfoGFN, v.xen.vcpuInfoOff, v.xen.vcpuInfoSet = gfn, off, true
	b := p[off : off+xen.VCPUInfoSize]
	copy(b, old[:])
	h.writeTimeInfo(b[xen.VCPUInfoTimeOffset:])
	h.eventsVCPUInfo(v, gfn, off)
	return 0
}

// upcallPending reports whether v has an event upcall waiting. With the
// callback vector, Xen ignores evtchn_upcall_mask (the guest's IF gates it).
func (v *VCPU) upcallPending() bool {
	return v.dom.ev != nil && v.dom.ev.UpcallPending(v.id)
}

// deliverUpcall injects the domain's callback vector into v when an event
// is pending, or arranges an exit for when v can take it. It reports
// whether an event was pending.
func (h *Hypervisor) deliverUpcall(v *VCPU) bool {
	vec := v.dom.xen.upcallVector
	if vec == 0 || !v.upcallPending() {
		return false
	}
	if v.arch.Interruptible() {
		v.arch.InjectInterrupt(vec)
	} else {
		v.arch.RequestInterruptWindow()
	}
	return true
}

// Runstates (vcpu.h).
const (
	runstateRunning  = 0
	runstateRunnable = 1
	runstateBlocked  = 2
	runstateOffline  = 3
)

// setRunstate accounts time in the previous state and publishes the new one
// to the guest's runstate area, if it registered one.
func (h *Hypervisor) setRunstate(v *VCPU, state int32) {
	x := &v.xen
	now := h.systemTime()
	if x.stateEntry != 0 && x.runstate >= 0 && x.runstate < 4 {
		x.stateTime[x.runstate] += now - x.stateEntry
	}
	x.runstate, x.stateEntry = state, now
	if x.runstateGVA == 0 {
		return
	}
	b := v.runstateBytes()
	// Written through the guest's current page tables, as Xen does, and
	// only into the domain's own writable RAM; a failure (the guest
	// unmapped it, or mapped something else there) stops the updates.
	if err := x86.WriteVirt(ramOnly{v.dom.mem}, v.arch.Paging(), x.runstateGVA, b, false); err != nil {
		x.runstateGVA = 0
	}
}

// registerRunstateArea implements VCPUOP_register_runstate_memory_area for
// vCPU t: hv writes the area now and at every runstate change. An area
// whose address translates to anything but the domain's own writable RAM
// (a read-only grant mapping, a grant-table frame) is refused with -EFAULT
// and not registered. (Xen 4.17 answers 0 and its copy_to_guest then fails
// or drops each update; refusing tells the guest at once and keeps hv from
// ever holding such an address.) An address that does not translate yet
// is accepted and, as before, simply gets no updates.
func (h *Hypervisor) registerRunstateArea(t *VCPU, gva uint64) xen.Errno {
	if gva != 0 {
		if err := x86.WriteVirt(ramOnly{t.dom.mem}, t.arch.Paging(), gva, t.runstateBytes(), false); errors.Is(err, errNotRAM) {
			return xen.EFAULT
		}
	}
	t.xen.runstateGVA = gva
	h.setRunstate(t, t.xen.runstate)
	return 0
}

// runstateBytes is v's runstate area as hv writes it: struct
// vcpu_runstate_info, 48 bytes, or compat_vcpu_runstate_info, 44 bytes,
// for a domain latched to the 32-bit layouts (Xen's update_runstate_area
// with has_32bit_shinfo). The buffer is v's own, so the hot path does not
// allocate.
func (v *VCPU) runstateBytes() []byte {
	r := v.runstateInfo()
	b := v.xen.runstateBuf[:]
	if v.dom.xen.compat {
		c := xen.CompatVCPURunstateInfo(r)
		c.Encode(b)
		return b[:xen.CompatVCPURunstateInfoSize]
	}
	r.Encode(b)
	return b[:xen.VCPURunstateInfoSize]
}

// runstateInfo is v's runstate as VCPUOP_get_runstate_info reports it.
func (v *VCPU) runstateInfo() xen.VCPURunstateInfo {
	r := xen.VCPURunstateInfo{State: v.xen.runstate, StateEntryTime: uint64(v.xen.stateEntry)}
	for i, t := range v.xen.stateTime {
		r.Time[i] = uint64(t)
	}
	return r
}

// setupXen prepares a new domain's Xen state: the console ring page and
// its event channel.
func (h *Hypervisor) setupXen(d *Domain) error {
	d.xen.consoleGFN = loader.ConsoleGFN
	if !d.mem.IsRAM(d.xen.consoleGFN) {
		return errors.New("domain too small for the console ring")
	}
	d.mem.Zero(d.xen.consoleGFN*pageSize, pageSize)
	port, err := h.eventsConsolePort(d)
	if err != nil {
		return err
	}
	d.xen.consolePort = port
	d.xen.params[xen.HVMParamConsolePFN] = d.xen.consoleGFN
	d.xen.params[xen.HVMParamConsoleEvtchn] = uint64(port)
	// The xenstore ring and its port: setupStore (xen_store.go).
	return nil
}
