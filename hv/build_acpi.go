package hv

import (
	"fmt"

	"gozen/loader"
	"gozen/mm/npt"
)

// writeBootInfo writes a new domain's ACPI tables and its PVH boot
// information (hvm_start_info with the memory map, command line and module
// list) into its memory, and returns where the start info is. The tables
// are those Xen's toolstack gives a PVH domU (loader.ACPITables), and
// rsdp_paddr points at them; a domain too small to hold them gets none.
func writeBootInfo(mem *npt.Memory, cfg DomainConfig, mods []loader.ModulePlacement) (loader.BootInfo, error) {
	var rsdp uint64
	if cfg.Mem >= loader.ACPIBase+loader.ACPILimit {
		tables, r, err := loader.ACPITables(loader.ACPIBase, cfg.VCPUs)
		if err != nil {
			return loader.BootInfo{}, err
		}
		if err := mem.WritePhys(loader.ACPIBase, tables); err != nil {
			return loader.BootInfo{}, fmt.Errorf("ACPI tables: %w", err)
		}
		rsdp = r
	}
	bi, err := loader.BuildStartInfo(loader.BootInfoBase, loader.BootInfoLimit, loader.GuestMemoryMap(cfg.Mem),
		cfg.Cmdline, mods, 0, rsdp)
	if err != nil {
		return loader.BootInfo{}, fmt.Errorf("boot information: %w", err)
	}
	if err := mem.WritePhys(bi.Paddr, bi.Bytes); err != nil {
		return loader.BootInfo{}, err
	}
	return bi, nil
}
