package vmx

// VMX instructions (run_amd64.s). Each returns 0 on success, 1 on
// VMfailInvalid and 2 on VMfailValid (then VMInstructionError says why).
// pa and vmcs are physical addresses, identity-mapped.

//go:noescape
func vmxon(pa uintptr) uint8

func vmclear(pa uintptr) uint8

// vmread and vmwrite make vmcs current (VMPTRLD) and access one field,
// with interrupts off in between: rt may switch threads at any interrupt,
// and another vCPU's thread may have made its own VMCS current since this
// one's last access. status is 0 or 1 (any failure).
func vmread(vmcs uintptr, f Field) (v uint64, status uint8)
func vmwrite(vmcs uintptr, f Field, v uint64) uint8

// invept and invvpid invalidate cached translations (SDM vol. 3 §29.4.3):
// typ 1 is single-context, 2 all-context; desc is the 128-bit descriptor
// (INVEPT: the EPT pointer, 0; INVVPID: the VPID, a linear address).
//
//go:noescape
func invept(typ uint64, desc *[2]uint64) uint8

//go:noescape
func invvpid(typ uint64, desc *[2]uint64) uint8

// hostSegs reads the host's CS, SS, DS, ES, FS, GS and TR selectors and
// stores SGDT and SIDT (2-byte limit, 8-byte base) into gdtr and idtr.
//
//go:noescape
func hostSegs(s *[7]uint16, gdtr, idtr *[10]byte)

// run enters the guest whose VMCS is at vmcs (VMLAUNCH if !launched, else
// VMRESUME) and returns at the next VM exit with 0, or 1/2 if the entry
// failed (VMfailInvalid/VMfailValid) and the guest never ran. regs holds
// every guest GPR but RSP (in the VMCS), in x86 encoding order; guestFx and
// hostFx are 16-byte aligned 512-byte FXSAVE areas, switched around the
// run. It writes HOST_RSP, HOST_RIP and the host FS/GS bases itself (they
// depend on this thread and this call); the rest of the host state is set
// once per VMCS. Interrupts are off from before the switch until the host
// state is back; a host interrupt that forced the exit is taken when run
// restores the caller's RFLAGS.
//
//go:noescape
func run(vmcs uintptr, regs *[16]uint64, guestFx, hostFx uintptr, launched bool) uint8

// loadDR and saveDR move the guest's DR0-DR3 and DR6, which VM entry and
// exit do not switch (DR7 and DEBUGCTL are in the VMCS), see dr_amd64.s.
//
//go:noescape
func loadDR(dr *[5]uint64)

//go:noescape
func saveDR(dr *[5]uint64)
