package xen

// The hvm_op hypercall: HVMOP_* commands and their arguments
// (xen/include/public/hvm/hvm_op.h), and the HVM_PARAM_* parameter space
// (xen/include/public/hvm/params.h).

// hvm_op commands (HVMOP_* in hvm_op.h). Numbers missing here (6-8, 14,
// 16-22) belonged to operations that moved to dm_op or were removed.
const (
	// HVMOpSetParam is HVMOP_set_param (XenHVMParam).
	HVMOpSetParam = 0
	// HVMOpGetParam is HVMOP_get_param (XenHVMParam).
	HVMOpGetParam = 1
	// HVMOpSetPCIIntxLevel is HVMOP_set_pci_intx_level; hvm_op.h defines it
	// only for interface versions below 0x00040900 (now a dm_op).
	HVMOpSetPCIIntxLevel = 2
	// HVMOpSetISAIRQLevel is HVMOP_set_isa_irq_level (interface < 0x00040900).
	HVMOpSetISAIRQLevel = 3
	// HVMOpSetPCILinkRoute is HVMOP_set_pci_link_route (interface < 0x00040900).
	HVMOpSetPCILinkRoute = 4
	// HVMOpFlushTLBs is HVMOP_flush_tlbs: flush all vCPUs' TLBs; the
	// argument must be NULL.
	HVMOpFlushTLBs = 5
	// HVMOpPagetableDying is HVMOP_pagetable_dying (XenHVMPagetableDying):
	// a hint that a top-level page table is being torn down. Linux probes
	// it at boot and tolerates failure.
	HVMOpPagetableDying = 9
	// HVMOpGetTime is HVMOP_get_time (XenHVMGetTime): Xen system time in ns.
	HVMOpGetTime = 10
	// HVMOpXentrace is HVMOP_xentrace: emit a trace record.
	HVMOpXentrace = 11
	// HVMOpSetMemAccess is HVMOP_set_mem_access (toolstack, deprecated).
	HVMOpSetMemAccess = 12
	// HVMOpGetMemAccess is HVMOP_get_mem_access (toolstack, deprecated).
	HVMOpGetMemAccess = 13
	// HVMOpGetMemType is HVMOP_get_mem_type (XenHVMGetMemType).
	HVMOpGetMemType = 15
	// HVMOpSetEvtchnUpcallVector is HVMOP_set_evtchn_upcall_vector
	// (XenHVMEvtchnUpcallVector, x86): per-vCPU event upcall vector, used in
	// preference to the global HVM_PARAM_CALLBACK_IRQ vector. Linux uses it
	// only if CPUID leaf base+4 has XenHVMCPUIDUpcallVector.
	HVMOpSetEvtchnUpcallVector = 23
	// HVMOpGuestRequestVMEvent is HVMOP_guest_request_vm_event.
	HVMOpGuestRequestVMEvent = 24
	// HVMOpAltp2m is HVMOP_altp2m.
	HVMOpAltp2m = 25
)

// HVM parameters (HVM_PARAM_* in params.h), the Index of XenHVMParam.
const (
	// HVMParamCallbackIRQ is HVM_PARAM_CALLBACK_IRQ: how vCPU 0's event
	// upcall is delivered. 0 disables it; otherwise bits 63-56 hold an
	// HVMParamCallbackType* and the low bits its argument (see CallbackVia).
	HVMParamCallbackIRQ = 0
	// HVMParamStorePFN is HVM_PARAM_STORE_PFN: GFN of the xenstore ring.
	HVMParamStorePFN = 1
	// HVMParamStoreEvtchn is HVM_PARAM_STORE_EVTCHN: xenstore event channel.
	HVMParamStoreEvtchn = 2
	// HVMParamPAEEnabled is HVM_PARAM_PAE_ENABLED: deprecated, meaning
	// undefined; params.h defines it only for Xen and tools.
	HVMParamPAEEnabled = 4
	// HVMParamIoreqPFN is HVM_PARAM_IOREQ_PFN: device-model ioreq page.
	HVMParamIoreqPFN = 5
	// HVMParamBufioreqPFN is HVM_PARAM_BUFIOREQ_PFN: buffered ioreq page.
	HVMParamBufioreqPFN = 6
	// HVMParamViridian is HVM_PARAM_VIRIDIAN (x86): Hyper-V enlightenment
	// feature mask (HVMPV_*).
	HVMParamViridian = 9
	// HVMParamTimerMode is HVM_PARAM_TIMER_MODE: HVMPTM_* policy for
	// missed virtual-timer ticks.
	HVMParamTimerMode = 10
	// HVMParamHPETEnabled is HVM_PARAM_HPET_ENABLED: boolean, virtual HPET.
	HVMParamHPETEnabled = 11
	// HVMParamIdentPT is HVM_PARAM_IDENT_PT: identity-map page directory for
	// Intel EPT while CR0.PG=0.
	HVMParamIdentPT = 12
	// HVMParamDMDomain is HVM_PARAM_DM_DOMAIN: deprecated (Xen and tools only).
	HVMParamDMDomain = 13
	// HVMParamACPISState is HVM_PARAM_ACPI_S_STATE: ACPI S state (0 or 3).
	HVMParamACPISState = 14
	// HVMParamVM86TSS is HVM_PARAM_VM86_TSS: TSS used on Intel while CR0.PE=0.
	HVMParamVM86TSS = 15
	// HVMParamVPTAlign is HVM_PARAM_VPT_ALIGN: boolean, align periodic
	// timers.
	HVMParamVPTAlign = 16
	// HVMParamConsolePFN is HVM_PARAM_CONSOLE_PFN: GFN of the console ring
	// (XenconsInterface). Linux needs it, with HVMParamConsoleEvtchn, for a
	// domU hvc0.
	HVMParamConsolePFN = 17
	// HVMParamConsoleEvtchn is HVM_PARAM_CONSOLE_EVTCHN: console event
	// channel.
	HVMParamConsoleEvtchn = 18
	// HVMParamACPIIoportsLocation is HVM_PARAM_ACPI_IOPORTS_LOCATION: 0 for
	// PM1a at 0x1f40, 1 for the qemu layout at 0xb000.
	HVMParamACPIIoportsLocation = 19
	// HVMParamMemoryEventCR0 is HVM_PARAM_MEMORY_EVENT_CR0 (deprecated).
	HVMParamMemoryEventCR0 = 20
	// HVMParamMemoryEventCR3 is HVM_PARAM_MEMORY_EVENT_CR3 (deprecated).
	HVMParamMemoryEventCR3 = 21
	// HVMParamMemoryEventCR4 is HVM_PARAM_MEMORY_EVENT_CR4 (deprecated).
	HVMParamMemoryEventCR4 = 22
	// HVMParamMemoryEventINT3 is HVM_PARAM_MEMORY_EVENT_INT3 (deprecated).
	HVMParamMemoryEventINT3 = 23
	// HVMParamNestedHVM is HVM_PARAM_NESTEDHVM (deprecated).
	HVMParamNestedHVM = 24
	// HVMParamMemoryEventSingleStep is HVM_PARAM_MEMORY_EVENT_SINGLE_STEP
	// (deprecated).
	HVMParamMemoryEventSingleStep = 25
	// HVMParamBufioreqEvtchn is HVM_PARAM_BUFIOREQ_EVTCHN (deprecated).
	HVMParamBufioreqEvtchn = 26
	// HVMParamPagingRingPFN is HVM_PARAM_PAGING_RING_PFN.
	HVMParamPagingRingPFN = 27
	// HVMParamMonitorRingPFN is HVM_PARAM_MONITOR_RING_PFN.
	HVMParamMonitorRingPFN = 28
	// HVMParamSharingRingPFN is HVM_PARAM_SHARING_RING_PFN.
	HVMParamSharingRingPFN = 29
	// HVMParamMemoryEventMSR is HVM_PARAM_MEMORY_EVENT_MSR (deprecated).
	HVMParamMemoryEventMSR = 30
	// HVMParamTripleFaultReason is HVM_PARAM_TRIPLE_FAULT_REASON: the
	// SHUTDOWN_* reason used on a triple fault.
	HVMParamTripleFaultReason = 31
	// HVMParamIoreqServerPFN is HVM_PARAM_IOREQ_SERVER_PFN.
	HVMParamIoreqServerPFN = 32
	// HVMParamNrIoreqServerPages is HVM_PARAM_NR_IOREQ_SERVER_PAGES.
	HVMParamNrIoreqServerPages = 33
	// HVMParamVMGenerationIDAddr is HVM_PARAM_VM_GENERATION_ID_ADDR.
	HVMParamVMGenerationIDAddr = 34
	// HVMParamAltp2m is HVM_PARAM_ALTP2M: XEN_ALTP2M_* mode.
	HVMParamAltp2m = 35
	// HVMParamX87FIPWidth is HVM_PARAM_X87_FIP_WIDTH: 0, 4 or 8.
	HVMParamX87FIPWidth = 36
	// HVMParamVM86TSSSized is HVM_PARAM_VM86_TSS_SIZED: address in the low
	// 32 bits, size in the high 32.
	HVMParamVM86TSSSized = 37
	// HVMParamMCACap is HVM_PARAM_MCA_CAP: XEN_HVM_MCA_CAP_* bits.
	HVMParamMCACap = 38

	// HVMNrParams is HVM_NR_PARAMS: parameter indexes are below this.
	HVMNrParams = 39
)

// HVM_PARAM_CALLBACK_IRQ value encoding (params.h).
const (
	// HVMParamCallbackIRQTypeMask is HVM_PARAM_CALLBACK_IRQ_TYPE_MASK: bits
	// 63-56 of the value hold the delivery type.
	HVMParamCallbackIRQTypeMask = 0xFF00000000000000
	// HVMParamCallbackTypeShift is the position of the type field (56).
	HVMParamCallbackTypeShift = 56

	// HVMParamCallbackTypeGSI is HVM_PARAM_CALLBACK_TYPE_GSI: bits 55-0
	// are a GSI (not 0).
	HVMParamCallbackTypeGSI = 0
	// HVMParamCallbackTypePCIIntx is HVM_PARAM_CALLBACK_TYPE_PCI_INTX: bits
	// 47-32 PCI domain, 31-16 bus, 15-8 devfn, 1-0 INTx pin.
	HVMParamCallbackTypePCIIntx = 1
	// HVMParamCallbackTypeVector is HVM_PARAM_CALLBACK_TYPE_VECTOR (x86):
	// bits 7-0 are an IDT vector, injected directly with no LAPIC EOI.
	// Needs XENFEAT_hvm_callback_vector. Linux writes
	// 2<<56 | HypervisorCallbackVector.
	HVMParamCallbackTypeVector = 2
	// HVMParamCallbackTypePPI is HVM_PARAM_CALLBACK_TYPE_PPI (Arm only): an
	// Arm PPI. It shares the number 2 with the x86 vector type; each is
	// defined only on its own architecture.
	HVMParamCallbackTypePPI = 2
)

// CallbackVia returns the HVM_PARAM_CALLBACK_IRQ value for delivery type typ
// (an HVMParamCallbackType* value) with argument arg (a GSI, PCI INTx
// encoding or vector), arg truncated to 56 bits.
func CallbackVia(typ uint8, arg uint64) uint64 {
	return uint64(typ)<<HVMParamCallbackTypeShift | arg&^HVMParamCallbackIRQTypeMask
}

// CallbackViaType returns the delivery type field (bits 63-56) of an
// HVM_PARAM_CALLBACK_IRQ value.
func CallbackViaType(v uint64) uint8 { return uint8(v >> HVMParamCallbackTypeShift) }

// CallbackViaVector returns the vector (bits 7-0) of an
// HVM_PARAM_CALLBACK_IRQ value of type HVMParamCallbackTypeVector.
func CallbackViaVector(v uint64) uint8 { return uint8(v) }

// CallbackViaPCIIntx splits the argument of an HVMParamCallbackTypePCIIntx
// value into PCI segment, bus, devfn and INTx pin (0 = INTA).
func CallbackViaPCIIntx(v uint64) (segment uint16, bus, devfn, pin uint8) {
	return uint16(v >> 32), uint8(v >> 16), uint8(v >> 8), uint8(v & 3)
}

// Timer modes for HVM_PARAM_TIMER_MODE (HVMPTM_* in params.h).
const (
	// HVMPTMDelayForMissedTicks is HVMPTM_delay_for_missed_ticks (default).
	HVMPTMDelayForMissedTicks = 0
	// HVMPTMNoDelayForMissedTicks is HVMPTM_no_delay_for_missed_ticks.
	HVMPTMNoDelayForMissedTicks = 1
	// HVMPTMNoMissedTicksPending is HVMPTM_no_missed_ticks_pending.
	HVMPTMNoMissedTicksPending = 2
	// HVMPTMOneMissedTickPending is HVMPTM_one_missed_tick_pending.
	HVMPTMOneMissedTickPending = 3
)

// Modes for HVM_PARAM_ALTP2M (XEN_ALTP2M_* in params.h).
const (
	// XenAltp2mDisabled is XEN_ALTP2M_disabled.
	XenAltp2mDisabled = 0
	// XenAltp2mMixed is XEN_ALTP2M_mixed.
	XenAltp2mMixed = 1
	// XenAltp2mExternal is XEN_ALTP2M_external.
	XenAltp2mExternal = 2
	// XenAltp2mLimited is XEN_ALTP2M_limited.
	XenAltp2mLimited = 3
)

// XenHVMMCACapLMCE is XEN_HVM_MCA_CAP_LMCE (bit 0 of HVM_PARAM_MCA_CAP).
const XenHVMMCACapLMCE = 1 << 0

// Memory types returned by HVMOP_get_mem_type (hvmmem_type_t in hvm_op.h).
const (
	// HVMMemRAMRW is HVMMEM_ram_rw: normal RAM.
	HVMMemRAMRW = 0
	// HVMMemRAMRO is HVMMEM_ram_ro: read-only, writes discarded.
	HVMMemRAMRO = 1
	// HVMMemMMIODM is HVMMEM_mmio_dm: accesses go to the device model.
	HVMMemMMIODM = 2
	// HVMMemUnused is HVMMEM_unused (HVMMEM_mmio_write_dm before 4.7).
	HVMMemUnused = 3
	// HVMMemIoreqServer is HVMMEM_ioreq_server.
	HVMMemIoreqServer = 4
)

// Encoded sizes in bytes of the hvm_op structures.
const (
	XenHVMParamSize              = 16 // struct xen_hvm_param
	XenHVMPagetableDyingSize     = 16 // struct xen_hvm_pagetable_dying
	XenHVMGetTimeSize            = 8  // struct xen_hvm_get_time
	XenHVMGetMemTypeSize         = 16 // struct xen_hvm_get_mem_type
	XenHVMEvtchnUpcallVectorSize = 8  // struct xen_hvm_evtchn_upcall_vector
)

// XenHVMParam is struct xen_hvm_param (16 bytes), the argument of
// HVMOP_set_param and HVMOP_get_param.
type XenHVMParam struct {
	DomID uint16 // IN: DomIDSelf from a guest
	Pad   uint16 // pad
	Index uint32 // IN: HVM_PARAM_*
	Value uint64 // IN (set) or OUT (get)
}

// Encode writes x into b[:XenHVMParamSize]. It panics if b is shorter.
func (x *XenHVMParam) Encode(b []byte) {
	_ = b[XenHVMParamSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.Pad)
	le.PutUint32(b[4:], x.Index)
	le.PutUint64(b[8:], x.Value)
}

// Decode reads x from the first XenHVMParamSize bytes of b, or returns an
// error if b is shorter.
func (x *XenHVMParam) Decode(b []byte) error {
	if len(b) < XenHVMParamSize {
		return shortError("xen_hvm_param", XenHVMParamSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.Pad = le.Uint16(b[2:])
	x.Index = le.Uint32(b[4:])
	x.Value = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenHVMParam) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenHVMParamSize, x), nil
}

// MarshalBinary returns the XenHVMParamSize-byte encoding of x.
func (x *XenHVMParam) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly XenHVMParamSize
// bytes long.
func (x *XenHVMParam) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_hvm_param", XenHVMParamSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenHVMPagetableDying is struct xen_hvm_pagetable_dying (16 bytes), the
// argument of HVMOP_pagetable_dying.
type XenHVMPagetableDying struct {
	DomID uint16    // domid
	Pad   [3]uint16 // pad
	GPA   uint64    // guest-physical address of the dying top-level table
}

// Encode writes x into b[:XenHVMPagetableDyingSize]. It panics if b is
// shorter.
func (x *XenHVMPagetableDying) Encode(b []byte) {
	_ = b[XenHVMPagetableDyingSize-1]
	le.PutUint16(b[0:], x.DomID)
	for i, v := range x.Pad {
		le.PutUint16(b[2+2*i:], v)
	}
	le.PutUint64(b[8:], x.GPA)
}

// Decode reads x from the first XenHVMPagetableDyingSize bytes of b, or
// returns an error if b is shorter.
func (x *XenHVMPagetableDying) Decode(b []byte) error {
	if len(b) < XenHVMPagetableDyingSize {
		return shortError("xen_hvm_pagetable_dying", XenHVMPagetableDyingSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	for i := range x.Pad {
		x.Pad[i] = le.Uint16(b[2+2*i:])
	}
	x.GPA = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenHVMPagetableDying) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenHVMPagetableDyingSize, x), nil
}

// MarshalBinary returns the XenHVMPagetableDyingSize-byte encoding of x.
func (x *XenHVMPagetableDying) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenHVMPagetableDyingSize bytes long.
func (x *XenHVMPagetableDying) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_hvm_pagetable_dying", XenHVMPagetableDyingSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenHVMGetTime is struct xen_hvm_get_time (8 bytes), the argument of
// HVMOP_get_time.
type XenHVMGetTime struct {
	Now uint64 // OUT: Xen system time, ns since boot
}

// Encode writes x into b[:XenHVMGetTimeSize]. It panics if b is shorter.
func (x *XenHVMGetTime) Encode(b []byte) {
	_ = b[XenHVMGetTimeSize-1]
	le.PutUint64(b[0:], x.Now)
}

// Decode reads x from the first XenHVMGetTimeSize bytes of b, or returns an
// error if b is shorter.
func (x *XenHVMGetTime) Decode(b []byte) error {
	if len(b) < XenHVMGetTimeSize {
		return shortError("xen_hvm_get_time", XenHVMGetTimeSize, len(b))
	}
	x.Now = le.Uint64(b[0:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenHVMGetTime) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenHVMGetTimeSize, x), nil
}

// MarshalBinary returns the XenHVMGetTimeSize-byte encoding of x.
func (x *XenHVMGetTime) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly XenHVMGetTimeSize
// bytes long.
func (x *XenHVMGetTime) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_hvm_get_time", XenHVMGetTimeSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenHVMGetMemType is struct xen_hvm_get_mem_type (16 bytes), the argument
// of HVMOP_get_mem_type.
type XenHVMGetMemType struct {
	DomID   uint16    // IN
	MemType uint16    // OUT: HVMMem* value
	Pad     [2]uint16 // pad
	PFN     uint64    // IN
}

// Encode writes x into b[:XenHVMGetMemTypeSize]. It panics if b is shorter.
func (x *XenHVMGetMemType) Encode(b []byte) {
	_ = b[XenHVMGetMemTypeSize-1]
	le.PutUint16(b[0:], x.DomID)
	le.PutUint16(b[2:], x.MemType)
	for i, v := range x.Pad {
		le.PutUint16(b[4+2*i:], v)
	}
	le.PutUint64(b[8:], x.PFN)
}

// Decode reads x from the first XenHVMGetMemTypeSize bytes of b, or returns
// an error if b is shorter.
func (x *XenHVMGetMemType) Decode(b []byte) error {
	if len(b) < XenHVMGetMemTypeSize {
		return shortError("xen_hvm_get_mem_type", XenHVMGetMemTypeSize, len(b))
	}
	x.DomID = le.Uint16(b[0:])
	x.MemType = le.Uint16(b[2:])
	for i := range x.Pad {
		x.Pad[i] = le.Uint16(b[4+2*i:])
	}
	x.PFN = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenHVMGetMemType) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenHVMGetMemTypeSize, x), nil
}

// MarshalBinary returns the XenHVMGetMemTypeSize-byte encoding of x.
func (x *XenHVMGetMemType) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenHVMGetMemTypeSize bytes long.
func (x *XenHVMGetMemType) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_hvm_get_mem_type", XenHVMGetMemTypeSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}

// XenHVMEvtchnUpcallVector is struct xen_hvm_evtchn_upcall_vector (8
// bytes: 3 bytes of tail padding), the argument of
// HVMOP_set_evtchn_upcall_vector.
type XenHVMEvtchnUpcallVector struct {
	VCPU   uint32 // vCPU id
	Vector uint8  // IDT vector for its upcalls (Linux: 0xf3)
}

// Encode writes x into b[:XenHVMEvtchnUpcallVectorSize], with zeros in the
// padding. It panics if b is shorter.
func (x *XenHVMEvtchnUpcallVector) Encode(b []byte) {
	_ = b[XenHVMEvtchnUpcallVectorSize-1]
	le.PutUint32(b[0:], x.VCPU)
	b[4] = x.Vector
	clear(b[5:8]) // padding
}

// Decode reads x from the first XenHVMEvtchnUpcallVectorSize bytes of b, or
// returns an error if b is shorter.
func (x *XenHVMEvtchnUpcallVector) Decode(b []byte) error {
	if len(b) < XenHVMEvtchnUpcallVectorSize {
		return shortError("xen_hvm_evtchn_upcall_vector", XenHVMEvtchnUpcallVectorSize, len(b))
	}
	x.VCPU = le.Uint32(b[0:])
	x.Vector = b[4]
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenHVMEvtchnUpcallVector) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenHVMEvtchnUpcallVectorSize, x), nil
}

// MarshalBinary returns the XenHVMEvtchnUpcallVectorSize-byte encoding of x.
func (x *XenHVMEvtchnUpcallVector) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenHVMEvtchnUpcallVectorSize bytes long.
func (x *XenHVMEvtchnUpcallVector) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_hvm_evtchn_upcall_vector", XenHVMEvtchnUpcallVectorSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}
