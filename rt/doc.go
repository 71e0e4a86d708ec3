// Package rt is GoZen's bare-metal runtime layer: it lets a stock
// GOOS=linux GOARCH=amd64 Go program own an x86-64 machine at ring 0.
//
// The hv image is an ordinary static Go binary. tools/mkimage puts a
// multiboot header and a 32-bit boot stub in its first page. The stub enters
// long mode and jumps to entry64 (entry_amd64.s), which calls boot0 with a
// fake g on a boot stack. boot0 runs before the Go runtime exists: it parses
// the multiboot information, sets up descriptor tables, the frame allocator,
// page tables and clocks, then starts the Go runtime's own ELF entry
// (_rt0_amd64_linux) as thread 1, with a Linux-style initial stack.
//
// From then on the Go runtime believes it runs on Linux. Its SYSCALL
// instructions trap into this package (syscall.go), which serves the calls it
// needs: demand-paged anonymous mmap, clone'd threads scheduled on the one CPU
// with timer preemption, futex, nanosleep, epoll and eventfd (netpoll),
// clock_gettime from a calibrated TSC, arch_prctl, write to the serial console,
// getrandom from RDRAND/RDSEED, and SIGSEGV/SIGFPE/SIGILL delivery so that
// faults in Go code become Go panics.
//
// Code that runs in trap context (everything reachable from trap and boot0)
// runs on a fake g whose stack bounds are the kernel stack, with interrupts
// off. It must not allocate, must not block, and must not write Go pointers
// into memory (write barriers would reach for an M that the fake g does not
// have): kernel state is integers and fixed arrays. The pure packages it
// uses (mm, mm/pgtable, rt/vm, rt/thread, rt/fd, boot/multiboot) are written
// and tested under the same rules.
package rt

//go:generate go run gen_vectors.go
