package multiboot

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// ---------------------------------------------------------------------------
// Fake physical memory.

// seg is a readable range of fake physical memory.
type seg struct {
	base uint64
	data []byte
}

// fakeMem is a sparse physical memory made of readable segments. It also
// records the largest single read, to check that Parse reads in bounded
// pieces.
type fakeMem struct {
	segs    []seg
	maxRead int
	reads   int
}

func (m *fakeMem) ReadAt(p []byte, addr uint64) bool {
	m.reads++
	if len(p) > m.maxRead {
		m.maxRead = len(p)
	}
	for _, s := range m.segs {
		if addr < s.base {
			continue
		}
		off := addr - s.base
		if off > uint64(len(s.data)) || uint64(len(p)) > uint64(len(s.data))-off {
			continue
		}
		copy(p, s.data[off:])
		return true
	}
	return false
}

func le32put(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func le64put(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// ---------------------------------------------------------------------------
// Multiboot1 image builder.

const (
	mb1Base     = 0x9000 // physical base of the fake low-memory segment
	mb1Size     = 0x4000
	mb1InfoOff  = 0x0000
	mb1CmdOff   = 0x0200
	mb1NameOff  = 0x0a40
	mb1ModsOff  = 0x0b00
	mb1MStrOff  = 0x0e00 // module strings, 0x40 apart
	mb1MmapOff  = 0x1800
	mb1InfoAddr = mb1Base + mb1InfoOff
)

type mb1Mod struct {
	start, end uint32
	str        string
	nullStr    bool
}

type mb1Ent struct {
	size      uint32 // 0 means 20
	base, len uint64
	typ       uint32
}

type mb1Image struct {
	flags              uint32
	memLower, memUpper uint32
	cmdline            string
	name               string
	mods               []mb1Mod
	mmap               []mb1Ent
}

// build lays the image out in one segment; it returns the segment bytes so
// tests can corrupt them.
func (im *mb1Image) build() []byte {
	b := make([]byte, mb1Size)
	i := b[mb1InfoOff:]
	le32put(i, mb1Flags, im.flags)
	le32put(i, mb1MemLower, im.memLower)
	le32put(i, mb1MemUpper, im.memUpper)
	copy(b[mb1CmdOff:], im.cmdline)
	le32put(i, mb1Cmdline, mb1Base+mb1CmdOff)
	copy(b[mb1NameOff:], im.name)
	le32put(i, mb1LoaderName, mb1Base+mb1NameOff)
	le32put(i, mb1ModsCount, uint32(len(im.mods)))
	le32put(i, mb1ModsAddr, mb1Base+mb1ModsOff)
	for k, m := range im.mods {
		e := b[mb1ModsOff+16*k:]
		le32put(e, 0, m.start)
		le32put(e, 4, m.end)
		if !m.nullStr {
			so := mb1MStrOff + 0x40*k
			copy(b[so:], m.str)
			le32put(e, 8, uint32(mb1Base+so))
		}
	}
	off := mb1MmapOff
	for _, e := range im.mmap {
		size := e.size
		if size == 0 {
			size = 20
		}
		le32put(b, off, size)
		le64put(b, off+4, e.base)
		le64put(b, off+12, e.len)
		le32put(b, off+20, e.typ)
		off += 4 + int(size)
	}
	le32put(i, mb1MmapLength, uint32(off-mb1MmapOff))
	le32put(i, mb1MmapAddr, mb1Base+mb1MmapOff)
	return b
}

func mem1(b []byte) *fakeMem { return &fakeMem{segs: []seg{{mb1Base, b}}} }

// qemuMB1 resembles what QEMU's -kernel multiboot loader provides.
func qemuMB1() *mb1Image {
	return &mb1Image{
		flags:    mb1FlagMem | 1<<1 | mb1FlagCmd | mb1FlagMods | mb1FlagMmap | mb1FlagLoader,
		memLower: 639,
		memUpper: 523136,
		cmdline:  "/boot/gozen console=com1 loglvl=debug",
		name:     "qemu",
		mods: []mb1Mod{
			{start: 0x200000, end: 0x2f1234, str: "/boot/initrd.img rootfs"},
			{start: 0x2f2000, end: 0x2f2000, str: ""},
			{start: 0x300000, end: 0x400000, nullStr: true},
		},
		mmap: []mb1Ent{
			{base: 0, len: 0x9fc00, typ: 1},
			{base: 0x9fc00, len: 0x400, typ: 2},
			{base: 0xf0000, len: 0x10000, typ: 2},
			{base: 0x100000, len: 0x1fee0000, typ: 1},
			{base: 0x1ffe0000, len: 0x20000, typ: 2},
			{base: 0xfffc0000, len: 0x40000, typ: 2},
			{size: 28, base: 0x100000000, len: 0x40000000, typ: 1}, // larger entry size
			{base: 0x200000000, len: 0, typ: 1},                    // empty: dropped
			{base: 0x300000000, len: 0x1000, typ: 7},               // unknown: reserved
			{base: 0x300001000, len: 0x1000, typ: 3},
			{base: 0x300002000, len: 0x1000, typ: 4},
			{base: 0x300003000, len: 0x1000, typ: 5},
		},
	}
}

func TestMB1QEMU(t *testing.T) {
	im := qemuMB1()
	mem := mem1(im.build())
	var info Info
	if err := Parse(Magic1, mb1InfoAddr, mem, &info); err != nil {
		t.Fatalf("Parse: %v (ErrOffset %#x)", err, info.ErrOffset)
	}
	if info.Version != 1 || info.InfoAddr != mb1InfoAddr || info.InfoSize != 120 {
		t.Errorf("version/addr/size = %d/%#x/%d", info.Version, info.InfoAddr, info.InfoSize)
	}
	if got := string(info.Cmdline()); got != im.cmdline {
		t.Errorf("Cmdline = %q, want %q", got, im.cmdline)
	}
	if got := string(info.LoaderName()); got != "qemu" {
		t.Errorf("LoaderName = %q", got)
	}
	if !info.HasBasicMem || info.MemLower != 639 || info.MemUpper != 523136 {
		t.Errorf("basic mem = %v %d %d", info.HasBasicMem, info.MemLower, info.MemUpper)
	}
	if info.RSDP != 0 {
		t.Errorf("RSDP = %#x, want 0", info.RSDP)
	}
	wantMods := []struct {
		start, end uint64
		cmd        string
	}{
		{0x200000, 0x2f1234, "/boot/initrd.img rootfs"},
		{0x2f2000, 0x2f2000, ""},
		{0x300000, 0x400000, ""},
	}
	if info.NModules != len(wantMods) {
		t.Fatalf("NModules = %d", info.NModules)
	}
	for k, w := range wantMods {
		m := &info.Modules[k]
		if m.Start != w.start || m.End != w.end || string(m.Cmdline()) != w.cmd {
			t.Errorf("module %d = %#x-%#x %q, want %#x-%#x %q", k, m.Start, m.End, m.Cmdline(), w.start, w.end, w.cmd)
		}
	}
	wantRegions := []Region{
		{0, 0x9fc00, 1},
		{0x9fc00, 0x400, 2},
		{0xf0000, 0x10000, 2},
		{0x100000, 0x1fee0000, 1},
		{0x1ffe0000, 0x20000, 2},
		{0xfffc0000, 0x40000, 2},
		{0x100000000, 0x40000000, 1},
		{0x300000000, 0x1000, 2},
		{0x300001000, 0x1000, 3},
		{0x300002000, 0x1000, 4},
		{0x300003000, 0x1000, 5},
	}
	checkRegions(t, &info, wantRegions)
	if mem.maxRead > stringChunk {
		t.Errorf("largest read %d bytes, want <= %d", mem.maxRead, stringChunk)
	}
}

func checkRegions(t *testing.T, info *Info, want []Region) {
	t.Helper()
	if info.NRegions != len(want) {
		t.Fatalf("NRegions = %d, want %d: %v", info.NRegions, len(want), info.Regions[:info.NRegions])
	}
	for k, w := range want {
		if info.Regions[k] != w {
			t.Errorf("region %d = %+v, want %+v", k, info.Regions[k], w)
		}
	}
}

func TestMB1Minimal(t *testing.T) {
	// Only basic memory: regions are synthesised, strings are empty.
	im := &mb1Image{flags: mb1FlagMem, memLower: 640, memUpper: 64 << 10}
	var info Info
	if err := Parse(Magic1, mb1InfoAddr, mem1(im.build()), &info); err != nil {
		t.Fatal(err)
	}
	checkRegions(t, &info, []Region{{0, 640 << 10, 1}, {1 << 20, 64 << 20, 1}})
	if len(info.Cmdline()) != 0 || len(info.LoaderName()) != 0 || info.NModules != 0 {
		t.Errorf("unexpected strings/modules: %q %q %d", info.Cmdline(), info.LoaderName(), info.NModules)
	}

	// mem_lower 0: only the upper region.
	im.memLower = 0
	if err := Parse(Magic1, mb1InfoAddr, mem1(im.build()), &info); err != nil {
		t.Fatal(err)
	}
	checkRegions(t, &info, []Region{{1 << 20, 64 << 20, 1}})

	// Memory map present but only empty entries: fall back to basic mem.
	im.flags |= mb1FlagMmap
	im.mmap = []mb1Ent{{base: 0, len: 0, typ: 1}}
	if err := Parse(Magic1, mb1InfoAddr, mem1(im.build()), &info); err != nil {
		t.Fatal(err)
	}
	checkRegions(t, &info, []Region{{1 << 20, 64 << 20, 1}})

	// Command line and name pointers of zero mean "none".
	im = &mb1Image{flags: mb1FlagMem | mb1FlagCmd | mb1FlagLoader, memUpper: 1024}
	b := im.build()
	le32put(b, mb1Cmdline, 0)
	le32put(b, mb1LoaderName, 0)
	if err := Parse(Magic1, mb1InfoAddr, mem1(b), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Cmdline()) != 0 || len(info.LoaderName()) != 0 {
		t.Errorf("strings not empty")
	}
}

func TestMB1StringLimits(t *testing.T) {
	var info Info
	// Exactly at the limits: accepted.
	im := &mb1Image{
		flags:    mb1FlagMem | mb1FlagCmd | mb1FlagLoader | mb1FlagMods,
		memUpper: 1024,
		cmdline:  strings.Repeat("c", MaxCmdline),
		name:     strings.Repeat("n", MaxLoaderName),
	}
	b := im.build()
	// Put a module string of exactly MaxModCmdline bytes in free space.
	so := 0x2000
	copy(b[so:], strings.Repeat("m", MaxModCmdline))
	le32put(b, mb1ModsCount, 1)
	le32put(b, mb1ModsOff, 0x1000)
	le32put(b, mb1ModsOff+4, 0x2000)
	le32put(b, mb1ModsOff+8, mb1Base+uint32(so))
	if err := Parse(Magic1, mb1InfoAddr, mem1(b), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Cmdline()) != MaxCmdline || len(info.LoaderName()) != MaxLoaderName || len(info.Modules[0].Cmdline()) != MaxModCmdline {
		t.Errorf("lengths %d %d %d", len(info.Cmdline()), len(info.LoaderName()), len(info.Modules[0].Cmdline()))
	}

	// A string ending exactly at the end of readable memory (chunked read
	// fails, byte-wise fallback succeeds).
	tail := make([]byte, 8)
	copy(tail, "tail=1\x00")
	mem := &fakeMem{segs: []seg{{mb1Base, b}, {0x100000 - 7, tail[:7]}}}
	le32put(b, mb1Cmdline, 0x100000-7)
	if err := Parse(Magic1, mb1InfoAddr, mem, &info); err != nil {
		t.Fatal(err)
	}
	if string(info.Cmdline()) != "tail=1" {
		t.Errorf("Cmdline = %q", info.Cmdline())
	}
}

// mb1Case is a Multiboot1 error case: mutate corrupts a valid QEMU image.
type mb1Case struct {
	name    string
	mutate  func(im *mb1Image, b []byte) []byte
	want    Error
	wantOff uint64
}

func mb1ErrorCases() []mb1Case {
	const info = mb1InfoAddr
	return []mb1Case{
		{"cmdline too long", func(im *mb1Image, b []byte) []byte {
			copy(b[mb1CmdOff:], strings.Repeat("x", MaxCmdline+1))
			return b
		}, ErrCmdlineTooLong, info + mb1Cmdline},
		{"cmdline unterminated at end of memory", func(im *mb1Image, b []byte) []byte {
			copy(b[len(b)-10:], "0123456789")
			le32put(b, mb1Cmdline, uint32(mb1Base+len(b)-10))
			return b
		}, ErrUnreadable, info + mb1Cmdline},
		{"cmdline pointer unreadable", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1Cmdline, 0xdead0000)
			return b
		}, ErrUnreadable, info + mb1Cmdline},
		{"loader name too long", func(im *mb1Image, b []byte) []byte {
			copy(b[mb1NameOff:], strings.Repeat("x", MaxLoaderName+1))
			return b
		}, ErrLoaderNameTooLong, info + mb1LoaderName},
		{"loader name unreadable", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1LoaderName, 0xdead0000)
			return b
		}, ErrUnreadable, info + mb1LoaderName},
		{"too many modules", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1ModsCount, MaxModules+1)
			return b
		}, ErrTooManyModules, info + mb1ModsCount},
		{"huge mods_count", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1ModsCount, 0xffffffff)
			return b
		}, ErrTooManyModules, info + mb1ModsCount},
		{"module end before start", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1ModsOff+16+4, 0x100)
			return b
		}, ErrBadModule, mb1Base + mb1ModsOff + 16},
		{"module string too long", func(im *mb1Image, b []byte) []byte {
			copy(b[mb1MStrOff:], strings.Repeat("x", MaxModCmdline+1))
			return b
		}, ErrModCmdlineTooLong, mb1Base + mb1ModsOff},
		{"module list unreadable", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1ModsAddr, 0xdead0000)
			return b
		}, ErrUnreadable, 0xdead0000},
		{"module string unreadable", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1ModsOff+8, 0xdead0000)
			return b
		}, ErrUnreadable, mb1Base + mb1ModsOff},
		{"mmap too large", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1MmapLength, 64<<10+1)
			return b
		}, ErrMemoryMapTooLarge, info + mb1MmapLength},
		{"mmap unreadable", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1MmapAddr, 0xdead0000)
			return b
		}, ErrUnreadable, 0xdead0000},
		{"mmap entry size too small", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1MmapOff+24, 19)
			return b
		}, ErrBadMemoryMap, mb1Base + mb1MmapOff + 24},
		{"mmap entry size past length", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1MmapOff+24, 0x10000)
			return b
		}, ErrBadMemoryMap, mb1Base + mb1MmapOff + 24},
		{"mmap length cuts entry", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1MmapLength, 24+23)
			return b
		}, ErrBadMemoryMap, mb1Base + mb1MmapOff + 24},
		{"mmap region overflow", func(im *mb1Image, b []byte) []byte {
			le64put(b, mb1MmapOff+4, 0xffffffffffff0000)
			le64put(b, mb1MmapOff+12, 0x10000)
			return b
		}, ErrRegionOverflow, mb1Base + mb1MmapOff},
		{"too many regions", func(im *mb1Image, b []byte) []byte {
			n := MaxRegions + 1
			for k := 0; k < n; k++ {
				o := mb1MmapOff + 24*k
				le32put(b, o, 20)
				le64put(b, o+4, uint64(k)<<12)
				le64put(b, o+12, 1<<12)
				le32put(b, o+20, 1)
			}
			le32put(b, mb1MmapLength, uint32(24*n))
			return b
		}, ErrTooManyRegions, mb1Base + mb1MmapOff + 24*MaxRegions},
		{"no memory information", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1Flags, mb1FlagCmd)
			return b
		}, ErrNoMemoryMap, 0},
		{"basic mem all zero", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1Flags, mb1FlagMem)
			le32put(b, mb1MemLower, 0)
			le32put(b, mb1MemUpper, 0)
			return b
		}, ErrNoMemoryMap, 0},
		{"info truncated before loader name field", func(im *mb1Image, b []byte) []byte {
			le32put(b, mb1Flags, mb1FlagMem|mb1FlagLoader)
			return b[:mb1LoaderName+2]
		}, ErrUnreadable, info + mb1LoaderName},
		{"info truncated before mem fields", func(im *mb1Image, b []byte) []byte {
			return b[:mb1MemUpper]
		}, ErrUnreadable, info + mb1MemLower},
	}
}

func TestMB1Errors(t *testing.T) {
	for _, tc := range mb1ErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			im := qemuMB1()
			b := tc.mutate(im, im.build())
			var info Info
			err := Parse(Magic1, mb1InfoAddr, mem1(b), &info)
			if err != tc.want {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
			if info.ErrOffset != tc.wantOff {
				t.Errorf("ErrOffset = %#x, want %#x", info.ErrOffset, tc.wantOff)
			}
		})
	}
}

func TestCommonErrors(t *testing.T) {
	mem := mem1(qemuMB1().build())
	var info Info
	for _, tc := range []struct {
		name  string
		magic uint32
		addr  uint64
		want  Error
	}{
		{"bad magic", 0x1BADB002, mb1InfoAddr, ErrBadMagic},
		{"zero magic", 0, mb1InfoAddr, ErrBadMagic},
		{"mb1 null", Magic1, 0, ErrNullInfo},
		{"mb2 null", Magic2, 0, ErrNullInfo},
		{"mb1 unreadable", Magic1, 0xdead0000, ErrUnreadable},
		{"mb1 wraps", Magic1, ^uint64(0) - 64, ErrUnreadable},
		{"mb2 misaligned", Magic2, mb2Base + 4, ErrMisaligned},
		{"mb2 unreadable", Magic2, 0xdead0000, ErrUnreadable},
	} {
		if err := Parse(tc.magic, tc.addr, mem, &info); err != tc.want {
			t.Errorf("%s: Parse = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// ---------------------------------------------------------------------------
// Multiboot2 image builder.

const mb2Base = 0x10000

type mb2Builder struct{ b []byte }

func newMB2() *mb2Builder { return &mb2Builder{b: make([]byte, 8)} }

// tag appends a tag with the given payload (after type and size), padded to
// 8 bytes, and returns its offset.
func (m *mb2Builder) tag(typ uint32, payload []byte) int {
	off := len(m.b)
	h := make([]byte, 8)
	le32put(h, 0, typ)
	le32put(h, 4, uint32(8+len(payload)))
	m.b = append(m.b, h...)
	m.b = append(m.b, payload...)
	for len(m.b)%8 != 0 {
		m.b = append(m.b, 0)
	}
	return off
}

func (m *mb2Builder) str(typ uint32, s string) int { return m.tag(typ, append([]byte(s), 0)) }

func (m *mb2Builder) module(start, end uint32, s string) int {
	p := make([]byte, 8, 8+len(s)+1)
	le32put(p, 0, start)
	le32put(p, 4, end)
	p = append(p, s...)
	return m.tag(mb2TagModule, append(p, 0))
}

func (m *mb2Builder) basicMem(lower, upper uint32) int {
	p := make([]byte, 8)
	le32put(p, 0, lower)
	le32put(p, 4, upper)
	return m.tag(mb2TagBasicMem, p)
}

func (m *mb2Builder) mmap(esize uint32, regions ...Region) int {
	p := make([]byte, 8+int(esize)*len(regions))
	le32put(p, 0, esize)
	for k, r := range regions {
		var e [24]byte
		le64put(e[:], 0, r.Base)
		le64put(e[:], 8, r.Len)
		le32put(e[:], 16, r.Type)
		copy(p[8+int(esize)*k:], e[:min(int(esize), 24)])
	}
	return m.tag(mb2TagMmap, p)
}

func (m *mb2Builder) finish() []byte {
	m.tag(mb2TagEnd, nil)
	le32put(m.b, 0, uint32(len(m.b)))
	return m.b
}

func mem2(b []byte) *fakeMem { return &fakeMem{segs: []seg{{mb2Base, b}}} }

var grubRegions = []Region{
	{0, 0x9fc00, 1},
	{0x9fc00, 0x400, 2},
	{0xf0000, 0x10000, 2},
	{0x100000, 0x7fee0000, 1},
	{0x7ffe0000, 0x20000, 2},
	{0xfeffc000, 0x4000, 2},
	{0xfffc0000, 0x40000, 2},
	{0x100000000, 0x80000000, 1},
}

// grubMB2 resembles the tag list GRUB 2 passes, including tags Parse
// ignores (framebuffer, ELF sections, APM, load base address, EFI).
func grubMB2() (img []byte, offs map[string]int) {
	m := newMB2()
	offs = map[string]int{}
	offs["cmdline"] = m.str(mb2TagCmdline, "/boot/gozen.elf console=com1 hvmem=64M selftest")
	offs["loader"] = m.str(mb2TagLoader, "GRUB 2.12")
	offs["mod0"] = m.module(0x800000, 0x900000, "/boot/guest.bin name=guest0")
	offs["mod1"] = m.module(0x900000, 0x900010, "")
	offs["basicmem"] = m.basicMem(639, 2096000)
	m.tag(5, make([]byte, 12))  // BIOS boot device
	m.tag(21, make([]byte, 4))  // image load base
	m.tag(8, make([]byte, 24))  // framebuffer
	m.tag(9, make([]byte, 100)) // ELF sections
	offs["mmap"] = m.mmap(24, append(grubRegions, Region{0x200000000, 0, 1})...)
	rsdp := make([]byte, 20)
	copy(rsdp, "RSD PTR ")
	offs["acpi_old"] = m.tag(mb2TagACPIOld, rsdp)
	m.tag(10, make([]byte, 20)) // APM
	return m.finish(), offs
}

func TestMB2GRUB(t *testing.T) {
	img, offs := grubMB2()
	mem := mem2(img)
	var info Info
	if err := Parse(Magic2, mb2Base, mem, &info); err != nil {
		t.Fatalf("Parse: %v (ErrOffset %#x)", err, info.ErrOffset)
	}
	if info.Version != 2 || info.InfoAddr != mb2Base || info.InfoSize != uint64(len(img)) {
		t.Errorf("version/addr/size = %d/%#x/%d", info.Version, info.InfoAddr, info.InfoSize)
	}
	if got := string(info.Cmdline()); got != "/boot/gozen.elf console=com1 hvmem=64M selftest" {
		t.Errorf("Cmdline = %q", got)
	}
	if got := string(info.LoaderName()); got != "GRUB 2.12" {
		t.Errorf("LoaderName = %q", got)
	}
	if info.NModules != 2 ||
		info.Modules[0].Start != 0x800000 || info.Modules[0].End != 0x900000 ||
		string(info.Modules[0].Cmdline()) != "/boot/guest.bin name=guest0" ||
		info.Modules[1].Start != 0x900000 || info.Modules[1].End != 0x900010 ||
		len(info.Modules[1].Cmdline()) != 0 {
		t.Errorf("modules = %d %+v", info.NModules, info.Modules[:2])
	}
	if !info.HasBasicMem || info.MemLower != 639 || info.MemUpper != 2096000 {
		t.Errorf("basic mem = %v %d %d", info.HasBasicMem, info.MemLower, info.MemUpper)
	}
	if want := uint64(mb2Base + offs["acpi_old"] + 8); info.RSDP != want {
		t.Errorf("RSDP = %#x, want %#x", info.RSDP, want)
	}
	checkRegions(t, &info, grubRegions)
	if info.ErrOffset != 0 {
		t.Errorf("ErrOffset = %d on success", info.ErrOffset)
	}
	if mem.maxRead > stringChunk {
		t.Errorf("largest read %d bytes, want <= %d", mem.maxRead, stringChunk)
	}
}

func TestMB2Variants(t *testing.T) {
	var info Info

	t.Run("new RSDP preferred in any order", func(t *testing.T) {
		for _, newFirst := range []bool{false, true} {
			m := newMB2()
			m.basicMem(0, 1024)
			var newOff int
			if newFirst {
				newOff = m.tag(mb2TagACPINew, make([]byte, 36))
				m.tag(mb2TagACPIOld, make([]byte, 20))
			} else {
				m.tag(mb2TagACPIOld, make([]byte, 20))
				newOff = m.tag(mb2TagACPINew, make([]byte, 36))
			}
			if err := Parse(Magic2, mb2Base, mem2(m.finish()), &info); err != nil {
				t.Fatal(err)
			}
			if want := uint64(mb2Base + newOff + 8); info.RSDP != want {
				t.Errorf("newFirst=%v: RSDP = %#x, want %#x", newFirst, info.RSDP, want)
			}
		}
	})

	t.Run("basic mem fallback", func(t *testing.T) {
		m := newMB2()
		m.basicMem(640, 1<<20)
		if err := Parse(Magic2, mb2Base, mem2(m.finish()), &info); err != nil {
			t.Fatal(err)
		}
		checkRegions(t, &info, []Region{{0, 640 << 10, 1}, {1 << 20, 1 << 30, 1}})
	})

	t.Run("mmap with larger entry size, repeated tag replaces", func(t *testing.T) {
		m := newMB2()
		m.mmap(24, Region{0, 0x1000, 1})
		m.mmap(32, Region{0x1000, 0x2000, 1}, Region{0x4000, 0x1000, 12})
		if err := Parse(Magic2, mb2Base, mem2(m.finish()), &info); err != nil {
			t.Fatal(err)
		}
		checkRegions(t, &info, []Region{{0x1000, 0x2000, 1}, {0x4000, 0x1000, 2}})
		if info.HasBasicMem {
			t.Error("HasBasicMem set without tag 4")
		}
	})

	t.Run("empty strings and trailing bytes in tags", func(t *testing.T) {
		m := newMB2()
		m.str(mb2TagCmdline, "")
		m.tag(mb2TagLoader, []byte("ab\x00garbage"))
		m.basicMem(0, 1)
		if err := Parse(Magic2, mb2Base, mem2(m.finish()), &info); err != nil {
			t.Fatal(err)
		}
		if len(info.Cmdline()) != 0 || string(info.LoaderName()) != "ab" {
			t.Errorf("cmdline %q loader %q", info.Cmdline(), info.LoaderName())
		}
	})

	t.Run("strings at exact limits", func(t *testing.T) {
		m := newMB2()
		m.str(mb2TagCmdline, strings.Repeat("c", MaxCmdline))
		m.str(mb2TagLoader, strings.Repeat("l", MaxLoaderName))
		m.module(0, 0, strings.Repeat("m", MaxModCmdline))
		m.basicMem(0, 1)
		if err := Parse(Magic2, mb2Base, mem2(m.finish()), &info); err != nil {
			t.Fatal(err)
		}
		if len(info.Cmdline()) != MaxCmdline || len(info.LoaderName()) != MaxLoaderName || len(info.Modules[0].Cmdline()) != MaxModCmdline {
			t.Errorf("lengths %d %d %d", len(info.Cmdline()), len(info.LoaderName()), len(info.Modules[0].Cmdline()))
		}
	})

	t.Run("exactly MaxModules and MaxRegions", func(t *testing.T) {
		m := newMB2()
		for k := 0; k < MaxModules; k++ {
			m.module(uint32(k)<<12, uint32(k+1)<<12, "m")
		}
		rs := make([]Region, MaxRegions)
		for k := range rs {
			rs[k] = Region{uint64(k) << 12, 1 << 12, 1}
		}
		m.mmap(24, rs...)
		if err := Parse(Magic2, mb2Base, mem2(m.finish()), &info); err != nil {
			t.Fatal(err)
		}
		if info.NModules != MaxModules || info.NRegions != MaxRegions {
			t.Errorf("NModules %d NRegions %d", info.NModules, info.NRegions)
		}
	})

	t.Run("bytes after end tag ignored", func(t *testing.T) {
		m := newMB2()
		m.basicMem(0, 1)
		img := m.finish()
		img = append(img, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		le32put(img, 0, uint32(len(img)))
		if err := Parse(Magic2, mb2Base, mem2(img), &info); err != nil {
			t.Fatal(err)
		}
	})
}

type mb2Case struct {
	name    string
	build   func() []byte
	want    Error
	wantOff uint64 // byte offset
}

func mb2ErrorCases() []mb2Case {
	// setSize overwrites the size of the tag at off.
	setSize := func(b []byte, off int, size uint32) []byte { le32put(b, off+4, size); return b }
	return []mb2Case{
		{"total_size 0", func() []byte { b, _ := grubMB2(); le32put(b, 0, 0); return b }, ErrBadTotalSize, 0},
		{"total_size 15", func() []byte { b, _ := grubMB2(); le32put(b, 0, 15); return b }, ErrBadTotalSize, 0},
		{"total_size > 1MiB", func() []byte { b, _ := grubMB2(); le32put(b, 0, 1<<20+8); return b }, ErrBadTotalSize, 0},
		{"total_size past readable memory", func() []byte {
			b, _ := grubMB2()
			le32put(b, 0, uint32(len(b)+64))
			// The end tag is reached before the unreadable part.
			return b
		}, 0, 0},
		{"no end tag", func() []byte {
			m := newMB2()
			m.basicMem(0, 1)
			le32put(m.b, 0, uint32(len(m.b)))
			return m.b
		}, ErrNoEndTag, 24},
		{"no end tag, padding overshoot", func() []byte {
			m := newMB2()
			m.basicMem(0, 1)
			m.tag(99, make([]byte, 1))
			le32put(m.b, 0, uint32(len(m.b)-7)) // tag fits, its padding does not
			return m.b
		}, ErrNoEndTag, 40},
		{"tag size 0", func() []byte { b, o := grubMB2(); return setSize(b, o["basicmem"], 0) }, ErrBadTag, 0},
		{"tag size 7", func() []byte { b, o := grubMB2(); return setSize(b, o["loader"], 7) }, ErrBadTag, 0},
		{"tag size huge", func() []byte { b, o := grubMB2(); return setSize(b, o["mmap"], 0xfffffff8) }, ErrTruncated, 0},
		{"tag size one past total", func() []byte {
			b, o := grubMB2()
			return setSize(b, o["acpi_old"], uint32(len(b)-o["acpi_old"]+1))
		}, ErrTruncated, 0},
		{"end tag size 16", func() []byte {
			b, _ := grubMB2()
			b = append(b, make([]byte, 8)...)
			le32put(b, 0, uint32(len(b)))
			return setSize(b, len(b)-16, 16)
		}, ErrBadTag, 0},
		{"module tag too small", func() []byte { b, o := grubMB2(); return setSize(b, o["mod0"], 15) }, ErrBadTag, 0},
		{"basic mem tag too small", func() []byte { b, o := grubMB2(); return setSize(b, o["basicmem"], 12) }, ErrBadTag, 0},
		{"mmap tag too small", func() []byte { b, o := grubMB2(); return setSize(b, o["mmap"], 12) }, ErrBadTag, 0},
		{"old RSDP too small", func() []byte { b, o := grubMB2(); return setSize(b, o["acpi_old"], 27) }, ErrBadTag, 0},
		{"new RSDP too small", func() []byte {
			m := newMB2()
			m.basicMem(0, 1)
			m.tag(mb2TagACPINew, make([]byte, 20))
			return m.finish()
		}, ErrBadTag, 24},
		{"cmdline unterminated", func() []byte {
			m := newMB2()
			m.tag(mb2TagCmdline, []byte("abcdefgh"))
			m.basicMem(0, 1)
			return m.finish()
		}, ErrUnterminated, 8},
		{"cmdline empty tag", func() []byte {
			m := newMB2()
			m.tag(mb2TagCmdline, nil)
			m.basicMem(0, 1)
			return m.finish()
		}, ErrUnterminated, 8},
		{"loader unterminated (size excludes NUL)", func() []byte {
			b, o := grubMB2()
			return setSize(b, o["loader"], 8+9)
		}, ErrUnterminated, 0},
		{"module string unterminated", func() []byte {
			b, o := grubMB2()
			return setSize(b, o["mod1"], 16)
		}, ErrUnterminated, 0},
		{"cmdline too long", func() []byte {
			m := newMB2()
			m.str(mb2TagCmdline, strings.Repeat("x", MaxCmdline+1))
			return m.finish()
		}, ErrCmdlineTooLong, 8},
		{"loader too long", func() []byte {
			m := newMB2()
			m.str(mb2TagLoader, strings.Repeat("x", MaxLoaderName+1))
			return m.finish()
		}, ErrLoaderNameTooLong, 8},
		{"module string too long", func() []byte {
			m := newMB2()
			m.module(0, 0, strings.Repeat("x", MaxModCmdline+1))
			return m.finish()
		}, ErrModCmdlineTooLong, 8},
		{"module end before start", func() []byte {
			m := newMB2()
			m.module(0x2000, 0x1fff, "")
			return m.finish()
		}, ErrBadModule, 8},
		{"too many modules", func() []byte {
			m := newMB2()
			for k := 0; k <= MaxModules; k++ {
				m.module(0, 0, "")
			}
			return m.finish()
		}, ErrTooManyModules, 8 + 24*MaxModules},
		{"mmap entry_size 16", func() []byte {
			m := newMB2()
			m.mmap(16, Region{0, 0x1000, 1})
			return m.finish()
		}, ErrBadMemoryMap, 8},
		{"mmap entry_size 28", func() []byte {
			m := newMB2()
			m.mmap(28, Region{0, 0x1000, 1}, Region{0x1000, 0x1000, 1})
			return m.finish()
		}, ErrBadMemoryMap, 8},
		{"mmap entry_size 0", func() []byte {
			m := newMB2()
			m.mmap(0)
			return m.finish()
		}, ErrBadMemoryMap, 8},
		{"mmap partial entry", func() []byte {
			m := newMB2()
			o := m.mmap(24, Region{0, 0x1000, 1}, Region{0x1000, 0x1000, 1})
			le32put(m.b, o+4, 16+24+8)
			return m.finish()
		}, ErrBadMemoryMap, 8},
		{"mmap region overflow", func() []byte {
			m := newMB2()
			m.mmap(24, Region{0, 0x1000, 1}, Region{^uint64(0), 2, 1})
			return m.finish()
		}, ErrRegionOverflow, 8 + 16 + 24},
		{"too many regions", func() []byte {
			m := newMB2()
			rs := make([]Region, MaxRegions+1)
			for k := range rs {
				rs[k] = Region{uint64(k) << 12, 1 << 12, 1}
			}
			m.mmap(24, rs...)
			return m.finish()
		}, ErrTooManyRegions, 8 + 16 + 24*MaxRegions},
		{"no memory map", func() []byte {
			m := newMB2()
			m.str(mb2TagCmdline, "x")
			return m.finish()
		}, ErrNoMemoryMap, 0},
		{"only empty regions, no basic mem", func() []byte {
			m := newMB2()
			m.mmap(24, Region{0, 0, 1})
			return m.finish()
		}, ErrNoMemoryMap, 0},
	}
}

func TestMB2Errors(t *testing.T) {
	for _, tc := range mb2ErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build()
			var info Info
			err := Parse(Magic2, mb2Base, mem2(b), &info)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("Parse = %v, want success", err)
				}
				return
			}
			if err != tc.want {
				t.Fatalf("Parse = %v, want %v (ErrOffset %d)", err, tc.want, info.ErrOffset)
			}
			if tc.wantOff != 0 && info.ErrOffset != tc.wantOff {
				t.Errorf("ErrOffset = %d, want %d", info.ErrOffset, tc.wantOff)
			}
		})
	}
}

// TestMB2ErrOffsetTag checks that tag errors in the GRUB image report the
// offset of the offending tag.
func TestMB2ErrOffsetTag(t *testing.T) {
	for _, name := range []string{"cmdline", "loader", "mod0", "mod1", "basicmem", "mmap", "acpi_old"} {
		b, o := grubMB2()
		le32put(b, o[name]+4, 4)
		var info Info
		if err := Parse(Magic2, mb2Base, mem2(b), &info); err != ErrBadTag || info.ErrOffset != uint64(o[name]) {
			t.Errorf("%s: Parse = %v at %d, want %v at %d", name, err, info.ErrOffset, ErrBadTag, o[name])
		}
	}
}

// TestMB2TruncatedMemory cuts the readable memory after every byte offset:
// every prefix must fail cleanly.
func TestMB2TruncatedMemory(t *testing.T) {
	img, _ := grubMB2()
	var info Info
	for cut := 0; cut < len(img); cut++ {
		err := Parse(Magic2, mb2Base, mem2(img[:cut:cut]), &info)
		if err == nil {
			t.Fatalf("cut at %d: Parse succeeded", cut)
		}
		if err != ErrUnreadable {
			t.Errorf("cut at %d: Parse = %v, want %v", cut, err, ErrUnreadable)
		}
	}
}

// TestMB2TotalSizes claims every total_size smaller than the real one: each
// must fail with a total_size/tag-bounds error, never read past total_size.
func TestMB2TotalSizes(t *testing.T) {
	img, _ := grubMB2()
	var info Info
	for ts := 0; ts < len(img); ts++ {
		b := append([]byte(nil), img...)
		le32put(b, 0, uint32(ts))
		// Only total_size bytes are readable (rounded to cover headers).
		mem := mem2(b[:max(ts, 8)])
		err := Parse(Magic2, mb2Base, mem, &info)
		switch {
		case ts < 16:
			if err != ErrBadTotalSize {
				t.Errorf("total_size %d: Parse = %v, want %v", ts, err, ErrBadTotalSize)
			}
		default:
			if err != ErrTruncated && err != ErrNoEndTag {
				t.Errorf("total_size %d: Parse = %v, want %v or %v", ts, err, ErrTruncated, ErrNoEndTag)
			}
		}
	}
}

// TestMB2GarbledSizes sets every tag's size field to a range of bad values.
func TestMB2GarbledSizes(t *testing.T) {
	_, offs := grubMB2()
	var info Info
	for name, off := range offs {
		for _, size := range []uint32{0, 1, 4, 7, 9, 0x7fffffff, 0x80000000, 0xffffffff} {
			b, _ := grubMB2()
			le32put(b, off+4, size)
			if err := Parse(Magic2, mb2Base, mem2(b), &info); err == nil {
				// Shrinking to 9 bytes may legitimately parse for tags
				// whose data still validates; none of these do.
				t.Errorf("%s size %d: Parse succeeded", name, size)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Error strings and accessors.

func TestErrorStrings(t *testing.T) {
	seen := map[string]Error{}
	for e := ErrBadMagic; e <= ErrRegionOverflow; e++ {
		s := e.Error()
		if s == "" || s == Error(0).Error() {
			t.Errorf("Error(%d) has no message", e)
		}
		if !strings.HasPrefix(s, "multiboot") {
			t.Errorf("Error(%d) = %q lacks package prefix", e, s)
		}
		if o, dup := seen[s]; dup {
			t.Errorf("Error(%d) and Error(%d) share message %q", e, o, s)
		}
		seen[s] = e
	}
	if Error(0).Error() != "multiboot: unknown error" {
		t.Errorf("Error(0) = %q", Error(0).Error())
	}
}

func TestCmdlineNoAlias(t *testing.T) {
	// The accessors return slices capped at their length so appending to
	// them cannot overwrite the arrays.
	img, _ := grubMB2()
	var info Info
	if err := Parse(Magic2, mb2Base, mem2(img), &info); err != nil {
		t.Fatal(err)
	}
	c := info.Cmdline()
	_ = append(c, 'X')
	if info.cmdline[len(c)] == 'X' {
		t.Error("append to Cmdline() wrote into Info")
	}
	if !bytes.Equal(info.Cmdline(), c) {
		t.Error("Cmdline changed")
	}
}

// ---------------------------------------------------------------------------
// Allocation tests.

func TestParseAllocs(t *testing.T) {
	type run struct {
		name  string
		magic uint32
		addr  uint64
		mem   Memory
		ok    bool
	}
	var runs []run
	runs = append(runs, run{"mb1 qemu", Magic1, mb1InfoAddr, mem1(qemuMB1().build()), true})
	img2, _ := grubMB2()
	runs = append(runs, run{"mb2 grub", Magic2, mb2Base, mem2(img2), true})
	for _, tc := range mb1ErrorCases() {
		im := qemuMB1()
		runs = append(runs, run{"mb1 " + tc.name, Magic1, mb1InfoAddr, mem1(tc.mutate(im, im.build())), false})
	}
	for _, tc := range mb2ErrorCases() {
		runs = append(runs, run{"mb2 " + tc.name, Magic2, mb2Base, mem2(tc.build()), tc.want == 0})
	}
	runs = append(runs,
		run{"bad magic", 1, mb2Base, mem2(img2), false},
		run{"null", Magic2, 0, mem2(img2), false},
		run{"misaligned", Magic2, mb2Base + 1, mem2(img2), false},
		run{"truncated", Magic2, mb2Base, mem2(img2[:len(img2)-1]), false},
	)

	info := new(Info)
	for _, r := range runs {
		var err error
		allocs := testing.AllocsPerRun(20, func() {
			err = Parse(r.magic, r.addr, r.mem, info)
		})
		if (err == nil) != r.ok {
			t.Errorf("%s: Parse = %v, want ok=%v", r.name, err, r.ok)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Parse, want 0", r.name, allocs)
		}
	}
}

// ---------------------------------------------------------------------------
// Fuzzing.

// checkInvariants verifies the structural guarantees of a successful Parse.
func checkInvariants(t *testing.T, info *Info) {
	t.Helper()
	if info.NRegions < 1 || info.NRegions > MaxRegions || info.NModules < 0 || info.NModules > MaxModules {
		t.Fatalf("counts out of range: %d regions, %d modules", info.NRegions, info.NModules)
	}
	for _, r := range info.Regions[:info.NRegions] {
		if r.Len == 0 || r.Base+r.Len < r.Base || r.Type < 1 || r.Type > 5 {
			t.Fatalf("bad region %+v", r)
		}
	}
	for k := range info.Modules[:info.NModules] {
		m := &info.Modules[k]
		if m.End < m.Start || len(m.Cmdline()) > MaxModCmdline || bytes.IndexByte(m.Cmdline(), 0) >= 0 {
			t.Fatalf("bad module %d", k)
		}
	}
	if bytes.IndexByte(info.Cmdline(), 0) >= 0 || bytes.IndexByte(info.LoaderName(), 0) >= 0 {
		t.Fatal("NUL inside string")
	}
}

func FuzzParseMB2(f *testing.F) {
	img, _ := grubMB2()
	f.Add(img)
	for _, tc := range mb2ErrorCases() {
		f.Add(tc.build())
	}
	m := newMB2()
	m.mmap(32, Region{0, 0x1000, 1})
	m.tag(mb2TagACPINew, make([]byte, 36))
	f.Add(m.finish())
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := mem2(data)
		var info Info
		err := Parse(Magic2, mb2Base, mem, &info)
		if mem.maxRead > stringChunk {
			t.Fatalf("read of %d bytes", mem.maxRead)
		}
		if err != nil {
			if _, ok := err.(Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if info.InfoSize < 16 || info.InfoSize > 1<<20 {
			t.Fatalf("InfoSize %d", info.InfoSize)
		}
		if info.RSDP != 0 && (info.RSDP < mb2Base+16 || info.RSDP >= mb2Base+info.InfoSize) {
			t.Fatalf("RSDP %#x outside info", info.RSDP)
		}
		checkInvariants(t, &info)
	})
}

func FuzzParseMB1(f *testing.F) {
	f.Add(qemuMB1().build(), uint16(0))
	for _, tc := range mb1ErrorCases() {
		im := qemuMB1()
		f.Add(tc.mutate(im, im.build()), uint16(0))
	}
	f.Add((&mb1Image{flags: mb1FlagMem, memUpper: 1}).build(), uint16(0))
	// data is the physical memory at mb1Base; infoOff places the
	// multiboot_info structure inside it. Pointers in the structure that
	// fall outside data are unreadable.
	f.Fuzz(func(t *testing.T, data []byte, infoOff uint16) {
		mem := mem1(data)
		var info Info
		err := Parse(Magic1, mb1Base+uint64(infoOff), mem, &info)
		if mem.maxRead > stringChunk {
			t.Fatalf("read of %d bytes", mem.maxRead)
		}
		if err != nil {
			if _, ok := err.(Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		checkInvariants(t, &info)
	})
}
