package x86

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"gozen/mm/pgtable"
)

// tableMem backs both mm/pgtable's Memory and PhysMem with the same pages.
type tableMem struct {
	pages map[uint64]*[512]uint64
	next  uint64
}

func (m *tableMem) AllocTable() (uint64, bool) {
	m.next += 4096
	m.pages[m.next] = new([512]uint64)
	return m.next, true
}

func (m *tableMem) FreeTable(pa uint64)                  { delete(m.pages, pa) }
func (m *tableMem) Table(pa uint64) *[512]uint64         { return m.pages[pa] }
func (m *tableMem) WritePhys(gpa uint64, p []byte) error { return errUnbacked }

func (m *tableMem) ReadPhys(gpa uint64, p []byte) error {
	for i := range p {
		a := gpa + uint64(i)
		t := m.pages[a&^0xfff]
		if t == nil {
			return errUnbacked
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], t[a&0xfff/8])
		p[i] = b[a&7]
	}
	return nil
}

// TestTranslateAgainstPgtable cross-checks 4-level walks against an
// independent implementation: tables built and looked up by mm/pgtable.
func TestTranslateAgainstPgtable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mem := &tableMem{pages: map[uint64]*[512]uint64{}, next: 0x4000_0000}
	tbl, err := pgtable.New(mem)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []uint64{pgtable.Size4K, pgtable.Size2M, pgtable.Size1G}
	var vas []uint64
	for range 300 {
		size := sizes[rng.IntN(3)]
		va := rng.Uint64N(1<<(47-30)) << 30 // a 1 GiB slot in the lower half
		if rng.IntN(2) == 0 {
			va |= 0xffff_8000_0000_0000
		}
		va += rng.Uint64N(1<<30) &^ (size - 1)
		pa := rng.Uint64N(1<<40) &^ (size - 1)
		flags := uint64(0)
		for _, f := range []uint64{pgtable.Writable, pgtable.User, pgtable.NoExec} {
			if rng.IntN(2) == 0 {
				flags |= f
			}
		}
		if tbl.Map(va, pa, size, flags) == nil {
			vas = append(vas, va+rng.Uint64N(size), va+size-1, va+size) // inside, last byte, just past
		}
	}
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: tbl.Root, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}
	nMapped := 0
	for _, va := range vas {
		va = uint64(int64(va<<16) >> 16) // keep it canonical
		wantPA, flags, _, mapped := tbl.Lookup(va)
		if mapped {
			nMapped++
		}
		for _, acc := range []Access{{}, {Write: true}, {User: true}, {User: true, Write: true}, {Fetch: true}, {Fetch: true, User: true}} {
			gpa, err := Translate(mem, pg, va, acc)
			allowed := mapped &&
				(!acc.User || flags&pgtable.User != 0) &&
				(!acc.Write || flags&pgtable.Writable != 0) &&
				(!acc.Fetch || flags&pgtable.NoExec == 0)
			switch {
			case allowed && (err != nil || gpa != wantPA):
				t.Fatalf("Translate(%#x, %+v) = %#x, %v; pgtable says %#x (flags %#x)", va, acc, gpa, err, wantPA, flags)
			case !allowed && err == nil:
				t.Fatalf("Translate(%#x, %+v) = %#x; pgtable says mapped=%v flags %#x", va, acc, gpa, mapped, flags)
			case !allowed:
				code, ok := pfCode(err)
				if !ok || (code&PFPresent != 0) != mapped || code&PFRsvd != 0 {
					t.Fatalf("Translate(%#x, %+v): %v; pgtable says mapped=%v flags %#x", va, acc, err, mapped, flags)
				}
			}
		}
	}
	if nMapped < len(vas)/2 || nMapped == len(vas) {
		t.Errorf("%d of %d addresses mapped: the test is not exercising both cases", nMapped, len(vas))
	}
}
