package hypercall

import (
	"slices"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

// One fuzz target per compat structure (abi/xen compat.go), with the
// properties of fuzzOp for a 32-bit caller. Where the structure holds no
// list in a compat-specific format, the target also checks the compat call
// against the native one on the same values translated to the 64-bit
// layout: same result, same operations asked of the Guest.

// sameAsNative decodes the compat structure the fuzzer wrote at argAt,
// encodes the same values in the native layout at the top of memory, and
// makes the call once as a 32-bit caller on the compat structure and once
// as a 64-bit caller on the native one, over identical memory (both
// structures in both guests, so lists the structure names read the same):
// the results and the Guest operations must be the same. args[argIdx] is
// the structure's address.
func sameAsNative(t *testing.T, nr uint64, args []uint64, argIdx int, data []byte, compat, native interface {
	Decode([]byte) error
	Encode([]byte)
}, compatSize, nativeSize int) {
	nativeAt := uint64(memEnd - nativeSize)
	if len(data) < compatSize || uint64(len(data)) > nativeAt-argAt {
		return
	}
	if err := compat.Decode(data); err != nil {
		t.Fatal(err)
	}
	c, n := newCompat(t), newFake(t)
	for _, g := range []*fakeGuest{c, n} {
		copy(g.mem[argAt-memBase:], data)
		native.Encode(g.mem[nativeAt-memBase:])
	}
	rc := c.call(nr, args...)
	nargs := slices.Clone(args)
	nargs[argIdx] = nativeAt
	rn := n.call(nr, nargs...)
	if rc != rn || !slices.Equal(c.calls, n.calls) {
		t.Fatalf("compat call: %d %v; native: %d %v", rc, c.calls, rn, n.calls)
	}
}

func FuzzCompatXenAddToPhysmapAsNative(f *testing.F) {
	f.Add(cat(u16b(xen.DomIDSelf), u16b(0), u32b(xen.XenmapspaceSharedInfo), u32b(0), u32b(0x10)))
	f.Add(cat(u16b(xen.DomIDSelf), u16b(0), u32b(xen.XenmapspaceGrantTable), u32b(1), u32b(0xf0000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var x xen.XenAddToPhysmap
		sameAsNative(t, xen.HypercallMemoryOp, []uint64{xen.XenmemAddToPhysmap, argAt}, 1, data,
			(*xen.CompatXenAddToPhysmap)(&x), &x, xen.CompatXenAddToPhysmapSize, xen.XenAddToPhysmapSize)
	})
}

func FuzzCompatXenAddToPhysmap(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemAddToPhysmap, size: xen.CompatXenAddToPhysmapSize, mode: x86.Mode32})
}

func FuzzCompatXenMemoryMap(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, cmd: xen.XenmemMemoryMap, size: xen.CompatXenMemoryMapSize, mode: x86.Mode32,
		outputs: func(g *fakeGuest) [][2]uint64 {
			buf := uint64(g.u32At(4))
			return [][2]uint64{{buf, buf + 20*3}}
		}},
		cat(u32b(8), u32b(argAt+16)))
}

func fuzzCompatReservation(f *testing.F, cmd uint64) {
	fuzzOp(f, op{nr: xen.HypercallMemoryOp, size: xen.CompatXenMemoryReservationSize, mode: x86.Mode32,
		args: func(start uint64) []uint64 { return []uint64{cmd | (start%8)<<xen.MemopExtentShift, argAt} }},
		cat(u32b(argAt+20), u32b(3), u32b(0), u32b(0), u16b(xen.DomIDSelf), u16b(0), u32b(0x400), u32b(0x401), u32b(0x600)),
		cat(u32b(argAt+20), u32b(0xffffffff), u32b(9), u32b(0), u16b(5), u16b(0)))
}

func FuzzCompatPopulatePhysmap(f *testing.F) { fuzzCompatReservation(f, xen.XenmemPopulatePhysmap) }
func FuzzCompatDecreaseReservation(f *testing.F) {
	fuzzCompatReservation(f, xen.XenmemDecreaseReservation)
}
func FuzzCompatIncreaseReservation(f *testing.F) {
	fuzzCompatReservation(f, xen.XenmemIncreaseReservation)
}

func FuzzCompatSchedPollAsNative(f *testing.F) {
	f.Add(cat(u32b(argAt+16), u32b(2), u64b(1), u32b(3), u32b(63)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p xen.SchedPoll
		sameAsNative(t, xen.HypercallSchedOp, []uint64{xen.SchedOpPoll, argAt}, 1, data,
			(*xen.CompatSchedPoll)(&p), &p, xen.CompatSchedPollSize, xen.SchedPollSize)
	})
}

func FuzzCompatSchedPoll(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallSchedOp, cmd: xen.SchedOpPoll, size: xen.CompatSchedPollSize, mode: x86.Mode32},
		cat(u32b(argAt+16), u32b(2), u64b(1), u32b(3), u32b(63)))
}

func FuzzCompatVCPURunstateInfo(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.CompatVCPURunstateInfoSize, mode: x86.Mode32,
		args: vcpuArgs(xen.VCPUOpGetRunstateInfo)})
}

func FuzzCompatVCPUSetSingleshotTimerAsNative(f *testing.F) {
	f.Add(cat(u64b(1), u32b(xen.VCPUSshottmrFuture)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s xen.VCPUSetSingleshotTimer
		sameAsNative(t, xen.HypercallVCPUOp, []uint64{xen.VCPUOpSetSingleshotTimer, 0, argAt}, 2, data,
			(*xen.CompatVCPUSetSingleshotTimer)(&s), &s, xen.CompatVCPUSetSingleshotTimerSize, xen.VCPUSetSingleshotTimerSize)
	})
}

func FuzzCompatVCPUSetSingleshotTimer(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallVCPUOp, size: xen.CompatVCPUSetSingleshotTimerSize, mode: x86.Mode32,
		args: vcpuArgs(xen.VCPUOpSetSingleshotTimer)})
}

func FuzzCompatGnttabCopy(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.CompatGnttabCopySize, mode: x86.Mode32,
		args: grantArgs(xen.GnttabOpCopy), count: grantCount},
		cat(u32b(8), u16b(1), u16b(0), u32b(0x100), u16b(xen.DomIDSelf), u16b(0), u16b(4096), u16b(1), u16b(0), u16b(0)))
}

func FuzzCompatGnttabSetupTable(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallGrantTableOp, size: xen.CompatGnttabSetupTableSize, mode: x86.Mode32,
		args: grantArgs(xen.GnttabOpSetupTable), count: grantCount,
		outputs: func(g *fakeGuest) [][2]uint64 {
			nr, list := uint64(g.u32At(4)), uint64(g.u32At(12))
			return [][2]uint64{{list, list + xen.CompatPFNSize*nr}}
		}},
		cat(u16b(xen.DomIDSelf), u16b(0), u32b(4), u16b(0), u16b(0), u32b(argAt+0x100)))
}

func FuzzCompatXenPlatformParameters(f *testing.F) {
	fuzzOp(f, op{nr: xen.HypercallXenVersion, cmd: xen.XenverPlatformParameters, size: xen.CompatXenPlatformParametersSize, mode: x86.Mode32})
}
