package xen

// Dom0-only hypercalls: platform_op (xen/include/public/platform.h) and
// physdev_op (xen/include/public/physdev.h), in the commands a Linux 6.1
// PVH dom0 issues (../shared/docs/dom0-toolstack.md §A.2).

// XenpfInterfaceVersion is XENPF_INTERFACE_VERSION: a caller passing
// another value gets -EACCES (do_platform_op).
const XenpfInterfaceVersion = 0x03000001

// platform_op commands (XENPF_* in platform.h).
const (
	XenpfSettime32      = 17 // XENPF_settime32 (XenpfSettime32T)
	XenpfAddMemtype     = 31
	XenpfFirmwareInfo   = 50 // XENPF_firmware_info
	XenpfEnterACPISleep = 51
	XenpfSetProcPminfo  = 54
	XenpfGetCPUInfo     = 55 // XENPF_get_cpuinfo
	XenpfCoreParking    = 60
	XenpfSettime64      = 62 // XENPF_settime64 (XenpfSettime64T)
	XenpfGetDom0Console = 64 // XENPF_get_dom0_console (after Xen 4.17)
)

// physdev_op commands (PHYSDEVOP_* in physdev.h).
const (
	PhysdevOpManagePCIAdd     = 15
	PhysdevOpManagePCIAddExt  = 20
	PhysdevOpPCIMmcfgReserved = 24 // PhysdevPCIMmcfgReserved
	PhysdevOpPCIDeviceAdd     = 25 // PhysdevPCIDeviceAdd
	PhysdevOpPCIDeviceRemove  = 26
	PhysdevOpMapPirq          = 13
)

// Structure sizes.
const (
	XenPlatformOpSize           = 136 // struct xen_platform_op: cmd, interface_version, 128-byte union
	XenpfSettime64Size          = 24  // struct xenpf_settime64
	XenpfSettime32Size          = 16  // struct xenpf_settime32
	PhysdevPCIDeviceAddSize     = 12  // struct physdev_pci_device_add, without the optarr tail
	PhysdevPCIMmcfgReservedSize = 16  // struct physdev_pci_mmcfg_reserved
)

// XenPlatformOp is struct xen_platform_op: the command, the interface
// version and the command's structure in U.
type XenPlatformOp struct {
	Cmd              uint32
	InterfaceVersion uint32
	U                [128]byte
}

// Encode writes p into the first XenPlatformOpSize bytes of b.
func (p *XenPlatformOp) Encode(b []byte) {
	_ = b[XenPlatformOpSize-1]
	le.PutUint32(b[0:], p.Cmd)
	le.PutUint32(b[4:], p.InterfaceVersion)
	copy(b[8:XenPlatformOpSize], p.U[:])
}

// Decode reads p from b.
func (p *XenPlatformOp) Decode(b []byte) error {
	if len(b) < XenPlatformOpSize {
		return shortError("xen_platform_op", XenPlatformOpSize, len(b))
	}
	p.Cmd = le.Uint32(b[0:])
	p.InterfaceVersion = le.Uint32(b[4:])
	copy(p.U[:], b[8:XenPlatformOpSize])
	return nil
}

// AppendBinary appends the encoding of p to b.
func (p *XenPlatformOp) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenPlatformOpSize, p), nil
}

// MarshalBinary returns the encoding of p.
func (p *XenPlatformOp) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from exactly XenPlatformOpSize bytes.
func (p *XenPlatformOp) UnmarshalBinary(b []byte) error {
	if err := exactLength("xen_platform_op", XenPlatformOpSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// XenpfSettime64T is struct xenpf_settime64: wall-clock time secs.nsecs at
// Xen system time SystemTime; Mbz must be zero.
type XenpfSettime64T struct {
	Secs       uint64
	Nsecs      uint32
	Mbz        uint32
	SystemTime uint64
}

// Encode writes s into the first XenpfSettime64Size bytes of b.
func (s *XenpfSettime64T) Encode(b []byte) {
	_ = b[XenpfSettime64Size-1]
	le.PutUint64(b[0:], s.Secs)
	le.PutUint32(b[8:], s.Nsecs)
	le.PutUint32(b[12:], s.Mbz)
	le.PutUint64(b[16:], s.SystemTime)
}

// Decode reads s from b.
func (s *XenpfSettime64T) Decode(b []byte) error {
	if len(b) < XenpfSettime64Size {
		return shortError("xenpf_settime64", XenpfSettime64Size, len(b))
	}
	s.Secs = le.Uint64(b[0:])
	s.Nsecs = le.Uint32(b[8:])
	s.Mbz = le.Uint32(b[12:])
	s.SystemTime = le.Uint64(b[16:])
	return nil
}

// AppendBinary appends the encoding of s to b.
func (s *XenpfSettime64T) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenpfSettime64Size, s), nil
}

// MarshalBinary returns the encoding of s.
func (s *XenpfSettime64T) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from exactly XenpfSettime64Size bytes.
func (s *XenpfSettime64T) UnmarshalBinary(b []byte) error {
	if err := exactLength("xenpf_settime64", XenpfSettime64Size, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// XenpfSettime32T is struct xenpf_settime32 (the same, 32-bit seconds).
type XenpfSettime32T struct {
	Secs       uint32
	Nsecs      uint32
	SystemTime uint64
}

// Encode writes s into the first XenpfSettime32Size bytes of b.
func (s *XenpfSettime32T) Encode(b []byte) {
	_ = b[XenpfSettime32Size-1]
	le.PutUint32(b[0:], s.Secs)
	le.PutUint32(b[4:], s.Nsecs)
	le.PutUint64(b[8:], s.SystemTime)
}

// Decode reads s from b.
func (s *XenpfSettime32T) Decode(b []byte) error {
	if len(b) < XenpfSettime32Size {
		return shortError("xenpf_settime32", XenpfSettime32Size, len(b))
	}
	s.Secs = le.Uint32(b[0:])
	s.Nsecs = le.Uint32(b[4:])
	s.SystemTime = le.Uint64(b[8:])
	return nil
}

// AppendBinary appends the encoding of s to b.
func (s *XenpfSettime32T) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenpfSettime32Size, s), nil
}

// MarshalBinary returns the encoding of s.
func (s *XenpfSettime32T) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from exactly XenpfSettime32Size bytes.
func (s *XenpfSettime32T) UnmarshalBinary(b []byte) error {
	if err := exactLength("xenpf_settime32", XenpfSettime32Size, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// PhysdevPCIDeviceAdd is struct physdev_pci_device_add without its
// variable optarr tail (the proximity domain when XEN_PCI_DEV_PXM is set).
type PhysdevPCIDeviceAdd struct {
	Seg         uint16
	Bus, Devfn  uint8
	Flags       uint32
	PhysfnBus   uint8
	PhysfnDevfn uint8
	_           [2]byte
}

// Encode writes p into the first PhysdevPCIDeviceAddSize bytes of b.
func (p *PhysdevPCIDeviceAdd) Encode(b []byte) {
	_ = b[PhysdevPCIDeviceAddSize-1]
	le.PutUint16(b[0:], p.Seg)
	b[2], b[3] = p.Bus, p.Devfn
	le.PutUint32(b[4:], p.Flags)
	b[8], b[9], b[10], b[11] = p.PhysfnBus, p.PhysfnDevfn, 0, 0
}

// Decode reads p from b.
func (p *PhysdevPCIDeviceAdd) Decode(b []byte) error {
	if len(b) < PhysdevPCIDeviceAddSize {
		return shortError("physdev_pci_device_add", PhysdevPCIDeviceAddSize, len(b))
	}
	p.Seg = le.Uint16(b[0:])
	p.Bus, p.Devfn = b[2], b[3]
	p.Flags = le.Uint32(b[4:])
	p.PhysfnBus, p.PhysfnDevfn = b[8], b[9]
	return nil
}

// AppendBinary appends the encoding of p to b.
func (p *PhysdevPCIDeviceAdd) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, PhysdevPCIDeviceAddSize, p), nil
}

// MarshalBinary returns the encoding of p.
func (p *PhysdevPCIDeviceAdd) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from exactly PhysdevPCIDeviceAddSize bytes.
func (p *PhysdevPCIDeviceAdd) UnmarshalBinary(b []byte) error {
	if err := exactLength("physdev_pci_device_add", PhysdevPCIDeviceAddSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// PhysdevPCIMmcfgReserved is struct physdev_pci_mmcfg_reserved: an MCFG
// region dom0 reports (Linux's xen_mcfg_late).
type PhysdevPCIMmcfgReserved struct {
	Address  uint64
	Segment  uint16
	StartBus uint8
	EndBus   uint8
	Flags    uint32
}

// Encode writes p into the first PhysdevPCIMmcfgReservedSize bytes of b.
func (p *PhysdevPCIMmcfgReserved) Encode(b []byte) {
	_ = b[PhysdevPCIMmcfgReservedSize-1]
	le.PutUint64(b[0:], p.Address)
	le.PutUint16(b[8:], p.Segment)
	b[10], b[11] = p.StartBus, p.EndBus
	le.PutUint32(b[12:], p.Flags)
}

// Decode reads p from b.
func (p *PhysdevPCIMmcfgReserved) Decode(b []byte) error {
	if len(b) < PhysdevPCIMmcfgReservedSize {
		return shortError("physdev_pci_mmcfg_reserved", PhysdevPCIMmcfgReservedSize, len(b))
	}
	p.Address = le.Uint64(b[0:])
	p.Segment = le.Uint16(b[8:])
	p.StartBus, p.EndBus = b[10], b[11]
	p.Flags = le.Uint32(b[12:])
	return nil
}

// AppendBinary appends the encoding of p to b.
func (p *PhysdevPCIMmcfgReserved) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, PhysdevPCIMmcfgReservedSize, p), nil
}

// MarshalBinary returns the encoding of p.
func (p *PhysdevPCIMmcfgReserved) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from exactly PhysdevPCIMmcfgReservedSize bytes.
func (p *PhysdevPCIMmcfgReserved) UnmarshalBinary(b []byte) error {
	if err := exactLength("physdev_pci_mmcfg_reserved", PhysdevPCIMmcfgReservedSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}
