// Package amdvi drives an AMD IOMMU (AMD-Vi) from the pieces the AMD I/O
// Virtualization Technology (IOMMU) Specification (AMD pub. 48882) defines,
// so hv can take the IOMMU, hide it from dom0 and confine device DMA to
// dom0's memory (issue 9, item 7). It is pure: memory goes through the
// Memory interface (the method set of pgtable.Memory) and registers
// through MMIO, so everything here runs under `go test` with fakes.
//
// What is here, by spec chapter:
//
//   - ParseIVRS: the IVRS ACPI table ("I/O Virtualization Reporting
//     Structure"): IVHD blocks 10h/11h/40h with the IOMMU's MMIO base, PCI
//     segment, device ID, capability offset and EFR image, their device
//     entries (all, select, range start/end, alias, extended, special
//     IO-APIC/HPET, ACPI HID) and IVMD blocks. Robust to any input
//     (FuzzParseIVRS).
//   - DTE, DeviceTable: "Device Table Entry Format": V, TV, Mode, the
//     page-table root, IR/IW, DomainID; BlockedDTE for devices no one owns.
//     Interrupt remapping is left off (IV=0): see DTEIntValid.
//   - PageTable, Walk: "I/O Page Tables for Host Translations" in the v1
//     format: a DefaultLevels (4-level, 48-bit) tree of 4 KiB and 2 MiB
//     pages with PR/NextLevel/IR/IW/FC; Walk follows the whole format (1-6
//     levels, NextLevel 7 large pages, skipped levels).
//   - Command, CommandQueue: "Commands": COMPLETION_WAIT,
//     INVALIDATE_DEVTAB_ENTRY, INVALIDATE_IOMMU_PAGES,
//     INVALIDATE_IOTLB_PAGES, INVALIDATE_INTERRUPT_TABLE,
//     INVALIDATE_IOMMU_ALL, and a ring writer that waits by completion-wait
//     store with a bounded spin.
//   - Event, EventLog: "Event Log": the eight event types, printed as
//     "IOMMU fault: device 00:03.0 IO_PAGE_FAULT ... address 0x...", and a
//     reader over the head/tail registers with the overflow restart.
//   - Reg*, Ctl*, St*, EFR*, Enable, Disable: "IOMMU MMIO Registers" and
//     the bring-up order.
//   - TakeIOMMU, Unit: the bring-up for dom0 that puts the above together,
//     and Unit.Map/Unmap/Poll, which follow dom0's p2m and read the log.
//
// # How hv uses it (cmd/hv/iommu.go, hv/dom0_iommu.go)
//
//  1. cmd/hv finds IVRS through the host's XSDT, ParseIVRS, and takes
//     every IVRS.IOMMUs() entry with TakeIOMMU before dom0 is built: the
//     register window mapped uncached, tables from hv's pool, dom0's RAM
//     mapped identity. No IVRS (or a failed take): dom0 boots anyway and
//     hv logs one warning that DMA is unprotected.
//  2. The register window, the function's MMCONFIG page and the function
//     itself (configuration reads through 0xCF8/0xCFC) are kept from dom0;
//     IVRS is not in dom0's XSDT (acpi.Dom0Allowed).
//  3. hv calls Map/Unmap (through the hv.IOMMU interface) when dom0's p2m
//     changes: grant maps and unmaps, ballooning. Unmap invalidates and
//     waits before it returns.
//  4. hv's run loop calls Poll every 100 ms and logs each event.
//
// Not done: interrupt remapping (IV=0), per-device domains (every device
// of dom0 shares one table), ATS.
//
// # QEMU 7.2 (`-machine q35 -device amd-iommu`), from hw/i386/amd_iommu.c
// and acpi-build.c of that era
//
//   - IVRS revision 1 with one IVHD of type 10h only (11h came later), so
//     there is no EFR image: read RegExtFeature. Its "IOMMU Feature
//     Reporting" dword is built from overflowing shifts (HATS/GATS land
//     outside 32 bits) and means nothing. The IVHD DeviceID is the IOMMU
//     function's devfn on bus 0; MMIO base 0xFED80000. Device entries come
//     from a PCI bus walk: select entries per function, alias-range
//     (43h..04h) entries for conventional PCI behind bridges, and, with
//     intremap, a special entry for the IO-APIC at device 00:14.0.
//   - EFR: PrefSup, PPRSup, GTSup, IASup, HESup, GASup, HATS=6 levels.
//     INVALIDATE_IOMMU_ALL is supported.
//   - Commands run synchronously in the MMIO write of the tail register,
//     and only while both IommuEn and CmdBufEn are set: commands queued
//     before IommuEn run when it is set. The head register is stored before
//     it wraps, so it can read as the ring size (CommandQueue masks it).
//     Reserved bits are checked (an ILLEGAL_COMMAND event is logged, and
//     INVALIDATE_INTERRUPT_TABLE and INVALIDATE_IOTLB_PAGES are then
//     skipped); the encoders here keep them zero (tested).
//   - DTEs: V=0 means untranslated DMA; V=1 TV=1 Mode=0 passes through
//     with the DTE's IR/IW, so BlockedDTE blocks. Quadword 3 must be zero
//     and quadword 1 bit 8 (DomainID bit 8) is treated as reserved: an
//     entry that breaks either is rejected. The page walk ANDs IR/IW of
//     the DTE and every PDE, takes NextLevel 0 at level 2 as a 2 MiB page,
//     and returns no translation (silently, no event) for an all-zero PTE.
//     Interrupts (0xFEEx_xxxx) are never DMA-translated; with IV=0 they
//     pass through.
//   - The event log: entries are encoded as the spec says (fixed in 7.1),
//     but 7.2 never advances the tail register, and its internal tail never
//     wraps: after entries/16 events (it compares a byte offset with the
//     entry count) it sets EventOverflow and stops logging. EventLog.Poll
//     therefore also takes written entries the tail register does not
//     cover, and the wiring must Restart the log when Overflowed (writing
//     the tail register resets QEMU's internal tail). Upstream fixed the
//     tail handling in 2025.
//   - Observed under Debian's QEMU 7.2.22 (scenario dom0-iommu-deny): DMA
//     that a DTE without IR/IW denies, and DMA of a device whose DTE has a
//     reserved bit set, fail as they should and QEMU traces them
//     (amdvi_page_fault, amdvi_invalid_dte), but no entry ever reaches the
//     event log (it stays zero; the status register shows no event or
//     overflow). hv's fault logging is therefore tested on the host only.
package amdvi
