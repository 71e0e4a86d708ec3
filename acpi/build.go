package acpi

import "fmt"

// Dom0Allowed reports whether dom0 may see the host table with signature
// sig through its XSDT: Xen's pvh_acpi_table_allowed list (FADT, FACS,
// DSDT, PSDT, SSDT, SBST, MCFG, SLIC, MSDM, WDAT, FPDT, S3PT, TCPA, TPM2,
// VFCT and OEMx). Everything else is dropped: the MADT (replaced), the
// HPET and IOMMU tables (DMAR, IVRS: devices hv keeps), SRAT and SLIT
// (host NUMA, which dom0's vCPUs do not have), BGRT and the rest.
func Dom0Allowed(sig string) bool {
	switch sig {
	case "FACP", "FACS", "DSDT", "PSDT", "SSDT", "SBST", "MCFG", "SLIC", "MSDM",
		"WDAT", "FPDT", "S3PT", "TCPA", "TPM2", "VFCT":
		return true
	}
	return len(sig) == 4 && sig[:3] == "OEM"
}

// Dom0Tables is the blob BuildDom0 makes: Bytes go to guest-physical Base
// (which, in dom0's identity p2m, is also the machine address); RSDP is the
// address to put in start_info's rsdp_paddr.
type Dom0Tables struct {
	Base  uint64
	Bytes []byte
	RSDP  uint64
	// Passed lists the host tables the XSDT refers to, after the MADT.
	Passed []string
}

// LAPICAddr is the local APIC's address every x86 MADT gives.
const LAPICAddr = 0xFEE00000

// BuildDom0 lays out at base (16-byte aligned) a new RSDP (revision 2), an
// XSDT and a MADT for dom0, whose local APIC IDs are apicIDs (one entry per
// vCPU, processor UID = index). The MADT copies the host's IO-APICs and
// interrupt source overrides and its PCAT_COMPAT flag; the XSDT lists the
// new MADT first, then every host table Dom0Allowed admits and keep
// accepts (hv checks that a table lies in firmware memory, as Xen's
// acpi_memory_banned), in the host's order. OEM fields are the host's.
func BuildDom0(h *Host, base uint64, apicIDs []uint32, keep func(TableRef) bool) (*Dom0Tables, error) {
	if base%16 != 0 {
		return nil, fmt.Errorf("acpi: tables at %#x: want 16-byte alignment", base)
	}
	if len(apicIDs) == 0 || len(apicIDs) > 255 {
		return nil, fmt.Errorf("acpi: %d vCPUs for the MADT (1-255)", len(apicIDs))
	}
	var passed []TableRef
	for _, t := range h.Tables {
		if t.Header.Sig() == "APIC" || !Dom0Allowed(t.Header.Sig()) || (keep != nil && !keep(t)) {
			continue
		}
		passed = append(passed, t)
	}
	// MADT: fixed part, then entries.
	var mb []byte
	mb = append(mb, make([]byte, madtFixed)...)
	for i, id := range apicIDs {
		if id <= 0xfe {
			mb = append(mb, MADTLocalAPIC, madtLAPICEntrySize, uint8(i), uint8(id), 1, 0, 0, 0)
			continue
		}
		e := make([]byte, 16)
		e[0], e[1] = MADTLocalX2APIC, 16
		le.PutUint32(e[4:], id)
		le.PutUint32(e[8:], 1)
		le.PutUint32(e[12:], uint32(i))
		mb = append(mb, e...)
	}
	var flags uint32
	if h.MADT != nil {
		flags = h.MADT.Flags & MADTPCATCompat
		for _, a := range h.MADT.IOAPICs {
			e := make([]byte, madtIOAPICSize)
			e[0], e[1], e[2] = MADTIOAPIC, madtIOAPICSize, a.ID
			le.PutUint32(e[4:], a.Addr)
			le.PutUint32(e[8:], a.GSIBase)
			mb = append(mb, e...)
		}
		for _, o := range h.MADT.Overrides {
			e := make([]byte, madtISOSize)
			e[0], e[1], e[2], e[3] = MADTIntOverride, madtISOSize, o.Bus, o.Source
			le.PutUint32(e[4:], o.GSI)
			le.PutUint16(e[8:], o.Flags)
			mb = append(mb, e...)
		}
	}
	mh := Header{Signature: [4]byte{'A', 'P', 'I', 'C'}, Length: uint32(len(mb)), Revision: 4,
		OEMID: h.Root.OEMID, OEMTableID: h.Root.OEMTableID, OEMRevision: h.Root.OEMRevision,
		CreatorID: h.Root.CreatorID, CreatorRevision: h.Root.CreatorRevision}
	if h.MADT != nil {
		mh.OEMID, mh.OEMTableID, mh.OEMRevision = h.MADT.Header.OEMID, h.MADT.Header.OEMTableID, h.MADT.Header.OEMRevision
		mh.Revision = min(h.MADT.Header.Revision, 4)
	}
	mh.encode(mb)
	le.PutUint32(mb[36:], LAPICAddr)
	le.PutUint32(mb[40:], flags)
	setChecksum(mb, 9)

	// Layout: RSDP at base, XSDT at base+64, MADT after the XSDT.
	xsdtLen := HeaderSize + 8*(1+len(passed))
	xsdtAt := uint64(64)
	madtAt := (xsdtAt + uint64(xsdtLen) + 15) &^ 15
	out := make([]byte, madtAt+uint64(len(mb)))
	xb := out[xsdtAt : xsdtAt+uint64(xsdtLen)]
	xh := h.Root
	xh.Signature = [4]byte{'X', 'S', 'D', 'T'}
	xh.Length = uint32(xsdtLen)
	xh.Revision = 1
	xh.encode(xb)
	le.PutUint64(xb[HeaderSize:], base+madtAt)
	t := &Dom0Tables{Base: base, RSDP: base}
	t.Passed = append(t.Passed, "APIC (new)")
	for i, p := range passed {
		le.PutUint64(xb[HeaderSize+8*(i+1):], p.Addr)
		t.Passed = append(t.Passed, p.Header.Sig())
	}
	setChecksum(xb, 9)
	copy(out[madtAt:], mb)
	// RSDP revision 2 (ACPI §5.2.5.3).
	r := out[:RSDPv2Size]
	copy(r, "RSD PTR ")
	copy(r[9:15], h.RSDP.OEMID[:])
	r[15] = 2
	le.PutUint32(r[20:], RSDPv2Size)
	le.PutUint64(r[24:], base+xsdtAt)
	setChecksum(r[:RSDPv1Size], 8)
	setChecksum(r, 32)
	t.Bytes = out
	return t, nil
}
