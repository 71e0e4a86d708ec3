package amdvi

import (
	"encoding/binary"
	"testing"
)

// ivrsBuilder assembles IVRS tables for tests.
type ivrsBuilder struct{ b []byte }

func newIVRS(ivinfo uint32) *ivrsBuilder {
	b := make([]byte, 48)
	copy(b, "IVRS")
	b[8] = 1 // revision
	copy(b[10:16], "BOCHS ")
	binary.LittleEndian.PutUint32(b[36:], ivinfo)
	return &ivrsBuilder{b}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ivhd appends an IVHD block; efr is used for types 11h/40h.
func (t *ivrsBuilder) ivhd(typ, flags uint8, dev, cap uint16, base uint64, feature uint32, efr uint64, entries []byte) {
	hdr := 24
	if typ != IVHDType10 {
		hdr = 40
	}
	blk := cat([]byte{typ, flags}, le16(uint16(hdr+len(entries))), le16(dev), le16(cap), le64(base), le16(0), le16(0), le32(feature))
	if typ != IVHDType10 {
		blk = cat(blk, le64(efr), le64(0))
	}
	t.b = append(t.b, cat(blk, entries)...)
}

func (t *ivrsBuilder) bytes() []byte {
	b := append([]byte(nil), t.b...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	b[9] = 0
	var sum uint8
	for _, c := range b {
		sum += c
	}
	b[9] = -sum
	return b
}

func dev4(typ uint8, id uint16, setting uint8) []byte {
	return cat([]byte{typ}, le16(id), []byte{setting})
}

// qemuIVRS is the table QEMU 7.2 builds for q35 with amd-iommu at 00:03.0,
// a PCIe-to-PCI bridge at 00:04.0 (bus 1, conventional) and intremap on:
// select entries from the bus walk, an alias range for the bridge, and the
// special IO-APIC entry (acpi-build.c build_amd_iommu, insert_ivhd).
func qemuIVRS() []byte {
	t := newIVRS(40 << 8)
	entries := cat(
		dev4(DevSelect, 0x0000, 0), // host bridge
		dev4(DevSelect, 0x0008, 0), // 00:01.0 VGA
		dev4(DevSelect, 0x0018, 0), // 00:03.0 the IOMMU itself
		dev4(DevSelect, 0x0020, 0), // 00:04.0 the bridge
		// alias start 01:00.0 → requester 01:00.0 (conventional bus), end 01:1f.7
		[]byte{DevAliasStart}, le16(0x0100), []byte{0, 0}, le16(0x0100), []byte{0},
		dev4(DevRangeEnd, 0x01ff, 0),
		dev4(DevSelect, 0x00f8, 0), // 00:1f.0 LPC
		// special: IO-APIC handle 0 at 00:14.0 (QEMU's (1<<56)|(0xa0<<40)|0x48)
		le64(1<<56|0xa0<<40|0x48),
	)
	// QEMU's feature dword: (48<<30)|(48<<28) overflow 32 bits; GTSup|GASup remain.
	t.ivhd(IVHDType10, 0xd1, 0x0018, 0x40, 0xfed80000, 1<<2|1<<6, 0, entries)
	return t.bytes()
}

func TestParseQEMUIVRS(t *testing.T) {
	v, err := ParseIVRS(qemuIVRS())
	if err != nil {
		t.Fatal(err)
	}
	if v.IVInfo>>8&0x7f != 40 || len(v.Blocks) != 1 || len(v.Memory) != 0 {
		t.Fatalf("table %+v", v)
	}
	h := v.Blocks[0]
	if h.Type != 0x10 || h.Flags != 0xd1 || h.DeviceID != 0x18 || h.CapOffset != 0x40 || h.Base != 0xfed80000 || h.Segment != 0 || h.Feature != 0x44 || h.EFR != 0 {
		t.Errorf("header %+v", h)
	}
	want := []DeviceRange{
		{First: 0, Last: 0}, {First: 8, Last: 8}, {First: 0x18, Last: 0x18}, {First: 0x20, Last: 0x20},
		{First: 0x100, Last: 0x1ff, Alias: true, AliasTo: 0x100},
		{First: 0xf8, Last: 0xf8},
	}
	if len(h.Devices) != len(want) {
		t.Fatalf("devices %+v", h.Devices)
	}
	for i := range want {
		if h.Devices[i] != want[i] {
			t.Errorf("device entry %d = %+v, want %+v", i, h.Devices[i], want[i])
		}
	}
	if len(h.Specials) != 1 || h.Specials[0] != (Special{Variety: SpecialIOAPIC, Handle: 0, DeviceID: 0xa0}) {
		t.Errorf("specials %+v", h.Specials)
	}
	if m := h.MaxDeviceID(); m != 0x1ff {
		t.Errorf("MaxDeviceID = %#x", m)
	}
	if !h.Covers(0x0118) || h.Covers(0x0010) || h.Covers(0x0200) {
		t.Error("Covers wrong")
	}
	if DeviceTableEntries(h.MaxDeviceID()) != 512 {
		t.Errorf("device table for QEMU: %d entries", DeviceTableEntries(h.MaxDeviceID()))
	}
}

func TestParseIVRSAllTypes(t *testing.T) {
	tb := newIVRS(1 | 40<<8)
	hid := cat([]byte{DevACPIHID}, le16(0x00a5), []byte{0}, []byte("AMDI0020"), make([]byte, 8), []byte{2, 3}, []byte("ID0"))
	e40 := cat(
		dev4(DevAll, 0, 0xd7),
		cat([]byte{DevExtSel}, le16(0x0300), []byte{0}, le32(1<<31)),
		cat([]byte{DevExtStart}, le16(0x0400), []byte{1}, le32(5)),
		dev4(DevPad, 0, 0),
		dev4(DevRangeEnd, 0x04ff, 0),
		cat([]byte{DevAliasSel}, le16(0x0500), []byte{0, 0}, le16(0x0020), []byte{0}),
		cat([]byte{DevSpecial}, le16(0), []byte{0xd7, 2}, le16(0x00a0), []byte{SpecialHPET}),
		hid,
		dev4(0x3f, 0x1234, 0), // unknown 4-byte entry: skipped
		le64(0x77),            // unknown 8-byte entry: skipped
	)
	tb.ivhd(IVHDType10, 0, 0x0002, 0x40, 0xfeb80000, 0, 0, dev4(DevAll, 0, 0))
	tb.ivhd(IVHDType11, 0, 0x0002, 0x40, 0xfeb80000, 0, 0x1111, dev4(DevAll, 0, 0))
	tb.ivhd(IVHDType40, 0, 0x0002, 0x40, 0xfeb80000, 0, 0x2222, e40)
	// an IVMD unity range for device 00:14.0, and an unknown block type
	tb.b = append(tb.b, cat([]byte{IVMDOne, 0x7}, le16(32), le16(0xa0), le16(0), make([]byte, 8), le64(0xe0000), le64(0x20000))...)
	tb.b = append(tb.b, cat([]byte{0x99, 0}, le16(8), make([]byte, 4))...)
	v, err := ParseIVRS(tb.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Blocks) != 3 || len(v.Memory) != 1 {
		t.Fatalf("%d blocks, %d IVMDs", len(v.Blocks), len(v.Memory))
	}
	if m := v.Memory[0]; m != (IVMD{Type: IVMDOne, Flags: 7, DeviceID: 0xa0, Start: 0xe0000, Length: 0x20000}) {
		t.Errorf("IVMD %+v", m)
	}
	iommus := v.IOMMUs()
	if len(iommus) != 1 || iommus[0].Type != IVHDType40 || iommus[0].EFR != 0x2222 {
		t.Fatalf("IOMMUs() = %+v", iommus)
	}
	h := iommus[0]
	want := []DeviceRange{
		{First: 0, Last: 0xffff, Setting: 0xd7},
		{First: 0x300, Last: 0x300, ExtSetting: 1 << 31},
		{First: 0x400, Last: 0x4ff, Setting: 1, ExtSetting: 5},
		{First: 0x500, Last: 0x500, Alias: true, AliasTo: 0x20},
	}
	if len(h.Devices) != len(want) {
		t.Fatalf("devices %+v", h.Devices)
	}
	for i := range want {
		if h.Devices[i] != want[i] {
			t.Errorf("device %d = %+v, want %+v", i, h.Devices[i], want[i])
		}
	}
	if len(h.Specials) != 1 || h.Specials[0] != (Special{Variety: SpecialHPET, Handle: 2, DeviceID: 0xa0, Setting: 0xd7}) {
		t.Errorf("specials %+v", h.Specials)
	}
	if len(h.HIDs) != 1 || string(h.HIDs[0].HID[:]) != "AMDI0020" || string(h.HIDs[0].UID) != "ID0" || h.HIDs[0].DeviceID != 0xa5 {
		t.Errorf("HIDs %+v", h.HIDs)
	}
	if h.MaxDeviceID() != 0xffff {
		t.Errorf("MaxDeviceID %#x", h.MaxDeviceID())
	}
}

func TestParseIVRSRejects(t *testing.T) {
	good := qemuIVRS()
	mutate := func(f func(b []byte) []byte) []byte {
		b := f(append([]byte(nil), good...))
		return b
	}
	resum := func(b []byte) []byte {
		b[9] = 0
		var s uint8
		for _, c := range b {
			s += c
		}
		b[9] = -s
		return b
	}
	withEntries := func(e []byte) []byte {
		tb := newIVRS(0)
		tb.ivhd(IVHDType10, 0, 0x18, 0x40, 0xfed80000, 0, 0, e)
		return tb.bytes()
	}
	cases := map[string][]byte{
		"short":             good[:40],
		"signature":         mutate(func(b []byte) []byte { b[0] = 'X'; return resum(b) }),
		"checksum":          mutate(func(b []byte) []byte { b[20]++; return b }),
		"length past end":   mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], uint32(len(b)+1)); return b }),
		"length too small":  mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 40); return b }),
		"block length 0":    mutate(func(b []byte) []byte { b[50], b[51] = 0, 0; return resum(b) }),
		"block past end":    mutate(func(b []byte) []byte { b[50] = 0xff; return resum(b) }),
		"short IVHD":        mutate(func(b []byte) []byte { b[50], b[51] = 20, 0; return resum(b[:len(b)]) }),
		"end without start": withEntries(dev4(DevRangeEnd, 5, 0)),
		"range backwards":   withEntries(cat(dev4(DevRangeStart, 9, 0), dev4(DevRangeEnd, 5, 0))),
		"range never ends":  withEntries(dev4(DevRangeStart, 9, 0)),
		"unknown var entry": withEntries(cat([]byte{0x80}, make([]byte, 7))),
		"truncated 8-byte":  withEntries(cat([]byte{DevSpecial}, make([]byte, 3))),
		"truncated HID":     withEntries(cat([]byte{DevACPIHID}, make([]byte, 20), []byte{0, 9})),
	}
	for name, b := range cases {
		if _, err := ParseIVRS(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Bytes after the length field's end are ignored.
	if _, err := ParseIVRS(append(append([]byte(nil), good...), 1, 2, 3)); err != nil {
		t.Errorf("trailing bytes: %v", err)
	}
}

func FuzzParseIVRS(f *testing.F) {
	f.Add(qemuIVRS())
	tb := newIVRS(1)
	tb.ivhd(IVHDType40, 0, 2, 0x40, 0xfeb80000, 0, 0x2222, cat(dev4(DevAll, 0, 0),
		cat([]byte{DevACPIHID}, le16(0xa5), []byte{0}, []byte("AMDI0020"), make([]byte, 8), []byte{2, 1}, []byte("0"))))
	f.Add(tb.bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		// Fix up the checksum half the time, so the fuzzer gets past it.
		if len(b) >= 48 && b[47]&1 == 0 {
			b = append([]byte(nil), b...)
			copy(b, "IVRS")
			b[9] = 0
			n := int(binary.LittleEndian.Uint32(b[4:8]))
			if n < 48 || n > len(b) {
				n = len(b)
				binary.LittleEndian.PutUint32(b[4:8], uint32(n))
			}
			var s uint8
			for _, c := range b[:n] {
				s += c
			}
			b[9] = -s
		}
		v, err := ParseIVRS(b)
		if err != nil {
			return
		}
		for _, h := range v.Blocks {
			for _, d := range h.Devices {
				if d.First > d.Last {
					t.Fatalf("range %+v backwards", d)
				}
			}
			_ = h.MaxDeviceID()
		}
		_ = v.IOMMUs()
	})
}
