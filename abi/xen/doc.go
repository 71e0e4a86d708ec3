// Package xen holds the Xen public ABI that GoZen implements: numbers,
// constants and the in-memory layout of the structures a guest and the
// hypervisor exchange.
//
// It is a leaf package: it imports only the standard library, so the
// hypervisor and the dom0 tools can both use it. Each topic of Xen's
// xen/include/public tree gets its own file (startinfo.go for the PVH boot
// ABI of arch-x86/hvm/start_info.h, and so on). The toolstack's ABI, what
// dom0 tools send through privcmd, is in domctl.go (XEN_DOMCTL_*, interface
// version 0x15 of Xen 4.17), sysctl.go (XEN_SYSCTL_*, 0x15) and hvmsave.go
// (the HVM context records of XEN_DOMCTL_get/sethvmcontext); memory.go
// has the foreign-mapping calls (add_to_physmap_batch, acquire_resource).
//
// Structures are plain Go structs whose field order and widths match the C
// layout on x86-64. They are converted to and from guest memory explicitly,
// little-endian, with Encode/Decode methods; nothing here relies on unsafe or
// on Go's own struct layout. The tests check that the Go layout matches the C
// offsets anyway, so the structs can also serve as documentation.
package xen
