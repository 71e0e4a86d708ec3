package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"gozen/abi/xen"
)

// blobReader reads guest-physical addresses inside a BootInfo blob, failing
// the test for any pointer that leaves it.
type blobReader struct {
	t  *testing.T
	bi BootInfo
}

func (r blobReader) at(gpa, n uint64, what string) []byte {
	r.t.Helper()
	if gpa < r.bi.Paddr || gpa+n > r.bi.Paddr+uint64(len(r.bi.Bytes)) || gpa+n < gpa {
		r.t.Fatalf("%s [%#x+%#x) is outside the blob [%#x+%#x)", what, gpa, n, r.bi.Paddr, len(r.bi.Bytes))
	}
	return r.bi.Bytes[gpa-r.bi.Paddr : gpa-r.bi.Paddr+n]
}

// str reads the NUL-terminated string at gpa, which must end inside the blob.
func (r blobReader) str(gpa uint64, what string) string {
	r.t.Helper()
	rest := r.at(gpa, r.bi.Paddr+uint64(len(r.bi.Bytes))-gpa, what)
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		r.t.Fatalf("%s at %#x is not NUL-terminated inside the blob", what, gpa)
	}
	return string(rest[:i])
}

// decodeBootInfo decodes a blob the way a guest would and checks every
// pointer against it.
func decodeBootInfo(t *testing.T, bi BootInfo) (si xen.HVMStartInfo, mm []xen.HVMMemmapEntry, mods []ModulePlacement, cmdline string) {
	t.Helper()
	r := blobReader{t, bi}
	if err := si.Decode(r.at(bi.StartInfo, xen.HVMStartInfoSize, "hvm_start_info")); err != nil {
		t.Fatal(err)
	}
	if si.Magic != xen.HVMStartInfoMagic || si.Version != 1 || si.Reserved != 0 {
		t.Errorf("start info header %+v", si)
	}
	if si.MemmapEntries > 0 {
		if si.MemmapPaddr%8 != 0 {
			t.Errorf("memmap at %#x is not 8-byte aligned", si.MemmapPaddr)
		}
		b := r.at(si.MemmapPaddr, uint64(si.MemmapEntries)*xen.HVMMemmapEntrySize, "memmap")
		for i := range si.MemmapEntries {
			var e xen.HVMMemmapEntry
			if err := e.Decode(b[i*xen.HVMMemmapEntrySize:]); err != nil {
				t.Fatal(err)
			}
			mm = append(mm, e)
		}
	} else if si.MemmapPaddr != 0 {
		t.Errorf("memmap_paddr %#x with no entries", si.MemmapPaddr)
	}
	if si.NrModules > 0 {
		if si.ModlistPaddr%8 != 0 {
			t.Errorf("modlist at %#x is not 8-byte aligned", si.ModlistPaddr)
		}
		b := r.at(si.ModlistPaddr, uint64(si.NrModules)*xen.HVMModlistEntrySize, "modlist")
		for i := range si.NrModules {
			var e xen.HVMModlistEntry
			if err := e.Decode(b[i*xen.HVMModlistEntrySize:]); err != nil {
				t.Fatal(err)
			}
			if e.Reserved != 0 {
				t.Errorf("module %d reserved = %#x", i, e.Reserved)
			}
			m := ModulePlacement{Paddr: e.Paddr, Size: e.Size}
			if e.CmdlinePaddr != 0 {
				m.Cmdline = r.str(e.CmdlinePaddr, fmt.Sprintf("module %d command line", i))
			}
			mods = append(mods, m)
		}
	} else if si.ModlistPaddr != 0 {
		t.Errorf("modlist_paddr %#x with no modules", si.ModlistPaddr)
	}
	if si.CmdlinePaddr != 0 {
		cmdline = r.str(si.CmdlinePaddr, "command line")
	}
	return
}

func TestBuildStartInfoRoundTrip(t *testing.T) {
	mm := GuestMemoryMap(256 << 20)
	cmdline := "console=hvc0 earlyprintk=xen root=/dev/ram0"
	mods := []ModulePlacement{
		{Paddr: 0x3000000, Size: 0x123456, Cmdline: "initrd"},
		{Paddr: 0x3200000, Size: 0x1000},          // no command line
		{Paddr: 0x3300000, Size: 0, Cmdline: "x"}, // empty module
	}
	flags := uint32(xen.SIFPrivileged | xen.SIFInitDomain)
	bi, err := BuildStartInfo(BootInfoBase, BootInfoLimit, mm, cmdline, mods, flags, ACPIBase)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Paddr != BootInfoBase || bi.StartInfo != BootInfoBase || len(bi.Bytes) > BootInfoLimit {
		t.Errorf("BootInfo at %#x, start info %#x, %d bytes", bi.Paddr, bi.StartInfo, len(bi.Bytes))
	}
	si, gotMM, gotMods, gotCmd := decodeBootInfo(t, bi)
	if si.Flags != flags || si.NrModules != 3 || si.MemmapEntries != uint32(len(mm)) || si.RsdpPaddr != ACPIBase {
		t.Errorf("start info %+v", si)
	}
	if fmt.Sprint(gotMM) != fmt.Sprint(mm) {
		t.Errorf("memmap\n got %v\nwant %v", gotMM, mm)
	}
	if fmt.Sprint(gotMods) != fmt.Sprint(mods) {
		t.Errorf("modules\n got %+v\nwant %+v", gotMods, mods)
	}
	if gotCmd != cmdline {
		t.Errorf("command line %q, want %q", gotCmd, cmdline)
	}
	// The blob is exactly: start info, memmap, modlist, strings.
	want := xen.HVMStartInfoSize + len(mm)*xen.HVMMemmapEntrySize + len(mods)*xen.HVMModlistEntrySize +
		len(cmdline) + 1 + len("initrd") + 1 + len("x") + 1
	if len(bi.Bytes) != want {
		t.Errorf("blob is %d bytes, want %d", len(bi.Bytes), want)
	}
}

func TestBuildStartInfoEmpty(t *testing.T) {
	bi, err := BuildStartInfo(0x7000, 0x1000, nil, "", nil, 0, 0)
	if err == nil && binary.LittleEndian.Uint64(bi.Bytes[32:]) != 0 {
		t.Errorf("rsdp_paddr %#x, want 0 (no ACPI tables)", binary.LittleEndian.Uint64(bi.Bytes[32:]))
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(bi.Bytes) != xen.HVMStartInfoSize || bi.StartInfo != 0x7000 {
		t.Errorf("blob %d bytes at %#x", len(bi.Bytes), bi.StartInfo)
	}
	si, mm, mods, cmd := decodeBootInfo(t, bi)
	if si.CmdlinePaddr != 0 || si.ModlistPaddr != 0 || si.MemmapPaddr != 0 || mm != nil || mods != nil || cmd != "" {
		t.Errorf("empty start info %+v", si)
	}
}

func TestBuildStartInfoLimit(t *testing.T) {
	mm := GuestMemoryMap(64 << 20)
	// 56 + 6*24 = 200 bytes, plus the command line and its NUL.
	cmd := strings.Repeat("a", BootInfoLimit-200-1)
	if _, err := BuildStartInfo(BootInfoBase, BootInfoLimit, mm, cmd, nil, 0, 0); err != nil {
		t.Fatalf("exactly %d bytes: %v", BootInfoLimit, err)
	}
	_, err := BuildStartInfo(BootInfoBase, BootInfoLimit, mm, cmd+"a", nil, 0, 0)
	want := "boot information needs 8193 bytes (6 memory map entries, 0 modules, 7992-byte command line) but only 8192 fit at 0x1000"
	if err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
	// Many modules overflow the limit too.
	many := make([]ModulePlacement, 300)
	for i := range many {
		many[i] = ModulePlacement{Paddr: 0x1000000 + uint64(i)<<12, Size: 1}
	}
	if _, err := BuildStartInfo(BootInfoBase, BootInfoLimit, mm, "", many, 0, 0); err == nil || !strings.Contains(err.Error(), "300 modules") {
		t.Errorf("300 modules: %v", err)
	}
}

func TestBuildStartInfoErrors(t *testing.T) {
	mm := GuestMemoryMap(64 << 20)
	mod := func(paddr, size uint64, cmd string) []ModulePlacement {
		return []ModulePlacement{{Paddr: 0x2000000, Size: 10}, {Paddr: paddr, Size: size, Cmdline: cmd}}
	}
	for _, tc := range []struct {
		name        string
		base, limit uint64
		mm          []xen.HVMMemmapEntry
		cmd         string
		mods        []ModulePlacement
		want        string
	}{
		{"unaligned", 0x1800, 0x1000, mm, "", nil, "boot information address 0x1800 is not a non-zero multiple of the page size"},
		{"zero base", 0, 0x1000, mm, "", nil, "boot information address 0x0 is not a non-zero multiple of the page size"},
		{"NUL in cmdline", BootInfoBase, BootInfoLimit, mm, "a\x00b", nil, "the command line contains a NUL byte at offset 1"},
		{"NUL in module cmdline", BootInfoBase, BootInfoLimit, mm, "", mod(0x3000000, 1, "ab\x00"), "module 1's command line contains a NUL byte at offset 2"},
		{"module at 0", BootInfoBase, BootInfoLimit, mm, "", mod(0, 1, ""), `module 1 has address 0, which hvm_start_info reads as "no module"`},
		{"module wraps", BootInfoBase, BootInfoLimit, mm, "", mod(^uint64(0), 2, ""), "module 1 at 0xffffffffffffffff with size 0x2 wraps around the address space"},
		{"module overlaps", BootInfoBase, BootInfoLimit, mm, "", mod(0x10e0, 0x10, ""), "module 1 [0x10e0-0x10f0) overlaps the boot information [0x1000-0x1108)"},
		{"memmap wraps", BootInfoBase, BootInfoLimit, []xen.HVMMemmapEntry{{Addr: 1 << 63, Size: 1 << 63, Type: 1}}, "", nil,
			"memory map entry 0 at 0x8000000000000000 with size 0x8000000000000000 wraps around the address space"},
		{"above 4G", 1<<32 - 0x1000, 0x2000, mm, strings.Repeat("x", 0x1000), nil,
			"boot information [0xfffff000-0x1000000c9) must lie below 4 GiB, where the 32-bit entry code can reach it"},
		{"limit 0", BootInfoBase, 0, nil, "", nil, "boot information needs 56 bytes (0 memory map entries, 0 modules, 0-byte command line) but only 0 fit at 0x1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildStartInfo(tc.base, tc.limit, tc.mm, tc.cmd, tc.mods, 0, 0)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error\n got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestGuestMemoryMap(t *testing.T) {
	e := func(addr, size uint64, typ uint32) xen.HVMMemmapEntry {
		return xen.HVMMemmapEntry{Addr: addr, Size: size, Type: typ}
	}
	const ram, res, acpi = xen.MemmapTypeRAM, xen.MemmapTypeReserved, xen.MemmapTypeACPI
	for _, tc := range []struct {
		mem  uint64
		want []xen.HVMMemmapEntry
	}{
		{64 << 20, []xen.HVMMemmapEntry{
			e(0, 0x1000, ram), e(0x1000, 0x4000, res), e(0x5000, 0x1000, acpi), e(0x6000, 0x9a000, ram), e(0xA0000, 0x60000, res), e(0x100000, 63<<20, ram)}},
		{0x100000, []xen.HVMMemmapEntry{e(0, 0x1000, ram), e(0x1000, 0x4000, res), e(0x5000, 0x1000, acpi), e(0x6000, 0x9a000, ram), e(0xA0000, 0x60000, res)}},
		{0x80000, []xen.HVMMemmapEntry{e(0, 0x1000, ram), e(0x1000, 0x4000, res), e(0x5000, 0x1000, acpi), e(0x6000, 0x7a000, ram)}},
		{0x5800, []xen.HVMMemmapEntry{e(0, 0x1000, ram), e(0x1000, 0x4000, res), e(0x5000, 0x800, acpi)}},
		{0x2000, []xen.HVMMemmapEntry{e(0, 0x1000, ram), e(0x1000, 0x1000, res)}},
		{0, nil},
	} {
		got := GuestMemoryMap(tc.mem)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("GuestMemoryMap(%#x)\n got %v\nwant %v", tc.mem, got, tc.want)
		}
		// Contiguous cover of [0, mem).
		var next uint64
		for _, x := range got {
			if x.Addr != next || x.Size == 0 {
				t.Errorf("GuestMemoryMap(%#x): gap or empty entry at %#x", tc.mem, x.Addr)
			}
			next = x.Addr + x.Size
		}
		if next != tc.mem {
			t.Errorf("GuestMemoryMap(%#x) covers up to %#x", tc.mem, next)
		}
	}
	// The boot information pages are exactly the reserved [0x1000, 0x3000).
	if BootInfoBase != 0x1000 || BootInfoBase+BootInfoLimit != 0x3000 || LowLoadLimit != 0x100000 {
		t.Errorf("layout constants changed")
	}
}

func TestPlaceModules(t *testing.T) {
	im := mustParse(t, kernel64().build()) // ends at 0x1203000
	got, err := im.PlaceModules(64<<20, []Module{
		{Data: make([]byte, 0x1001), Cmdline: "initrd"},
		{Data: nil},
		{Data: make([]byte, 10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ModulePlacement{{0x1203000, 0x1001, "initrd"}, {0x1205000, 0, ""}, {0x1205000, 10, ""}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("PlaceModules\n got %+v\nwant %+v", got, want)
	}
	_, err = im.PlaceModules(20<<20, []Module{{Data: make([]byte, 2<<20)}})
	wantErr := "module 0 (2 MiB) does not fit: it would end at 0x1403000, beyond the domain's 20 MiB of memory"
	if err == nil || err.Error() != wantErr {
		t.Errorf("error\n got %v\nwant %s", err, wantErr)
	}
	// A kernel loaded low still gets its modules above LowLoadLimit.
	low := &Image{Segments: []Segment{{Paddr: 0x3000, Memsz: 0x10}}}
	if got, err := low.PlaceModules(2<<20, []Module{{Data: []byte{1}}}); err != nil || got[0].Paddr != LowLoadLimit {
		t.Errorf("low image: %+v, %v", got, err)
	}
	top := &Image{Segments: []Segment{{Paddr: ^uint64(0) - 0x10, Memsz: 0x10}}}
	if _, err := top.PlaceModules(^uint64(0), []Module{{Data: []byte{1}}}); err == nil {
		t.Errorf("image at the top of the address space: no error")
	}
}

// TestBootEndToEnd does what the hypervisor will do: parse, check, place the
// modules, build the boot information, copy everything into guest memory, then
// reads it back as the guest kernel would, starting from ebx.
func TestBootEndToEnd(t *testing.T) {
	const memSize = 32 << 20
	kernel := kernel64().build()
	initrd := bytes.Repeat([]byte("INITRD"), 1000)

	im, err := ParseELF(kernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Check(memSize, LowLoadLimit); err != nil {
		t.Fatal(err)
	}
	mods, err := im.PlaceModules(memSize, []Module{{Data: initrd, Cmdline: "initrd.img"}})
	if err != nil {
		t.Fatal(err)
	}
	bi, err := BuildStartInfo(BootInfoBase, BootInfoLimit, GuestMemoryMap(memSize), "console=hvc0", mods, 0, 0)
	if err != nil {
		t.Fatal(err)
	}

	mem := make([]byte, memSize)
	for _, s := range im.Segments {
		copy(mem[s.Paddr:s.End()], s.Data) // the rest is already zero
	}
	copy(mem[mods[0].Paddr:], initrd)
	copy(mem[bi.Paddr:], bi.Bytes)

	// Guest side.
	ebx := bi.StartInfo
	var si xen.HVMStartInfo
	if err := si.Decode(mem[ebx:]); err != nil || si.Magic != xen.HVMStartInfoMagic {
		t.Fatalf("start info %+v, %v", si, err)
	}
	cstr := func(gpa uint64) string { return string(mem[gpa : gpa+uint64(bytes.IndexByte(mem[gpa:], 0))]) }
	if got := cstr(si.CmdlinePaddr); got != "console=hvc0" {
		t.Errorf("cmdline %q", got)
	}
	var m0 xen.HVMModlistEntry
	if err := m0.Decode(mem[si.ModlistPaddr:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mem[m0.Paddr:m0.Paddr+m0.Size], initrd) || cstr(m0.CmdlinePaddr) != "initrd.img" {
		t.Errorf("initrd not found through the module list: %+v", m0)
	}
	if !bytes.Equal(mem[im.Entry32:im.Entry32+4], testCode()[0x40:0x44]) {
		t.Errorf("entry code % x", mem[im.Entry32:im.Entry32+4])
	}
	// Every RAM range of the memory map avoids the boot info pages.
	for i := range si.MemmapEntries {
		var e xen.HVMMemmapEntry
		if err := e.Decode(mem[si.MemmapPaddr+uint64(i)*xen.HVMMemmapEntrySize:]); err != nil {
			t.Fatal(err)
		}
		if e.Type == xen.MemmapTypeRAM && e.Addr < bi.Paddr+uint64(len(bi.Bytes)) && bi.Paddr < e.Addr+e.Size {
			t.Errorf("RAM entry %+v covers the boot information", e)
		}
	}
}
