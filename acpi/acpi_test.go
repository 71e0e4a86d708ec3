package acpi

import (
	"bytes"
	"errors"
	"testing"
)

// mem is fake host memory: sparse byte ranges.
type mem map[uint64][]byte

func (m mem) ReadAt(pa uint64, p []byte) bool {
	for base, b := range m {
		if pa >= base && pa-base <= uint64(len(b)) && uint64(len(p)) <= uint64(len(b))-(pa-base) {
			copy(p, b[pa-base:])
			return true
		}
	}
	return false
}

func table(sig string, rev uint8, body []byte) []byte {
	b := make([]byte, HeaderSize+len(body))
	h := Header{Length: uint32(len(b)), Revision: rev, OEMID: [6]byte{'B', 'O', 'C', 'H', 'S', ' '}, OEMTableID: [8]byte{'B', 'X', 'P', 'C'}, OEMRevision: 1, CreatorID: 0x43505842, CreatorRevision: 1}
	copy(h.Signature[:], sig)
	h.encode(b)
	copy(b[HeaderSize:], body)
	setChecksum(b, 9)
	return b
}

func rsdp(rev uint8, rsdt uint32, xsdt uint64) []byte {
	b := make([]byte, RSDPv2Size)
	copy(b, "RSD PTR ")
	copy(b[9:], "BOCHS ")
	b[15] = rev
	le.PutUint32(b[16:], rsdt)
	le.PutUint32(b[20:], RSDPv2Size)
	le.PutUint64(b[24:], xsdt)
	setChecksum(b[:RSDPv1Size], 8)
	setChecksum(b, 32)
	if rev < 2 {
		return b[:RSDPv1Size]
	}
	return b
}

func madtBody() []byte {
	b := make([]byte, 8)
	le.PutUint32(b[0:], LAPICAddr)
	le.PutUint32(b[4:], MADTPCATCompat)
	b = append(b, MADTLocalAPIC, 8, 0, 0, 1, 0, 0, 0)                 // CPU 0 enabled
	b = append(b, MADTLocalAPIC, 8, 1, 1, 0, 0, 0, 0)                 // CPU 1 disabled
	b = append(b, MADTIOAPIC, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0) // IO-APIC 0 at 0xfec00000, GSI 0
	b = append(b, MADTIntOverride, 10, 0, 0, 2, 0, 0, 0, 0, 0)        // IRQ0 -> GSI2
	b = append(b, MADTIntOverride, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0)     // IRQ9 level, active high
	b = append(b, MADTLocalAPICNMI, 6, 0xff, 0, 0, 1)
	return b
}

func fadtBody() []byte {
	b := make([]byte, 244-HeaderSize)
	le.PutUint32(b[fadtFirmwareCtrl-HeaderSize:], 0x7ffe0000)
	le.PutUint32(b[fadtDSDT-HeaderSize:], 0x7ffe0040)
	le.PutUint32(b[fadtPM1aCnt-HeaderSize:], 0x604)
	b[fadtPM1CntLen-HeaderSize] = 2
	g := b[fadtResetReg-HeaderSize:]
	g[0], g[1] = SpaceIO, 8
	le.PutUint64(g[4:], 0xcf9)
	b[fadtResetValue-HeaderSize] = 6
	return b
}

// qemuLike is a firmware like SeaBIOS's under QEMU: RSDP in the BIOS area,
// RSDT (revision 0) or XSDT (revision 2) listing FACP, APIC, HPET, SSDT,
// DMAR and SRAT.
func qemuLike(xsdt bool) mem {
	m := mem{}
	tabs := []struct {
		pa  uint64
		sig string
	}{{0x7ffe1000, "FACP"}, {0x7ffe2000, "APIC"}, {0x7ffe3000, "HPET"}, {0x7ffe4000, "SSDT"}, {0x7ffe5000, "DMAR"}, {0x7ffe6000, "SRAT"}, {0x7ffe7000, "MCFG"}}
	var rsdtBody, xsdtBody []byte
	for _, t := range tabs {
		var body []byte
		switch t.sig {
		case "APIC":
			body = madtBody()
		case "FACP":
			body = fadtBody()
		default:
			body = []byte("payload")
		}
		m[t.pa] = table(t.sig, 1, body)
		rsdtBody = le.AppendUint32(rsdtBody, uint32(t.pa))
		xsdtBody = le.AppendUint64(xsdtBody, t.pa)
	}
	bios := make([]byte, 0x20000)
	if xsdt {
		m[0x7ffe0800] = table("XSDT", 1, xsdtBody)
		copy(bios[0x15a00:], rsdp(2, 0, 0x7ffe0800))
	} else {
		m[0x7ffe0800] = table("RSDT", 1, rsdtBody)
		copy(bios[0x15a00:], rsdp(0, 0x7ffe0800, 0))
	}
	copy(bios[0x15000:], "RSD PTR ") // a decoy without a valid checksum
	m[0xE0000] = bios
	return m
}

func TestFindAndParseHost(t *testing.T) {
	for _, x := range []bool{false, true} {
		m := qemuLike(x)
		pa, err := FindRSDP(m)
		if err != nil || pa != 0xF5A00 {
			t.Fatalf("FindRSDP = %#x, %v; want 0xf5a00", pa, err)
		}
		h, err := ParseHost(m, pa)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Tables) != 7 || len(h.Warnings) != 0 {
			t.Fatalf("tables %d, warnings %v", len(h.Tables), h.Warnings)
		}
		md := h.MADT
		if md == nil || md.LAPICs != 1 || md.Flags != MADTPCATCompat || len(md.IOAPICs) != 1 || md.IOAPICs[0] != (IOAPIC{0, 0xfec00000, 0}) ||
			len(md.Overrides) != 2 || md.Overrides[1] != (IntOverride{0, 9, 9, 0x0d}) {
			t.Errorf("MADT %+v", md)
		}
		f := h.FADT
		if f == nil || f.PM1aCnt != 0x604 || f.PM1CntLen != 2 || f.DSDT != 0x7ffe0040 || f.FACS != 0x7ffe0000 || f.ResetPort != 0xcf9 || f.ResetValue != 6 {
			t.Errorf("FADT %+v", f)
		}
	}
}

func TestBuildDom0(t *testing.T) {
	m := qemuLike(false)
	h, err := ParseHost(m, 0xF5A00)
	if err != nil {
		t.Fatal(err)
	}
	const base = 0x9e000
	tb, err := BuildDom0(h, base, []uint32{0, 1, 2}, func(r TableRef) bool { return r.Header.Sig() != "MCFG" })
	if err != nil {
		t.Fatal(err)
	}
	if tb.RSDP != base {
		t.Errorf("RSDP at %#x", tb.RSDP)
	}
	// The built tables parse with the same code, through the guest's eyes.
	g := mem{base: tb.Bytes}
	for pa, b := range m {
		g[pa] = b
	}
	d, err := ParseHost(g, tb.RSDP)
	if err != nil {
		t.Fatal(err)
	}
	if d.RSDP.Revision != 2 || d.Root.Sig() != "XSDT" || len(d.Warnings) != 0 {
		t.Fatalf("dom0 root: %+v %v", d.RSDP, d.Warnings)
	}
	var sigs []string
	for _, r := range d.Tables {
		sigs = append(sigs, r.Header.Sig())
	}
	if got := string(bytes.Join(bytesOf(sigs), []byte(","))); got != "APIC,FACP,SSDT" {
		t.Errorf("dom0 XSDT lists %s; want APIC,FACP,SSDT (no HPET, DMAR, SRAT; MCFG refused by keep)", got)
	}
	if d.Tables[0].Addr < base || d.Tables[0].Addr >= base+uint64(len(tb.Bytes)) {
		t.Errorf("MADT at %#x, outside the blob", d.Tables[0].Addr)
	}
	if d.Tables[1].Addr != 0x7ffe1000 {
		t.Errorf("FADT passed at %#x, want the host's", d.Tables[1].Addr)
	}
	md := d.MADT
	if md.LAPICs != 3 || md.LAPICAddr != LAPICAddr || md.Flags != MADTPCATCompat || len(md.IOAPICs) != 1 || md.IOAPICs[0].Addr != 0xfec00000 || len(md.Overrides) != 2 {
		t.Errorf("dom0 MADT %+v", md)
	}
	if string(md.Header.OEMID[:]) != "BOCHS " {
		t.Errorf("OEM id %q", md.Header.OEMID)
	}
	// LAPIC entries: UID i, APIC ID i, enabled.
	mb := tb.Bytes[d.Tables[0].Addr-base:]
	for i := 0; i < 3; i++ {
		e := mb[madtFixed+8*i:]
		if e[0] != 0 || e[1] != 8 || e[2] != byte(i) || e[3] != byte(i) || e[4] != 1 {
			t.Errorf("LAPIC entry %d: % x", i, e[:8])
		}
	}
	if _, err := BuildDom0(h, base+1, []uint32{0}, nil); err == nil {
		t.Error("unaligned base accepted")
	}
	if _, err := BuildDom0(h, base, nil, nil); err == nil {
		t.Error("no vCPUs accepted")
	}
	// x2APIC entries for IDs above 254.
	tb, err = BuildDom0(h, base, []uint32{0, 300}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g[base] = tb.Bytes
	if d, err := ParseHost(g, base); err != nil || d.MADT.LAPICs != 2 {
		t.Errorf("x2APIC MADT: %v %+v", err, d)
	}
}

func bytesOf(s []string) [][]byte {
	var out [][]byte
	for _, x := range s {
		out = append(out, []byte(x))
	}
	return out
}

func TestMalformed(t *testing.T) {
	if _, err := FindRSDP(mem{0xE0000: make([]byte, 0x20000)}); !errors.Is(err, ErrNoRSDP) {
		t.Errorf("empty BIOS area: %v", err)
	}
	if _, err := ParseHost(mem{}, 0xF0000); err == nil {
		t.Error("unreadable RSDP accepted")
	}
	bad := rsdp(2, 0, 0x1000)
	bad[24]++ // breaks the extended checksum only
	if _, err := ParseRSDP(bad); !errors.Is(err, ErrBadRSDP) {
		t.Errorf("bad extended checksum: %v", err)
	}
	cases := map[string]func(m mem){
		"root table length too short": func(m mem) { le.PutUint32(m[0x7ffe0800][4:], 10) },
		"root table too long":         func(m mem) { le.PutUint32(m[0x7ffe0800][4:], MaxTableSize+1) },
		"root table is not RSDT":      func(m mem) { copy(m[0x7ffe0800], "XSDT") },
		"MADT entry length 0":         func(m mem) { m[0x7ffe2000][madtFixed+1] = 0 },
		"MADT entry past the end":     func(m mem) { m[0x7ffe2000][madtFixed+1] = 200 },
		"MADT IO-APIC entry short": func(m mem) {
			b := m[0x7ffe2000]
			b[madtFixed+16+1] = 4
			b[madtFixed+16+4] = 2 // what follows parses as a 2-byte entry...
		},
		"MADT length beyond memory": func(m mem) { le.PutUint32(m[0x7ffe2000][4:], 4000) },
		"FADT too short": func(m mem) {
			m[0x7ffe1000] = table("FACP", 1, make([]byte, 20))
		},
	}
	for name, breakIt := range cases {
		m := qemuLike(false)
		breakIt(m)
		if _, err := ParseHost(m, 0xF5A00); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Not fatal: a bad checksum, an unreadable entry.
	m := qemuLike(false)
	m[0x7ffe4000][9]++
	le.PutUint32(m[0x7ffe0800][HeaderSize+4*5:], 0x12345000)
	h, err := ParseHost(m, 0xF5A00)
	if err != nil || len(h.Warnings) != 2 || len(h.Tables) != 6 {
		t.Errorf("warnings: %v %+v", err, h)
	}
}

func TestDom0Allowed(t *testing.T) {
	for sig, want := range map[string]bool{"FACP": true, "SSDT": true, "MCFG": true, "OEM1": true, "TPM2": true,
		"APIC": false, "HPET": false, "DMAR": false, "IVRS": false, "SRAT": false, "SLIT": false, "BGRT": false, "OEM": false} {
		if Dom0Allowed(sig) != want {
			t.Errorf("Dom0Allowed(%q) = %v", sig, !want)
		}
	}
}

// FuzzParseHost: firmware memory made of one fuzzer-chosen blob at a
// fixed address must never crash the parser or the builder.
func FuzzParseHost(f *testing.F) {
	m := qemuLike(true)
	var seed []byte
	seed = append(seed, rsdp(2, 0, 0x1040)...)
	seed = append(seed, make([]byte, 0x40-len(seed))...)
	seed = append(seed, m[0x7ffe0800]...)
	f.Add(seed)
	f.Add(append(rsdp(0, 0x1020, 0), table("RSDT", 1, []byte{0x40, 0x10, 0, 0, 0x40, 0x10, 0, 0})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		fm := mem{0x1000: b, 0x7ffe1000: m[0x7ffe1000], 0x7ffe2000: m[0x7ffe2000]}
		h, err := ParseHost(fm, 0x1000)
		if err != nil {
			return
		}
		tb, err := BuildDom0(h, 0x2000, []uint32{0, 1}, nil)
		if err != nil {
			t.Fatalf("BuildDom0 on a parsed host: %v", err)
		}
		d, err := ParseHost(mem{0x2000: tb.Bytes}, 0x2000)
		if err != nil || d.MADT == nil || d.MADT.LAPICs != 2 {
			t.Fatalf("the tables built for dom0 do not parse: %v", err)
		}
	})
}
