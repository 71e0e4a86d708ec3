// Package event implements Xen event channels for GoZen: the per-domain port
// table, the EVTCHNOP_* operations and the two guest-visible delivery ABIs
// (2-level bitmaps in shared_info, and FIFO queues), as pure Go over a
// guest-memory interface so that it runs under `go test` on the host.
//
// The semantics follow Xen's xen/common/event_channel.c, event_2l.c and
// event_fifo.c (the public layout is xen/include/public/event_channel.h);
// error numbers are Xen's, returned as negative ints (-EINVAL = -22, ...) so
// that a hypercall handler can hand them straight back to the guest.
//
// # Model
//
// A System is the registry of domains (domid → *Domain); every cross-domain
// operation goes through it. Each Domain embeds its *Table: ports 0..N of
// which port 0 is reserved, per-vCPU state (vcpu_info location, VIRQ→port
// map, FIFO control block and queue tails) and the active ABI.
//
// Guest memory is reached only through the domain's own GuestMem, and only
// at locations the domain registered itself: the shared_info frame
// (Table.SetSharedInfo, from XENMEM_add_to_physmap), vcpu_info areas
// (Table.RegisterVCPUInfo, VCPUOP_register_vcpu_info), FIFO control blocks
// (Table.InitControl) and FIFO event-array pages (Table.ExpandArray). The
// only way one domain's action writes into another domain's memory is
// Domain.Send on an interdomain channel, which marks the peer's port pending
// in the peer's own registered structures.
//
// Pages are looked up with GuestMem.Page on every access, never cached, so a
// frame that stops being RAM simply stops receiving writes.
//
// # Delivery
//
// Marking a port pending follows the active ABI. When it makes the vCPU's
// vcpu_info.evtchn_upcall_pending go from 0 to 1 the package calls
// Notifier.Kick for that vCPU, exactly where Xen calls
// vcpu_mark_events_pending. A kick is an edge: the hypervisor must still
// check Table.UpcallPending before entering the guest and before letting a
// vCPU sleep (Xen's hvm_vcpu_has_pending_irq does the same on every entry).
// With the HVM/PVH callback vector Xen ignores evtchn_upcall_mask and
// injects when upcall_pending is set and the guest has IF=1;
// Table.UpcallMasked is provided for PV-style callers.
//
// Events raised before the ABI has somewhere to put them (no shared_info
// frame yet for 2-level; no event-array page or no control block yet for
// FIFO) are recorded inside the table and delivered as soon as the structure
// appears.
//
// # Concurrency and callbacks
//
// All state is guarded by one mutex per System, so methods may be called from
// any goroutine. Notifier.Kick, PortNotifier.PortPending and Listener.Notify
// are called after that mutex is released, so they may call back into the
// package. Hot paths (Send, RaiseVIRQ, Unmask, UpcallPending) do not
// allocate; binding a port may grow the port table.
//
// # Guest input
//
// No argument value and no guest-memory content makes the package panic or
// loop without bound: ports, vCPUs, VIRQs, frames and offsets are checked
// against Xen's rules, and guest-written event words (LINK fields, garbage
// bits) are only ever read or bit-modified, never followed: like Xen, the
// hypervisor side of FIFO keeps the queue tails itself and never walks a
// guest list.
package event

// Constants below mirror gozen/abi/xen (Xen's public headers); they are kept
// local so that this package depends on nothing but the standard library.

// Domain IDs with special meaning (xen/include/public/xen.h).
const (
	DomIDFirstReserved = 0x7FF0 // domain IDs at or above this are not real domains
	DomIDSelf          = 0x7FF0 // "the calling domain"
	DomIDXen           = 0x7FF2 // the hypervisor itself: remote end of Listener channels
)

// Virtual IRQs (xen/include/public/xen.h).
const (
	VIRQTimer    = 0  // per vCPU: timer
	VIRQDebug    = 1  // per vCPU: dump debug info
	VIRQConsole  = 2  // global: bytes received on the emergency console
	VIRQDomExc   = 3  // global: exceptional event for some domain
	VIRQTbuf     = 4  // global
	VIRQDebugger = 6  // global
	VIRQXenoprof = 7  // per vCPU
	VIRQConRing  = 8  // global
	VIRQPCPU     = 9  // global
	VIRQMemEvent = 10 // global
	VIRQArgo     = 11 // per domain
	VIRQEnomem   = 12 // global
	VIRQXenPMU   = 13 // per vCPU
	VIRQArch0    = 16 // x86: global
	NumVIRQs     = 24 // NR_VIRQS
)

// Channel states as reported by Status (EVTCHNSTAT_*).
const (
	StatClosed      = 0
	StatUnbound     = 1
	StatInterdomain = 2
	StatPIRQ        = 3
	StatVIRQ        = 4
	StatIPI         = 5
)

// FIFO ABI constants (xen/include/public/event_channel.h).
const (
	FIFOPriorityMax     = 0  // highest priority
	FIFOPriorityDefault = 7  // priority of a newly bound port
	FIFOPriorityMin     = 15 // lowest priority
	FIFOMaxQueues       = 16
	FIFOLinkBits        = 17 // EVTCHN_FIFO_LINK_BITS, returned by InitControl
	FIFONumChannels     = 1 << FIFOLinkBits
	FIFOPending         = 1 << 31 // event word bits
	FIFOMasked          = 1 << 30
	FIFOLinked          = 1 << 29
	FIFOBusy            = 1 << 28
	FIFOLinkMask        = 1<<FIFOLinkBits - 1

	fifoWordsPerPage     = pageSize / 4
	fifoMaxArrayPages    = FIFONumChannels / fifoWordsPerPage // 128
	fifoControlBlockSize = 8 + 4*FIFOMaxQueues                // ready, _rsvd, head[16]
	fifoCBReady          = 0
	fifoCBHead           = 8
)

// 2-level ABI and shared structure layout (x86-64).
const (
	TwoLevelNumChannels = 64 * 64 // EVTCHN_2L_NR_CHANNELS with 64-bit xen_ulong_t

	pageSize = 4096

	// shared_info
	sharedVCPUInfo   = 0    // vcpu_info[32]
	sharedPending    = 2048 // evtchn_pending[64] (u64)
	sharedMask       = 2560 // evtchn_mask[64] (u64)
	sharedBitmapSize = 512
	legacyVCPUs      = 32 // XEN_LEGACY_MAX_VCPUS

	// vcpu_info
	vcpuInfoSize       = 64
	vcpuUpcallPending  = 0 // u8
	vcpuUpcallMask     = 1 // u8
	vcpuPendingSel     = 8 // xen_ulong_t
	vcpuInfoEventBytes = 16
)

// Limits.
const (
	// MaxVCPUs bounds Config.VCPUs.
	MaxVCPUs = 4096
	// DefaultMaxPort is the highest port a domain may allocate when
	// Config.MaxPort is 0; it mirrors xl's default max_event_channels (1023).
	DefaultMaxPort = 1023
	// portsPerBucket is how many ports the table grows by at a time
	// (EVTCHNS_PER_BUCKET).
	portsPerBucket = 64
	// maxDomainID is the highest ID of a real domain.
	maxDomainID = DomIDFirstReserved - 1
)

// Xen error numbers (xen/include/public/errno.h). Operations return them
// negated.
const (
	ePERM      = 1
	eNOENT     = 2
	eSRCH      = 3
	eNXIO      = 6
	eBUSY      = 16
	eEXIST     = 17
	eINVAL     = 22
	eNOSPC     = 28
	eNOSYS     = 38
	eOPNOTSUPP = 95
)
