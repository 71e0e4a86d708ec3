package event

import (
	"encoding/binary"
	"testing"

	"gozen/abi/xen"
)

func u32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// With the compat layout (a 32-bit guest, Xen's has_32bit_shinfo) the
// selector is the 32-bit word at vcpu_info+4 and bit port/32 covers a port,
// evtchn_mask is at shared_info+2176, and there are 1024 ports.
func TestTwoLevelCompatLayout(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	a.SetCompat(true)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)
	if a.ABI().MaxPorts() != 1024 || a.MaxPort() != 1023 {
		t.Fatalf("compat MaxPorts %d MaxPort %d, want 1024 and 1023", a.ABI().MaxPorts(), a.MaxPort())
	}
	var p uint32
	for i := 0; i < 70; i++ {
		p = port(t)(a.BindIPI(1))
	}
	if p != 70 {
		t.Fatalf("70th IPI got port %d", p)
	}
	ok(t, "send", a.Send(70))
	if sh[2048+8] != 1<<6 {
		t.Errorf("evtchn_pending byte 2048+8 = %#x, want 1<<6 (the same bit as 64-bit)", sh[2048+8])
	}
	vi := sh[64 : 64+64]
	if got := u32(vi[4:]); got != 1<<2 {
		t.Errorf("compat pending_sel = %#x, want 1<<2 (port 70 is in 32-bit word 2)", got)
	}
	if u32(vi[8:]) != 0 || vi[0] != 1 {
		t.Errorf("vcpu_info bytes 8..12 %#x (64-bit selector place) upcall %d", u32(vi[8:]), vi[0])
	}

	// The mask bitmap is at 2176: a masked port sets no selector bit, and
	// unmasking it delivers.
	a.rec.reset()
	q := port(t)(a.BindIPI(0))
	sh[2176+q/8] |= 1 << (q % 8)
	ok(t, "send masked", a.Send(q))
	if !a.IsPending(q) || !a.IsMasked(q) || u32(sh[4:]) != 0 || len(a.rec.kicks) != 0 {
		t.Fatalf("masked port %d: pending %v masked %v sel %#x kicks %v", q, a.IsPending(q), a.IsMasked(q), u32(sh[4:]), a.rec.kicks)
	}
	ok(t, "unmask", a.Unmask(q))
	if u32(sh[4:]) != 1<<(q/32) || sh[0] != 1 || len(a.rec.kicks) != 1 {
		t.Errorf("unmask of %d: sel %#x upcall %d kicks %v", q, u32(sh[4:]), sh[0], a.rec.kicks)
	}
	if sh[2560+q/8] != 0 {
		t.Error("the 64-bit mask offset was used")
	}
}

// RegisterVCPUInfo with the compat layout accepts 4-byte aligned areas and
// sets the 32-bit selector to all-ones, nothing beyond it.
func TestRegisterVCPUInfoCompat(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	if rc := a.RegisterVCPUInfo(0, 5, 4); rc != -int(xen.ENXIO) {
		t.Fatalf("64-bit layout, offset 4: rc %d, want -ENXIO", rc)
	}
	a.SetCompat(true)
	ok(t, "register", a.RegisterVCPUInfo(0, 5, 4))
	vi := a.mem.Page(5)[4 : 4+64]
	if u32(vi[4:]) != 0xffffffff || u32(vi[8:]) != 0 || vi[0] != 1 {
		t.Errorf("compat vcpu_info: sel %#x next %#x upcall %d", u32(vi[4:]), u32(vi[8:]), vi[0])
	}
}

// Ports from 1024 up cannot be allocated once the compat layout is latched,
// and SetSharedInfo clears only the compat bitmaps (the wall clock at 2304
// is the hypervisor's).
func TestCompatPortLimitAndSharedInfoClear(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	a.SetCompat(true)
	sh := a.mem.Page(shGFN)
	for i := 2048; i < 2344; i++ {
		sh[i] = 0xee
	}
	ok(t, "shared", a.SetSharedInfo(shGFN))
	for i := 2048; i < 2304; i++ {
		if sh[i] != 0 {
			t.Fatalf("byte %d of the compat bitmaps not cleared", i)
		}
	}
	if sh[2304] != 0xee || sh[2343] != 0xee {
		t.Error("SetSharedInfo cleared the compat wall clock")
	}
	n := 0
	for {
		_, rc := a.BindIPI(0)
		if rc != 0 {
			if rc != -int(xen.ENOSPC) {
				t.Fatalf("bind %d: rc %d, want -ENOSPC", n, rc)
			}
			break
		}
		n++
		if n > 2000 {
			t.Fatal("more than 2000 ports")
		}
	}
	if n != 1023 {
		t.Errorf("%d ports bound, want 1023 (1..1023)", n)
	}
}
