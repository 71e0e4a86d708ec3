package privxc

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"

	"gozen/abi/xen"
	"gozen/dom0/xc"
)

// ctlFake is a hypervisor serving domctl and sysctl as Xen 4.17 does, for
// the ones Hypervisor issues: it reads each struct xen_domctl/xen_sysctl
// from the hypercall buffers the code under test handed it (never from Go
// memory elsewhere: fakeCaller.mem panics), checks a few fields at their
// raw C offsets besides decoding with abi/xen, and writes results back.
type ctlFake struct {
	fakeCaller
	t       *testing.T
	next    uint16
	doms    map[uint16]*ctlDom
	console string
	cleared int // bytes of console dropped by a clear
	// memioMax bounds one gdbsx_guestmemio (0: GoZen's WriteChunk);
	// memioCalls counts them.
	memioMax   int
	memioCalls int
	// faultResident: a gdbsx_guestmemio from a Resident slice fails with
	// EFAULT (a page gone from dom0's page tables).
	faultResident bool
}

type ctlDom struct {
	create  xen.XenDomctlCreateDomain
	paused  bool
	maxKB   uint64
	maxv    uint32
	weight  uint16
	cap     uint16
	context []xen.HVMSaveRecord
	ram     []byte // 1 MiB of guest memory, for gdbsx_guestmemio
}

func newCtlFake(t *testing.T) *ctlFake {
	f := &ctlFake{t: t, next: 1, doms: map[uint16]*ctlDom{0: {maxv: 1, weight: 256}}}
	f.doms[0].create.MaxVCPUs = 1
	return f
}

var le = binary.LittleEndian

func (f *ctlFake) header() []byte {
	h := xen.HVMSaveHeader{Magic: xen.HVMFileMagic, Version: xen.HVMFileVersion, CPUID: 0x600f12, GTSCKHz: 2000000}
	b := xen.AppendHVMRecord(nil, xen.HVMSaveCodeHeader, 0, xen.HVMSaveHeaderSize, &h)
	return xen.AppendHVMRecord(b, xen.HVMSaveCodeEnd, 0, 0, nil)
}

func (f *ctlFake) Hypercall(op uint64, args ...uint64) (int, error) {
	switch op {
	case xen.HypercallDomctl:
		return f.domctl(args[0])
	case xen.HypercallSysctl:
		return f.sysctl(args[0])
	}
	return f.fakeCaller.Hypercall(op, args...)
}

func (f *ctlFake) domctl(arg uint64) (int, error) {
	raw := f.mem(arg, xen.XenDomctlSize)
	var d xen.XenDomctl
	d.Decode(raw)
	// struct xen_domctl: cmd @0, interface_version @4, domain @8, u @16.
	if le.Uint32(raw[0:]) != d.Cmd || le.Uint32(raw[4:]) != 0x15 || le.Uint16(raw[8:]) != d.Domain {
		f.t.Errorf("domctl header bytes % x", raw[:16])
	}
	if d.InterfaceVersion != xen.DomctlInterfaceVersion {
		return 0, syscall.EACCES
	}
	u := raw[16:]
	dom := f.doms[d.Domain]
	if dom == nil && d.Cmd != xen.DomctlCreateDomain && d.Cmd != xen.DomctlGetDomainInfo {
		return 0, syscall.ESRCH
	}
	switch d.Cmd {
	case xen.DomctlCreateDomain:
		var c xen.XenDomctlCreateDomain
		c.Decode(u)
		// xen_domctl_createdomain: flags @20, max_vcpus @28,
		// grant_opts @44, emulation_flags @56.
		if le.Uint32(u[20:]) != c.Flags || le.Uint32(u[28:]) != c.MaxVCPUs || le.Uint32(u[44:]) != 1 || le.Uint32(u[56:]) != xen.X86EmuLAPIC {
			f.t.Errorf("createdomain bytes % x", u[:64])
		}
		if d.Domain != 0 {
			return 0, syscall.EINVAL // the code asks for any ID
		}
		d.Domain = f.next
		f.next++
		f.doms[d.Domain] = &ctlDom{create: c, paused: true, weight: 256, maxv: c.MaxVCPUs, ram: make([]byte, 1<<20)}
	case xen.DomctlDestroyDomain:
		delete(f.doms, d.Domain)
		return 0, nil
	case xen.DomctlPauseDomain, xen.DomctlUnpauseDomain:
		dom.paused = d.Cmd == xen.DomctlPauseDomain
		return 0, nil
	case xen.DomctlGetDomainInfo:
		ids := slices.Sorted(func(yield func(uint16) bool) {
			for id := range f.doms {
				if id >= d.Domain && !yield(id) {
					return
				}
			}
		})
		if len(ids) == 0 {
			return 0, syscall.ESRCH
		}
		info := f.info(ids[0])
		d.Domain = ids[0]
		d.U = [xen.XenDomctlUnionSize]byte{}
		info.Encode(d.U[:])
	case xen.DomctlSetDomainHandle:
		// xen_domctl_setdomainhandle: handle @0, 16 bytes.
		copy(dom.create.Handle[:], u[:16])
		return 0, nil
	case xen.DomctlMaxMem:
		// xen_domctl_max_mem: max_memkb @0.
		dom.maxKB = le.Uint64(u[0:])
		return 0, nil
	case xen.DomctlMaxVCPUs:
		if n := le.Uint32(u[0:]); n != dom.create.MaxVCPUs {
			return 0, syscall.EINVAL
		}
		return 0, nil
	case xen.DomctlGetVCPUInfo:
		var v xen.XenDomctlGetVCPUInfo
		v.Decode(u)
		if v.VCPU >= dom.maxv {
			return 0, syscall.ESRCH
		}
		v = xen.XenDomctlGetVCPUInfo{VCPU: v.VCPU, Online: 1, Blocked: 1, CPUTime: 1000 * uint64(v.VCPU+1)}
		v.Encode(d.U[:])
	case xen.DomctlSchedulerOp:
		var s xen.XenDomctlSchedulerOp
		s.Decode(u)
		// sched_id @0, cmd @4, u.credit.weight @8, cap @10.
		if s.SchedID != xen.SchedulerCredit || le.Uint32(u[0:]) != 5 {
			return 0, syscall.EINVAL
		}
		if s.Cmd == xen.DomctlSchedopPutinfo {
			dom.weight, dom.cap = le.Uint16(u[8:]), le.Uint16(u[10:])
			return 0, nil
		}
		s.SetCredit(dom.weight, dom.cap)
		s.Encode(d.U[:])
	case xen.DomctlGetHVMContext:
		var c xen.XenDomctlHVMContext
		c.Decode(u)
		ctx := f.header()
		if c.Buffer != 0 {
			if int(c.Size) < len(ctx) {
				return 0, syscall.ENOSPC
			}
			copy(f.mem(c.Buffer, len(ctx)), ctx)
		}
		c.Size = uint32(len(ctx))
		c.Encode(d.U[:])
	case xen.DomctlSetHVMContext:
		var c xen.XenDomctlHVMContext
		c.Decode(u)
		recs, err := xen.ParseHVMContext(slices.Clone(f.mem(c.Buffer, int(c.Size))), 16)
		if err != nil {
			return 0, syscall.EINVAL
		}
		dom.context = recs
		return 0, nil
	case xen.DomctlGdbsxGuestMemIO:
		var m xen.XenDomctlGdbsxMemIO
		m.Decode(u)
		// pgd3val @0, gva @8, uva @16, len @24, gwr @28, remain @32.
		if le.Uint64(u[8:]) != m.GVA || le.Uint64(u[16:]) != m.UVA || le.Uint32(u[24:]) != m.Len || u[28] != m.GWr {
			f.t.Errorf("gdbsx_guestmemio bytes % x", u[:40])
		}
		if int(m.Len) > cmp.Or(f.memioMax, WriteChunk) {
			return 0, syscall.E2BIG
		}
		if f.faultResident && f.inResident(m.UVA, int(m.Len)) {
			return 0, syscall.EFAULT
		}
		if m.GWr != 1 || m.GVA+uint64(m.Len) > uint64(len(dom.ram)) {
			return 0, syscall.EFAULT
		}
		f.memioCalls++
		copy(dom.ram[m.GVA:], f.mem(m.UVA, int(m.Len)))
		m.Remain = 0
		m.Encode(d.U[:])
	default:
		return 0, syscall.ENOSYS
	}
	d.Encode(raw)
	return 0, nil
}

func (f *ctlFake) info(id uint16) xen.XenDomctlGetDomainInfo {
	d := f.doms[id]
	fl := uint32(xen.DominfHVMGuest | xen.DominfHAP)
	if d.paused {
		fl |= xen.DominfPaused
	}
	return xen.XenDomctlGetDomainInfo{Domain: id, Flags: fl, TotPages: 1024, MaxPages: d.maxKB / 4,
		CPUTime: 5e9, NrOnlineVCPUs: d.maxv, MaxVCPUID: d.maxv - 1, Handle: d.create.Handle}
}

func (f *ctlFake) sysctl(arg uint64) (int, error) {
	raw := f.mem(arg, xen.XenSysctlSize)
	var s xen.XenSysctl
	s.Decode(raw)
	if le.Uint32(raw[0:]) != s.Cmd || le.Uint32(raw[4:]) != 0x15 {
		f.t.Errorf("sysctl header bytes % x", raw[:8])
	}
	if s.InterfaceVersion != xen.SysctlInterfaceVersion {
		return 0, syscall.EACCES
	}
	u := raw[8:]
	switch s.Cmd {
	case xen.SysctlGetdomaininfolist:
		var l xen.XenSysctlGetdomaininfolist
		l.Decode(u)
		// first_domain @0, max_domains @4, buffer @8, num_domains @16.
		if le.Uint16(u[0:]) != l.FirstDomain || le.Uint64(u[8:]) != l.Buffer {
			f.t.Errorf("getdomaininfolist bytes % x", u[:24])
		}
		var n uint32
		for _, id := range slices.Sorted(func(yield func(uint16) bool) {
			for id := range f.doms {
				if id >= l.FirstDomain && !yield(id) {
					return
				}
			}
		}) {
			if n == l.MaxDomains {
				break
			}
			i := f.info(id)
			i.Encode(f.mem(l.Buffer+uint64(n)*xen.XenDomctlGetDomainInfoSize, xen.XenDomctlGetDomainInfoSize))
			n++
		}
		l.NumDomains = n
		l.Encode(s.U[:])
	case xen.SysctlPhysinfo:
		p := xen.XenSysctlPhysinfo{ThreadsPerCore: 1, CoresPerSocket: 1, NrCPUs: 1, NrNodes: 1, CPUKHz: 2000000,
			Capabilities: xen.PhyscapHVM | xen.PhyscapHAP, TotalPages: 32768, FreePages: 1000}
		p.Encode(s.U[:])
		// total_pages @40, free_pages @48.
		if le.Uint64(s.U[40:]) != 32768 || le.Uint64(s.U[48:]) != 1000 {
			f.t.Errorf("physinfo bytes % x", s.U[:56])
		}
	case xen.SysctlReadconsole:
		var r xen.XenSysctlReadconsole
		r.Decode(u)
		start := uint32(f.cleared)
		if r.Incremental != 0 && r.Index >= start {
			start = r.Index
		}
		avail := f.console[start-uint32(f.cleared):]
		n := min(int(r.Count), len(avail))
		if n > 0 {
			copy(f.mem(r.Buffer, n), avail[:n])
		}
		if r.Clear != 0 {
			f.cleared += len(f.console)
			f.console = ""
		}
		r.Count, r.Index = uint32(n), start+uint32(n)
		r.Encode(s.U[:])
	default:
		return 0, syscall.ENOSYS
	}
	s.Encode(raw)
	return 0, nil
}

func TestControl(t *testing.T) {
	f := newCtlFake(t)
	h := NewControl(f)
	uuid := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	id, err := h.CreateDomain(xc.PVHCreateConfig(uuid, 2))
	if err != nil || id != 1 {
		t.Fatalf("createdomain: %d %v", id, err)
	}
	c := f.doms[1].create
	if c.Handle != uuid || c.Flags != xen.DomctlCDFHVM|xen.DomctlCDFHAP || c.MaxVCPUs != 2 || c.MaxGrantFrames != 64 ||
		c.MaxMaptrackFrames != 1024 || c.MaxEvtchnPort != 1023 {
		t.Errorf("createdomain passed %+v", c)
	}
	if err := h.SetMaxVCPUs(id, 2); err != nil {
		t.Error(err)
	}
	if err := h.SetMaxVCPUs(id, 3); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("max_vcpus 3: %v", err)
	}
	if err := h.SetMaxMem(id, 263168); err != nil || f.doms[1].maxKB != 263168 {
		t.Errorf("max_mem: %v, %d", err, f.doms[1].maxKB)
	}
	info, err := h.DomainInfo(id)
	if err != nil || info.ID != 1 || !info.Paused() || info.MaxPages != 263168/4 || info.OnlineVCPUs != 2 ||
		info.MaxVCPUID != 1 || info.Handle != uuid || info.TotPages != 1024 || info.CPUTimeNS != 5e9 {
		t.Errorf("getdomaininfo: %+v %v", info, err)
	}
	uuid2 := [16]byte{0xfe, 15: 0xef}
	if err := h.SetHandle(id, uuid2); err != nil {
		t.Error(err)
	} else if info, _ := h.DomainInfo(id); info.Handle != uuid2 {
		t.Errorf("setdomainhandle: getdomaininfo's handle %x, want %x", info.Handle, uuid2)
	}
	if err := h.Unpause(id); err != nil || f.doms[1].paused {
		t.Errorf("unpause: %v", err)
	}
	if err := h.Pause(id); err != nil || !f.doms[1].paused {
		t.Errorf("pause: %v", err)
	}

	ctx := xc.PVHEntryContext(0x1000000, 0x1000)
	ctx.RSI = 0x77
	if err := h.SetVCPUContext(id, 0, ctx); err != nil {
		t.Fatal(err)
	}
	recs := f.doms[1].context
	if len(recs) != 3 || recs[0].Typecode != xen.HVMSaveCodeHeader || recs[1].Typecode != xen.HVMSaveCodeCPU ||
		recs[1].Instance != 0 || recs[2].Typecode != xen.HVMSaveCodeEnd {
		t.Fatalf("sethvmcontext records %+v", recs)
	}
	var hdr xen.HVMSaveHeader
	hdr.Decode(recs[0].Data)
	if hdr.CPUID != 0x600f12 || hdr.GTSCKHz != 2000000 {
		t.Errorf("HEADER is not the hypervisor's: %+v", hdr)
	}
	cpu := recs[1].Data
	// hvm_hw_cpu after the 512-byte fpu_regs: rbx @520, rsi @552, rip @640,
	// cr0 @656.
	if le.Uint64(cpu[512+8*1:]) != 0x1000 || le.Uint64(cpu[512+8*5:]) != 0x77 || le.Uint64(cpu[512+8*16:]) != 0x1000000 ||
		le.Uint64(cpu[512+8*18:]) != xc.CR0PE|xc.CR0ET {
		t.Errorf("CPU record registers wrong")
	}
	// cs_limit @768 (after 8 selectors), cs_arbytes @888.
	if le.Uint32(cpu[736+32:]) != 0xffffffff || le.Uint32(cpu[888:]) != 0xc9b || le.Uint32(cpu[888+4:]) != 0xc93 ||
		le.Uint32(cpu[888+4*6:]) != 0x8b {
		t.Errorf("CPU record segments wrong: cs_limit %#x cs_ar %#x ds_ar %#x tr_ar %#x",
			le.Uint32(cpu[768:]), le.Uint32(cpu[888:]), le.Uint32(cpu[892:]), le.Uint32(cpu[912:]))
	}

	if err := h.SetSchedParams(id, xc.Sched{Weight: 512, Cap: 50}); err != nil {
		t.Fatal(err)
	}
	if s, err := h.SchedParams(id); err != nil || s != (xc.Sched{Weight: 512, Cap: 50}) {
		t.Errorf("sched: %+v %v", s, err)
	}
	if err := h.SetSchedParams(id, xc.Sched{Weight: 0}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("weight 0: %v", err)
	}
	v, err := h.VCPUs(id)
	if err != nil || len(v) != 2 || !v[1].Online || v[1].CPUTimeNS != 2000 || v[1].ID != 1 {
		t.Errorf("vcpus: %+v %v", v, err)
	}

	// More domains than one getdomaininfolist batch, with a gap.
	for range listBatch + 5 {
		if _, err := h.CreateDomain(xc.PVHCreateConfig(uuid, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.DestroyDomain(3); err != nil {
		t.Fatal(err)
	}
	if _, err := h.DomainInfo(3); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("getdomaininfo of a destroyed domain: %v", err)
	}
	list, err := h.ListDomains()
	if err != nil || len(list) != len(f.doms) || list[0].ID != 0 || list[2].ID != 2 || list[3].ID != 4 ||
		list[len(list)-1].ID != uint32(f.next-1) {
		t.Errorf("getdomaininfolist: %d domains (want %d) %v", len(list), len(f.doms), err)
	}

	p, err := h.PhysInfo()
	if err != nil || p.NrCPUs != 1 || p.TotalPages != 32768 || p.FreePages != 1000 || p.CPUkHz != 2000000 || p.Sockets != 1 {
		t.Errorf("physinfo: %+v %v", p, err)
	}

	f.console = strings.Repeat("hv: a line of the log\n", 2000) // more than one chunk
	want := f.console
	if s, err := h.ReadConsole(false); err != nil || s != want {
		t.Errorf("readconsole: %d bytes (want %d) %v", len(s), len(want), err)
	}
	if s, err := h.ReadConsole(true); err != nil || s != want || f.console != "" {
		t.Errorf("readconsole clear: %d bytes %v, left %d", len(s), err, len(f.console))
	}
	f.console = "new\n"
	if s, _ := h.ReadConsole(false); s != "new\n" {
		t.Errorf("after clear: %q", s)
	}
	// Following the ring: each byte once, from the position returned.
	s, pos, err := h.ReadConsoleFrom(0) // older than what is kept: from the oldest
	if err != nil || s != "new\n" {
		t.Errorf("readconsole from 0: %q %v", s, err)
	}
	if s, again, err := h.ReadConsoleFrom(pos); err != nil || s != "" || again != pos {
		t.Errorf("readconsole at the end: %q, position %d -> %d, %v", s, pos, again, err)
	}
	f.console += "more\n"
	if s, _, err := h.ReadConsoleFrom(pos); err != nil || s != "more\n" {
		t.Errorf("readconsole after more output: %q %v", s, err)
	}

	if _, err := h.DomainInfo(xen.DomIDFirstReserved); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("reserved ID: %v", err)
	}
	if f.live != 0 {
		t.Errorf("%d hypercall buffers not released", f.live)
	}
}

// The hypervisor's errno comes back wrapped with the operation and domain.
func TestControlErrors(t *testing.T) {
	f := newCtlFake(t)
	h := NewControl(f)
	err := h.Unpause(9)
	var e *xc.Error
	if !errors.As(err, &e) || e.Op != "unpausedomain" || e.Dom != 9 || !errors.Is(err, syscall.ESRCH) {
		t.Errorf("unpause of a missing domain: %v", err)
	}
}

// TestWriteGuest: gdbsx_guestmemio in chunks of WriteChunk, from the data
// in place when the Caller makes it resident, else (or when the hypervisor
// finds a page gone: EFAULT) through a hypercall buffer; a hypervisor with
// a smaller bound (E2BIG) gets halves; an error names the call and the
// address.
func TestWriteGuest(t *testing.T) {
	data := make([]byte, 300<<10+5)
	for i := range data {
		data[i] = byte(i*31 + 7)
	}
	for _, c := range []struct {
		name                    string
		resident, faultResident bool
		bounce                  bool // a hypercall buffer of the data's size is made
	}{
		{"bounced", false, false, true},
		{"in place", true, false, false},
		{"in place, page gone", true, true, true},
	} {
		f := newCtlFake(t)
		f.resident, f.faultResident = c.resident, c.faultResident
		h := NewControl(f)
		id, err := h.CreateDomain(xc.PVHCreateConfig([16]byte{}, 1))
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.bufs)
		if err := h.WriteGuest(id, 0x1234, data); err != nil || f.memioCalls != 1 {
			t.Fatalf("%s: WriteGuest = %v in %d calls", c.name, err, f.memioCalls)
		}
		if ram := f.doms[uint16(id)].ram; !bytes.Equal(ram[0x1234:0x1234+len(data)], data) || ram[0x1233] != 0 {
			t.Errorf("%s: the domain's memory differs from what was written", c.name)
		}
		bounced := false
		for _, b := range f.bufs[before:] {
			bounced = bounced || len(b) == len(data)
		}
		if bounced != c.bounce || f.live != 0 {
			t.Errorf("%s: bounce buffer made %v, want %v; %d buffers not released", c.name, bounced, c.bounce, f.live)
		}
	}

	f := newCtlFake(t)
	h := NewControl(f)
	id, _ := h.CreateDomain(xc.PVHCreateConfig([16]byte{}, 1))
	f.memioMax = 64 << 10
	if err := h.WriteGuest(id, 0x1000, data); err != nil || f.memioCalls != 5 {
		t.Fatalf("WriteGuest under a 64 KiB bound = %v in %d calls, want 5", err, f.memioCalls)
	}
	if ram := f.doms[uint16(id)].ram; !bytes.Equal(ram[0x1000:0x1000+len(data)], data) {
		t.Error("halved chunks wrote something else")
	}
	err := h.WriteGuest(id, 1<<20-10, data[:20])
	if !errors.Is(err, syscall.EFAULT) || !strings.Contains(err.Error(), "gdbsx_guestmemio of 20 bytes at 0xffff6") {
		t.Errorf("past the domain's memory: %v", err)
	}
	if err := h.WriteGuest(xen.DomIDFirstReserved, 0, data[:1]); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("a reserved domain ID: %v", err)
	}
}
