package hv

import (
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

// A guest that sets its callback vector (or writes the hypercall page MSR)
// from 32-bit code gets Xen's 32-bit shared_info, vcpu_info and runstate
// layouts (hvm_latch_shinfo_size); from 64-bit code, the 64-bit ones.
func TestSharedInfoLayoutLatch(t *testing.T) {
	const shGFN, rsGPA = 0x300, 0x301000
	for _, mode := range []x86.Mode{x86.Mode32, x86.Mode64} {
		h, _, v, f := newSeamDomain(t)
		d := v.dom
		compat := mode != x86.Mode64
		if e := h.mapSharedInfo(d, shGFN); e != 0 {
			t.Fatalf("map shared_info: %d", e)
		}
		f.mode = mode
		(*guest)(v).SetCallbackIRQ(2<<56|0xf3, 0xf3)
		if d.xen.compat != compat {
			t.Fatalf("%v: latched compat %v", mode, d.xen.compat)
		}
		p := d.page(shGFN)
		l := xen.SharedInfoLayoutOf(compat)
		if ver, sec := le.Uint32(p[l.WcVersion:]), le.Uint32(p[l.WcSec:]); ver == 0 || ver%2 != 0 || sec < 1_000_000_000 {
			t.Errorf("%v: wall clock at %d: version %d sec %d", mode, l.WcVersion, ver, sec)
		}

		// The runstate area: 44 bytes (state, then state_entry_time at 4)
		// or 48.
		buf := make([]byte, 64)
		for i := range buf {
			buf[i] = 0xee
		}
		if err := d.mem.WritePhys(rsGPA, buf); err != nil {
			t.Fatal(err)
		}
		if e := h.registerRunstateArea(v, rsGPA); e != 0 {
			t.Fatalf("%v: register runstate area: %d", mode, e)
		}
		if err := d.mem.ReadPhys(rsGPA, buf); err != nil {
			t.Fatal(err)
		}
		size, entry := xen.VCPURunstateInfoSize, 8
		if compat {
			size, entry = xen.CompatVCPURunstateInfoSize, 4
		}
		if buf[size] != 0xee || buf[size-1] == 0xee || le.Uint64(buf[entry:]) != uint64(v.xen.stateEntry) {
			t.Errorf("%v: runstate area %x: want %d bytes with state_entry_time %d at %d", mode, buf[:52], size, v.xen.stateEntry, entry)
		}

		// 2-level events: the selector is a 32-bit word at vcpu_info+4
		// (bit port/32) or a 64-bit one at +8 (bit port/64).
		var port uint32
		for i := 0; i < 40; i++ {
			pp, rc := d.ev.BindIPI(0)
			if rc != 0 {
				t.Fatal(rc)
			}
			port = pp
		}
		if rc := d.ev.Send(port); rc != 0 {
			t.Fatal(rc)
		}
		sel := p[l.PendingSel : l.PendingSel+l.SelBytes]
		want := uint64(1) << (port / uint32(8*l.SelBytes))
		got := uint64(le.Uint32(sel))
		if l.SelBytes == 8 {
			got = le.Uint64(sel)
		}
		if got != want || !v.upcallPending() {
			t.Errorf("%v: port %d: selector %#x, want %#x", mode, port, got, want)
		}
	}
}

// The hypercall page MSR latches too.
func TestHypercallPageLatchesLayout(t *testing.T) {
	h, _, v, f := newSeamDomain(t)
	f.mode = x86.Mode32
	h.wrmsr(v, wrmsrExit(f, HypercallPageMSR, 0x200000))
	if !v.dom.xen.compat {
		t.Error("32-bit hypercall page write did not latch the compat layout")
	}
	f.mode = x86.Mode64
	h.wrmsr(v, wrmsrExit(f, HypercallPageMSR, 0x200000))
	if v.dom.xen.compat {
		t.Error("64-bit hypercall page write left the compat layout")
	}
}
