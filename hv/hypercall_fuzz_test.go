package hv

import (
	"encoding/binary"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/backend"
	"gozen/hv/x86"
)

// FuzzHypercalls drives the hypercall dispatcher with arbitrary numbers,
// argument registers and guest memory contents: every argument structure
// the core parses (memory_op, hvm_op, vcpu_op, sched_op, event_channel_op,
// grant_table_op, xen_version, console_io, ...) is read from fuzzed guest
// memory. hv must answer with an error code, never panic, and never touch
// memory outside the calling domain (the peer domain's RAM is checked).
func FuzzHypercalls(f *testing.F) {
	f.Add(uint8(xen.HypercallMemoryOp), uint64(7), uint64(0x200000), []byte{0xf0, 0x7f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10})
	f.Add(uint8(xen.HypercallEventChannelOp), uint64(6), uint64(0x200000), []byte{0xf0, 0x7f, 2, 0})
	f.Add(uint8(xen.HypercallGrantTableOp), uint64(5), uint64(0x200000), []byte{8, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Add(uint8(xen.HypercallVCPUOp), uint64(10), uint64(0), []byte{0x10, 0, 0, 0, 0, 0, 0, 0, 0x40})
	f.Add(uint8(xen.HypercallHVMOp), uint64(0), uint64(0x200000), []byte{0xf0, 0x7f, 0, 0, 0, 0, 0, 0, 0xf3, 0, 0, 0, 0, 0, 0, 2})
	f.Add(uint8(xen.HypercallSchedOp), uint64(3), uint64(0x200000), []byte{0, 0, 0x20})
	f.Add(uint8(xen.HypercallXenVersion), uint64(xen.XenverCapabilities), uint64(0x300000), []byte{})
	f.Add(uint8(xen.HypercallVCPUOp), uint64(xen.VCPUOpRegisterVCPUInfo), uint64(0x200000), []byte{0, 3, 0, 0, 0, 0, 0, 0, 0x40})
	f.Add(uint8(xen.HypercallMemoryOp), uint64(xen.XenmemMemoryMap), uint64(0x200000), []byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30})
	f.Fuzz(func(t *testing.T, nr uint8, cmd, ptr uint64, mem []byte) {
		h, be, _, a, b := newTwoDomains(t)
		// b grants a its page at 0x200000 read-only and a maps it at
		// 0x300000: hv must not write there either (issue 14).
		if e := h.mapGrantFrame(b, 0, 0x3000); e != 0 {
			t.Fatal(e)
		}
		ent := xen.GrantEntryV1{Flags: xen.GTFPermitAccess | xen.GTFReadonly, DomID: a.id, Frame: 0x200}
		eb, _ := ent.MarshalBinary()
		b.mem.WritePhys(0x3000*4096+8*xen.GrantEntryV1Size, eb)
		mop := xen.GnttabMapGrantRef{HostAddr: 0x300000, Flags: xen.GNTMAPHostMap | xen.GNTMAPReadonly, Ref: 8, Dom: b.id}
		mb, _ := mop.MarshalBinary()
		a.mem.WritePhys(0x380000, mb)
		a.vcpus[0].state = VCPURunning
		h.hc.Call((*guest)(a.vcpus[0]), xen.HypercallGrantTableOp, [5]uint64{xen.GnttabOpMapGrantRef, 0x380000, 1})
		a.mem.ReadPhys(0x380000, mb)
		if mop.Decode(mb); mop.Status != 0 {
			t.Fatalf("read-only grant map: status %d", mop.Status)
		}
		// Fill a's memory at 0x200000 with the fuzz data; pointers in the
		// data then point at more of it.
		if len(mem) > 8192 {
			mem = mem[:8192]
		}
		a.mem.WritePhys(0x200000, mem)
		var before [4096]byte
		b.mem.ReadPhys(0x200000, before[:])
		v := a.vcpus[0]
		v.state = VCPURunning
		fv := be.vcpus[0]
		fv.mode = x86.Mode64
		args := [5]uint64{cmd, ptr, 0x200000 + uint64(len(mem))/2, 1, ptr ^ 0x1000}
		if len(mem) >= 8 {
			args[2] = binary.LittleEndian.Uint64(mem) // a pointer or count from the data
		}
		ret := h.hc.Call((*guest)(v), uint64(nr), args)
		if ret > 1<<40 {
			t.Errorf("hypercall %d returned %#x", nr, ret)
		}
		var after [4096]byte
		if b.mem != nil {
			b.mem.ReadPhys(0x200000, after[:])
			if before != after {
				t.Errorf("hypercall %d from domain a changed domain b's memory", nr)
			}
		}
		_ = backend.ExitNone
	})
}
