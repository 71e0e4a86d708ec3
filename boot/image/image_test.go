package image

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"gozen/boot/layout"
)

// The synthetic program used by the tests, laid out as the Go linker lays out
// hv (all addresses are fixed so expectations can be written as literals):
//
//	0x400000 text RX   (ELF headers in the first page, .text from 0x401000), 0x2A00 bytes
//	0x403000 rodata R  0x1800 bytes
//	0x405000 data RW   0x900 bytes of file, 0x3100 in memory (bss after)
const (
	testBase      = 0x400000
	testTextStart = 0x401000
	testTextSize  = 0x2A00
	testRodata    = 0x403000
	testRodataSz  = 0x1800
	testData      = 0x405000
	testDataFile  = 0x900
	testDataMem   = 0x3100
	testEntry     = 0x401100 // _rt0_amd64_linux
	testEntry64   = 0x401234 // rt.entry64
	testLayoutSym = 0x405100 // rt.imageLayout, in .data

	// Derived layout.
	testFileEnd    = testData + testDataFile   // 0x405900
	testTextEnd    = 0x403000                  // 0x402A00 rounded up
	testRodataEnd  = 0x405000                  // 0x404800 rounded up
	testBssEnd     = testData + testDataMem    // 0x408100
	testStubTables = 0x409000                  // BssEnd rounded up
	testImageEnd   = testStubTables + 6*0x1000 // 0x40F000
)

// fill returns n bytes of a pattern that differs per segment (seed) and
// contains no zero bytes, so misplaced or missing copies show up.
func fill(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)
		if b[i] == 0 {
			b[i] = 0xFF
		}
	}
	return b
}

// testProgram returns a fresh synthetic program; callers may modify it.
func testProgram() Program {
	text := fill(0x10, testTextSize)
	rodata := fill(0x50, testRodataSz)
	data := fill(0x90, testDataFile)
	binary.LittleEndian.PutUint64(data[testLayoutSym-testData:], layout.Unpatched)
	return Program{
		Segments: []Segment{
			{Vaddr: testBase, Data: text, Memsz: testTextSize, Exec: true},
			{Vaddr: testRodata, Data: rodata, Memsz: testRodataSz},
			{Vaddr: testData, Data: data, Memsz: testDataMem, Write: true},
		},
		Entry:     testEntry,
		Entry64:   testEntry64,
		LayoutSym: testLayoutSym,
		TextStart: testTextStart,
	}
}

// buildTest builds the synthetic program and fails the test on error.
func buildTest(t *testing.T) ([]byte, layout.Layout, Program) {
	t.Helper()
	p := testProgram()
	img, l, err := Build(p)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return img, l, p
}

func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

func TestBuildImageSizeIsFileBackedPart(t *testing.T) {
	img, _, _ := buildTest(t)
	if want := testFileEnd - testBase; len(img) != want {
		t.Fatalf("image is %#x bytes, want %#x (base to end of .data's file contents)", len(img), want)
	}
}

func TestBuildLayout(t *testing.T) {
	_, l, _ := buildTest(t)
	want := layout.Layout{
		Magic:        layout.Patched,
		ImageStart:   testBase,
		TextEnd:      testTextEnd,
		RodataStart:  testRodata,
		RodataEnd:    testRodataEnd,
		DataStart:    testData,
		BssEnd:       testBssEnd,
		StubTables:   testStubTables,
		ImageEnd:     testImageEnd,
		RuntimeEntry: testEntry,
		StubEntry:    testBase + OffStub,
	}
	if l != want {
		t.Errorf("layout:\n got %#v\nwant %#v", l, want)
	}
	for name, v := range map[string]uint64{"TextEnd": l.TextEnd, "RodataEnd": l.RodataEnd, "StubTables": l.StubTables} {
		if v%pageSize != 0 {
			t.Errorf("%s = %#x is not page aligned", name, v)
		}
	}
	if l.StubTables < l.BssEnd || l.StubTables-l.BssEnd >= pageSize {
		t.Errorf("StubTables %#x is not the first page boundary at or after BssEnd %#x", l.StubTables, l.BssEnd)
	}
	if l.ImageEnd != l.StubTables+layout.StubTablePages*pageSize {
		t.Errorf("ImageEnd %#x, want StubTables + %d pages", l.ImageEnd, layout.StubTablePages)
	}
}

func TestBuildStubTablesStartRightAtPageAlignedBssEnd(t *testing.T) {
	p := testProgram()
	p.Segments[2].Memsz = 0x3000 // bss ends exactly on a page boundary
	_, l, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if l.StubTables != testData+0x3000 {
		t.Errorf("StubTables = %#x, want %#x (no gap after a page-aligned bss end)", l.StubTables, testData+0x3000)
	}
}

// Multiboot Specification 0.6.96, §3.1.1-§3.1.3.
func TestMultiboot1Header(t *testing.T) {
	img, l, _ := buildTest(t)
	off := -1
	for o := 0; o+12 <= 8192 && o+12 <= len(img); o += 4 {
		if u32(img, o) == MB1HeaderMagic {
			off = o
			break
		}
	}
	if off != OffMB1 {
		t.Fatalf("first multiboot1 magic at %d, want %d (4-byte aligned in the first 8192 bytes)", off, OffMB1)
	}
	magic, flags, sum := u32(img, off), u32(img, off+4), u32(img, off+8)
	if flags != 1<<0|1<<1|1<<16 {
		t.Errorf("flags = %#x, want page-aligned modules, memory info, address fields (0x10003)", flags)
	}
	if magic+flags+sum != 0 {
		t.Errorf("magic+flags+checksum = %#x, want 0", magic+flags+sum)
	}
	headerAddr, loadAddr := u32(img, off+12), u32(img, off+16)
	loadEnd, bssEnd, entry := u32(img, off+20), u32(img, off+24), u32(img, off+28)
	// header_addr - load_addr is the header's offset in the file (§3.1.3).
	if headerAddr != testBase+OffMB1 || headerAddr < loadAddr || int(headerAddr-loadAddr) != off {
		t.Errorf("header_addr = %#x, load_addr = %#x: header is at file offset %#x", headerAddr, loadAddr, off)
	}
	if loadAddr != testBase {
		t.Errorf("load_addr = %#x, want %#x", loadAddr, testBase)
	}
	// load_end_addr - load_addr bytes are loaded from the file.
	if loadEnd != testFileEnd || int(loadEnd-loadAddr) != len(img) {
		t.Errorf("load_end_addr = %#x, want %#x (load_addr + file size %#x)", loadEnd, testFileEnd, len(img))
	}
	// bss_end_addr: the loader zeroes [load_end_addr, bss_end_addr): bss and the stub tables.
	if bssEnd != testImageEnd || uint64(bssEnd) != l.ImageEnd || bssEnd < loadEnd {
		t.Errorf("bss_end_addr = %#x, want ImageEnd %#x", bssEnd, testImageEnd)
	}
	if entry != testBase+OffStub {
		t.Errorf("entry_addr = %#x, want the stub at %#x", entry, testBase+OffStub)
	}
}

// Multiboot2 Specification 2.0, §3.1.
func TestMultiboot2Header(t *testing.T) {
	img, _, _ := buildTest(t)
	off := -1
	for o := 0; o+16 <= 32768 && o+16 <= len(img); o += 8 {
		if u32(img, o) == MB2HeaderMagic {
			off = o
			break
		}
	}
	if off != OffMB2 {
		t.Fatalf("first multiboot2 magic at %d, want %d (8-byte aligned in the first 32768 bytes)", off, OffMB2)
	}
	magic, arch, length, sum := u32(img, off), u32(img, off+4), u32(img, off+8), u32(img, off+12)
	if arch != 0 {
		t.Errorf("architecture = %d, want 0 (i386 protected mode)", arch)
	}
	if magic+arch+length+sum != 0 {
		t.Errorf("magic+architecture+header_length+checksum = %#x, want 0", magic+arch+length+sum)
	}

	type tag struct {
		off       int // offset from the header start
		typ, flag uint16
		size      uint32
	}
	var tags []tag
	o := 16
	for {
		if o%8 != 0 {
			t.Fatalf("tag at header offset %d is not 8-byte aligned", o)
		}
		tg := tag{o, u16(img, off+o), u16(img, off+o+2), u32(img, off+o+4)}
		tags = append(tags, tg)
		if tg.size < 8 {
			t.Fatalf("tag %+v: size below 8", tg)
		}
		o += int(alignUp(uint64(tg.size), 8))
		if tg.typ == 0 {
			break
		}
		if o >= OffGDT-OffMB2 {
			t.Fatalf("no end tag before the GDT")
		}
	}
	if int(length) != o || length != MB2HeaderLen {
		t.Errorf("header_length = %d, MB2HeaderLen = %d; tags up to and including the end tag take %d bytes", length, MB2HeaderLen, o)
	}
	if off+o > OffGDT {
		t.Errorf("multiboot2 header runs into the GDT at %#x", OffGDT)
	}

	wantTags := []tag{
		{16, 2, 0, 24}, // address
		{40, 3, 0, 12}, // entry address (padded to 16)
		{56, 6, 0, 8},  // module alignment
		{64, 0, 0, 8},  // end
	}
	if len(tags) != len(wantTags) {
		t.Fatalf("tags = %+v, want %+v", tags, wantTags)
	}
	for i := range tags {
		if tags[i] != wantTags[i] {
			t.Errorf("tag %d = %+v, want %+v", i, tags[i], wantTags[i])
		}
	}

	addr := off + 16
	if got := u32(img, addr+8); got != testBase+OffMB2 {
		t.Errorf("address tag header_addr = %#x, want %#x (where the multiboot2 magic is loaded)", got, testBase+OffMB2)
	}
	if got := u32(img, addr+12); got != testBase {
		t.Errorf("address tag load_addr = %#x, want %#x", got, testBase)
	}
	if got := u32(img, addr+16); got != testFileEnd {
		t.Errorf("address tag load_end_addr = %#x, want %#x", got, testFileEnd)
	}
	if got := u32(img, addr+20); got != testImageEnd {
		t.Errorf("address tag bss_end_addr = %#x, want %#x", got, testImageEnd)
	}
	if got := u32(img, off+40+8); got != testBase+OffStub {
		t.Errorf("entry tag entry_addr = %#x, want %#x", got, testBase+OffStub)
	}
	if pad := img[off+40+12 : off+56]; !bytes.Equal(pad, make([]byte, 4)) {
		t.Errorf("entry tag padding = % x, want zeros", pad)
	}
}

func TestGDT(t *testing.T) {
	img, _, _ := buildTest(t)
	want := []struct {
		name string
		desc uint64
	}{
		{"null", 0},
		{"0x08 code: present, DPL 0, execute/read, L=1, D=0, G=1", 0x00AF9A000000FFFF},
		{"0x10 data: present, DPL 0, read/write, D/B=1, G=1", 0x00CF92000000FFFF},
	}
	for i, w := range want {
		if got := u64(img, OffGDT+8*i); got != w.desc {
			t.Errorf("GDT[%d] = %#016x, want %#016x (%s)", i, got, w.desc, w.name)
		}
	}
	// Decode the code descriptor's flags to document what the constant means.
	code := u64(img, OffGDT+8)
	access, flags := byte(code>>40), byte(code>>52)
	if access&0x80 == 0 || access&0x18 != 0x18 || access&0x60 != 0 {
		t.Errorf("code descriptor access byte %#x: want present, code, DPL 0", access)
	}
	if flags&0x2 == 0 || flags&0x4 != 0 {
		t.Errorf("code descriptor flags %#x: want L=1, D=0 (64-bit)", flags)
	}
	if OffGDTR%2 != 0 || OffGDTR < OffGDT+3*8 {
		t.Errorf("GDTR at %#x overlaps the GDT or is misaligned", OffGDTR)
	}
	if limit := u16(img, OffGDTR); limit != 3*8-1 {
		t.Errorf("GDTR limit = %d, want %d", limit, 3*8-1)
	}
	if gdtBase := u32(img, OffGDTR+2); gdtBase != testBase+OffGDT {
		t.Errorf("GDTR base = %#x, want %#x", gdtBase, testBase+OffGDT)
	}
}

func TestFirstPageLayout(t *testing.T) {
	img, _, _ := buildTest(t)
	// The regions must not overlap each other.
	if OffMB1+32 > OffMB2 || OffMB2+MB2HeaderLen > OffGDT || OffGDTR+6 > OffMagicSlot ||
		OffMagicSlot+4 > OffInfoSlot || OffInfoSlot+4 > OffMessages || OffMessages+len(messages) > OffStub {
		t.Errorf("first-page regions overlap")
	}
	if got := img[OffMessages : OffMessages+len(messages)]; !bytes.Equal(got, messages) {
		t.Errorf("messages at %#x = %q, want %q", OffMessages, got, messages)
	}
	for _, m := range []string{msgNoLM, msgNoNX} {
		if !strings.HasSuffix(m, "\x00") || strings.Count(m, "\x00") != 1 {
			t.Errorf("message %q must be NUL-terminated exactly once", m)
		}
	}
	// The loader's EAX/EBX slots start zeroed, and the ELF headers that were
	// in the first page are gone: everything after the stub is zero.
	if got := img[OffMagicSlot : OffInfoSlot+4]; !bytes.Equal(got, make([]byte, 8)) {
		t.Errorf("magic/info slots = % x, want zeros", got)
	}
	stub := stubBytes(t, img)
	for i := OffStub + len(stub); i < StubLimit; i++ {
		if img[i] != 0 {
			t.Fatalf("byte %#x after the stub = %#x, want 0 (ELF header left over?)", i, img[i])
		}
	}
}

func TestSegmentsCopied(t *testing.T) {
	img, _, p := buildTest(t)
	text, rodata, data := p.Segments[0], p.Segments[1], p.Segments[2]
	// The first page of the text segment is replaced by the headers and stub.
	if got, want := img[StubLimit:testTextSize], text.Data[StubLimit:]; !bytes.Equal(got, want) {
		t.Errorf("text segment after the first page not copied at offset %#x", StubLimit)
	}
	if got := img[testTextSize : testRodata-testBase]; !bytes.Equal(got, make([]byte, len(got))) {
		t.Errorf("gap between text and rodata is not zero")
	}
	if got := img[testRodata-testBase : testRodata-testBase+testRodataSz]; !bytes.Equal(got, rodata.Data) {
		t.Errorf("rodata segment not copied at offset %#x", testRodata-testBase)
	}
	if got := img[testRodataSz+testRodata-testBase : testData-testBase]; !bytes.Equal(got, make([]byte, len(got))) {
		t.Errorf("gap between rodata and data is not zero")
	}
	// Data, except the patched layout variable.
	d := img[testData-testBase:]
	lo, hi := testLayoutSym-testData, testLayoutSym-testData+8*layout.NumFields
	if !bytes.Equal(d[:lo], data.Data[:lo]) || !bytes.Equal(d[hi:], data.Data[hi:]) {
		t.Errorf("data segment not copied at offset %#x", testData-testBase)
	}
	// Build must not modify the program's data.
	if u64(data.Data, lo) != layout.Unpatched {
		t.Errorf("Build patched the caller's segment data")
	}
}

func TestLayoutPatchedAtSymbol(t *testing.T) {
	img, l, _ := buildTest(t)
	var got layout.Layout
	r := bytes.NewReader(img[testLayoutSym-testBase:])
	if err := binary.Read(r, binary.LittleEndian, &got); err != nil {
		t.Fatal(err)
	}
	if got.Magic != layout.Patched {
		t.Errorf("magic = %#x, want layout.Patched", got.Magic)
	}
	if got != l {
		t.Errorf("layout in image:\n got %#v\nwant %#v", got, l)
	}
	if binary.Size(got) != 8*layout.NumFields {
		t.Errorf("layout.Layout is %d bytes, want %d", binary.Size(got), 8*layout.NumFields)
	}
	// Field order, spelled out: the runtime reads by offset.
	off := testLayoutSym - testBase
	fields := []uint64{layout.Patched, testBase, testTextEnd, testRodata, testRodataEnd, testData,
		testBssEnd, testStubTables, testImageEnd, testEntry, testBase + OffStub}
	for i, want := range fields {
		if v := u64(img, off+8*i); v != want {
			t.Errorf("layout field %d = %#x, want %#x", i, v, want)
		}
	}
}

func TestBuildLayoutSymbolAtEndOfFile(t *testing.T) {
	p := testProgram()
	data := p.Segments[2].Data
	sym := len(data) - 8*layout.NumFields
	binary.LittleEndian.PutUint64(data[sym:], layout.Unpatched)
	p.LayoutSym = testData + uint64(sym)
	if _, _, err := Build(p); err != nil {
		t.Errorf("layout variable in the last bytes of the file: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Program)
		want   string // substring of the error
	}{
		{"two segments", func(p *Program) { p.Segments = p.Segments[:2] }, "three segments"},
		{"four segments", func(p *Program) { p.Segments = append(p.Segments, p.Segments[2]) }, "three segments"},
		{"text not executable", func(p *Program) { p.Segments[0].Exec = false }, "three segments"},
		{"rodata writable", func(p *Program) { p.Segments[1].Write = true }, "three segments"},
		{"rodata executable", func(p *Program) { p.Segments[1].Exec = true }, "three segments"},
		{"data read-only", func(p *Program) { p.Segments[2].Write = false }, "three segments"},
		{"base not page aligned", func(p *Program) { p.Segments[0].Vaddr += 0x10; p.TextStart += 0x10 }, "not page aligned"},
		{"base above 4 GiB", func(p *Program) {
			for i := range p.Segments {
				p.Segments[i].Vaddr += 1 << 32
			}
		}, "below 4 GiB"},
		{".text in the first page", func(p *Program) { p.TextStart = testBase + 0x800 }, "no room for the stub"},
		{".text missing", func(p *Program) { p.TextStart = 0 }, "no room for the stub"},
		{".text outside the text segment", func(p *Program) { p.TextStart = testRodata }, "outside the text segment"},
		{"rodata not page aligned", func(p *Program) { p.Segments[1].Vaddr += 8 }, "segment 1 malformed"},
		{"file larger than memory", func(p *Program) { p.Segments[2].Memsz = 8 }, "segment 2 malformed"},
		{"rodata overlaps text", func(p *Program) { p.Segments[1].Vaddr = testBase + 0x2000 }, "segment 1 overlaps"},
		{"data overlaps rodata", func(p *Program) { p.Segments[2].Vaddr = testRodata }, "segment 2 overlaps"},
		{"bss in text", func(p *Program) { p.Segments[0].Memsz += 0x100 }, "segment 0 has bss"},
		{"bss in rodata", func(p *Program) { p.Segments[1].Memsz += 0x100 }, "segment 1 has bss"},
		{"image above 4 GiB", func(p *Program) { p.Segments[2].Memsz = 1<<32 - testData }, "below 4 GiB"},
		{"layout symbol before the image", func(p *Program) { p.LayoutSym = testBase - 8 }, "not in the file-backed image"},
		{"layout symbol in bss", func(p *Program) { p.LayoutSym = testFileEnd }, "not in the file-backed image"},
		{"layout symbol straddling the file end", func(p *Program) { p.LayoutSym = testFileEnd - 8 }, "not in the file-backed image"},
		{"layout symbol without the magic", func(p *Program) { p.LayoutSym += 8 }, "expected magic"},
		{"layout already patched", func(p *Program) {
			binary.LittleEndian.PutUint64(p.Segments[2].Data[testLayoutSym-testData:], layout.Patched)
		}, "expected magic"},
		{"layout symbol in the stub page", func(p *Program) { p.LayoutSym = testBase + 0x800 }, "expected magic"},
		{"entry64 after text", func(p *Program) { p.Entry64 = testRodata }, "outside .text"},
		{"entry64 at text segment end", func(p *Program) { p.Entry64 = testBase + testTextSize }, "outside .text"},
		{"entry64 before image", func(p *Program) { p.Entry64 = testBase - 0x10 }, "outside .text"},
		{"entry64 in the stub page", func(p *Program) { p.Entry64 = testBase + 0x800 }, "outside .text"},
		{"entry64 zero", func(p *Program) { p.Entry64 = 0 }, "outside .text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProgram()
			tt.modify(&p)
			img, _, err := Build(p)
			if err == nil {
				t.Fatalf("Build succeeded (%d bytes), want error containing %q", len(img), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if img != nil {
				t.Errorf("Build returned an image along with the error")
			}
		})
	}
}

// Degenerate segments must produce an error, not a panic.
func TestBuildTinySegmentsDoNotPanic(t *testing.T) {
	p := Program{
		Segments: []Segment{
			{Vaddr: testBase, Exec: true},
			{Vaddr: testBase},
			{Vaddr: testBase, Data: make([]byte, 0x10), Memsz: 0x10, Write: true},
		},
		Entry: testBase + 0x1000, Entry64: testBase + 0x1000, LayoutSym: testBase, TextStart: testBase + 0x1000,
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Build panicked: %v", r)
		}
	}()
	if _, _, err := Build(p); err == nil {
		t.Fatal("Build succeeded on empty text and rodata segments")
	}
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		words []uint32
		want  uint32
	}{
		{nil, 0},
		{[]uint32{0}, 0},
		{[]uint32{1}, 0xFFFFFFFF},
		{[]uint32{MB1HeaderMagic, MB1Flags}, 0xE4514FFB},
		{[]uint32{MB2HeaderMagic, 0, 72}, 0x17ADAEE2},
		{[]uint32{0xFFFFFFFF, 0xFFFFFFFF}, 2}, // the sum wraps
	}
	for _, tt := range tests {
		got := checksum(tt.words...)
		if got != tt.want {
			t.Errorf("checksum(%#x) = %#x, want %#x", tt.words, got, tt.want)
		}
		sum := got
		for _, w := range tt.words {
			sum += w
		}
		if sum != 0 {
			t.Errorf("checksum(%#x): words + checksum = %#x, want 0", tt.words, sum)
		}
	}
}

func TestAlignUp(t *testing.T) {
	tests := []struct{ v, a, want uint64 }{
		{0, 0x1000, 0},
		{1, 0x1000, 0x1000},
		{0xFFF, 0x1000, 0x1000},
		{0x1000, 0x1000, 0x1000},
		{0x1001, 0x1000, 0x2000},
		{0x402A00, 0x1000, 0x403000},
		{12, 8, 16},
		{16, 8, 16},
		{7, 1, 7},
		{0xFFFFF001, 0x1000, 1 << 32}, // no 32-bit truncation
	}
	for _, tt := range tests {
		if got := alignUp(tt.v, tt.a); got != tt.want {
			t.Errorf("alignUp(%#x, %#x) = %#x, want %#x", tt.v, tt.a, got, tt.want)
		}
	}
}
