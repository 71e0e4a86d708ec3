package hypercall

import (
	"encoding/binary"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

var le = binary.LittleEndian

// GoZen's own hypercall for test guests (not Xen's): gozen_op(cmd, ...).
const (
	// HypercallGoZenOp is its number, outside Xen's range of used numbers.
	HypercallGoZenOp = 64
	// GoZenOpTimer arms a one-shot timer: gozen_op(1, microseconds).
	GoZenOpTimer = 1
	// GoZenOpReport hands hv samples: gozen_op(2, key, gva, count) with
	// count uint32 values at gva.
	GoZenOpReport = 2
	// MaxTestTimer is the longest GoZenOpTimer, in microseconds (1 h).
	MaxTestTimer = 3600e6
	// MaxReport is the most samples GoZenOpReport takes.
	MaxReport = 1 << 20
)

// Limits on guest-supplied counts. Xen continues long batches with a
// hypercall continuation; GoZen has none, so it bounds each call (and
// memory_op reservations report a partial count, which the ABI allows).
const (
	MaxConsoleWrite = 4096 // bytes per CONSOLEIO_write
	MaxPollPorts    = 128  // ports per SCHEDOP_poll (as Xen)
	MaxGrantOps     = 512  // ops per grant_table_op batch
	MaxExtents      = 512  // extents per memory_op reservation call
	MaxExtentOrder  = 9    // largest extent: 2 MiB, as Xen allows a domU
	MaxSetupFrames  = 64   // frames per GNTTABOP_setup_table
)

// Counted is how many hypercall numbers Dispatcher.Count covers: Xen's
// and GoZen's own.
const Counted = HypercallGoZenOp + 1

// Info is what xen_version tells guests.
type Info struct {
	Major, Minor uint16
	ExtraVersion string // XENVER_extraversion, at most 15 bytes
	Capabilities string // XENVER_capabilities
	Changeset    string // XENVER_changeset
	VirtStart    uint64 // XENVER_platform_parameters
	Features     uint32 // XENVER_get_features submap 0 (XENFEAT_* bits)
	// XENVER_compile_info: each string is cut to its field less the NUL.
	Compiler, CompileBy, CompileDomain, CompileDate string
	// Commandline (XENVER_commandline, at most 1023 bytes) and BuildID
	// (XENVER_build_id; none: -ENODATA) are told to privileged callers
	// only (Privileged).
	Commandline string
	BuildID     []byte
}

// Privileged is implemented by a Guest that may see what Xen's XSM
// default policy keeps for privileged domains (xsm_default_action with
// XSM_PRIV: the hardware domain): xen_version's commandline and build_id.
// A Guest without the method is a domU.
type Privileged interface {
	Privileged() bool
}

func privileged(g Guest) bool {
	p, ok := g.(Privileged)
	return ok && p.Privileged()
}

// xenDeny is what Xen gives in place of information a caller may not see
// (xen_deny() in xen/common/version.c).
const xenDeny = "<denied>\x00"

// Dispatcher serves hypercalls. Its counters are for diagnostics.
type Dispatcher struct {
	Info Info
	// Count counts calls by hypercall number (those below Counted);
	// VCPUOpCount counts vcpu_op calls by command.
	Count       [Counted]uint64
	VCPUOpCount [16]uint64
}

// Args returns the hypercall number and arguments from the registers of a
// guest in mode: RAX; RDI, RSI, RDX, R10, R8 for 64-bit code, and EAX; EBX,
// ECX, EDX, ESI, EDI (zero-extended) otherwise.
func Args(r *x86.Regs, mode x86.Mode) (nr uint64, a [5]uint64) {
	if mode == x86.Mode64 {
		return r[x86.RAX], [5]uint64{r[x86.RDI], r[x86.RSI], r[x86.RDX], r[x86.R10], r[x86.R8]}
	}
	m := uint64(0xffffffff)
	return r[x86.RAX] & m, [5]uint64{r[x86.RBX] & m, r[x86.RCX] & m, r[x86.RDX] & m, r[x86.RSI] & m, r[x86.RDI] & m}
}

// Return is the value to put in RAX for result ret: 32-bit guests see it
// truncated to 32 bits (sign included).
func Return(ret int64, mode x86.Mode) uint64 {
	if mode != x86.Mode64 {
		return uint64(uint32(int32(ret)))
	}
	return uint64(ret)
}

// errno converts an Errno to a hypercall result.
func errno(e xen.Errno) int64 { return -int64(e) }

// okOrFault is 0, or -EFAULT when a guest buffer could not be copied.
func okOrFault(ok bool) int64 {
	if ok {
		return 0
	}
	return errno(xen.EFAULT)
}

// Call performs hypercall nr with arguments a for g and returns its
// result: 0 or a count on success, a negative Xen errno on failure. A caller
// outside 64-bit mode (g.Mode()) gets Xen's compat ABI: the same checks and
// operations on the 32-bit layouts of the structures that differ.
func (d *Dispatcher) Call(g Guest, nr uint64, a [5]uint64) int64 {
	if nr < Counted {
		d.Count[nr]++
	}
	if !g.Kernel() {
		return errno(xen.EPERM) // HVM guests make hypercalls from kernel mode only
	}
	compat := g.Mode() != x86.Mode64
	switch nr {
	case xen.HypercallXenVersion:
		return d.xenVersion(g, a[0], a[1], compat)
	case xen.HypercallConsoleIO:
		return consoleIO(g, a[0], a[1], a[2])
	case xen.HypercallSchedOp:
		return schedOp(g, a[0], a[1], compat)
	case xen.HypercallSetTimerOp:
		deadline := int64(a[0])
		if compat {
			// The 64-bit deadline comes in two registers: compat
			// set_timer_op(lo, hi).
			deadline = int64(a[1]<<32 | a[0])
		}
		g.SetTimer(deadline)
		return 0
	case xen.HypercallMemoryOp:
		return memoryOp(g, a[0], a[1], compat)
	case xen.HypercallHVMOp:
		return hvmOp(g, a[0], a[1])
	case xen.HypercallVCPUOp:
		if a[0] < uint64(len(d.VCPUOpCount)) {
			d.VCPUOpCount[a[0]]++
		}
		return vcpuOp(g, a[0], a[1], a[2], compat)
	case xen.HypercallVMAssist:
		return vmAssist(a[0], a[1])
	case xen.HypercallEventChannelOp:
		return eventChannelOp(g, a[0], a[1])
	case xen.HypercallGrantTableOp:
		return grantTableOp(g, a[0], a[1], a[2], compat)
	case xen.HypercallPlatformOp:
		return platformOp(g, a[0])
	case xen.HypercallPhysdevOp:
		return physdevOp(g, a[0], a[1])
	case xen.HypercallDomctl:
		return domctl(g, a[0])
	case xen.HypercallSysctl:
		return sysctl(g, a[0])
	case HypercallGoZenOp:
		return gozenOp(g, a)
	}
	return errno(xen.ENOSYS)
}

// xenVersion is xen_version (version.h), command by command as Xen 4.17's
// do_xen_version with the default XSM policy (xsm_xen_version): version,
// platform_parameters and get_features for everyone; extraversion,
// compile_info, capabilities, changeset, pagesize and guest_handle for any
// guest; commandline and build_id only for a privileged caller (a domU gets
// "<denied>" and -EPERM). Only platform_parameters has a compat layout; the
// others are byte arrays, or 32-bit fields in both.
func (d *Dispatcher) xenVersion(g Guest, cmd, arg uint64, compat bool) int64 {
	i := &d.Info
	switch cmd {
	case xen.XenverVersion:
		return int64(i.Major)<<16 | int64(i.Minor)
	case xen.XenverExtraversion:
		var b [xen.XenExtraversionLen]byte // the last byte stays NUL
		copy(b[:len(b)-1], i.ExtraVersion)
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverCompileInfo:
		var c xen.XenCompileInfo
		copy(c.Compiler[:len(c.Compiler)-1], i.Compiler)
		copy(c.CompileBy[:len(c.CompileBy)-1], i.CompileBy)
		copy(c.CompileDomain[:len(c.CompileDomain)-1], i.CompileDomain)
		copy(c.CompileDate[:len(c.CompileDate)-1], i.CompileDate)
		var b [xen.XenCompileInfoSize]byte
		c.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverCapabilities:
		var b [xen.XenCapabilitiesInfoLen]byte
		copy(b[:len(b)-1], i.Capabilities)
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverChangeset:
		var b [xen.XenChangesetInfoLen]byte
		copy(b[:len(b)-1], i.Changeset)
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverPlatformParameters:
		if compat {
			// Xen tells a 32-bit HVM caller 0: it has no hole in a
			// translated guest's address space (xen/common/kernel.c).
			var b [xen.CompatXenPlatformParametersSize]byte
			p := xen.CompatXenPlatformParameters{}
			p.Encode(b[:])
			return okOrFault(g.CopyOut(arg, b[:]))
		}
		var b [xen.XenPlatformParametersSize]byte
		p := xen.XenPlatformParameters{VirtStart: i.VirtStart}
		p.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverGetFeatures:
		var b [xen.XenFeatureInfoSize]byte
		var f xen.XenFeatureInfo
		if !g.CopyIn(arg, b[:]) || f.Decode(b[:]) != nil {
			return errno(xen.EFAULT)
		}
		if f.SubmapIdx != 0 {
			return errno(xen.EINVAL) // Xen has submap 0 only
		}
		f.Submap = i.Features
		f.Encode(b[:])
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverPagesize:
		if arg != 0 {
			return errno(xen.EINVAL)
		}
		return 4096
	case xen.XenverGuestHandle:
		var b [xen.XenDomainHandleLen]byte // the domain's UUID: GoZen has none, all zeros
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverCommandline:
		if !privileged(g) {
			return okOrFault(g.CopyOut(arg, []byte(xenDeny)))
		}
		var b [xen.XenCommandlineLen]byte
		copy(b[:len(b)-1], i.Commandline)
		return okOrFault(g.CopyOut(arg, b[:]))
	case xen.XenverBuildID:
		if !privileged(g) {
			return errno(xen.EPERM)
		}
		return buildID(g, arg, i.BuildID)
	}
	return errno(xen.ENOSYS)
}

// buildID is XENVER_build_id for a privileged caller: a NULL argument asks
// for the length; otherwise arg is a xen_build_id {uint32 len; buf[len]}
// whose buf receives the ID (-EINVAL for len 0, -ENOBUFS if it is too
// short). Without an ID, Xen's xen_build_id answers -ENODATA.
func buildID(g Guest, arg uint64, id []byte) int64 {
	var n uint32
	if arg != 0 {
		var h [xen.XenVarbufHeaderSize]byte
		if !g.CopyIn(arg, h[:]) {
			return errno(xen.EFAULT)
		}
		if n = le.Uint32(h[:]); n == 0 {
			return errno(xen.EINVAL)
		}
	}
	if len(id) == 0 {
		return errno(xen.ENODATA)
	}
	if arg == 0 {
		return int64(len(id))
	}
	if uint64(len(id)) > uint64(n) {
		return errno(xen.ENOBUFS)
	}
	if !g.CopyOut(arg+xen.XenVarbufHeaderSize, id) {
		return errno(xen.EFAULT)
	}
	return int64(len(id))
}

// consoleIO is console_io: CONSOLEIO_write logs the guest's bytes;
// CONSOLEIO_read gives dom0 hv's console input (consoleRead).
func consoleIO(g Guest, cmd, count, buf uint64) int64 {
	switch cmd {
	case xen.ConsoleIOWrite:
		if count > MaxConsoleWrite {
			return errno(xen.EINVAL)
		}
		b := make([]byte, count)
		if !g.CopyIn(buf, b) {
			return errno(xen.EFAULT)
		}
		g.ConsoleWrite(b)
		return 0
	case xen.ConsoleIORead:
		return consoleRead(g, count, buf)
	}
	return errno(xen.ENOSYS)
}

// vmAssist is vm_assist: an HVM guest may only toggle the runstate update
// flag, which GoZen honours by always updating runstate areas whole.
func vmAssist(cmd, typ uint64) int64 {
	if typ != xen.VMAsstTypeRunstateUpdateFlag || cmd > xen.VMAsstCmdDisable {
		return errno(xen.EINVAL)
	}
	return 0
}

// gozenOp is GoZen's test hypercall.
func gozenOp(g Guest, a [5]uint64) int64 {
	switch a[0] {
	case GoZenOpTimer:
		if a[1] > MaxTestTimer {
			return errno(xen.EINVAL)
		}
		g.TestTimer(a[1])
		return 0
	case GoZenOpReport:
		key, gva, count := uint32(a[1]), a[2], a[3]
		if count == 0 || count > MaxReport {
			return errno(xen.EINVAL)
		}
		buf := make([]byte, 4*count)
		if !g.CopyIn(gva, buf) {
			return errno(xen.EFAULT)
		}
		vals := make([]uint32, count)
		for i := range vals {
			vals[i] = le.Uint32(buf[4*i:])
		}
		g.Report(key, vals)
		return 0
	}
	return errno(xen.ENOSYS)
}
