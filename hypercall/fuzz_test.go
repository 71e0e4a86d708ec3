package hypercall

import (
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

// One fuzz target per argument structure: the fuzzer writes the
// structure's bytes (and whatever follows them, where pointers inside may
// lead) into guest memory at argAt and makes the call. Whatever the bytes,
// the dispatcher must not panic, must answer 0, a count or a Xen errno a
// guest may see, must hand its Guest only checked values (the fake checks
// them), and may write guest memory only inside the structure (or the
// structure array) and the output buffers that structure names.

// op describes one hypercall whose argument structure is fuzzed.
type op struct {
	nr, cmd uint64
	size    int
	// args builds the registers from the fuzzed extra value (a count or a
	// vCPU ID, where the call has one); nil means (cmd, argAt).
	args func(extra uint64) []uint64
	// outputs lists the output buffers named by the structure at argAt.
	outputs func(g *fakeGuest) [][2]uint64
	// count is how many structures the call covers for extra (1 if nil).
	count func(extra uint64) uint64
	// mode is the caller's mode (0: 64-bit); outside 64-bit mode the
	// structure is in its compat layout.
	mode x86.Mode
	// dom0 makes the caller the privileged domain (Guest.Control).
	dom0 bool
}

func fuzzOp(f *testing.F, o op, seeds ...[]byte) {
	f.Add(make([]byte, o.size), uint64(1))
	for _, s := range seeds {
		f.Add(s, uint64(1))
		f.Add(s, uint64(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, extra uint64) {
		g := newFake(t)
		g.mode = o.mode
		if o.dom0 {
			g.ctl = &fakeControl{g: g, input: []byte("typed on hv's console")}
			g.ctl.ts = newFakeToolstack(g)
		}
		copy(g.mem[argAt-memBase:], data)
		args := []uint64{o.cmd, argAt}
		if o.args != nil {
			args = o.args(extra)
		}
		n := uint64(1)
		if o.count != nil {
			n = o.count(extra)
		}
		// The buffers the structure names, read before the call: the call
		// may overwrite the structure itself when a buffer overlaps it.
		allowed := [][2]uint64{{argAt, argAt + n*uint64(o.size)}}
		if o.outputs != nil {
			allowed = append(allowed, o.outputs(g)...)
		}
		ret := g.call(o.nr, args...)
		if ret < 0 {
			if e := xen.Errno(-ret); !e.Guest() {
				t.Fatalf("result %d is not a Xen errno a guest may see", ret)
			}
		} else if ret > 1<<32 {
			t.Fatalf("result %#x", ret)
		}
	writes:
		for _, w := range g.writes {
			for _, a := range allowed {
				if w[0] >= a[0] && w[1] <= a[1] {
					continue writes
				}
			}
			t.Fatalf("wrote guest memory [%#x,%#x) outside %#x", w[0], w[1], allowed)
		}
	})
}

// u64At reads a little-endian word of the (fuzzed) argument structure.
func (g *fakeGuest) u64At(off int) uint64 { return le.Uint64(g.mem[argAt-memBase+off:]) }
func (g *fakeGuest) u32At(off int) uint32 { return le.Uint32(g.mem[argAt-memBase+off:]) }

func enc(e interface{ Encode([]byte) }, size int) []byte {
	b := make([]byte, size)
	e.Encode(b)
	return b
}

func vcpuArgs(cmd uint64) func(uint64) []uint64 {
	return func(id uint64) []uint64 { return []uint64{cmd, id % 4, argAt} }
}

func grantArgs(cmd uint64) func(uint64) []uint64 {
	return func(n uint64) []uint64 { return []uint64{cmd, argAt, n % (MaxGrantOps + 8)} }
}

func grantCount(n uint64) uint64 { return n % (MaxGrantOps + 8) }

func FuzzXenFeatureInfo(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallXenVersion, cmd: xen.XenverGetFeatures, size: xen.XenFeatureInfoSize},
		enc(&xen.XenFeatureInfo{SubmapIdx: 1}, 8))
}

func FuzzXenCompileInfo(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallXenVersion, cmd: xen.XenverCompileInfo, size: xen.XenCompileInfoSize})
}

// FuzzXenBuildID fuzzes xen_build_id {len, buf} from a domU (which gets
// -EPERM) and from a privileged caller (extra odd): the ID may only land in
// buf, within len.
func FuzzXenBuildID(f *testing.F) {
	f.Add([]byte{5, 0, 0, 0}, uint64(1))
	f.Add([]byte{0, 0, 0, 0}, uint64(1))
	f.Add([]byte{4, 0, 0, 0}, uint64(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, extra uint64) {
		g := newFake(t)
		g.priv = extra&1 != 0
		copy(g.mem[argAt-memBase:], data)
		n := uint64(g.u32At(0))
		arg := uint64(argAt)
		if extra&2 != 0 {
			arg = 0
		}
		ret := g.call(xen.HypercallXenVersion, xen.XenverBuildID, arg)
		switch {
		case !g.priv && ret != -int64(xen.EPERM):
			t.Fatalf("domU build_id = %d", ret)
		case ret < 0 && !xen.Errno(-ret).Guest():
			t.Fatalf("result %d is not a Xen errno a guest may see", ret)
		case ret > 0 && ret != int64(len(testBuildID)):
			t.Fatalf("build_id = %d", ret)
		}
		for _, w := range g.writes {
			if arg == 0 || w[0] < argAt+4 || w[1] > argAt+4+n {
				t.Fatalf("wrote [%#x,%#x) outside buf[%d]", w[0], w[1], n)
			}
		}
	})
}

func FuzzConsoleWrite(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallConsoleIO, size: 0,
		args: func(n uint64) []uint64 { return []uint64{xen.ConsoleIOWrite, n % 5000, argAt} }},
		[]byte("hello\n"))
}

func FuzzSchedShutdown(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallSchedOp, cmd: xen.SchedOpShutdown, size: xen.SchedShutdownSize},
		enc(&xen.SchedShutdown{Reason: 9}, 4))
}

func FuzzSchedPoll(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallSchedOp, cmd: xen.SchedOpPoll, size: xen.SchedPollSize},
		append(enc(&xen.SchedPoll{Ports: argAt + 24, NrPorts: 2, Timeout: 1}, 24), 3, 0, 0, 0, 63, 0, 0, 0))
}

func FuzzXenMemoryDomain(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemCurrentReservation, size: xen.XenMemoryDomainSize},
		[]byte{0xf0, 0x7f}, []byte{5, 0})
}

func FuzzXenAddToPhysmap(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemAddToPhysmap, size: xen.XenAddToPhysmapSize},
		enc(&xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceGrantTable, Idx: 1, GPFN: 0xf0000}, 24),
		enc(&xen.XenAddToPhysmap{DomID: xen.DomIDSelf, Space: xen.XenmapspaceSharedInfo, GPFN: 0x10}, 24))
}

func FuzzXenMemoryMap(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemMemoryMap, size: xen.XenMemoryMapSize,
		outputs: func(g *fakeGuest) [][2]uint64 {
			buf := g.u64At(8)
			return [][2]uint64{{buf, buf + 20*3}}
		}},
		enc(&xen.XenMemoryMap{NrEntries: 8, Buffer: argAt + 16}, 16))
}

func fuzzReservation(f *testing.F, cmd uint64) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, size: xen.XenMemoryReservationSize,
		args: func(start uint64) []uint64 { return []uint64{cmd | (start%8)<<xen.MemopExtentShift, argAt} }},
		append(enc(&xen.XenMemoryReservation{ExtentStart: argAt + 32, NrExtents: 3, DomID: xen.DomIDSelf}, 32),
			0, 4, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0),
		enc(&xen.XenMemoryReservation{ExtentStart: argAt + 32, NrExtents: 1 << 40, ExtentOrder: 9, DomID: 5}, 32))
}

func FuzzPopulatePhysmap(f *testing.F)     { fuzzReservation(f, xen.XenmemPopulatePhysmap) }
func FuzzDecreaseReservation(f *testing.F) { fuzzReservation(f, xen.XenmemDecreaseReservation) }
func FuzzIncreaseReservation(f *testing.F) { fuzzReservation(f, xen.XenmemIncreaseReservation) }

func FuzzXenHVMParam(f *testing.F) {
	seeds := [][]byte{
		enc(&xen.XenHVMParam{DomID: xen.DomIDSelf, Index: xen.HVMParamCallbackIRQ, Value: 2<<56 | 0xf3}, 16),
		enc(&xen.XenHVMParam{DomID: 5, Index: xen.HVMParamConsolePFN}, 16),
	}
	fuzzOp(f, op{nr: xen.HypercallHVMOp, size: xen.XenHVMParamSize,
		args: func(x uint64) []uint64 { return []uint64{x % 2, argAt} }}, seeds...) // set and get
}

func FuzzXenHVMGetTime(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallHVMOp, cmd: xen.HVMOpGetTime, size: xen.XenHVMGetTimeSize})
}

func FuzzVCPURunstateInfo(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.VCPURunstateInfoSize, args: vcpuArgs(xen.VCPUOpGetRunstateInfo)})
}

func FuzzVCPURegisterRunstateMemoryArea(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.VCPURegisterRunstateMemoryAreaSize,
		args: vcpuArgs(xen.VCPUOpRegisterRunstateMemoryArea)},
		enc(&xen.VCPURegisterRunstateMemoryArea{Addr: argAt + 64}, 8))
}

func FuzzVCPUSetSingleshotTimer(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.VCPUSetSingleshotTimerSize,
		args: vcpuArgs(xen.VCPUOpSetSingleshotTimer)},
		enc(&xen.VCPUSetSingleshotTimer{TimeoutAbsNs: 1, Flags: xen.VCPUSshottmrFuture}, 16))
}

func FuzzVCPURegisterVCPUInfo(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.VCPURegisterVCPUInfoSize,
		args: vcpuArgs(xen.VCPUOpRegisterVCPUInfo)},
		enc(&xen.VCPURegisterVCPUInfo{MFN: 0x100, Offset: 4032}, 16))
}

func FuzzVCPURegisterTimeMemoryArea(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.VCPURegisterTimeMemoryAreaSize,
		args: vcpuArgs(xen.VCPUOpRegisterVCPUTimeMemoryArea),
		outputs: func(g *fakeGuest) [][2]uint64 {
			a := g.u64At(0)
			return [][2]uint64{{a, a + xen.VCPUTimeInfoSize}}
		}},
		enc(&xen.VCPURegisterTimeMemoryArea{Addr: argAt + 64}, 8))
}

func fuzzEvtchn(f *testing.F, cmd uint64, size int, seeds ...[]byte) {
	fuzzOp(f, op{nr: xen.HypercallEventChannelOp, cmd: cmd, size: size}, seeds...)
}

func FuzzEvtchnBindInterdomain(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpBindInterdomain, xen.EvtchnBindInterdomainSize,
		enc(&xen.EvtchnBindInterdomain{RemoteDom: 1, RemotePort: 3}, 12))
}
func FuzzEvtchnBindVirq(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpBindVirq, xen.EvtchnBindVirqSize, enc(&xen.EvtchnBindVirq{VCPU: 1}, 12))
}
func FuzzEvtchnClose(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpClose, xen.EvtchnCloseSize, []byte{3, 0, 0, 0})
}
func FuzzEvtchnSend(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpSend, xen.EvtchnSendSize, []byte{3, 0, 0, 0})
}
func FuzzEvtchnStatus(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpStatus, xen.EvtchnStatusSize, enc(&xen.EvtchnStatus{Dom: xen.DomIDSelf, Port: 2}, 24))
}
func FuzzEvtchnAllocUnbound(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpAllocUnbound, xen.EvtchnAllocUnboundSize,
		enc(&xen.EvtchnAllocUnbound{Dom: xen.DomIDSelf, RemoteDom: 2}, 8))
}
func FuzzEvtchnBindIPI(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpBindIPI, xen.EvtchnBindIPISize, enc(&xen.EvtchnBindIPI{VCPU: 1}, 8))
}
func FuzzEvtchnBindVCPU(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpBindVCPU, xen.EvtchnBindVCPUSize, enc(&xen.EvtchnBindVCPU{Port: 3, VCPU: 1}, 8))
}
func FuzzEvtchnUnmask(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpUnmask, xen.EvtchnUnmaskSize, []byte{3, 0, 0, 0})
}
func FuzzEvtchnReset(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpReset, xen.EvtchnResetSize, []byte{0xf0, 0x7f})
}
func FuzzEvtchnInitControl(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpInitControl, xen.EvtchnInitControlSize,
		enc(&xen.EvtchnInitControl{ControlGFN: 0x100, Offset: 64, VCPU: 1}, 24))
}
func FuzzEvtchnExpandArray(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpExpandArray, xen.EvtchnExpandArraySize, enc(&xen.EvtchnExpandArray{ArrayGFN: 0x100}, 8))
}
func FuzzEvtchnSetPriority(f *testing.F) {
	fuzzEvtchn(f, xen.EvtchnOpSetPriority, xen.EvtchnSetPrioritySize, enc(&xen.EvtchnSetPriority{Port: 3, Priority: 7}, 8))
}

func FuzzGnttabMapGrantRef(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabMapGrantRefSize,
		args: grantArgs(xen.GnttabOpMapGrantRef), count: grantCount},
		enc(&xen.GnttabMapGrantRef{HostAddr: 0xf0000000, Flags: 2, Ref: 8, Dom: 1}, 32))
}
func FuzzGnttabUnmapGrantRef(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabUnmapGrantRefSize,
		args: grantArgs(xen.GnttabOpUnmapGrantRef), count: grantCount},
		enc(&xen.GnttabUnmapGrantRef{HostAddr: 0xf0000000, Handle: 1}, 24))
}
func FuzzGnttabCopy(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabCopySize,
		args: grantArgs(xen.GnttabOpCopy), count: grantCount},
		enc(&xen.GnttabCopy{Source: xen.GnttabCopyPtr{U: 8, DomID: 1}, Dest: xen.GnttabCopyPtr{U: 0x100, DomID: xen.DomIDSelf}, Len: 4096, Flags: 1}, 40))
}
func FuzzGnttabSetupTable(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabSetupTableSize,
		args: grantArgs(xen.GnttabOpSetupTable), count: grantCount,
		outputs: func(g *fakeGuest) [][2]uint64 {
			// Each structure names its own list of NrFrames entries.
			var out [][2]uint64
			for i := 0; i < 64 && argAt-memBase+24*i+24 <= len(g.mem); i++ {
				nr, list := uint64(g.u32At(24*i+4)), g.u64At(24*i+16)
				out = append(out, [2]uint64{list, list + 8*nr})
			}
			return out
		}},
		enc(&xen.GnttabSetupTable{Dom: xen.DomIDSelf, NrFrames: 4, FrameList: argAt + 0x100}, 24))
}
func FuzzGnttabQuerySize(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabQuerySizeSize,
		args: grantArgs(xen.GnttabOpQuerySize), count: grantCount},
		enc(&xen.GnttabQuerySize{Dom: xen.DomIDSelf}, 16))
}
func FuzzGnttabSetVersion(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabSetVersionSize,
		args: grantArgs(xen.GnttabOpSetVersion)}, []byte{1, 0, 0, 0}, []byte{2, 0, 0, 0})
}
func FuzzGnttabGetVersion(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.GnttabGetVersionSize,
		args: grantArgs(xen.GnttabOpGetVersion)}, []byte{0xf0, 0x7f, 0, 0})
}

func FuzzGoZenReport(f *testing.F) {
	fuzzOp(f, op{nr: HypercallGoZenOp, size: 0,
		args: func(n uint64) []uint64 { return []uint64{GoZenOpReport, 1, argAt, n % 20000} }},
		[]byte{1, 2, 3, 4, 5, 6, 7, 8})
}
