package svm

// run enters the guest whose VMCB is at physical address vmcbPA and returns
// at the next #VMEXIT (run_amd64.s). regs holds the guest GPRs that the VMCB
// does not (RAX and RSP are in the VMCB; their slots are ignored), in x86
// encoding order. guestFx and hostFx are 16-byte aligned 512-byte FXSAVE
// areas: the guest's x87/SSE state is loaded for the run and saved after it,
// and the host's is preserved. hostSavePA is a 4 KiB page for VMSAVE of the
// host's FS/GS/TR/LDTR and syscall MSRs, which VMRUN does not switch.
//
// It runs with GIF clear from before the state switch until after it, so no
// host interrupt sees guest state; a host interrupt that forced the exit is
// taken by rt right after STGI, on this thread.
//
//go:noescape
func run(vmcbPA, hostSavePA uintptr, regs *[16]uint64, guestFx, hostFx uintptr)
