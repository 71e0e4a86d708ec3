package loader

import (
	"strings"
	"testing"
)

func seg(paddr uint64, data int, memsz uint64) Segment {
	return Segment{Paddr: paddr, Data: make([]byte, data), Memsz: memsz}
}

func TestCheckOK(t *testing.T) {
	im := &Image{Entry32: 0x1000010, Segments: []Segment{
		seg(0x1200000, 0x10, 0x100000), // out of address order: fine
		seg(0x1000000, 0x1000, 0x200000),
	}}
	if err := im.Check(32<<20, LowLoadLimit); err != nil {
		t.Fatal(err)
	}
	// Touching segments and a segment ending exactly at the end of memory.
	im = &Image{Entry32: 0x100000, Segments: []Segment{seg(0x100000, 0x10, 0x100000), seg(0x200000, 0, 0x1e00000)}}
	if err := im.Check(32<<20, LowLoadLimit); err != nil {
		t.Fatal(err)
	}
	if got := im.End(); got != 32<<20 {
		t.Errorf("End = %#x", got)
	}
}

func TestCheckErrors(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name     string
		im       Image
		mem, low uint64
		want     string
	}{
		{"beyond memory", Image{Entry32: 0x100000, Segments: []Segment{
			seg(0x100000, 0x10, 0x1000), seg(0x200000, 0x10, 0x1000), seg(0x1000000, 0x10, 0x400000)}},
			16 * mib, LowLoadLimit, "segment 2 [0x1000000-0x1400000) ends beyond the domain's 16 MiB of memory"},
		{"too big", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x10, 40*mib)}},
			32 * mib, LowLoadLimit, "image needs 40 MiB but the domain has 32 MiB"},
		{"too big odd", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x10, 40*mib+mib/2)}},
			32 * mib, LowLoadLimit, "image needs 40.5 MiB (0x2880000 bytes) but the domain has 32 MiB"},
		{"sum overflows", Image{Entry32: 0x1000000, Segments: []Segment{seg(0, 0, 1<<63), seg(1<<63, 0, 1<<63-1), seg(0x1000, 0, 1<<62)}},
			32 * mib, 0, "image segment sizes add up to more than 2^64 bytes (segment 2 has size 0x4000000000000000)"},
		{"below low limit", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x10, mib), seg(0x1000, 0x10, 0x1000)}},
			32 * mib, LowLoadLimit, "segment 1 [0x1000-0x2000) starts below 0x100000, the lowest address a kernel may use"},
		{"overlap", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x10, mib), seg(0x1400000, 0x10, mib), seg(0x10ff000, 0, 0x2000)}},
			32 * mib, LowLoadLimit, "segments 0 [0x1000000-0x1100000) and 2 [0x10ff000-0x1101000) overlap"},
		{"same start", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x10, mib), seg(0x1000000, 0, 0x10)}},
			32 * mib, LowLoadLimit, "segments 0 [0x1000000-0x1100000) and 1 [0x1000000-0x1000010) overlap"},
		{"entry outside", Image{Entry32: 0x3000000, Segments: []Segment{seg(0x1000000, 0x10, mib)}},
			64 * mib, LowLoadLimit, "PVH entry 0x3000000 is not inside any loaded segment"},
		{"entry at end", Image{Entry32: 0x1100000, Segments: []Segment{seg(0x1000000, 0x10, mib)}},
			64 * mib, LowLoadLimit, "PVH entry 0x1100000 is not inside any loaded segment"},
		{"entry in bss", Image{Entry32: 0x1000010, Segments: []Segment{seg(0x1000000, 0x10, mib)}},
			64 * mib, LowLoadLimit, "PVH entry 0x1000010 lies in the zero-filled part of segment 0 [0x1000000-0x1100000), which has no code"},
		{"entry above 4G", Image{Entry32: 1 << 32, Segments: []Segment{seg(0x1000000, 0x10, mib)}},
			64 * mib, LowLoadLimit, "PVH entry 0x100000000 is above 4 GiB, out of reach of 32-bit code"},
		{"no memory", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x10, mib)}},
			mib, LowLoadLimit, "the domain's 1 MiB of memory leaves nothing above the lowest load address 0x100000"},
		{"no segments", Image{Entry32: 0x1000000}, 64 * mib, LowLoadLimit, "image has no segments"},
		{"data > memsz", Image{Entry32: 0x1000000, Segments: []Segment{seg(0x1000000, 0x20, 0x10)}},
			64 * mib, LowLoadLimit, "segment 0 has 32 bytes of data but a memory size of only 16"},
		{"wraps", Image{Entry32: 0x1000000, Segments: []Segment{seg(^uint64(0)-0xf, 0, 0x20)}},
			64 * mib, LowLoadLimit, "segment 0 at 0xfffffffffffffff0 with size 0x20 wraps around the address space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.im.Check(tc.mem, tc.low)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Check error\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 bytes", 100: "100 bytes", 1024: "1 KiB", 640 << 10: "640 KiB", 1500: "1500 bytes",
		16 << 20: "16 MiB", 3 << 30: "3 GiB", 1<<30 + 1<<20: "1025 MiB", 1<<20 + 1: "1.0 MiB (0x100001 bytes)",
	} {
		if got := sizeString(n); got != want {
			t.Errorf("sizeString(%d) = %q, want %q", n, got, want)
		}
	}
	if !strings.HasSuffix(sizeString(^uint64(0)), "bytes)") {
		t.Errorf("sizeString(max) = %q", sizeString(^uint64(0)))
	}
}
