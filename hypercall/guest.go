package hypercall

import (
	"gozen/abi/xen"
	"gozen/hv/x86"
)

// Memory is the calling vCPU's view of its guest-virtual memory: copies
// through the guest's own page tables. They report false when any byte of
// the range is not mapped (or not writable, for CopyOut).
type Memory interface {
	CopyIn(gva uint64, p []byte) bool
	CopyOut(gva uint64, p []byte) bool
	// CopyInv reads consecutive guest-virtual memory at gva into each of
	// dsts in turn, as CopyIn of their concatenation would (a readv): a
	// copy into many separate pages then walks the guest's tables once
	// per region, not once per page. On false some of dsts may be filled.
	CopyInv(gva uint64, dsts [][]byte) bool
}

// Guest is the calling vCPU and its domain: what a hypercall may read and
// the operations it may perform. The hypervisor core implements it; every
// argument reaching these methods has been decoded and range-checked.
type Guest interface {
	Memory

	// DomID is the caller's domain ID; VCPU is the caller's vCPU index and
	// NumVCPUs the domain's vCPU count.
	DomID() uint16
	VCPU() int
	NumVCPUs() int
	// Kernel reports whether the caller runs in kernel mode (CPL 0).
	Kernel() bool
	// Mode is the caller's execution mode at the hypercall. Outside
	// x86.Mode64 the caller uses Xen's 32-bit ABI: 32-bit registers (Args)
	// and the compat structure layouts (abi/xen compat.go), as Xen's
	// hvm_hypercall decides by hvm_guest_x86_mode() != 8.
	Mode() x86.Mode
	// SystemTime is Xen system time (ns since boot) as the guest sees it.
	SystemTime() int64

	Console
	Scheduler
	Physmap
	HVMParams
	VCPUs
	TestABI

	// Events and Grants return the domain's event channels and grant
	// table, or nil when it has none (the calls then fail with -ENOSYS).
	Events() EventChannels
	Grants() GrantTables
	// Control returns the privileged domain's operations (platform_op,
	// physdev_op, console input), or nil when the caller is not dom0.
	Control() Control
}

// Console is console_io.
type Console interface {
	// ConsoleWrite logs p (at most MaxConsoleWrite bytes) on hv's console.
	ConsoleWrite(p []byte)
}

// Scheduler is sched_op and set_timer_op.
type Scheduler interface {
	Yield()
	// Block blocks the vCPU until an event or its timer, unless one is
	// already pending.
	Block()
	// Shutdown stops the domain with a SHUTDOWN_* reason (any value; the
	// core logs unknown ones).
	Shutdown(reason uint32)
	// Poll blocks the vCPU until one of ports (each a valid port of the
	// domain, at most MaxPollPorts) is pending or, if timeout is not 0, until
	// system time timeout. It returns at once if a port is pending already.
	Poll(ports []uint32, timeout uint64)
	// SetTimer sets the vCPU's one-shot timer to system time deadline (a
	// past deadline fires at once); 0 stops it.
	SetTimer(deadline int64)
}

// Physmap is the domain's guest-physical memory: memory_op.
type Physmap interface {
	// Reservation returns the pages the domain has and may have.
	Reservation() (current, maximum uint64)
	// MemoryMap is the domain's E820 map.
	MemoryMap() []xen.E820Entry
	// MapSharedInfo places shared_info at gfn.
	MapSharedInfo(gfn uint64) xen.Errno
	// MapGrantFrame places grant-table frame idx (no status bit) at gfn.
	MapGrantFrame(idx, gfn uint64) xen.Errno
	// PopulatePhysmap backs the 2^order frames from gfn (aligned) with
	// new RAM; DecreaseReservation releases the domain's RAM there;
	// IncreaseReservation allocates 2^order pages to the domain without
	// placing them in its physmap (what Xen does for an auto-translated
	// guest). Each reports whether it did all of it; on false nothing of
	// the extent changed.
	PopulatePhysmap(gfn uint64, order uint32) bool
	DecreaseReservation(gfn uint64, order uint32) bool
	IncreaseReservation(order uint32) bool
	// RemoveFromPhysmap removes what is at gfn from the domain's physmap
	// (XENMEM_remove_from_physmap): a foreign mapping is undone, RAM given
	// back; -EINVAL if nothing removable is there.
	RemoveFromPhysmap(gfn uint64) xen.Errno
}

// HVMParams is hvm_op's parameter store.
type HVMParams interface {
	// Param returns HVM parameter idx (< xen.HVMNrParams).
	Param(idx uint32) uint64
	// SetCallbackIRQ records HVM_PARAM_CALLBACK_IRQ = value, whose event
	// upcall is vector (0: none).
	SetCallbackIRQ(value uint64, vector uint8)
}

// VCPUs is vcpu_op. Every id is a valid vCPU index of the domain.
type VCPUs interface {
	VCPUUp(id int) bool
	// BringUp is VCPUOP_up: a vCPU that has run (vCPU 0, or one a start-up
	// IPI started) and is down runs again where it stopped; -EINVAL for
	// one never initialised; an up vCPU is left alone.
	BringUp(id int) xen.Errno
	// TakeDown is VCPUOP_down: vCPU id stops until VCPUOP_up (the caller
	// itself after this hypercall); taking the last one down powers the
	// domain off, as Xen does.
	TakeDown(id int)
	// SendNMI is VCPUOP_send_nmi: an NMI becomes pending for vCPU id.
	SendNMI(id int)
	Runstate(id int) xen.VCPURunstateInfo
	// RegisterRunstateArea makes the core keep a runstate copy at gva (0:
	// none) in vCPU id's address space; -EFAULT if gva is not the domain's
	// own writable RAM.
	RegisterRunstateArea(id int, gva uint64) xen.Errno
	// RegisterVCPUInfo moves vCPU id's vcpu_info to gfn at off, which
	// leaves room for a whole vcpu_info in the page.
	RegisterVCPUInfo(id int, gfn uint64, off uint32) xen.Errno
	// TimeInfo is the vcpu_time_info the guest should see now, which
	// VCPUOP_register_vcpu_time_memory_area copies out.
	TimeInfo() xen.VCPUTimeInfo
}

// TestABI is GoZen's own hypercall for its test guests (gozen_op).
type TestABI interface {
	// TestTimer arms a one-shot timer us microseconds from now.
	TestTimer(us uint64)
	// Report records samples under key and logs their median.
	Report(key uint32, samples []uint32)
}

// EventChannels is event_channel_op on the caller's domain. Results are a
// port (or link bits) and 0 or a negative Xen errno. *event.Domain has these
// methods, except Status, which returns the ABI structure's fields.
type EventChannels interface {
	AllocUnbound(dom, remote uint16) (uint32, int)
	BindInterdomain(remoteDom uint16, remotePort uint32) (uint32, int)
	BindVIRQ(virq, vcpu uint32) (uint32, int)
	BindIPI(vcpu uint32) (uint32, int)
	Close(port uint32) int
	Send(port uint32) int
	// Status fills s.Status, s.VCPU and s.U for (s.Dom, s.Port).
	Status(s *xen.EvtchnStatus) int
	BindVCPU(port, vcpu uint32) int
	Unmask(port uint32) int
	Reset(dom uint16) int
	InitControl(vcpu uint32, gfn uint64, offset uint32) (uint32, int)
	ExpandArray(gfn uint64) int
	SetPriority(port, priority uint32) int
	// MaxPort is the highest port the domain can have; IsPending reports a
	// port's pending bit.
	MaxPort() uint32
	IsPending(port uint32) bool
}

// GrantTables is grant_table_op on the caller's domain. The batch
// operations fill in each op's OUT fields (Status, Handle, ...).
type GrantTables interface {
	Map(ops []xen.GnttabMapGrantRef)
	Unmap(ops []xen.GnttabUnmapGrantRef)
	Copy(ops []xen.GnttabCopy)
	QuerySize(q *xen.GnttabQuerySize)
	// SetupTable grows dom's table to nr frames and returns where each
	// frame is in the caller's physmap (InvalidFrame if it is not mapped).
	SetupTable(dom uint16, nr uint32) ([]uint64, int16)
	SetVersion(version uint32) (uint32, xen.Errno)
	GetVersion(dom uint16) (uint32, xen.Errno)
}

// InvalidFrame is what GNTTABOP_setup_table reports for a table frame the
// caller has not mapped (Xen's INVALID_M2P_ENTRY for an auto-translated
// guest).
const InvalidFrame = ^uint64(0)
