package npt

import (
	"testing"

	"gozen/mm/pgtable"
)

// entries collects every entry of the tree under root, by level (4 = PML4),
// reading the fake machine's table pages raw.
func entries(f *fakeMachine, root uint64) map[int][]uint64 {
	out := map[int][]uint64{}
	var walk func(pa uint64, lvl int)
	walk = func(pa uint64, lvl int) {
		for _, e := range f.Table(pa) {
			if e == 0 {
				continue
			}
			out[lvl] = append(out[lvl], e)
			if lvl > 1 && e&(1<<7) == 0 {
				walk(e&pgtable.AddrMask, lvl-1)
			}
		}
	}
	walk(root, 4)
	return out
}

// NPT entries stay exactly what they were before formats existed: leaves
// and tables Present|Writable|User (0x7), 2 MiB leaves with PS (0x87), a
// read-only overlay 0x5.
func TestNPTEntriesExact(t *testing.T) {
	f := newMachine(1 << 32)
	m, err := New(f, f, f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format() != NPT {
		t.Fatalf("New made %v tables", m.Format())
	}
	if err := m.Populate(2<<20 + 4096); err != nil {
		t.Fatal(err)
	}
	if err := m.MapFrame(0x400, 0x7000000, true); err != nil {
		t.Fatal(err)
	}
	e := entries(f, m.Root())
	for lvl := 4; lvl >= 3; lvl-- {
		for _, x := range e[lvl] {
			if x&^pgtable.AddrMask != 0x7 {
				t.Errorf("level %d table entry %#x: flags want 0x7", lvl, x)
			}
		}
	}
	var big, small, ro int
	for _, x := range e[2] {
		switch x &^ pgtable.AddrMask {
		case 0x87:
			big++
		case 0x7:
		default:
			t.Errorf("PD entry %#x", x)
		}
	}
	for _, x := range e[1] {
		switch x &^ pgtable.AddrMask {
		case 0x7:
			small++
		case 0x5:
			ro++
		default:
			t.Errorf("PT entry %#x", x)
		}
	}
	if big != 1 || small != 1 || ro != 1 {
		t.Errorf("%d big, %d small, %d read-only leaves; want 1, 1, 1", big, small, ro)
	}
}

// EPT tables: non-leaf entries Read|Write|Execute (bits 0-2) with nothing
// in the bits EPT reserves there (3-7), leaves R/W/X + write-back (6 in
// bits 3-5) + ignore-PAT (bit 6), 2 MiB leaves with bit 7, read-only
// overlays without Write; translation, splitting, ballooning and release
// work the same.
func TestEPTEntries(t *testing.T) {
	f := newMachine(1 << 32)
	m, err := NewFormat(EPT, f, f, f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format() != EPT {
		t.Fatalf("format %v", m.Format())
	}
	size := uint64(4<<20 + 8192) // 2 big pages, 2 small
	if err := m.Populate(size); err != nil {
		t.Fatal(err)
	}
	const leaf = EPTRead | EPTWrite | EPTExec | EPTMemTypeWB | EPTIgnorePAT // 0x77
	if leaf != 0x77 {
		t.Fatalf("EPT RAM leaf %#x, want 0x77", leaf)
	}
	check := func(when string, wantBig, wantSmall, wantRO int) {
		t.Helper()
		e := entries(f, m.Root())
		for lvl := 4; lvl >= 3; lvl-- {
			for _, x := range e[lvl] {
				if x&^pgtable.AddrMask != EPTRead|EPTWrite|EPTExec {
					t.Errorf("%s: level %d EPT table entry %#x: want flags 0x7", when, lvl, x)
				}
			}
		}
		var big, small, ro int
		for _, x := range e[2] {
			switch x &^ pgtable.AddrMask {
			case leaf | EPTLarge:
				big++
			case EPTRead | EPTWrite | EPTExec:
			default:
				t.Errorf("%s: EPT PDE %#x", when, x)
			}
		}
		for _, x := range e[1] {
			switch x &^ pgtable.AddrMask {
			case leaf:
				small++
			case leaf &^ EPTWrite:
				ro++
			default:
				t.Errorf("%s: EPT PTE %#x", when, x)
			}
		}
		if big != wantBig || small != wantSmall || ro != wantRO {
			t.Errorf("%s: %d big, %d small, %d read-only leaves; want %d, %d, %d", when, big, small, ro, wantBig, wantSmall, wantRO)
		}
	}
	check("populated", 2, 2, 0)
	for _, gpa := range []uint64{0, 0x1234, 3 << 20, size - 1} {
		if hpa, ok := m.Translate(gpa); !ok || hpa%page != gpa%page {
			t.Errorf("translate %#x = %#x %v", gpa, hpa, ok)
		}
	}
	// A read-only frame over the second big page splits it into 512 small
	// leaves, one of them the overlay.
	hpa, _ := f.Alloc(1, 1)
	if err := m.MapFrame(0x210, hpa, true); err != nil {
		t.Fatal(err)
	}
	check("overlay", 1, 2+511, 1)
	if got, err := m.UnmapFrame(0x210); err != nil || got != hpa {
		t.Fatalf("UnmapFrame = %#x, %v", got, err)
	}
	check("overlay removed", 1, 2+512, 0)
	// Ballooning out and back in keeps the leaf format.
	if err := m.RemoveRAM(0x400, 1); err != nil {
		t.Fatal(err)
	}
	if err := m.AddRAM(0x400, 1); err != nil {
		t.Fatal(err)
	}
	check("ballooned", 1, 2+512, 0)
	m.Release()
	if f.tables != 0 {
		t.Errorf("%d table pages leaked", f.tables)
	}
}

func TestUnknownFormatRefused(t *testing.T) {
	f := newMachine(1 << 32)
	if _, err := NewFormat(Format(7), f, f, f); err == nil {
		t.Error("NewFormat accepted format 7")
	}
	if f.tables != 0 {
		t.Error("a refused format allocated tables")
	}
}
