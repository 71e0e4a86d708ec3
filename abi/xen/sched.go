package xen

// The sched_op hypercall: SCHEDOP_* commands, their arguments and the
// shutdown reasons (xen/include/public/sched.h). The call is
// sched_op(cmd, arg).

// sched_op commands (SCHEDOP_* in sched.h).
const (
	// SchedOpYield is SCHEDOP_yield: give up the CPU, stay runnable.
	SchedOpYield = 0
	// SchedOpBlock is SCHEDOP_block: block until an event is pending. If
	// upcalls are masked it atomically unmasks them and checks for pending
	// events first. Linux PVH idles with HLT instead.
	SchedOpBlock = 1
	// SchedOpShutdown is SCHEDOP_shutdown (SchedShutdown): stop all vCPUs of
	// the domain and tell the toolstack. For SHUTDOWN_suspend it returns 1
	// if the suspend was cancelled and 0 when resuming in a new domain.
	SchedOpShutdown = 2
	// SchedOpPoll is SCHEDOP_poll (SchedPoll): block until one of the
	// listed ports is pending or the timeout passes.
	SchedOpPoll = 3
	// SchedOpRemoteShutdown is SCHEDOP_remote_shutdown
	// (SchedRemoteShutdown, privileged).
	SchedOpRemoteShutdown = 4
	// SchedOpShutdownCode is SCHEDOP_shutdown_code (SchedShutdown): record
	// the reason a later shutdown will report, without shutting down.
	SchedOpShutdownCode = 5
	// SchedOpWatchdog is SCHEDOP_watchdog (SchedWatchdog).
	SchedOpWatchdog = 6
	// SchedOpPinOverride is SCHEDOP_pin_override (SchedPinOverride, hardware
	// domain).
	SchedOpPinOverride = 7
)

// Shutdown reasons (SHUTDOWN_* in sched.h), SchedShutdown.Reason.
const (
	// ShutdownPoweroff is SHUTDOWN_poweroff: exited normally; clean up and
	// destroy.
	ShutdownPoweroff = 0
	// ShutdownReboot is SHUTDOWN_reboot: clean up, destroy, restart.
	ShutdownReboot = 1
	// ShutdownSuspend is SHUTDOWN_suspend: save suspend state, destroy.
	ShutdownSuspend = 2
	// ShutdownCrash is SHUTDOWN_crash: the guest crashed.
	ShutdownCrash = 3
	// ShutdownWatchdog is SHUTDOWN_watchdog: restart after a watchdog
	// timeout.
	ShutdownWatchdog = 4
	// ShutdownSoftReset is SHUTDOWN_soft_reset: reset the domain's state
	// but keep its memory (kexec).
	ShutdownSoftReset = 5
	// ShutdownMax is SHUTDOWN_MAX: the largest valid reason.
	ShutdownMax = 5
)

// shutdownNames holds the name after SHUTDOWN_ of each reason.
var shutdownNames = [...]string{"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"}

// ShutdownReasonName returns the name of a SHUTDOWN_* reason without its
// prefix ("poweroff", "crash", ...), or "" for a value above ShutdownMax.
func ShutdownReasonName(reason uint32) string {
	if reason > ShutdownMax {
		return ""
	}
	return shutdownNames[reason]
}

// Encoded sizes in bytes of the sched_op structures.
const (
	SchedShutdownSize       = 4  // struct sched_shutdown
	SchedPollSize           = 24 // struct sched_poll
	SchedRemoteShutdownSize = 8  // struct sched_remote_shutdown
	SchedWatchdogSize       = 8  // struct sched_watchdog
	SchedPinOverrideSize    = 4  // struct sched_pin_override
)

// SchedShutdown is struct sched_shutdown (4 bytes), the argument of
// SCHEDOP_shutdown and SCHEDOP_shutdown_code.
type SchedShutdown struct {
	Reason uint32 // SHUTDOWN_*
}

// Encode writes s into b[:SchedShutdownSize]. It panics if b is shorter.
func (s *SchedShutdown) Encode(b []byte) {
	_ = b[SchedShutdownSize-1]
	le.PutUint32(b[0:], s.Reason)
}

// Decode reads s from the first SchedShutdownSize bytes of b, or returns an
// error if b is shorter.
func (s *SchedShutdown) Decode(b []byte) error {
	if len(b) < SchedShutdownSize {
		return shortError("sched_shutdown", SchedShutdownSize, len(b))
	}
	s.Reason = le.Uint32(b[0:])
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *SchedShutdown) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, SchedShutdownSize, s), nil
}

// MarshalBinary returns the SchedShutdownSize-byte encoding of s.
func (s *SchedShutdown) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly SchedShutdownSize
// bytes long.
func (s *SchedShutdown) UnmarshalBinary(b []byte) error {
	if err := exactLength("sched_shutdown", SchedShutdownSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// SchedPoll is struct sched_poll (24 bytes), the argument of SCHEDOP_poll.
type SchedPoll struct {
	Ports   uint64 // guest handle: array of NrPorts evtchn_port_t (uint32)
	NrPorts uint32 // nr_ports
	Timeout uint64 // absolute system time in ns; Xen treats 0 as no timeout
}

// Encode writes p into b[:SchedPollSize], with zeros in the padding. It
// panics if b is shorter.
func (p *SchedPoll) Encode(b []byte) {
	_ = b[SchedPollSize-1]
	le.PutUint64(b[0:], p.Ports)
	le.PutUint32(b[8:], p.NrPorts)
	clear(b[12:16]) // padding
	le.PutUint64(b[16:], p.Timeout)
}

// Decode reads p from the first SchedPollSize bytes of b, or returns an
// error if b is shorter.
func (p *SchedPoll) Decode(b []byte) error {
	if len(b) < SchedPollSize {
		return shortError("sched_poll", SchedPollSize, len(b))
	}
	p.Ports = le.Uint64(b[0:])
	p.NrPorts = le.Uint32(b[8:])
	p.Timeout = le.Uint64(b[16:])
	return nil
}

// AppendBinary appends the encoding of p to b (encoding.BinaryAppender).
func (p *SchedPoll) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, SchedPollSize, p), nil
}

// MarshalBinary returns the SchedPollSize-byte encoding of p.
func (p *SchedPoll) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from b, which must be exactly SchedPollSize
// bytes long.
func (p *SchedPoll) UnmarshalBinary(b []byte) error {
	if err := exactLength("sched_poll", SchedPollSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}

// SchedRemoteShutdown is struct sched_remote_shutdown (8 bytes), the
// argument of SCHEDOP_remote_shutdown.
type SchedRemoteShutdown struct {
	DomainID uint16 // domain to shut down
	Reason   uint32 // SHUTDOWN_*
}

// Encode writes s into b[:SchedRemoteShutdownSize], with zeros in the
// padding. It panics if b is shorter.
func (s *SchedRemoteShutdown) Encode(b []byte) {
	_ = b[SchedRemoteShutdownSize-1]
	le.PutUint16(b[0:], s.DomainID)
	clear(b[2:4]) // padding
	le.PutUint32(b[4:], s.Reason)
}

// Decode reads s from the first SchedRemoteShutdownSize bytes of b, or
// returns an error if b is shorter.
func (s *SchedRemoteShutdown) Decode(b []byte) error {
	if len(b) < SchedRemoteShutdownSize {
		return shortError("sched_remote_shutdown", SchedRemoteShutdownSize, len(b))
	}
	s.DomainID = le.Uint16(b[0:])
	s.Reason = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of s to b (encoding.BinaryAppender).
func (s *SchedRemoteShutdown) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, SchedRemoteShutdownSize, s), nil
}

// MarshalBinary returns the SchedRemoteShutdownSize-byte encoding of s.
func (s *SchedRemoteShutdown) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary decodes s from b, which must be exactly
// SchedRemoteShutdownSize bytes long.
func (s *SchedRemoteShutdown) UnmarshalBinary(b []byte) error {
	if err := exactLength("sched_remote_shutdown", SchedRemoteShutdownSize, b); err != nil {
		return err
	}
	return s.Decode(b)
}

// SchedWatchdog is struct sched_watchdog (8 bytes), the argument of
// SCHEDOP_watchdog. With ID 0 it creates a watchdog and returns its id;
// with Timeout 0 it destroys watchdog ID; otherwise it re-arms it.
type SchedWatchdog struct {
	ID      uint32 // watchdog id
	Timeout uint32 // seconds
}

// Encode writes w into b[:SchedWatchdogSize]. It panics if b is shorter.
func (w *SchedWatchdog) Encode(b []byte) {
	_ = b[SchedWatchdogSize-1]
	le.PutUint32(b[0:], w.ID)
	le.PutUint32(b[4:], w.Timeout)
}

// Decode reads w from the first SchedWatchdogSize bytes of b, or returns an
// error if b is shorter.
func (w *SchedWatchdog) Decode(b []byte) error {
	if len(b) < SchedWatchdogSize {
		return shortError("sched_watchdog", SchedWatchdogSize, len(b))
	}
	w.ID = le.Uint32(b[0:])
	w.Timeout = le.Uint32(b[4:])
	return nil
}

// AppendBinary appends the encoding of w to b (encoding.BinaryAppender).
func (w *SchedWatchdog) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, SchedWatchdogSize, w), nil
}

// MarshalBinary returns the SchedWatchdogSize-byte encoding of w.
func (w *SchedWatchdog) MarshalBinary() ([]byte, error) { return w.AppendBinary(nil) }

// UnmarshalBinary decodes w from b, which must be exactly SchedWatchdogSize
// bytes long.
func (w *SchedWatchdog) UnmarshalBinary(b []byte) error {
	if err := exactLength("sched_watchdog", SchedWatchdogSize, b); err != nil {
		return err
	}
	return w.Decode(b)
}

// SchedPinOverride is struct sched_pin_override (4 bytes), the argument of
// SCHEDOP_pin_override: a physical CPU to pin the calling vCPU to, or a
// negative value to undo the override.
type SchedPinOverride struct {
	PCPU int32 // pcpu
}

// Encode writes p into b[:SchedPinOverrideSize]. It panics if b is shorter.
func (p *SchedPinOverride) Encode(b []byte) {
	_ = b[SchedPinOverrideSize-1]
	le.PutUint32(b[0:], uint32(p.PCPU))
}

// Decode reads p from the first SchedPinOverrideSize bytes of b, or returns
// an error if b is shorter.
func (p *SchedPinOverride) Decode(b []byte) error {
	if len(b) < SchedPinOverrideSize {
		return shortError("sched_pin_override", SchedPinOverrideSize, len(b))
	}
	p.PCPU = int32(le.Uint32(b[0:]))
	return nil
}

// AppendBinary appends the encoding of p to b (encoding.BinaryAppender).
func (p *SchedPinOverride) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, SchedPinOverrideSize, p), nil
}

// MarshalBinary returns the SchedPinOverrideSize-byte encoding of p.
func (p *SchedPinOverride) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes p from b, which must be exactly
// SchedPinOverrideSize bytes long.
func (p *SchedPinOverride) UnmarshalBinary(b []byte) error {
	if err := exactLength("sched_pin_override", SchedPinOverrideSize, b); err != nil {
		return err
	}
	return p.Decode(b)
}
