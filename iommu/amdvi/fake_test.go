package amdvi

import "fmt"

// fakeMem is physical memory as a map of 4 KiB frames. AllocTable hands
// out frames from 0x100000 up, limit of them (0: unlimited).
type fakeMem struct {
	frames  map[uint64]*[512]uint64
	next    uint64
	limit   int
	allocs  int
	freed   map[uint64]bool
	onTable func() // called on every Table (the fake IOMMU's clock)
}

func newFakeMem() *fakeMem {
	return &fakeMem{frames: map[uint64]*[512]uint64{}, next: 0x100000, freed: map[uint64]bool{}}
}

func (m *fakeMem) AllocTable() (uint64, bool) {
	if m.limit > 0 && m.allocs >= m.limit {
		return 0, false
	}
	m.allocs++
	pa := m.next
	m.next += 4096
	m.frames[pa] = new([512]uint64)
	return pa, true
}

func (m *fakeMem) FreeTable(pa uint64) {
	if m.freed[pa] {
		panic(fmt.Sprintf("double free of %#x", pa))
	}
	m.freed[pa] = true
}

func (m *fakeMem) Table(pa uint64) *[512]uint64 {
	if m.onTable != nil {
		m.onTable()
	}
	return m.frames[pa]
}

// region backs [pa, pa+n*4096) with frames (a device table, ring, ...).
func (m *fakeMem) region(pa uint64, pages int) {
	for i := 0; i < pages; i++ {
		m.frames[pa+uint64(i)*4096] = new([512]uint64)
	}
}

func (m *fakeMem) read64(pa uint64) uint64 { return m.frames[pa&^0xfff][(pa&0xfff)/8] }
func (m *fakeMem) write64(pa, v uint64)    { m.frames[pa&^0xfff][(pa&0xfff)/8] = v }

// regWrite is one recorded register write.
type regWrite struct {
	off uint32
	v   uint64
}

// fakeMMIO is a register file that records writes; onWrite, if set, runs
// after each write (the fake IOMMU reacting).
type fakeMMIO struct {
	regs    map[uint32]uint64
	writes  []regWrite
	onWrite func(off uint32, v uint64)
}

func newFakeMMIO() *fakeMMIO { return &fakeMMIO{regs: map[uint32]uint64{}} }

func (f *fakeMMIO) Read64(off uint32) uint64 { return f.regs[off] }
func (f *fakeMMIO) Write64(off uint32, v uint64) {
	f.writes = append(f.writes, regWrite{off, v})
	f.regs[off] = v
	if f.onWrite != nil {
		f.onWrite(off, v)
	}
}
