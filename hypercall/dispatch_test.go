package hypercall

import (
	"encoding/binary"
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

// put encodes v at gva in g's memory.
func (g *fakeGuest) put(gva uint64, e interface{ Encode([]byte) }, size int) {
	b, ok := g.span(gva, size)
	if !ok {
		g.t.Fatalf("put at %#x", gva)
	}
	e.Encode(b)
}

func (g *fakeGuest) bytesAt(gva uint64, n int) []byte {
	b, _ := g.span(gva, n)
	return b
}

const argAt = memBase + 0x100

func TestArgsAndReturn(t *testing.T) {
	var r x86.Regs
	r[x86.RAX], r[x86.RDI], r[x86.RSI], r[x86.RDX], r[x86.R10], r[x86.R8] = 17, 1, 2, 3, 4, 5
	r[x86.RBX], r[x86.RCX] = 0x1_0000_0009, 10
	nr, a := Args(&r, x86.Mode64)
	if nr != 17 || a != [5]uint64{1, 2, 3, 4, 5} {
		t.Errorf("64-bit Args = %d %v", nr, a)
	}
	r[x86.RAX] = 0xffff_ffff_0000_0012
	nr, a = Args(&r, x86.Mode32)
	if nr != 0x12 || a != [5]uint64{9, 10, 3, 2, 1} {
		t.Errorf("32-bit Args = %#x %v", nr, a)
	}
	if got := Return(-22, x86.Mode32); got != 0xffffffea {
		t.Errorf("32-bit Return(-22) = %#x", got)
	}
	if got := Return(-22, x86.Mode64); got != xen.EINVAL.Ret() {
		t.Errorf("64-bit Return(-22) = %#x", got)
	}
}

func TestUserModeAndUnknownCalls(t *testing.T) {
	g := newFake(t)
	g.user = true
	if r := g.call(xen.HypercallXenVersion, xen.XenverVersion); r != -1 {
		t.Errorf("user-mode hypercall = %d, want -EPERM", r)
	}
	g.user = false
	for _, nr := range []uint64{0, xen.HypercallMMUUpdate, xen.HypercallMMUExtOp, 63, 1 << 40} {
		if r := g.call(nr, 0, argAt); r != -int64(xen.ENOSYS) {
			t.Errorf("hypercall %d = %d, want -ENOSYS", nr, r)
		}
	}
}

func TestXenVersion(t *testing.T) {
	g := newFake(t)
	if r := g.call(xen.HypercallXenVersion, xen.XenverVersion); r != 4<<16|17 {
		t.Errorf("XENVER_version = %#x", r)
	}
	if r := g.call(xen.HypercallXenVersion, xen.XenverExtraversion, argAt); r != 0 || string(g.bytesAt(argAt, 8)) != ".0-test\x00" {
		t.Errorf("XENVER_extraversion = %d %q", r, g.bytesAt(argAt, 8))
	}
	f := xen.XenFeatureInfo{SubmapIdx: 0, Submap: 0xdead}
	g.put(argAt, &f, xen.XenFeatureInfoSize)
	if r := g.call(xen.HypercallXenVersion, xen.XenverGetFeatures, argAt); r != 0 {
		t.Fatalf("get_features = %d", r)
	}
	f.Decode(g.bytesAt(argAt, 8))
	if f.Submap != 1<<xen.XenfeatHVMCallbackVector {
		t.Errorf("submap 0 = %#x", f.Submap)
	}
	f = xen.XenFeatureInfo{SubmapIdx: 1, Submap: 0xdead}
	g.put(argAt, &f, xen.XenFeatureInfoSize)
	if r := g.call(xen.HypercallXenVersion, xen.XenverGetFeatures, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("get_features of submap 1 = %d, want -EINVAL (Xen has submap 0 only)", r)
	}
	f.Decode(g.bytesAt(argAt, 8))
	if f.Submap != 0xdead {
		t.Errorf("submap 1 refused but written: %#x", f.Submap)
	}
	if r := g.call(xen.HypercallXenVersion, xen.XenverCapabilities, 0x5000); r != -int64(xen.EFAULT) {
		t.Errorf("capabilities to an unmapped buffer = %d", r)
	}
	if r := g.call(xen.HypercallXenVersion, xen.XenverCapabilities, memBase+0x10000-100); r != -int64(xen.EFAULT) {
		t.Errorf("capabilities to a buffer running off the end = %d", r)
	}
}

// The rest of xen_version as Xen 4.17's do_xen_version with the default
// XSM policy: compile_info, pagesize, guest_handle for everyone;
// commandline and build_id for privileged callers only.
func TestXenVersionInfoAndPrivilege(t *testing.T) {
	for _, mode := range []x86.Mode{x86.Mode64, x86.Mode32} {
		g := newFake(t)
		g.mode = mode
		fill := func(n int) {
			for i := range g.bytesAt(argAt, n) {
				g.bytesAt(argAt, n)[i] = 0xaa
			}
		}
		fill(xen.XenCompileInfoSize)
		if r := g.call(xen.HypercallXenVersion, xen.XenverCompileInfo, argAt); r != 0 {
			t.Fatalf("%v: compile_info = %d", mode, r)
		}
		var c xen.XenCompileInfo
		c.Decode(g.bytesAt(argAt, xen.XenCompileInfoSize))
		if got := xen.CString(c.Compiler[:]); len(got) != 63 || got[:6] != "go1.99" || c.Compiler[63] != 0 {
			t.Errorf("%v: compiler %q (%d bytes), want the first 63 and a NUL", mode, got, len(got))
		}
		if xen.CString(c.CompileBy[:]) != "tester" || c.CompileDomain != [32]byte{} ||
			xen.CString(c.CompileDate[:]) != "Thu Jan  1 00:00:00 UTC 1970" || c.CompileBy[15] != 0 {
			t.Errorf("%v: compile_info %q %q %q", mode, c.CompileBy, c.CompileDomain, c.CompileDate)
		}
		if r := g.call(xen.HypercallXenVersion, xen.XenverCompileInfo, memBase+0x10000-100); r != -int64(xen.EFAULT) {
			t.Errorf("%v: compile_info running off memory = %d", mode, r)
		}
		if r := g.call(xen.HypercallXenVersion, xen.XenverPagesize); r != 4096 {
			t.Errorf("%v: pagesize = %d", mode, r)
		}
		if r := g.call(xen.HypercallXenVersion, xen.XenverPagesize, argAt); r != -int64(xen.EINVAL) {
			t.Errorf("%v: pagesize with a buffer = %d, want -EINVAL", mode, r)
		}
		fill(16)
		if r := g.call(xen.HypercallXenVersion, xen.XenverGuestHandle, argAt); r != 0 || string(g.bytesAt(argAt, 16)) != string(make([]byte, 16)) {
			t.Errorf("%v: guest_handle = %d %x", mode, r, g.bytesAt(argAt, 16))
		}
		// A domU: "<denied>" and -EPERM.
		fill(32)
		if r := g.call(xen.HypercallXenVersion, xen.XenverCommandline, argAt); r != 0 || string(g.bytesAt(argAt, 10)) != "<denied>\x00\xaa" {
			t.Errorf("%v: domU commandline = %d %q", mode, r, g.bytesAt(argAt, 10))
		}
		for _, arg := range []uint64{0, argAt} {
			if r := g.call(xen.HypercallXenVersion, xen.XenverBuildID, arg); r != -int64(xen.EPERM) {
				t.Errorf("%v: domU build_id(%#x) = %d, want -EPERM", mode, arg, r)
			}
		}
		// A privileged caller sees them.
		g.priv = true
		if r := g.call(xen.HypercallXenVersion, xen.XenverCommandline, argAt); r != 0 ||
			xen.CString(g.bytesAt(argAt, xen.XenCommandlineLen)) != "console=com1 loglvl=debug" {
			t.Errorf("%v: dom0 commandline = %d %q", mode, r, g.bytesAt(argAt, 32))
		}
		if r := g.call(xen.HypercallXenVersion, xen.XenverBuildID); r != int64(len(testBuildID)) {
			t.Errorf("%v: build_id length = %d", mode, r)
		}
		for _, c := range []struct {
			len  uint32
			want int64
		}{{0, -int64(xen.EINVAL)}, {4, -int64(xen.ENOBUFS)}, {5, 5}, {100, 5}} {
			fill(16)
			le.PutUint32(g.bytesAt(argAt, 4), c.len)
			r := g.call(xen.HypercallXenVersion, xen.XenverBuildID, argAt)
			if r != c.want {
				t.Errorf("%v: build_id with len %d = %d, want %d", mode, c.len, r, c.want)
			}
			if r > 0 && string(g.bytesAt(argAt+4, 6)) != string(testBuildID)+"\xaa" {
				t.Errorf("%v: build_id buffer %x", mode, g.bytesAt(argAt, 10))
			}
		}
		for _, cmd := range []uint64{xen.XenverExtraversion2, xen.XenverCommandline2, 15} {
			if r := g.call(xen.HypercallXenVersion, cmd, argAt); r != -int64(xen.ENOSYS) {
				t.Errorf("%v: xen_version %d = %d, want -ENOSYS (not in Xen 4.17)", mode, cmd, r)
			}
		}
	}
}

func TestConsoleWrite(t *testing.T) {
	g := newFake(t)
	copy(g.bytesAt(argAt, 5), "hello")
	if r := g.call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 5, argAt); r != 0 || g.calls[0] != `console "hello"` {
		t.Errorf("write = %d %v", r, g.calls)
	}
	if r := g.call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, MaxConsoleWrite+1, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("oversized write = %d", r)
	}
	if r := g.call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 5, 0x4000); r != -int64(xen.EFAULT) {
		t.Errorf("write from unmapped memory = %d", r)
	}
}

func TestSchedOps(t *testing.T) {
	g := newFake(t)
	g.put(argAt, &xen.SchedShutdown{Reason: xen.ShutdownReboot}, xen.SchedShutdownSize)
	g.call(xen.HypercallSchedOp, xen.SchedOpShutdown, argAt)
	g.call(xen.HypercallSchedOp, xen.SchedOpYield)
	g.call(xen.HypercallSchedOp, xen.SchedOpBlock)
	ports := uint64(argAt + 0x100)
	binary.LittleEndian.PutUint32(g.bytesAt(ports, 4), 3)
	binary.LittleEndian.PutUint32(g.bytesAt(ports+4, 4), 63)
	g.put(argAt, &xen.SchedPoll{Ports: ports, NrPorts: 2, Timeout: 99}, xen.SchedPollSize)
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpPoll, argAt); r != 0 {
		t.Errorf("poll = %d", r)
	}
	want := "shutdown 1|yield|block|poll [3 63] 99"
	if got := strings.Join(g.calls, "|"); got != want {
		t.Errorf("calls %q, want %q", got, want)
	}
	for _, c := range []struct {
		n    uint32
		port uint32
		want xen.Errno
	}{{MaxPollPorts + 1, 3, xen.EINVAL}, {2, 64, xen.EINVAL}, {2, 0, xen.EINVAL}} {
		binary.LittleEndian.PutUint32(g.bytesAt(ports+4, 4), c.port)
		g.put(argAt, &xen.SchedPoll{Ports: ports, NrPorts: c.n}, xen.SchedPollSize)
		if r := g.call(xen.HypercallSchedOp, xen.SchedOpPoll, argAt); r != -int64(c.want) {
			t.Errorf("poll %d ports, port %d = %d, want %d", c.n, c.port, r, -c.want)
		}
	}
	g.put(argAt, &xen.SchedPoll{Ports: 0x100, NrPorts: 1}, xen.SchedPollSize)
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpPoll, argAt); r != -int64(xen.EFAULT) {
		t.Errorf("poll with an unmapped list = %d", r)
	}
	g.ev = nil
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpPoll, argAt); r != -int64(xen.ENOSYS) {
		t.Errorf("poll without event channels = %d", r)
	}
}

func TestReservations(t *testing.T) {
	g := newFake(t)
	list := uint64(argAt + 0x100)
	for i, gfn := range []uint64{0x400, 0x401, 0x402, 0x500} {
		binary.LittleEndian.PutUint64(g.bytesAt(list+8*uint64(i), 8), gfn)
	}
	res := xen.XenMemoryReservation{ExtentStart: list, NrExtents: 4, DomID: xen.DomIDSelf}
	g.put(argAt, &res, xen.XenMemoryReservationSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemDecreaseReservation, argAt); r != 4 {
		t.Errorf("decrease 4 = %d", r)
	}
	// Continuation: start at extent 2 (cmd bits above MEMOP_EXTENT_SHIFT).
	g.calls = nil
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap|2<<xen.MemopExtentShift, argAt); r != 4 ||
		strings.Join(g.calls, "|") != "populate 0x402/0|populate 0x500/0" {
		t.Errorf("populate from extent 2 = %d %v", r, g.calls)
	}
	// A failing extent stops the call; the count says how far it got.
	g.calls, g.failAt = nil, 2
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap, argAt); r != 1 {
		t.Errorf("populate failing at the second extent = %d", r)
	}
	g.failAt = 0
	// Order 1: 0x401 is not aligned, so only the first extent is done.
	res.ExtentOrder = 1
	g.put(argAt, &res, xen.XenMemoryReservationSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap, argAt); r != 1 {
		t.Errorf("populate order 1 = %d", r)
	}
	res.ExtentOrder = MaxExtentOrder + 1
	g.put(argAt, &res, xen.XenMemoryReservationSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("populate order 10 = %d", r)
	}
	// increase_reservation does not touch the list; huge counts are cut.
	res = xen.XenMemoryReservation{ExtentStart: 0, NrExtents: 1 << 40, DomID: 5}
	g.put(argAt, &res, xen.XenMemoryReservationSize)
	g.calls = nil
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemIncreaseReservation, argAt); r != MaxExtents || len(g.calls) != MaxExtents {
		t.Errorf("increase 2^40 = %d (%d calls)", r, len(g.calls))
	}
	// An unreadable list is -EFAULT at the first extent.
	res = xen.XenMemoryReservation{ExtentStart: 8, NrExtents: 1, DomID: xen.DomIDSelf}
	g.put(argAt, &res, xen.XenMemoryReservationSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemDecreaseReservation, argAt); r != -int64(xen.EFAULT) {
		t.Errorf("decrease with an unmapped list = %d", r)
	}
	res.DomID = 6
	g.put(argAt, &res, xen.XenMemoryReservationSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemDecreaseReservation, argAt); r != -int64(xen.ESRCH) {
		t.Errorf("decrease for another domain = %d", r)
	}
	g.put(argAt, &xen.XenMemoryDomain{DomID: xen.DomIDSelf}, xen.XenMemoryDomainSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemCurrentReservation, argAt); r != 1000 {
		t.Errorf("current_reservation = %d", r)
	}
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemMaximumReservation, argAt); r != 1024 {
		t.Errorf("maximum_reservation = %d", r)
	}
}

func TestMemoryMapAndPhysmap(t *testing.T) {
	g := newFake(t)
	buf := uint64(argAt + 0x100)
	g.put(argAt, &xen.XenMemoryMap{NrEntries: 2, Buffer: buf}, xen.XenMemoryMapSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemMemoryMap, argAt); r != 0 {
		t.Fatalf("memory_map = %d", r)
	}
	var m xen.XenMemoryMap
	m.Decode(g.bytesAt(argAt, 16))
	var e xen.E820Entry
	e.Decode(g.bytesAt(buf+20, 20))
	if m.NrEntries != 2 || e.Addr != 0x1000 || e.Type != 1 {
		t.Errorf("memory_map: %d entries, second %+v", m.NrEntries, e)
	}
	for i, w := range g.writes {
		if w[0] < argAt || w[1] > buf+40 || (w[0] >= argAt+4 && w[0] < buf) {
			t.Errorf("write %d at [%#x,%#x)", i, w[0], w[1])
		}
	}
	x := xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceGrantTable, Idx: xen.XenmapidxGrantTableStatus, GPFN: 0xf0000}
	g.put(argAt, &x, xen.XenAddToPhysmapSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("add_to_physmap of a status frame = %d", r)
	}
	x.Idx = 1
	g.put(argAt, &x, xen.XenAddToPhysmapSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != 0 || g.calls[0] != "grant frame 1 at 0xf0000" {
		t.Errorf("add_to_physmap grant frame = %d %v", r, g.calls)
	}
	x = xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceSharedInfo, Idx: 1}
	g.put(argAt, &x, xen.XenAddToPhysmapSize)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("add_to_physmap shared_info idx 1 = %d", r)
	}
}

func TestHVMParams(t *testing.T) {
	g := newFake(t)
	set := func(idx uint32, val uint64) int64 {
		g.put(argAt, &xen.XenHVMParam{DomID: xen.DomIDSelf, Index: idx, Value: val}, xen.XenHVMParamSize)
		return g.call(xen.HypercallHVMOp, xen.HVMOpSetParam, argAt)
	}
	if r := set(xen.HVMParamCallbackIRQ, 2<<56|0xf3); r != 0 || g.vector != 0xf3 {
		t.Errorf("set callback vector = %d, vector %#x", r, g.vector)
	}
	if r := set(xen.HVMParamCallbackIRQ, 2<<56|0x0e); r != -int64(xen.EINVAL) {
		t.Errorf("callback vector 0x0e = %d", r)
	}
	if r := set(xen.HVMParamCallbackIRQ, 5); r != -int64(xen.EINVAL) {
		t.Errorf("GSI callback = %d", r)
	}
	if r := set(xen.HVMParamConsolePFN, 9); r != -int64(xen.EPERM) {
		t.Errorf("set CONSOLE_PFN = %d", r)
	}
	if r := set(xen.HVMNrParams, 9); r != -int64(xen.EINVAL) {
		t.Errorf("set param %d = %d", xen.HVMNrParams, r)
	}
	g.params[xen.HVMParamConsolePFN] = 3
	g.put(argAt, &xen.XenHVMParam{DomID: 5, Index: xen.HVMParamConsolePFN}, xen.XenHVMParamSize)
	var p xen.XenHVMParam
	if r := g.call(xen.HypercallHVMOp, xen.HVMOpGetParam, argAt); r != 0 || p.Decode(g.bytesAt(argAt, 16)) != nil || p.Value != 3 {
		t.Errorf("get CONSOLE_PFN = %d, %d", r, p.Value)
	}
	g.put(argAt, &xen.XenHVMParam{DomID: 1, Index: xen.HVMParamConsolePFN}, xen.XenHVMParamSize)
	if r := g.call(xen.HypercallHVMOp, xen.HVMOpGetParam, argAt); r != -int64(xen.ESRCH) {
		t.Errorf("get another domain's param = %d", r)
	}
}

func TestVCPUOps(t *testing.T) {
	g := newFake(t)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpIsUp, 2); r != -int64(xen.ENOENT) {
		t.Errorf("is_up(2) of 2 vCPUs = %d", r)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpIsUp, 0); r != 1 {
		t.Errorf("is_up(0) = %d", r)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpUp, 1); r != -int64(xen.EINVAL) {
		t.Errorf("up(1) of an uninitialised vCPU = %d", r)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpDown, 1); r != 0 {
		t.Errorf("down(1) = %d", r)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSendNMI, 1); r != 0 {
		t.Errorf("send_nmi(1) = %d", r)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpUp, 5); r != -int64(xen.ENOENT) {
		t.Errorf("up(5) of 2 vCPUs = %d", r)
	}
	if got := strings.Join(g.calls, ";"); !strings.Contains(got, "up 1;down 1;nmi 1") {
		t.Errorf("calls %q", got)
	}
	g.put(argAt, &xen.VCPUSetSingleshotTimer{TimeoutAbsNs: 4e9, Flags: xen.VCPUSshottmrFuture}, 16)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, argAt); r != -int64(xen.ETIME) {
		t.Errorf("past timer with VCPU_SSHOTTMR_future = %d", r)
	}
	g.put(argAt, &xen.VCPUSetSingleshotTimer{TimeoutAbsNs: 4e9}, 16)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, argAt); r != 0 || g.timer != 4e9 {
		t.Errorf("past timer = %d, timer %d", r, g.timer)
	}
	g.put(argAt, &xen.VCPUSetSingleshotTimer{}, 16)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, argAt); r != 0 || g.timer == 0 {
		t.Errorf("timer at 0 = %d, timer %d (must fire, not stop)", r, g.timer)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 1, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("another vCPU's timer = %d", r)
	}
	g.put(argAt, &xen.VCPURegisterVCPUInfo{MFN: 0x77, Offset: 4096 - 63}, 16)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 1, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("vcpu_info crossing a page = %d", r)
	}
	g.put(argAt, &xen.VCPURegisterVCPUInfo{MFN: 0x77, Offset: 4096 - 64}, 16)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 1, argAt); r != 0 {
		t.Errorf("vcpu_info at the end of a page = %d", r)
	}
	g.put(argAt, &xen.VCPURegisterRunstateMemoryArea{Addr: argAt + 64}, 8)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterRunstateMemoryArea, 1, argAt); r != 0 {
		t.Errorf("register_runstate_memory_area = %d", r)
	}
	g.put(argAt, &xen.VCPURegisterRunstateMemoryArea{Addr: badRunstateArea}, 8)
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpRegisterRunstateMemoryArea, 1, argAt); r != -int64(xen.EFAULT) {
		t.Errorf("register_runstate_memory_area refused by the core = %d, want -EFAULT", r)
	}
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpGetRunstateInfo, 1, argAt); r != 0 {
		t.Fatalf("get_runstate_info = %d", r)
	}
	var ri xen.VCPURunstateInfo
	ri.Decode(g.bytesAt(argAt, xen.VCPURunstateInfoSize))
	if ri.StateEntryTime != 7 || ri.Time[3] != 4 {
		t.Errorf("runstate info %+v", ri)
	}
}

func TestEventChannelOps(t *testing.T) {
	g := newFake(t)
	g.put(argAt, &xen.EvtchnStatus{Dom: xen.DomIDSelf, Port: 5, Status: 99, U: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}, xen.EvtchnStatusSize)
	if r := g.call(xen.HypercallEventChannelOp, xen.EvtchnOpStatus, argAt); r != 0 {
		t.Fatalf("status = %d", r)
	}
	var s xen.EvtchnStatus
	s.Decode(g.bytesAt(argAt, xen.EvtchnStatusSize))
	if s.Status != xen.EvtchnStatInterdomain || s.InterdomainDom() != 2 || s.InterdomainPort() != 44 || s.VCPU != 1 {
		t.Errorf("status %+v", s)
	}
	g.put(argAt, &xen.EvtchnBindInterdomain{RemoteDom: 1, RemotePort: 64, LocalPort: 0xaaaa}, xen.EvtchnBindInterdomainSize)
	before := append([]byte(nil), g.bytesAt(argAt, 12)...)
	if r := g.call(xen.HypercallEventChannelOp, xen.EvtchnOpBindInterdomain, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("bind_interdomain to a bad port = %d", r)
	}
	if string(before) != string(g.bytesAt(argAt, 12)) {
		t.Error("a failed bind_interdomain wrote its argument")
	}
	g.put(argAt, &xen.EvtchnBindVirq{Virq: xen.VIRQTimer, VCPU: 1}, xen.EvtchnBindVirqSize)
	var v xen.EvtchnBindVirq
	if r := g.call(xen.HypercallEventChannelOp, xen.EvtchnOpBindVirq, argAt); r != 0 || v.Decode(g.bytesAt(argAt, 12)) != nil || v.Port != 9 {
		t.Errorf("bind_virq = %d, port %d", r, v.Port)
	}
	if r := g.call(xen.HypercallEventChannelOp, xen.EvtchnOpResetCont, argAt); r != -int64(xen.ENOSYS) {
		t.Errorf("reset_cont = %d", r)
	}
	if r := g.call(xen.HypercallEventChannelOp, xen.EvtchnOpSend, 0x20); r != -int64(xen.EFAULT) {
		t.Errorf("send with an unmapped argument = %d", r)
	}
}

func TestGrantTableOps(t *testing.T) {
	g := newFake(t)
	ops := []xen.GnttabCopy{{Len: 4096}, {Len: 4097}, {Len: 6}}
	for i := range ops {
		g.put(argAt+uint64(40*i), &ops[i], xen.GnttabCopySize)
	}
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpCopy, argAt, 3); r != 0 {
		t.Fatalf("copy = %d", r)
	}
	for i, want := range []int16{0, -1, -2} {
		var c xen.GnttabCopy
		c.Decode(g.bytesAt(argAt+uint64(40*i), 40))
		if c.Status != want {
			t.Errorf("copy op %d status %d, want %d", i, c.Status, want)
		}
	}
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpCopy, argAt, MaxGrantOps+1); r != -int64(xen.EINVAL) {
		t.Errorf("oversized batch = %d", r)
	}
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpCopy, memBase+0x10000-40, 2); r != -int64(xen.EFAULT) {
		t.Errorf("batch running off mapped memory = %d", r)
	}
	// setup_table writes the frame list and the status.
	list := uint64(argAt + 0x200)
	g.put(argAt, &xen.GnttabSetupTable{Dom: xen.DomIDSelf, NrFrames: 2, FrameList: list}, xen.GnttabSetupTableSize)
	var st xen.GnttabSetupTable
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpSetupTable, argAt, 1); r != 0 || st.Decode(g.bytesAt(argAt, 24)) != nil || st.Status != 0 {
		t.Fatalf("setup_table = %d, status %d", r, st.Status)
	}
	if f := binary.LittleEndian.Uint64(g.bytesAt(list+8, 8)); f != InvalidFrame {
		t.Errorf("frame 1 = %#x", f)
	}
	g.put(argAt, &xen.GnttabSetupTable{NrFrames: MaxSetupFrames + 1, FrameList: list}, xen.GnttabSetupTableSize)
	g.call(xen.HypercallGrantTableOp, xen.GnttabOpSetupTable, argAt, 1)
	if st.Decode(g.bytesAt(argAt, 24)); st.Status != xen.GNTSTGeneralError {
		t.Errorf("setup_table of %d frames: status %d", MaxSetupFrames+1, st.Status)
	}
	g.put(argAt, &xen.GnttabSetupTable{NrFrames: 1, FrameList: 0x30}, xen.GnttabSetupTableSize)
	g.call(xen.HypercallGrantTableOp, xen.GnttabOpSetupTable, argAt, 1)
	if st.Decode(g.bytesAt(argAt, 24)); st.Status != xen.GNTSTBadVirtAddr {
		t.Errorf("setup_table with an unmapped list: status %d", st.Status)
	}
	g.gt = nil
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpCopy, argAt, 1); r != -int64(xen.ENOSYS) {
		t.Errorf("copy without a grant table = %d", r)
	}
}

func TestGoZenOp(t *testing.T) {
	g := newFake(t)
	binary.LittleEndian.PutUint32(g.bytesAt(argAt, 4), 42)
	if r := g.call(HypercallGoZenOp, GoZenOpReport, 7, argAt, 1); r != 0 || g.calls[0] != "report 7 [42]" {
		t.Errorf("report = %d %v", r, g.calls)
	}
	if r := g.call(HypercallGoZenOp, GoZenOpReport, 7, argAt, 0); r != -int64(xen.EINVAL) {
		t.Errorf("empty report = %d", r)
	}
	if r := g.call(HypercallGoZenOp, GoZenOpTimer, MaxTestTimer+1); r != -int64(xen.EINVAL) {
		t.Errorf("long test timer = %d", r)
	}
}
