package hypercall

import "gozen/abi/xen"

// Control is what only the privileged domain (dom0, Xen's hardware and
// control domain) may do. Guest.Control returns nil for every other
// domain, whose privileged calls then fail as Xen's XSM_PRIV checks make
// them fail.
type Control interface {
	// SetWallclock sets the wall-clock time every domain's shared_info
	// reports: secs.nsecs at Xen system time systemTime (Xen's
	// do_settime).
	SetWallclock(secs uint64, nsecs uint32, systemTime uint64)
	// ConsoleRead moves up to len(p) bytes typed on hv's console for dom0
	// into p and returns how many (CONSOLEIO_read; the guest learns of
	// new input through VIRQ_CONSOLE).
	ConsoleRead(p []byte) int
	// PCIDeviceAdd and MMCFGReserved record dom0's reports of PCI devices
	// and MCFG regions (for logs today; an IOMMU will use them).
	PCIDeviceAdd(d xen.PhysdevPCIDeviceAdd)
	MMCFGReserved(r xen.PhysdevPCIMmcfgReserved)
	// Toolstack is the control domain's domctl, sysctl and foreign
	// memory operations (toolstack.go).
	Toolstack() Toolstack
}

// MaxConsoleRead bounds one CONSOLEIO_read.
const MaxConsoleRead = 4096

// platformOp is platform_op (do_platform_op in
// xen/arch/x86/platform_hypercall.c): the structure is copied in (-EFAULT),
// the interface version checked (-EACCES), then the caller's privilege
// (-EPERM, XSM_PRIV). GoZen serves the settime commands; the firmware,
// CPU, power and microcode queries are -ENOSYS, which Linux 6.1 treats as
// "not available" (dom0-toolstack.md §A.2).
func platformOp(g Guest, arg uint64) int64 {
	var b [xen.XenPlatformOpSize]byte
	var op xen.XenPlatformOp
	if !g.CopyIn(arg, b[:]) || op.Decode(b[:]) != nil {
		return errno(xen.EFAULT)
	}
	if op.InterfaceVersion != xen.XenpfInterfaceVersion {
		return errno(xen.EACCES)
	}
	c := g.Control()
	if c == nil {
		return errno(xen.EPERM)
	}
	switch op.Cmd {
	case xen.XenpfSettime64:
		var s xen.XenpfSettime64T
		s.Decode(op.U[:])
		if s.Mbz != 0 {
			return errno(xen.EINVAL)
		}
		c.SetWallclock(s.Secs, s.Nsecs, s.SystemTime)
		return 0
	case xen.XenpfSettime32:
		var s xen.XenpfSettime32T
		s.Decode(op.U[:])
		c.SetWallclock(uint64(s.Secs), s.Nsecs, s.SystemTime)
		return 0
	}
	return errno(xen.ENOSYS)
}

// physdevOp is physdev_op as Xen serves it to a PVH (HVM) caller
// (hvm_physdev_op in xen/arch/x86/hvm/hypercall.c): the PCI reporting
// commands are for the hardware domain only, and -ENOSYS for everyone
// else, as is every other command (GoZen has no PIRQs: a 6.1 PVH dom0
// issues none, dom0-toolstack.md §0.1).
func physdevOp(g Guest, cmd, arg uint64) int64 {
	c := g.Control()
	if c == nil {
		return errno(xen.ENOSYS)
	}
	switch cmd {
	case xen.PhysdevOpPCIDeviceAdd:
		var b [xen.PhysdevPCIDeviceAddSize]byte
		var d xen.PhysdevPCIDeviceAdd
		if !g.CopyIn(arg, b[:]) || d.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		c.PCIDeviceAdd(d)
		return 0
	case xen.PhysdevOpPCIMmcfgReserved:
		var b [xen.PhysdevPCIMmcfgReservedSize]byte
		var r xen.PhysdevPCIMmcfgReserved
		if !g.CopyIn(arg, b[:]) || r.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		c.MMCFGReserved(r)
		return 0
	}
	return errno(xen.ENOSYS)
}

// consoleRead is CONSOLEIO_read: dom0 reads hv's console input; other
// domains are refused (-EPERM: Xen's xsm_console_io allows them only
// CONSOLEIO_write).
func consoleRead(g Guest, count, buf uint64) int64 {
	c := g.Control()
	if c == nil {
		return errno(xen.EPERM)
	}
	n := min(count, MaxConsoleRead)
	if n == 0 {
		return 0
	}
	var b [MaxConsoleRead]byte
	// Check the buffer before consuming input, so a bad pointer loses no
	// keystrokes.
	if !g.CopyOut(buf, b[:n]) {
		return errno(xen.EFAULT)
	}
	got := c.ConsoleRead(b[:n])
	if got > 0 && !g.CopyOut(buf, b[:got]) {
		return errno(xen.EFAULT)
	}
	return int64(got)
}
