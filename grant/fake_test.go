package grant

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"gozen/abi/xen"
)

// machine is host memory: machine frames by number.
type machine struct {
	frames  map[uint64]*[PageSize]byte
	next    uint64
	failAt  int // Alloc fails once this many more frames were allocated (0: never)
	allocs  int
	noAlloc bool
}

func newMachine() *machine { return &machine{frames: map[uint64]*[PageSize]byte{}, next: 0x1000} }

func (m *machine) newFrame() (uint64, *[PageSize]byte) {
	mfn := m.next
	m.next++
	p := new([PageSize]byte)
	m.frames[mfn] = p
	return mfn, p
}

// Alloc implements FrameSource. Frames come back dirty, to check they are
// cleared.
func (m *machine) Alloc() (uint64, *[PageSize]byte, error) {
	if m.noAlloc {
		return 0, nil, errors.New("out of memory")
	}
	mfn, p := m.newFrame()
	for i := range p {
		p[i] = 0xA5
	}
	m.allocs++
	return mfn, p, nil
}

type foreignMap struct {
	mfn uint64
	ro  bool
}

// fakeMem is a domain's physmap: RAM gfns and grant mappings.
type fakeMem struct {
	m       *machine
	ram     map[uint64]uint64 // gfn -> mfn
	foreign map[uint64]foreignMap
	// onPage, if set, sees every Page call.
	onPage    func(gfn uint64)
	pageCalls int
	failMap   bool
	failUnmap bool
}

func newFakeMem(m *machine, nram int) *fakeMem {
	f := &fakeMem{m: m, ram: map[uint64]uint64{}, foreign: map[uint64]foreignMap{}}
	for g := 0; g < nram; g++ {
		mfn, _ := m.newFrame()
		f.ram[uint64(g)] = mfn
	}
	return f
}

func (f *fakeMem) Page(gfn uint64) *[PageSize]byte {
	f.pageCalls++
	if f.onPage != nil {
		f.onPage(gfn)
	}
	mfn, ok := f.ram[gfn]
	if !ok {
		return nil
	}
	return f.m.frames[mfn]
}

func (f *fakeMem) MapForeign(gfn, mfn uint64, readOnly bool) error {
	if f.failMap {
		return errors.New("injected MapForeign failure")
	}
	if _, ok := f.ram[gfn]; ok {
		return fmt.Errorf("gfn %#x is RAM", gfn)
	}
	if _, ok := f.foreign[gfn]; ok {
		return fmt.Errorf("gfn %#x already mapped", gfn)
	}
	if f.m.frames[mfn] == nil {
		return fmt.Errorf("no machine frame %#x", mfn)
	}
	f.foreign[gfn] = foreignMap{mfn, readOnly}
	return nil
}

func (f *fakeMem) UnmapForeign(gfn uint64) error {
	if f.failUnmap {
		return errors.New("injected UnmapForeign failure")
	}
	if _, ok := f.foreign[gfn]; !ok {
		return fmt.Errorf("gfn %#x not mapped", gfn)
	}
	delete(f.foreign, gfn)
	return nil
}

func (f *fakeMem) Translate(gfn uint64) (uint64, bool) {
	mfn, ok := f.ram[gfn]
	return mfn, ok
}

// guestWrite writes through the domain's own view (RAM or grant mapping)
// as its vCPU would; it fails on a read-only mapping.
func (f *fakeMem) guestWrite(gfn uint64, off int, data []byte) error {
	if mfn, ok := f.ram[gfn]; ok {
		copy(f.m.frames[mfn][off:], data)
		return nil
	}
	if fm, ok := f.foreign[gfn]; ok {
		if fm.ro {
			return errors.New("write to read-only grant mapping")
		}
		copy(f.m.frames[fm.mfn][off:], data)
		return nil
	}
	return fmt.Errorf("gfn %#x not mapped", gfn)
}

func (f *fakeMem) guestRead(gfn uint64, off, n int) []byte {
	if mfn, ok := f.ram[gfn]; ok {
		return append([]byte(nil), f.m.frames[mfn][off:off+n]...)
	}
	if fm, ok := f.foreign[gfn]; ok {
		return append([]byte(nil), f.m.frames[fm.mfn][off:off+n]...)
	}
	return nil
}

// env is a System with domains A (1) and B (2), each with 16 RAM pages.
type env struct {
	t    testing.TB
	m    *machine
	s    *System
	a, b *Domain
	ma   *fakeMem
	mb   *fakeMem
	gone []uint16
}

const (
	idA = 1
	idB = 2
)

func newEnv(t testing.TB, cfg Config) *env {
	e := &env{t: t, m: newMachine()}
	cfg.Frames = e.m
	cfg.OnGone = func(id uint16, mfns []uint64) { e.gone = append(e.gone, id) }
	e.s = NewSystem(cfg)
	e.ma = newFakeMem(e.m, 16)
	e.mb = newFakeMem(e.m, 16)
	var err error
	if e.a, err = e.s.NewDomain(idA, e.ma, DomainOptions{}); err != nil {
		t.Fatal(err)
	}
	if e.b, err = e.s.NewDomain(idB, e.mb, DomainOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

// setEntry writes grant entry ref of d as a guest does: domid and frame,
// then flags, which go last.
func setEntry(d *Domain, ref uint32, flags, domid uint16, frame uint32) {
	f := d.frames[ref/EntriesPerFrame].page
	off := (ref % EntriesPerFrame) * xen.GrantEntryV1Size
	binary.LittleEndian.PutUint16(f[off+2:], domid)
	atomic.StoreUint32(d.frameField(ref), frame)
	p := d.hdr(ref)
	for {
		old := atomic.LoadUint32(p)
		if atomic.CompareAndSwapUint32(p, old, uint32(domid)<<16|uint32(flags)) {
			return
		}
	}
}

// grant makes d grant gfn to domid at ref (GTF_permit_access [| readonly]).
func grant(d *Domain, ref uint32, domid uint16, gfn uint32, readonly bool) {
	fl := uint16(xen.GTFPermitAccess)
	if readonly {
		fl |= xen.GTFReadonly
	}
	setEntry(d, ref, fl, domid, gfn)
}

// endAccess is Linux's gnttab_end_foreign_access_ref_v1: clear the entry
// unless it is in use.
func endAccess(d *Domain, ref uint32) bool {
	p := (*uint32)(d.hdr(ref))
	for {
		old := atomic.LoadUint32(p)
		if uint16(old)&(xen.GTFReading|xen.GTFWriting) != 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(p, old, old&^0xFFFF) {
			return true
		}
	}
}

func flagsOf(d *Domain, ref uint32) uint16 {
	fl, _, _, ok := d.Entry(ref)
	if !ok {
		panic("ref out of range")
	}
	return fl
}
