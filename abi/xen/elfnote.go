package xen

// ELF notes a Xen guest kernel carries, with name "Xen"
// (xen/include/public/elfnote.h).

// XenElfnoteName is the owner name of Xen ELF notes, without its NUL.
const XenElfnoteName = "Xen"

// XenElfnotePhys32Entry (XEN_ELFNOTE_PHYS32_ENTRY) is the note type whose
// payload is the physical address of the kernel's 32-bit PVH entry point. The
// payload is 4 or 8 bytes, little-endian (Linux on x86-64 writes 8).
const XenElfnotePhys32Entry = 18
