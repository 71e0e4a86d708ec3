// Package hypercall is where a guest's Xen hypercall enters GoZen: it takes
// the call number and arguments from the vCPU's registers, copies each
// argument structure in from guest-virtual memory, decodes and checks it
// with the abi/xen types, calls the typed operation the hypervisor core
// implements (the Guest interface), and encodes the results back.
//
// Every guest-supplied length, count, index and pointer is checked here,
// in one place, before the core sees it: a bad one yields Xen's error code
// (-EFAULT for a buffer that cannot be read or written, -EINVAL for a bad
// value, -ENOSYS for an operation GoZen does not have). The core therefore
// works with decoded Go values and never follows a guest pointer itself.
//
// Calling convention (Xen, x86): the hypercall number is in RAX; a 64-bit
// guest passes arguments in RDI, RSI, RDX, R10 and R8, a 32-bit one in EBX,
// ECX, EDX, ESI and EDI. The result goes back in RAX: 0 or a count on
// success, -errno on failure. Hypercalls come from guest kernel mode only.
//
// The package is pure Go and is tested on the host with a fake Guest; each
// argument structure has its own fuzz target (fuzz_test.go).
package hypercall
