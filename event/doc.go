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
// Xen's numbers and layouts (DOMID_*, VIRQ_*, EVTCHNSTAT_*, the FIFO and
// 2-level ABIs, shared_info and vcpu_info offsets, error numbers) are those
// of gozen/abi/xen, the only package outside the standard library that
// this one imports, so it runs under `go test` on the host.
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

import "gozen/abi/xen"

// VIRQTimer is xen.VIRQTimer (VIRQ_TIMER, per vCPU), under the name package
// hv uses with Table.RaiseVIRQ.
const VIRQTimer = xen.VIRQTimer

// FIFO event word bits as masks; abi/xen gives their bit numbers
// (EVTCHN_FIFO_PENDING and so on).
const (
	FIFOPending = 1 << xen.EvtchnFIFOPending
	FIFOMasked  = 1 << xen.EvtchnFIFOMasked
	FIFOLinked  = 1 << xen.EvtchnFIFOLinked
	FIFOBusy    = 1 << xen.EvtchnFIFOBusy
)

// Sizes derived from the ABI.
const (
	pageSize = 4096

	// fifoMaxArrayPages is the number of event-array pages that hold an
	// event word for every FIFO port (128).
	fifoMaxArrayPages = xen.EvtchnFIFONrChannels / xen.EvtchnFIFOEventWordsPerPage

	// vcpuInfoEventBytes is the event part of a vcpu_info: upcall flags and
	// selector, everything before arch.
	vcpuInfoEventBytes = xen.VCPUInfoArchOffset
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
	maxDomainID = xen.DomIDFirstReserved - 1
)
