package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gozen/abi/xen"
)

var le64 = binary.LittleEndian

func mustParse(t *testing.T, b []byte) *Image {
	t.Helper()
	im, err := ParseELF(b)
	if err != nil {
		t.Fatalf("ParseELF: %v", err)
	}
	// Every segment's Data is the file's bytes at its Offset.
	for i, s := range im.Segments {
		if len(s.Data) > 0 && (s.Offset >= uint64(len(b)) || &s.Data[0] != &b[s.Offset]) {
			t.Errorf("segment %d: Offset %#x is not where its data lies in the file", i, s.Offset)
		}
	}
	return im
}

func checkKernelImage(t *testing.T, im *Image, class int) {
	t.Helper()
	if im.Class != class || im.Entry32 != testEntry {
		t.Errorf("Class, Entry32 = %d, %#x; want %d, %#x", im.Class, im.Entry32, class, testEntry)
	}
	if len(im.Segments) != 2 {
		t.Fatalf("%d segments, want 2", len(im.Segments))
	}
	s0, s1 := im.Segments[0], im.Segments[1]
	if s0.Paddr != testText || !bytes.Equal(s0.Data, testCode()) || s0.Memsz != 0x1000 {
		t.Errorf("segment 0 = %#x, %d bytes, memsz %#x", s0.Paddr, len(s0.Data), s0.Memsz)
	}
	if s1.Paddr != testData || string(s1.Data) != "data" || s1.Memsz != 0x3000 {
		t.Errorf("segment 1 = %#x, %q, memsz %#x", s1.Paddr, s1.Data, s1.Memsz)
	}
	if err := im.Check(64<<20, LowLoadLimit); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestParseELF64(t *testing.T) {
	b := kernel64().build()
	im := mustParse(t, b)
	checkKernelImage(t, im, 64)
	// Segment data aliases the input: no copy of a 30 MB kernel.
	off := le64.Uint64(b[64+8:]) // program header 0's p_offset
	if &im.Segments[0].Data[0] != &b[off] {
		t.Errorf("segment data is a copy, not a sub-slice of the input")
	}
}

func TestParseELF32(t *testing.T) {
	checkKernelImage(t, mustParse(t, kernel32().build()), 32)
	// ELF32 with EM_X86_64 (an x32-style file) is accepted too.
	k := kernel32()
	k.machine = emX8664
	checkKernelImage(t, mustParse(t, k.build()), 32)
}

func TestNotePayloadSizes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		class int
		note  []byte
	}{
		{"ELF64 8-byte", 64, pvhNote8(testEntry)},
		{"ELF64 4-byte", 64, pvhNote4(testEntry)},
		{"ELF32 8-byte", 32, pvhNote8(testEntry)},
		{"ELF32 4-byte", 32, pvhNote4(testEntry)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := kernel64()
			if tc.class == 32 {
				k = kernel32()
			}
			k.notes = []tnotes{{data: tc.note, align: 4}}
			checkKernelImage(t, mustParse(t, k.build()), tc.class)
		})
	}
}

func TestNoteInSectionOnly(t *testing.T) {
	for _, k := range []telf{kernel64(), kernel32()} {
		k.notes = nil
		k.sects = []tnotes{
			{data: note("GNU", 1, []byte{1, 2, 3, 4}, 4), align: 4},
			{data: cat(note("Xen", 5, []byte("2.6\x00"), 4), pvhNote8(testEntry)), align: 4},
		}
		checkKernelImage(t, mustParse(t, k.build()), k.class)
	}
}

func TestNoteInSegmentWinsOverSection(t *testing.T) {
	k := kernel64()
	// A section with a broken note table is not even read when the PT_NOTE
	// segment has the entry.
	k.sects = []tnotes{{data: []byte{1, 2, 3}, align: 4}}
	checkKernelImage(t, mustParse(t, k.build()), 64)
}

func TestMultipleNotes(t *testing.T) {
	k := kernel64()
	k.notes = []tnotes{
		// An 8-aligned note segment (like .note.gnu.property) first.
		{data: cat(note("GNU", 5, make([]byte, 12), 8), note("GNU", 5, make([]byte, 16), 8)), align: 8},
		{data: cat(
			note("GNU", xen.XenElfnotePhys32Entry, []byte{1, 2}, 4),  // type 18 of another owner: ignored
			note("XenX", xen.XenElfnotePhys32Entry, []byte{3, 4}, 4), // not exactly "Xen": ignored
			note("", 0, nil, 4), // empty note
			note("Xen", 2, make([]byte, 8), 4),
			pvhNote8(testEntry),
			note("Xen", 1, make([]byte, 8), 4),
		), align: 4},
		// A second PVH note with the same entry is harmless.
		{data: pvhNote4(testEntry), align: 4},
	}
	checkKernelImage(t, mustParse(t, k.build()), 64)
}

func TestNoteAlignment8(t *testing.T) {
	// A GNU property note as x86-64 toolchains write it: 8-aligned, the
	// payload at offset 16. Its 12-byte payload is padded to 16.
	prop := note("GNU", 5, make([]byte, 12), 8)
	if len(prop) != 32 || le64.Uint32(prop[4:]) != 12 {
		t.Fatalf("test note builder: % x", prop)
	}
	for _, tc := range []struct {
		name  string
		notes []byte
	}{
		{"8-aligned table", cat(prop, note("Xen", 18, le64.AppendUint32(nil, testEntry), 8), prop)},
		// 4-aligned Xen notes in a table that claims 8: read with 8, the
		// 6-byte payload of the first note would put the next one at 24
		// instead of 20.
		{"4-aligned notes in an 8 table", cat(note("Xen", 6, []byte("linux\x00"), 4), pvhNote4(testEntry), note("Xen", 1, []byte{1, 2, 3, 4}, 4))},
		{"4-aligned notes, 8 would misread the entry", cat(note("Xen", 7, []byte("x\x00"), 4), pvhNote8(testEntry))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := kernel64()
			k.notes = []tnotes{{data: tc.notes, align: 8}}
			checkKernelImage(t, mustParse(t, k.build()), 64)
		})
	}
}

func TestLastNoteUnpadded(t *testing.T) {
	// A final payload of 2 bytes with no padding after it still parses.
	k := kernel64()
	last := note("GNU", 7, []byte{9, 9}, 4)
	k.notes = []tnotes{{data: cat(pvhNote8(testEntry), last[:len(last)-2]), align: 4}}
	checkKernelImage(t, mustParse(t, k.build()), 64)
}

func TestZeroSizeLoadSkipped(t *testing.T) {
	k := kernel64()
	k.segs = append([]tseg{{0x5000000, nil, 0}}, k.segs...)
	checkKernelImage(t, mustParse(t, k.build()), 64)
}

// mutate returns a copy of b with f applied.
func mutate(b []byte, f func(b []byte) []byte) []byte {
	return f(append([]byte(nil), b...))
}

func TestParseErrors(t *testing.T) {
	k64, k32 := kernel64(), kernel32()
	good64, good32 := k64.build(), k32.build()
	ph := func(k telf, i int) int { return k.phdrOff(i) }

	withNotes := func(k telf, n ...tnotes) []byte { k.notes = n; return k.build() }
	bz := make([]byte, 0x300)
	copy(bz[0x202:], "HdrS")

	for _, tc := range []struct {
		name  string
		in    []byte
		want  string // the whole message
		is    error  // if set, errors.Is must hold
		exact bool
	}{
		{name: "empty", in: nil, want: "not an ELF file (bad magic)", is: ErrNotELF, exact: true},
		{name: "short", in: []byte{0x7f, 'E'}, want: "not an ELF file (bad magic)", exact: true},
		{name: "text", in: []byte("#!/bin/sh\necho hi\n"), want: "not an ELF file (bad magic)", exact: true},
		{name: "bzImage", in: bz, is: ErrNotELF,
			want: "not an ELF file (bad magic): this is a Linux bzImage; boot the ELF vmlinux instead (scripts/extract-vmlinux extracts it)", exact: true},
		{name: "gzip", in: []byte{0x1f, 0x8b, 8, 0}, is: ErrNotELF, want: "not an ELF file (bad magic): this is gzip-compressed; decompress it first", exact: true},
		{name: "xz", in: []byte("\xfd7zXZ\x00rest"), is: ErrNotELF, want: "not an ELF file (bad magic): this is xz-compressed; decompress it first", exact: true},
		{name: "ident cut", in: good64[:10], want: "truncated ELF: file is 10 bytes, shorter than the 16-byte ELF identification", exact: true},
		{name: "class", in: mutate(good64, func(b []byte) []byte { b[4] = 3; return b }),
			want: "ELF class 3 is neither 1 (32-bit) nor 2 (64-bit)", exact: true},
		{name: "big endian", in: mutate(good64, func(b []byte) []byte { b[5] = 2; return b }),
			want: "ELF data encoding 2 is not 1 (little-endian): not an x86 file", exact: true},
		{name: "version", in: mutate(good64, func(b []byte) []byte { b[6] = 0; return b }), want: "ELF version 0 is not 1", exact: true},
		{name: "header cut 64", in: good64[:40], want: "truncated ELF: file is 40 bytes, shorter than the 64-byte ELF64 header", exact: true},
		{name: "header cut 32", in: good32[:51], want: "truncated ELF: file is 51 bytes, shorter than the 52-byte ELF32 header", exact: true},
		{name: "type DYN", in: mutate(good64, func(b []byte) []byte { b[16] = etDyn; return b }),
			want: "ELF type 3 (shared object or position-independent executable) is not 2 (executable): a PVH kernel is linked at fixed addresses", exact: true},
		{name: "type REL", in: mutate(good32, func(b []byte) []byte { b[16] = etRel; return b }),
			want: "ELF type 1 (relocatable object) is not 2 (executable): a PVH kernel is linked at fixed addresses", exact: true},
		{name: "machine 64", in: mutate(good64, func(b []byte) []byte { b[18] = emI386; return b }),
			want: "ELF machine 3 is not x86-64", exact: true},
		{name: "machine 32", in: mutate(good32, func(b []byte) []byte { b[18] = 40; return b }),
			want: "ELF machine 40 is not x86-64 or i386", exact: true},
		{name: "no phdrs", in: mutate(good64, func(b []byte) []byte { b[56], b[57] = 0, 0; return b }),
			want: "ELF has no program headers (e_phnum is 0): nothing to load", exact: true},
		{name: "65 phdrs", in: mutate(good64, func(b []byte) []byte { b[56] = 65; return b }),
			want: "ELF has 65 program headers; at most 64 are supported", exact: true},
		{name: "PN_XNUM", in: mutate(good32, func(b []byte) []byte { b[44], b[45] = 0xff, 0xff; return b }),
			want: "ELF has 65535 program headers; at most 64 are supported", exact: true},
		{name: "phentsize", in: mutate(good64, func(b []byte) []byte { b[54] = 32; return b }),
			want: "ELF program header size 32 is smaller than the 56 bytes of an ELF64 program header", exact: true},
		{name: "phdr 3 cut", in: mutate(good64, func(b []byte) []byte {
			// Four headers, the table placed so that only three fit.
			b[56] = 4
			le64.PutUint64(b[32:], uint64(len(b)-3*56-1))
			return b
		}), want: "truncated ELF: program header 3 runs past the end of the file", exact: true},
		{name: "phoff wraps", in: mutate(good64, func(b []byte) []byte { le64.PutUint64(b[32:], ^uint64(0)-10); return b }),
			want: "truncated ELF: program header 0 runs past the end of the file", exact: true},
		{name: "phdr 1 cut 32", in: mutate(good32, func(b []byte) []byte { le64.PutUint32(b[28:], uint32(len(b)-40)); return b }),
			want: "truncated ELF: program header 1 runs past the end of the file", exact: true},
		{name: "load data cut", in: mutate(good64, func(b []byte) []byte {
			le64.PutUint64(b[ph(k64, 1)+32:], 0x100000) // filesz
			le64.PutUint64(b[ph(k64, 1)+40:], 0x100000) // memsz
			return b
		}), want: "truncated ELF: program header 1 (PT_LOAD) data (offset 0x3e8, size 0x100000) runs past the end of the file (1088 bytes)", exact: true},
		{name: "load offset wraps", in: mutate(good64, func(b []byte) []byte {
			le64.PutUint64(b[ph(k64, 0)+8:], ^uint64(0)-1)
			return b
		}), want: "truncated ELF: program header 0 (PT_LOAD) data (offset 0xfffffffffffffffe, size 0x300) runs past the end of the file (1088 bytes)", exact: true},
		{name: "filesz > memsz", in: mutate(good64, func(b []byte) []byte { le64.PutUint64(b[ph(k64, 0)+40:], 0x10); return b }),
			want: "program header 0 (PT_LOAD): file size 0x300 is larger than memory size 0x10", exact: true},
		{name: "paddr wraps", in: mutate(good64, func(b []byte) []byte { le64.PutUint64(b[ph(k64, 1)+24:], ^uint64(0)-0x1000); return b }),
			want: "program header 1 (PT_LOAD): address 0xffffffffffffefff plus size 0x3000 wraps around the address space", exact: true},
		{name: "no PT_LOAD", in: mutate(good64, func(b []byte) []byte {
			le64.PutUint32(b[ph(k64, 0):], 6) // PT_PHDR
			le64.PutUint32(b[ph(k64, 1):], 0x6474e551)
			return b
		}), want: "ELF has no loadable segments (PT_LOAD with a non-zero size)", exact: true},
		{name: "no note", in: withNotes(k64), want: "no PVH entry note (Xen note type 18): is this a PVH kernel?", is: ErrNoPVHNote, exact: true},
		{name: "only other notes", in: withNotes(k32, tnotes{data: note("Xen", 1, make([]byte, 4), 4), align: 4}), is: ErrNoPVHNote},
		{name: "payload 2", in: withNotes(k64, tnotes{data: note("Xen", 18, []byte{1, 2}, 4), align: 4}),
			want: "PVH entry note at offset 0x0 of program header 2 (PT_NOTE) has a 2-byte payload; expected 4 or 8", exact: true},
		{name: "payload 16", in: withNotes(k64, tnotes{data: cat(note("GNU", 1, nil, 4), note("Xen", 18, make([]byte, 16), 4)), align: 4}),
			want: "PVH entry note at offset 0x10 of program header 2 (PT_NOTE) has a 16-byte payload; expected 4 or 8", exact: true},
		{name: "bad payload beside good", in: withNotes(k64, tnotes{data: cat(pvhNote8(testEntry), note("Xen", 18, []byte{1}, 4)), align: 4}),
			want: "has a 1-byte payload; expected 4 or 8"},
		{name: "entry above 4G", in: withNotes(k64, tnotes{data: pvhNote8(0x1_0000_0000), align: 4}),
			want: "PVH entry 0x100000000 (note at offset 0x0 of program header 2 (PT_NOTE)) is above 4 GiB, out of reach of 32-bit code", exact: true},
		{name: "conflicting", in: withNotes(k64, tnotes{data: pvhNote8(testEntry), align: 4}, tnotes{data: pvhNote4(testEntry + 4), align: 4}),
			want: "conflicting PVH entry notes: 0x1000040 (at offset 0x0 of program header 2 (PT_NOTE)) and 0x1000044 (at offset 0x0 of program header 3 (PT_NOTE))", exact: true},
		{name: "note header cut", in: withNotes(k64, tnotes{data: cat(note("GNU", 1, nil, 4), []byte{1, 0, 0, 0, 0}), align: 4}),
			want: "truncated ELF: note at offset 0x10 of program header 2 (PT_NOTE) is cut short (5 bytes left, a note header is 12)", exact: true},
		{name: "note namesz huge", in: withNotes(k64, tnotes{data: mutate(pvhNote8(testEntry), func(b []byte) []byte {
			le64.PutUint32(b, 0xffffffff)
			return b
		}), align: 4}), want: "truncated ELF: note at offset 0x0 of program header 2 (PT_NOTE) (name size 4294967295, payload size 8) runs past the end of its 24 bytes", exact: true},
		{name: "note descsz huge", in: withNotes(k32, tnotes{data: mutate(pvhNote8(testEntry), func(b []byte) []byte {
			le64.PutUint32(b[4:], 0xfffffff0)
			return b
		}), align: 4}), want: "runs past the end of its 24 bytes"},
		{name: "PT_NOTE data cut", in: mutate(good64, func(b []byte) []byte { le64.PutUint64(b[ph(k64, 2)+32:], 0x10000); return b }),
			want: "truncated ELF: program header 2 (PT_NOTE) data (offset 0x3f0, size 0x10000) runs past the end of the file (1088 bytes)", exact: true},
		{name: "section notes cut", in: func() []byte {
			k := kernel64()
			k.notes = nil
			k.sects = []tnotes{{data: pvhNote8(testEntry), align: 4}}
			b := k.build()
			return b[:len(b)-10]
		}(), want: "truncated ELF: section header 1 runs past the end of the file", exact: true},
		{name: "shentsize", in: func() []byte {
			k := kernel64()
			k.notes = nil
			k.sects = []tnotes{{data: pvhNote8(testEntry), align: 4}}
			b := k.build()
			b[58] = 40
			return b
		}(), want: "ELF section header size 40 is smaller than the 64 bytes of an ELF64 section header", exact: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := ParseELF(tc.in)
			if err == nil {
				t.Fatalf("ParseELF succeeded: %+v", im)
			}
			if im != nil {
				t.Errorf("ParseELF returned an image with error %v", err)
			}
			if tc.exact && err.Error() != tc.want {
				t.Errorf("error\n got %q\nwant %q", err, tc.want)
			}
			if !tc.exact && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tc.is)
			}
		})
	}
}

// TestParseGoExecutable runs the parser over a real ELF file, this test
// binary: it must read all its headers and notes (Go build-ID notes) and
// report that there is no PVH note.
func TestParseGoExecutable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Skip(err)
	}
	if len(b) < 20 || string(b[:4]) != "\x7fELF" || le64.Uint16(b[16:]) != etExec {
		t.Skip("test binary is not an ELF executable (PIE build?)")
	}
	if _, err := ParseELF(b); !errors.Is(err, ErrNoPVHNote) {
		t.Fatalf("ParseELF(test binary) = %v, want %v", err, ErrNoPVHNote)
	}
}

// TestParseGCCKernel links a tiny freestanding "kernel" with gcc and GNU ld,
// with a Xen PHYS32_ENTRY note written the way Linux writes it, and checks
// that the parser finds the entry symbol and the loaded bytes.
func TestParseGCCKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	for _, tc := range []struct {
		name  string
		flags []string
		ptr   string // assembler directive for the note payload
		class int
	}{
		{"x86-64 8-byte note", []string{"-m64"}, ".quad", 64},
		{"x86-64 4-byte note", []string{"-m64"}, ".long", 64},
		{"i386", []string{"-m32"}, ".long", 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := `
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 2f - 1f, 18
	.asciz "Xen"
1:	` + tc.ptr + ` pvh_start
2:	.balign 4

	.text
	.globl _start
_start:
	hlt
	.globl pvh_start
pvh_start:
	mov $0x12345678, %eax
	jmp pvh_start

	.data
marker:	.ascii "GoZenLoaderTest"
	.bss
	.space 0x2000
`
			if err := os.WriteFile(filepath.Join(dir, "k.S"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "k.elf")
			args := append(tc.flags, "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none",
				"-Wl,-Ttext=0x1000000", "-o", out, filepath.Join(dir, "k.S"))
			if msg, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
				t.Skipf("gcc cannot build the test kernel: %v\n%s", err, msg)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			im, err := ParseELF(b)
			if err != nil {
				t.Fatalf("ParseELF: %v", err)
			}
			if im.Class != tc.class {
				t.Errorf("Class = %d, want %d", im.Class, tc.class)
			}
			// pvh_start is _start+1 (after hlt); e_entry is _start.
			var eEntry uint64
			if tc.class == 64 {
				eEntry = le64.Uint64(b[24:])
			} else {
				eEntry = uint64(le64.Uint32(b[24:]))
			}
			if im.Entry32 != eEntry+1 {
				t.Errorf("Entry32 = %#x, want %#x (e_entry+1)", im.Entry32, eEntry+1)
			}
			var code, marker bool
			for _, s := range im.Segments {
				if off := im.Entry32 - s.Paddr; im.Entry32 >= s.Paddr && off < uint64(len(s.Data)) {
					code = s.Data[off] == 0xb8 // mov $imm32, %eax
				}
				marker = marker || bytes.Contains(s.Data, []byte("GoZenLoaderTest"))
			}
			if !code || !marker {
				t.Errorf("entry code found: %v, data marker found: %v; segments %+v", code, marker, segmentSummary(im))
			}
			// GNU ld puts the allocated note section in its own segment at
			// its default base (0x8048000 for i386), so allow 1 GiB.
			if err := im.Check(1<<30, 0); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func segmentSummary(im *Image) []string {
	var s []string
	for _, seg := range im.Segments {
		s = append(s, fmt.Sprintf("[%#x-%#x)", seg.Paddr, seg.End()))
	}
	return s
}
