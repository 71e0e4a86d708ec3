package xen

import (
	"bytes"
	"encoding"
	"strings"
	"testing"
	"unsafe"
)

// The expected sizes and offsets below are literal numbers taken from the
// layout diagram and struct definitions in Xen's
// xen/include/public/arch-x86/hvm/start_info.h (hvm_start_info,
// hvm_modlist_entry, hvm_memmap_table_entry). The encoders do not depend on
// Go's struct layout, but the Go structs are meant to mirror the C ones, and
// a field added in the wrong place would show up here.

func TestHVMStartInfoLayout(t *testing.T) {
	var s HVMStartInfo
	checkLayout(t, "hvm_start_info", unsafe.Sizeof(s), 56, []fieldOff{
		{"magic", unsafe.Offsetof(s.Magic), 0},
		{"version", unsafe.Offsetof(s.Version), 4},
		{"flags", unsafe.Offsetof(s.Flags), 8},
		{"nr_modules", unsafe.Offsetof(s.NrModules), 12},
		{"modlist_paddr", unsafe.Offsetof(s.ModlistPaddr), 16},
		{"cmdline_paddr", unsafe.Offsetof(s.CmdlinePaddr), 24},
		{"rsdp_paddr", unsafe.Offsetof(s.RsdpPaddr), 32},
		{"memmap_paddr", unsafe.Offsetof(s.MemmapPaddr), 40},
		{"memmap_entries", unsafe.Offsetof(s.MemmapEntries), 48},
		{"reserved", unsafe.Offsetof(s.Reserved), 52},
	})
	if HVMStartInfoSize != 56 || HVMStartInfoV0Size != 40 {
		t.Errorf("size constants %d/%d, want 56/40", HVMStartInfoSize, HVMStartInfoV0Size)
	}
}

func TestHVMModlistEntryLayout(t *testing.T) {
	var e HVMModlistEntry
	checkLayout(t, "hvm_modlist_entry", unsafe.Sizeof(e), 32, []fieldOff{
		{"paddr", unsafe.Offsetof(e.Paddr), 0},
		{"size", unsafe.Offsetof(e.Size), 8},
		{"cmdline_paddr", unsafe.Offsetof(e.CmdlinePaddr), 16},
		{"reserved", unsafe.Offsetof(e.Reserved), 24},
	})
	if HVMModlistEntrySize != 32 {
		t.Errorf("HVMModlistEntrySize = %d, want 32", HVMModlistEntrySize)
	}
}

func TestHVMMemmapEntryLayout(t *testing.T) {
	var e HVMMemmapEntry
	checkLayout(t, "hvm_memmap_table_entry", unsafe.Sizeof(e), 24, []fieldOff{
		{"addr", unsafe.Offsetof(e.Addr), 0},
		{"size", unsafe.Offsetof(e.Size), 8},
		{"type", unsafe.Offsetof(e.Type), 16},
		{"reserved", unsafe.Offsetof(e.Reserved), 20},
	})
	if HVMMemmapEntrySize != 24 {
		t.Errorf("HVMMemmapEntrySize = %d, want 24", HVMMemmapEntrySize)
	}
}

// TestConstants pins the ABI numbers to the values in Xen's headers:
// start_info.h (magic, XEN_HVM_MEMMAP_TYPE_*), xen.h (SIF_*), elfnote.h
// (XEN_ELFNOTE_PHYS32_ENTRY).
func TestConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"XEN_HVM_START_MAGIC_VALUE", HVMStartInfoMagic, 0x336ec578},
		{"SIF_PRIVILEGED", SIFPrivileged, 1},
		{"SIF_INITDOMAIN", SIFInitDomain, 2},
		{"XEN_ELFNOTE_PHYS32_ENTRY", XenElfnotePhys32Entry, 18},
		{"XEN_HVM_MEMMAP_TYPE_RAM", MemmapTypeRAM, 1},
		{"XEN_HVM_MEMMAP_TYPE_RESERVED", MemmapTypeReserved, 2},
		{"XEN_HVM_MEMMAP_TYPE_ACPI", MemmapTypeACPI, 3},
		{"XEN_HVM_MEMMAP_TYPE_NVS", MemmapTypeNVS, 4},
		{"XEN_HVM_MEMMAP_TYPE_UNUSABLE", MemmapTypeUnusable, 5},
		{"XEN_HVM_MEMMAP_TYPE_DISABLED", MemmapTypeDisabled, 6},
		{"XEN_HVM_MEMMAP_TYPE_PMEM", MemmapTypePMEM, 7},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	// "xEn3" with the 0x80 bit of the "E" set, read little-endian.
	if m := []byte{0x78, 0xc5, 0x6e, 0x33}; le.Uint32(m) != HVMStartInfoMagic || m[1]&^0x80 != 'E' {
		t.Errorf("magic does not spell xEn3")
	}
}

func TestMemmapTypeName(t *testing.T) {
	for typ, want := range map[uint32]string{1: "RAM", 2: "reserved", 3: "ACPI", 4: "NVS", 5: "unusable", 6: "disabled", 7: "PMEM", 0: "type 0", 99: "type 99"} {
		if got := MemmapTypeName(typ); got != want {
			t.Errorf("MemmapTypeName(%d) = %q, want %q", typ, got, want)
		}
	}
}

// TestStartInfoEncoding checks every byte of an encoding against the header's
// offsets, then the round trip.
func TestStartInfoEncoding(t *testing.T) {
	s := HVMStartInfo{
		Magic: HVMStartInfoMagic, Version: 1, Flags: SIFPrivileged | SIFInitDomain, NrModules: 0x04030201,
		ModlistPaddr: 0x1112131415161718, CmdlinePaddr: 0x2122232425262728, RsdpPaddr: 0x3132333435363738,
		MemmapPaddr: 0x4142434445464748, MemmapEntries: 0x51525354, Reserved: 0x61626364,
	}
	want := []byte{
		0x78, 0xc5, 0x6e, 0x33, // 0 magic
		1, 0, 0, 0, // 4 version
		3, 0, 0, 0, // 8 flags
		1, 2, 3, 4, // 12 nr_modules
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, // 16 modlist_paddr
		0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, // 24 cmdline_paddr
		0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, // 32 rsdp_paddr
		0x48, 0x47, 0x46, 0x45, 0x44, 0x43, 0x42, 0x41, // 40 memmap_paddr
		0x54, 0x53, 0x52, 0x51, // 48 memmap_entries
		0x64, 0x63, 0x62, 0x61, // 52 reserved
	}
	b := bytes.Repeat([]byte{0xEE}, 60)
	s.Encode(b)
	if !bytes.Equal(b[:56], want) {
		t.Fatalf("Encode:\n got %x\nwant %x", b[:56], want)
	}
	if !bytes.Equal(b[56:], []byte{0xEE, 0xEE, 0xEE, 0xEE}) {
		t.Fatalf("Encode wrote past 56 bytes: %x", b[56:])
	}
	var d HVMStartInfo
	if err := d.Decode(b); err != nil || d != s {
		t.Fatalf("Decode = %+v, %v; want %+v", d, err, s)
	}
	roundTrip(t, &s, &HVMStartInfo{}, want)
}

func TestModlistEntryEncoding(t *testing.T) {
	e := HVMModlistEntry{Paddr: 0x0102030405060708, Size: 0x1112131415161718, CmdlinePaddr: 0x2122232425262728, Reserved: 0x3132333435363738}
	want := []byte{
		8, 7, 6, 5, 4, 3, 2, 1, // 0 paddr
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, // 8 size
		0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, // 16 cmdline_paddr
		0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, // 24 reserved
	}
	b := make([]byte, 32)
	e.Encode(b)
	if !bytes.Equal(b, want) {
		t.Fatalf("Encode:\n got %x\nwant %x", b, want)
	}
	var d HVMModlistEntry
	if err := d.Decode(b); err != nil || d != e {
		t.Fatalf("Decode = %+v, %v; want %+v", d, err, e)
	}
	roundTrip(t, &e, &HVMModlistEntry{}, want)
}

func TestMemmapEntryEncoding(t *testing.T) {
	e := HVMMemmapEntry{Addr: 0x0102030405060708, Size: 0x1112131415161718, Type: MemmapTypeACPI, Reserved: 0x21222324}
	want := []byte{
		8, 7, 6, 5, 4, 3, 2, 1, // 0 addr
		0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, // 8 size
		3, 0, 0, 0, // 16 type
		0x24, 0x23, 0x22, 0x21, // 20 reserved
	}
	b := make([]byte, 24)
	e.Encode(b)
	if !bytes.Equal(b, want) {
		t.Fatalf("Encode:\n got %x\nwant %x", b, want)
	}
	var d HVMMemmapEntry
	if err := d.Decode(b); err != nil || d != e {
		t.Fatalf("Decode = %+v, %v; want %+v", d, err, e)
	}
	roundTrip(t, &e, &HVMMemmapEntry{}, want)
}

// binaryCodec is what every ABI struct implements.
type binaryCodec interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
	encoding.BinaryAppender
	Encode([]byte)
	Decode([]byte) error
}

// roundTrip checks MarshalBinary, AppendBinary and UnmarshalBinary of v
// against its expected encoding, and the errors for short buffers.
func roundTrip(t *testing.T, v, fresh binaryCodec, want []byte) {
	t.Helper()
	n := len(want)
	m, err := v.MarshalBinary()
	if err != nil || !bytes.Equal(m, want) {
		t.Errorf("MarshalBinary = %x, %v; want %x", m, err, want)
	}
	a, err := v.AppendBinary([]byte("pre"))
	if err != nil || string(a[:3]) != "pre" || !bytes.Equal(a[3:], want) {
		t.Errorf("AppendBinary = %x, %v", a, err)
	}
	if err := fresh.UnmarshalBinary(want); err != nil {
		t.Errorf("UnmarshalBinary: %v", err)
	}
	if m2, _ := fresh.MarshalBinary(); !bytes.Equal(m2, want) {
		t.Errorf("UnmarshalBinary then MarshalBinary = %x, want %x", m2, want)
	}
	if err := fresh.UnmarshalBinary(append(want[:n:n], 0)); err == nil {
		t.Errorf("UnmarshalBinary accepted %d bytes", n+1)
	}
	for _, l := range []int{0, 1, n - 1} {
		err := fresh.Decode(want[:l])
		if err == nil || !strings.Contains(err.Error(), "needs") {
			t.Errorf("Decode of %d bytes: err = %v, want a short-buffer error", l, err)
		}
		if err := fresh.UnmarshalBinary(want[:l]); err == nil {
			t.Errorf("UnmarshalBinary accepted %d bytes", l)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Encode into %d bytes did not panic", n-1)
			}
		}()
		v.Encode(make([]byte, n-1))
	}()
}

type fieldOff struct {
	name      string
	got, want uintptr
}

func checkLayout(t *testing.T, name string, size, wantSize uintptr, fields []fieldOff) {
	t.Helper()
	if size != wantSize {
		t.Errorf("sizeof(%s) = %d, want %d", name, size, wantSize)
	}
	for _, f := range fields {
		if f.got != f.want {
			t.Errorf("offsetof(%s.%s) = %d, want %d", name, f.name, f.got, f.want)
		}
	}
}
