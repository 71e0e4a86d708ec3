// Package loader prepares a PVH guest kernel for a GoZen domain: it parses
// the kernel's ELF file, checks that it fits the domain's memory, and builds
// the boot information (hvm_start_info, memory map, command lines, module
// list) that the kernel finds through %ebx at its 32-bit PVH entry.
//
// The ELF parser is written for hostile input: it reads only the ELF header,
// the program headers, the section headers and the notes, each with explicit
// bounds and overflow checks, and never panics or allocates in proportion to
// numbers read from the file. It does not use debug/elf, which can panic or
// allocate huge amounts on crafted files.
//
// The package is pure Go with no hardware access. The hypervisor runs it as
// ordinary code, and it is tested and fuzzed on the host.
//
// A typical caller:
//
//	im, err := loader.ParseELF(kernel)
//	err = im.Check(memSize, loader.LowLoadLimit)
//	mods, err := im.PlaceModules(memSize, []loader.Module{{Data: initrd}})
//	bi, err := loader.BuildStartInfo(loader.BootInfoBase, loader.BootInfoLimit,
//		loader.GuestMemoryMap(memSize), cmdline, mods, 0, rsdp)
//	// copy im.Segments, the module contents and bi.Bytes into guest memory,
//	// then start the vCPU at im.Entry32 with ebx = bi.StartInfo.
package loader
