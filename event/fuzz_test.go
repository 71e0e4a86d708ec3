package event

import (
	"fmt"
	"testing"

	"gozen/abi/xen"
)

const fuzzPages = 12 // frames 0..11 are RAM in each fuzzed domain

// fuzzDom is one fuzzed domain plus the harness's own record of what the
// guest registered (so the write check does not trust the package).
type fuzzDom struct {
	*tdom
	vcpus     int
	sharedSet bool
	shared    uint64
	vinfo     map[uint32]region
	cbs       map[uint32]region
	arrays    []uint64
	fifo      bool
	guests    map[uint32]*fifoGuest
}

func (f *fuzzDom) resetFIFO() {
	f.fifo = false
	f.cbs = map[uint32]region{}
	f.arrays = nil
	f.guests = map[uint32]*fifoGuest{}
}

// allowed reports whether the package may have written byte off of frame
// gfn of this domain. wholeShared allows the whole shared_info frame (an
// op that moved it).
func (f *fuzzDom) allowed(gfn uint64, off int, wholeShared bool) bool {
	if f.sharedSet && gfn == f.shared && (off < 3072 || wholeShared) {
		return true
	}
	for _, r := range f.vinfo {
		if r.gfn == gfn && off >= r.off && off < r.end {
			return true
		}
	}
	if f.fifo {
		for _, r := range f.cbs {
			if r.gfn == gfn && off >= r.off && off < r.end {
				return true
			}
		}
		for _, g := range f.arrays {
			if g == gfn {
				return true
			}
		}
	}
	return false
}

// fuzzInput hands out the fuzz bytes as operation arguments; past the end
// it returns zeros.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) u8() uint8 {
	if len(in.b) == 0 {
		return 0
	}
	v := in.b[0]
	in.b = in.b[1:]
	return v
}

func (in *fuzzInput) u32() uint32 {
	return uint32(in.u8()) | uint32(in.u8())<<8 | uint32(in.u8())<<16 | uint32(in.u8())<<24
}

func (in *fuzzInput) port() uint32 {
	switch x := in.u8(); {
	case x < 200:
		return uint32(x % 72)
	case x < 240:
		return uint32(x) * 37
	default:
		return in.u32()
	}
}

func (in *fuzzInput) vcpu() uint32 {
	if x := in.u8(); x < 250 {
		return uint32(x % 5)
	}
	return in.u32()
}

func (in *fuzzInput) gfn() uint64 {
	if x := in.u8(); x < 250 {
		return uint64(x % (fuzzPages + 2))
	}
	return uint64(in.u32())<<32 | uint64(in.u32())
}

func (in *fuzzInput) offset() uint32 {
	switch x := in.u8(); {
	case x < 200:
		return uint32(x%64) * 64
	case x < 230:
		return 4096 - 80 + uint32(x%16)*4
	default:
		return in.u32()
	}
}

func (in *fuzzInput) domid(self, other uint16) uint16 {
	switch in.u8() % 5 {
	case 0:
		return xen.DomIDSelf
	case 1:
		return self
	case 2:
		return other
	case 3:
		return 9 // not registered
	}
	return uint16(in.u32())
}

// FuzzOps drives random operation sequences, interleaved with hostile guest
// writes, against two domains and checks after every step that nothing
// panicked, the tables are consistent, the package wrote only inside the
// structures each domain registered, one domain's operation touched the
// other's memory only through an interdomain channel (or a privileged
// reset), and every kick names the right domain and a real vCPU.
func FuzzOps(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{
		0x00, 14, 3, // A: shared_info at 3
		0x01, 14, 3,
		0x00, 0, 2, 2, // A alloc_unbound for B
		0x01, 1, 1, 1, // B bind_interdomain to A port 1
		0x00, 5, 1, 0x01, 5, 1, // sends
		0x00, 11, 0, 4, 0, // A init_control vcpu 0 gfn 4 offset 0
		0x00, 12, 5, // A expand
		0x00, 3, 0, 0x00, 5, 2, 0x00, 17, 0, // ipi, send, consume
		0x01, 15, 0, // B reset
	})
	f.Add([]byte{0x00, 13, 1, 6, 1, 0x00, 2, 0, 1, 0x00, 10, 0, 1, 0x00, 14, 7, 0x00, 4, 1})
	f.Add([]byte{0x80, 11, 0, 4, 0, 0x80, 12, 5, 0x80, 3, 0, 0x80, 9, 1, 3, 0x80, 16, 5, 0, 0, 0xff, 0x80, 5, 1, 0x80, 18, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzzOps(t, data)
	})
}

func runFuzzOps(t *testing.T, data []byte) {
	in := &fuzzInput{b: data}
	e := newEnv(t)
	privB := in.u8()&1 == 1
	doms := [2]*fuzzDom{
		{tdom: e.add(1, 3, fuzzPages, false), vcpus: 3},
		{tdom: e.add(2, 2, fuzzPages, privB), vcpus: 2},
	}
	for _, d := range doms {
		d.vinfo = map[uint32]region{}
		d.resetFIFO()
	}
	listener := listenerFunc(func(d *Domain, p uint32) { d.Signal(p) })

	for step := 0; step < 300 && len(in.b) > 0; step++ {
		sel := in.u8()
		xi := int(sel >> 7)
		x, y := doms[xi], doms[1-xi]
		op := sel & 0x7f % 21

		// Guest actions: the guest writes its own memory; not checked.
		if guestOp(x, op, in) {
			continue
		}

		snapX, snapY := x.mem.snapshot(), y.mem.snapshot()
		x.rec.reset()
		y.rec.reset()
		touchY := false // op may legitimately write y's memory
		wholeShared := false
		var after func() // harness bookkeeping once writes are checked
		var what string

		switch op {
		case 0:
			dom := in.domid(x.ID(), y.ID())
			remote := in.domid(x.ID(), y.ID())
			_, rc := x.AllocUnbound(dom, remote)
			what = fmt.Sprintf("alloc_unbound(%d,%d)=%d", dom, remote, rc)
		case 1:
			dom := in.domid(x.ID(), y.ID())
			p := in.port()
			_, rc := x.BindInterdomain(dom, p)
			what = fmt.Sprintf("bind_interdomain(%d,%d)=%d", dom, p, rc)
		case 2:
			virq := uint32(in.u8() % 30)
			v := in.vcpu()
			_, rc := x.BindVIRQ(virq, v)
			what = fmt.Sprintf("bind_virq(%d,%d)=%d", virq, v, rc)
		case 3:
			v := in.vcpu()
			_, rc := x.BindIPI(v)
			what = fmt.Sprintf("bind_ipi(%d)=%d", v, rc)
		case 4:
			p := in.port()
			what = fmt.Sprintf("close(%d)=%d", p, x.Close(p))
		case 5:
			p := in.port()
			if st, rc := x.Status(xen.DomIDSelf, p); rc == 0 && st.State == xen.EvtchnStatInterdomain && st.RemoteDom == y.ID() {
				touchY = true
			}
			what = fmt.Sprintf("send(%d)=%d", p, x.Send(p))
		case 6:
			dom := in.domid(x.ID(), y.ID())
			p := in.port()
			st, rc := x.Status(dom, p)
			if rc == 0 && st.State > xen.EvtchnStatIPI {
				t.Fatalf("status state %d", st.State)
			}
			what = fmt.Sprintf("status(%d,%d)=%d", dom, p, rc)
		case 7:
			p, v := in.port(), in.vcpu()
			what = fmt.Sprintf("bind_vcpu(%d,%d)=%d", p, v, x.BindVCPU(p, v))
		case 8:
			p := in.port()
			what = fmt.Sprintf("unmask(%d)=%d", p, x.Unmask(p))
		case 9:
			p, prio := in.port(), uint32(in.u8()%20)
			what = fmt.Sprintf("set_priority(%d,%d)=%d", p, prio, x.SetPriority(p, prio))
		case 10:
			virq := uint32(in.u8() % 30)
			v := int(int8(in.u8()))
			x.RaiseVIRQ(virq, v)
			what = fmt.Sprintf("raise_virq(%d,%d)", virq, v)
		case 11:
			v, g, off := in.vcpu(), in.gfn(), in.offset()
			lb, rc := x.InitControl(v, g, off)
			if rc == 0 {
				if lb != xen.EvtchnFIFOLinkBits {
					t.Fatal("link bits")
				}
				x.fifo = true
				x.cbs[v] = region{g, int(off), int(off) + xen.EvtchnFIFOControlBlockSize}
				x.guests[v] = &fifoGuest{mem: x.mem, cbGFN: g, cbOff: int(off)}
			}
			what = fmt.Sprintf("init_control(%d,%d,%d)=%d", v, g, off, rc)
		case 12:
			g := in.gfn()
			rc := x.ExpandArray(g)
			if rc == 0 {
				x.arrays = append(x.arrays, g)
			}
			what = fmt.Sprintf("expand_array(%d)=%d", g, rc)
		case 13:
			v, g, off := in.vcpu(), in.gfn(), in.offset()
			rc := x.RegisterVCPUInfo(v, g, off)
			if rc == 0 {
				x.vinfo[v] = region{g, int(off), int(off) + xen.VCPUInfoSize}
			}
			what = fmt.Sprintf("register_vcpu_info(%d,%d,%d)=%d", v, g, off, rc)
		case 14:
			g := in.gfn()
			wholeShared = x.sharedSet && g != x.shared
			rc := x.SetSharedInfo(g)
			if rc == 0 {
				x.sharedSet, x.shared = true, g
			}
			what = fmt.Sprintf("set_shared_info(%d)=%d", g, rc)
		case 15:
			dom := in.domid(x.ID(), y.ID())
			rc := x.Reset(dom)
			if rc == 0 {
				target := x
				if dom == y.ID() {
					target, touchY = y, true
				}
				after = target.resetFIFO
			}
			what = fmt.Sprintf("reset(%d)=%d", dom, rc)
		case 16:
			v := in.vcpu()
			_, rc := x.BindListener(v, listener)
			what = fmt.Sprintf("bind_listener(%d)=%d", v, rc)
		case 17:
			p := in.port()
			what = fmt.Sprintf("signal(%d)=%d", p, x.Signal(p))
		case 18:
			virq := uint32(in.u8() % 30)
			e.sys.RaiseGlobalVIRQ(virq)
			touchY = true // either domain may be the handler
			what = fmt.Sprintf("raise_global_virq(%d)", virq)
		case 19:
			virq := uint32(in.u8() % 30)
			rc := e.sys.SetGlobalVIRQHandler(virq, x.Domain)
			what = fmt.Sprintf("set_global_virq_handler(%d)=%d", virq, rc)
		default:
			v := int(int8(in.u8()))
			x.UpcallPending(v)
			x.UpcallMasked(v)
			x.VIRQEnabled(uint32(in.u8()), v)
			p := in.port()
			x.IsPending(p)
			x.IsMasked(p)
			what = "queries"
		}

		if err := e.sys.check(); err != nil {
			t.Fatalf("step %d %s: %v", step, what, err)
		}
		for _, r := range x.mem.changed(snapX) {
			if !x.allowed(r.gfn, r.off, wholeShared) {
				t.Fatalf("step %d %s: wrote dom %d frame %d byte %d outside its registered structures", step, what, x.ID(), r.gfn, r.off)
			}
		}
		ch := y.mem.changed(snapY)
		if len(ch) > 0 && !touchY {
			t.Fatalf("step %d %s by dom %d: wrote dom %d's memory (frame %d byte %d)", step, what, x.ID(), y.ID(), ch[0].gfn, ch[0].off)
		}
		for _, r := range ch {
			if !y.allowed(r.gfn, r.off, false) {
				t.Fatalf("step %d %s: wrote dom %d frame %d byte %d outside its registered structures", step, what, y.ID(), r.gfn, r.off)
			}
		}
		if after != nil {
			after()
		}
		for _, d := range doms {
			for _, k := range d.rec.kicks {
				if k.h != d.ID() || k.vcpu < 0 || k.vcpu >= d.vcpus {
					t.Fatalf("step %d %s: bad kick %+v for dom %d", step, what, k, d.ID())
				}
			}
			for _, p := range d.rec.ports {
				if p == 0 || p >= uint32(len(d.chans)) {
					t.Fatalf("step %d %s: PortPending(%d)", step, what, p)
				}
			}
		}
	}

	// Tearing one domain down leaves the other consistent and untouched.
	snap := doms[1].mem.snapshot()
	e.sys.RemoveDomain(doms[0].Domain)
	if err := e.sys.check(); err != nil {
		t.Fatalf("after remove: %v", err)
	}
	if len(doms[1].mem.changed(snap)) != 0 {
		t.Fatal("removing a domain wrote the other's memory")
	}
	for p := uint32(1); p < uint32(len(doms[1].chans)); p++ {
		if st, _ := doms[1].Status(xen.DomIDSelf, p); st.State == xen.EvtchnStatInterdomain && st.RemoteDom == 1 {
			t.Fatalf("port %d still connected to a removed domain", p)
		}
	}
}

// guestOp performs op as the guest of d (op ≥ 21 never happens; guest ops
// are selected by the reader), returning false if op is a hypercall.
func guestOp(d *fuzzDom, op uint8, in *fuzzInput) bool {
	if op != 20 || in.u8()%2 == 0 {
		return false
	}
	switch in.u8() % 4 {
	case 0: // scribble anywhere in its own RAM
		g := uint64(in.u8() % fuzzPages)
		off := int(in.u32() % 4096)
		d.mem.Page(g)[off] = in.u8()
	case 1: // handle 2-level events like Linux
		if !d.sharedSet {
			return true
		}
		sh := d.mem.Page(d.shared)
		for v := 0; v < d.vcpus; v++ {
			var vi []byte
			if r, ok := d.vinfo[uint32(v)]; ok {
				vi = d.mem.Page(r.gfn)[r.off:r.end]
			} else if v < 32 {
				vi = sh[64*v : 64*v+64]
			}
			if vi == nil {
				continue
			}
			vi[0] = 0
			sel := u64(vi[8:])
			clear(vi[8:16])
			for w := 0; w < 64; w++ {
				if sel&(1<<w) == 0 {
					continue
				}
				for b := 0; b < 8; b++ {
					i := 2048 + w*8 + b
					sh[i] &^= ^sh[i+512] // clear pending of unmasked ports
				}
			}
		}
	case 2: // handle FIFO events
		v := uint32(in.u8() % 3)
		if g := d.guests[v]; g != nil && d.fifo {
			g.arrays = d.arrays
			g.consume(64)
		}
	case 3: // mask or unmask a port directly
		p := in.port() % 4096
		if d.fifo && int(p/1024) < len(d.arrays) {
			w := d.mem.Page(d.arrays[p/1024])[(p%1024)*4:]
			put32(w, le32(w)^FIFOMasked)
		} else if d.sharedSet {
			d.mem.Page(d.shared)[2560+p/8] ^= 1 << (p % 8)
		}
	}
	return true
}

// TestFuzzOpsLong runs the fuzz body on pseudo-random inputs so that plain
// `go test` exercises it beyond the seed corpus.
func TestFuzzOpsLong(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	seed := uint64(0x9E3779B97F4A7C15)
	for i := 0; i < n; i++ {
		data := make([]byte, 1500)
		for j := range data {
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			data[j] = byte(seed)
		}
		// Bias toward real work: set up shared_info and FIFO first on
		// some runs.
		if i%3 == 0 {
			data = append([]byte{0, 14, 3, 0x80 | 14, 3, 11, 0, 4, 0, 12, 5, 0x80 | 11, 0, 4, 0, 0x80 | 12, 5}, data...)
		}
		runFuzzOps(t, data)
	}
}
