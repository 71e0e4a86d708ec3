package loader

import "gozen/abi/xen"

// SetRSDP sets the hvm_start_info's rsdp_paddr in the blob: where the
// guest's ACPI RSDP is (dom0's tables; Linux's pvh_get_root_pointer uses
// it instead of scanning the BIOS area).
func (b *BootInfo) SetRSDP(pa uint64) {
	off := b.StartInfo - b.Paddr
	var si xen.HVMStartInfo
	if si.Decode(b.Bytes[off:]) != nil {
		return
	}
	si.RsdpPaddr = pa
	si.Encode(b.Bytes[off:])
}
