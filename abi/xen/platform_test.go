package xen

import (
	"testing"
	"unsafe"
)

// struct xen_platform_op, xen/include/public/platform.h: cmd, then
// interface_version, then a 128-byte union (uint8_t pad[128]).
func TestXenPlatformOpLayout(t *testing.T) {
	var v XenPlatformOp
	checkLayout(t, "xen_platform_op", unsafe.Sizeof(v), 136, []fieldOff{
		{"cmd", unsafe.Offsetof(v.Cmd), 0},
		{"interface_version", unsafe.Offsetof(v.InterfaceVersion), 4},
		{"u", unsafe.Offsetof(v.U), 8},
	})
	var w XenPlatformOp
	w.Cmd, w.InterfaceVersion = 0x04030201, 0x08070605
	for i := range w.U {
		w.U[i] = byte(9 + i)
	}
	checkEncoding(t, &w, &XenPlatformOp{}, seqPattern(136))
}

// struct xenpf_settime64 and xenpf_settime32.
func TestXenpfSettimeLayout(t *testing.T) {
	var v XenpfSettime64T
	checkLayout(t, "xenpf_settime64", unsafe.Sizeof(v), XenpfSettime64Size, []fieldOff{
		{"secs", unsafe.Offsetof(v.Secs), 0},
		{"nsecs", unsafe.Offsetof(v.Nsecs), 8},
		{"mbz", unsafe.Offsetof(v.Mbz), 12},
		{"system_time", unsafe.Offsetof(v.SystemTime), 16},
	})
	checkEncoding(t, &XenpfSettime64T{Secs: 0x0807060504030201, Nsecs: 0x0c0b0a09, Mbz: 0x100f0e0d, SystemTime: 0x1817161514131211},
		&XenpfSettime64T{}, seqPattern(24))
	var w XenpfSettime32T
	checkLayout(t, "xenpf_settime32", unsafe.Sizeof(w), XenpfSettime32Size, []fieldOff{
		{"secs", unsafe.Offsetof(w.Secs), 0},
		{"nsecs", unsafe.Offsetof(w.Nsecs), 4},
		{"system_time", unsafe.Offsetof(w.SystemTime), 8},
	})
	checkEncoding(t, &XenpfSettime32T{Secs: 0x04030201, Nsecs: 0x08070605, SystemTime: 0x100f0e0d0c0b0a09},
		&XenpfSettime32T{}, seqPattern(16))
}

// struct physdev_pci_device_add (without optarr) and
// physdev_pci_mmcfg_reserved, xen/include/public/physdev.h.
func TestPhysdevLayout(t *testing.T) {
	var v PhysdevPCIDeviceAdd
	checkLayout(t, "physdev_pci_device_add", unsafe.Sizeof(v), PhysdevPCIDeviceAddSize, []fieldOff{
		{"seg", unsafe.Offsetof(v.Seg), 0},
		{"bus", unsafe.Offsetof(v.Bus), 2},
		{"devfn", unsafe.Offsetof(v.Devfn), 3},
		{"flags", unsafe.Offsetof(v.Flags), 4},
		{"physfn.bus", unsafe.Offsetof(v.PhysfnBus), 8},
		{"physfn.devfn", unsafe.Offsetof(v.PhysfnDevfn), 9},
	})
	checkEncoding(t, &PhysdevPCIDeviceAdd{Seg: 0x0201, Bus: 3, Devfn: 4, Flags: 0x08070605, PhysfnBus: 9, PhysfnDevfn: 10},
		&PhysdevPCIDeviceAdd{}, seqPattern(12, [2]int{10, 12}))
	var m PhysdevPCIMmcfgReserved
	checkLayout(t, "physdev_pci_mmcfg_reserved", unsafe.Sizeof(m), PhysdevPCIMmcfgReservedSize, []fieldOff{
		{"address", unsafe.Offsetof(m.Address), 0},
		{"segment", unsafe.Offsetof(m.Segment), 8},
		{"start_bus", unsafe.Offsetof(m.StartBus), 10},
		{"end_bus", unsafe.Offsetof(m.EndBus), 11},
		{"flags", unsafe.Offsetof(m.Flags), 12},
	})
	checkEncoding(t, &PhysdevPCIMmcfgReserved{Address: 0x0807060504030201, Segment: 0x0a09, StartBus: 11, EndBus: 12, Flags: 0x100f0e0d},
		&PhysdevPCIMmcfgReserved{}, seqPattern(16))
}
