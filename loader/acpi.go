package loader

import (
	"encoding/binary"
	"fmt"
)

// ACPI tables for a PVH domU, in the shape Xen's toolstack gives them
// (tools/libs/light/libxl_x86_acpi.c over tools/libacpi): an RSDP pointing
// at an XSDT (and an RSDT), a hardware-reduced FADT, a minimal DSDT and a
// MADT with one local APIC per vCPU and no I/O APIC. Offsets and lengths are
// those of the ACPI 6.0 specification, sections 5.2.5 (RSDP), 5.2.6 (table
// header), 5.2.7/5.2.8 (RSDT/XSDT), 5.2.9 (FADT), 5.2.11.1 (DSDT) and
// 5.2.12 (MADT).
//
// Why a domU needs them: without ACPI, Linux takes the machine for a legacy
// PC and probes its devices, each probe an exit to hv. The FADT's
// HW_REDUCED_ACPI flag makes Linux 6.1 drop the legacy PIC and PIT timer
// setup (arch/x86/kernel/acpi/boot.c acpi_reduced_hw_init), and its
// "CMOS RTC not present" boot flag makes it skip the CMOS clock driver
// (acpi_parse_fadt clears x86_platform.legacy.rtc, so add_rtc_cmos registers
// no device), which otherwise polls ports 0x70/0x71 for seconds.
const (
	// ACPIBase is where a domain's ACPI tables go: the page after the
	// xenstore ring, marked ACPI in GuestMemoryMap.
	ACPIBase = specialEnd
	// ACPILimit is the most bytes the tables may take: that one page.
	ACPILimit = pageSize
	acpiEnd   = ACPIBase + ACPILimit

	// Sizes fixed by the specification.
	rsdpSize       = 36  // ACPI 2.0+ RSDP, with the extended fields
	rsdpV1Size     = 20  // the part the first checksum covers
	acpiHeaderSize = 36  // system description table header
	fadtSize       = 276 // FADT revision 6 (ACPI 6.0), up to the hypervisor vendor identity
	madtFixedSize  = 44  // header, local APIC address, flags
	madtLAPICSize  = 8   // processor local APIC structure (type 0)

	fadtRevision  = 6 // ACPI 6.0
	fadtMinor     = 0
	madtRevision  = 4 // ACPI 6.0
	xsdtRevision  = 1
	rsdtRevision  = 1
	dsdtRevision  = 2 // 64-bit AML integers
	rsdpRevision  = 2 // ACPI 2.0+: XsdtAddress is valid
	lapicBaseAddr = 0xFEE00000

	// FADT IA-PC boot architecture flags (table 5-35) and FADT flags
	// (table 5-34) GoZen sets.
	FADTBootNoVGA     = 1 << 2 // VGA Not Present
	FADTBootNoMSI     = 1 << 3 // MSI Not Supported: there is no PCI bus
	FADTBootNoASPM    = 1 << 4 // PCIe ASPM Controls: not to be touched
	FADTBootNoCMOSRTC = 1 << 5 // CMOS RTC Not Present
	FADTFlagWBINVD    = 1 << 0
	FADTFlagHWReduced = 1 << 20 // HW_REDUCED_ACPI
	// Bits left clear on purpose: boot flag LEGACY_DEVICES (bit 0, no ISA
	// devices) and 8042 (bit 1, no keyboard controller).

	// Offsets inside the FADT (table 5-33).
	fadtFirmwareCtrl = 36
	fadtDSDT         = 40
	fadtBootArch     = 109
	fadtFlags        = 112
	fadtMinorVersion = 131
	fadtXDSDT        = 140
)

// acpiOEMID and acpiOEMTableID fill every header's OEM fields.
const (
	acpiOEMID      = "GOZEN "   // 6 bytes
	acpiOEMTableID = "GOZENPVH" // 8 bytes
	acpiCreatorID  = "GOZN"
)

// Offsets of the tables inside the blob ACPITables returns; each starts on
// a 16-byte boundary, as libacpi aligns them.
const (
	acpiRSDPOff = 0
	acpiXSDTOff = 48  // 36 + 2*8 = 52 bytes
	acpiRSDTOff = 112 // 36 + 2*4 = 44 bytes
	acpiFADTOff = 160 // 276 bytes
	acpiDSDTOff = 448 // 36 bytes
	acpiMADTOff = 496 // 44 + 8 per vCPU
)

// ACPIMaxVCPUs is the most vCPUs the tables describe: Xen's HVM_MAX_VCPUS.
// Their MADT fits in ACPILimit (a test checks), and their xAPIC IDs fit in
// a byte.
const ACPIMaxVCPUs = 128

// ACPITables builds the ACPI tables of a domain with nCPUs vCPUs (local
// APIC IDs and ACPI processor UIDs 0..nCPUs-1, all enabled) to be placed at
// guest-physical address base (16-byte aligned, below 4 GiB). It returns
// the blob and the guest-physical address of the RSDP, for rsdp_paddr in
// hvm_start_info.
func ACPITables(base uint64, nCPUs int) (blob []byte, rsdp uint64, err error) {
	if nCPUs < 1 || nCPUs > ACPIMaxVCPUs {
		return nil, 0, fmt.Errorf("ACPI tables: %d vCPUs, want 1..%d", nCPUs, ACPIMaxVCPUs)
	}
	if base%16 != 0 || base+ACPILimit > 1<<32 {
		return nil, 0, fmt.Errorf("ACPI tables: base %#x is not 16-byte aligned below 4 GiB", base)
	}
	madtLen := madtFixedSize + nCPUs*madtLAPICSize
	b := make([]byte, acpiMADTOff+madtLen)
	le := binary.LittleEndian
	at := func(off int) uint64 { return base + uint64(off) }

	// DSDT: a definition block with no AML. hv offers no devices that need
	// describing; the processors are in the MADT.
	dsdt := b[acpiDSDTOff : acpiDSDTOff+acpiHeaderSize]
	putACPIHeader(dsdt, "DSDT", dsdtRevision)

	// FADT, hardware-reduced: no PM blocks, no SCI, no FACS, no sleep
	// registers (Linux then has no ACPI poweroff, and its poweroff halts the
	// vCPUs, which hv turns into a domain power-off, as without ACPI).
	fadt := b[acpiFADTOff : acpiFADTOff+fadtSize]
	putACPIHeader(fadt, "FACP", fadtRevision)
	le.PutUint32(fadt[fadtDSDT:], uint32(at(acpiDSDTOff)))
	le.PutUint16(fadt[fadtBootArch:], FADTBootNoVGA|FADTBootNoMSI|FADTBootNoASPM|FADTBootNoCMOSRTC)
	le.PutUint32(fadt[fadtFlags:], FADTFlagWBINVD|FADTFlagHWReduced)
	fadt[fadtMinorVersion] = fadtMinor
	le.PutUint64(fadt[fadtXDSDT:], at(acpiDSDTOff))

	// MADT: the local APIC address, flags 0 (no PC-AT 8259 pair), then one
	// enabled processor local APIC per vCPU.
	madt := b[acpiMADTOff:]
	putACPIHeader(madt, "APIC", madtRevision)
	le.PutUint32(madt[36:], lapicBaseAddr)
	for i := 0; i < nCPUs; i++ {
		e := madt[madtFixedSize+i*madtLAPICSize:]
		e[0] = 0 // processor local APIC
		e[1] = madtLAPICSize
		e[2] = byte(i) // ACPI processor UID
		e[3] = byte(i) // APIC ID
		le.PutUint32(e[4:], 1)
	}

	// XSDT and RSDT list the FADT and the MADT (the DSDT hangs off the
	// FADT).
	xsdt := b[acpiXSDTOff : acpiXSDTOff+acpiHeaderSize+16]
	putACPIHeader(xsdt, "XSDT", xsdtRevision)
	le.PutUint64(xsdt[36:], at(acpiFADTOff))
	le.PutUint64(xsdt[44:], at(acpiMADTOff))
	rsdt := b[acpiRSDTOff : acpiRSDTOff+acpiHeaderSize+8]
	putACPIHeader(rsdt, "RSDT", rsdtRevision)
	le.PutUint32(rsdt[36:], uint32(at(acpiFADTOff)))
	le.PutUint32(rsdt[40:], uint32(at(acpiMADTOff)))

	for _, t := range [][]byte{dsdt, fadt, madt, xsdt, rsdt} {
		le.PutUint32(t[4:], uint32(len(t)))
		t[9] = checksum(t)
	}

	// RSDP: the first checksum covers the ACPI 1.0 part, the extended one
	// all 36 bytes.
	r := b[acpiRSDPOff : acpiRSDPOff+rsdpSize]
	copy(r, "RSD PTR ")
	copy(r[9:15], acpiOEMID)
	r[15] = rsdpRevision
	le.PutUint32(r[16:], uint32(at(acpiRSDTOff)))
	le.PutUint32(r[20:], rsdpSize)
	le.PutUint64(r[24:], at(acpiXSDTOff))
	r[8] = checksum(r[:rsdpV1Size])
	r[32] = checksum(r)
	return b, at(acpiRSDPOff), nil
}

// putACPIHeader fills the fixed fields of a system description table
// header; the length and checksum are set once the table is complete.
func putACPIHeader(t []byte, sig string, rev byte) {
	copy(t[0:4], sig)
	t[8] = rev
	copy(t[10:16], acpiOEMID)
	copy(t[16:24], acpiOEMTableID)
	binary.LittleEndian.PutUint32(t[24:], 1) // OEM revision
	copy(t[28:32], acpiCreatorID)
	binary.LittleEndian.PutUint32(t[32:], 1) // creator revision
}

// checksum returns the byte that makes b sum to zero (b's own checksum
// byte must be zero when it is computed).
func checksum(b []byte) byte {
	var s byte
	for _, x := range b {
		s += x
	}
	return -s
}
