package hv

// The machine's power: dom0 owns the machine, so its power-off (ACPI S5
// through PM1 control) and its resets (port 0xCF9, the keyboard
// controller, the FADT's reset register) end the machine, not just dom0;
// so does dom0 shutting itself down with poweroff or reboot
// (SCHEDOP_shutdown: a Linux PVH dom0 reboots that way), as Xen's
// hwdom_shutdown does. hv traps them (dom0.go watches the ports) and then,
// as `xl shutdown -a -w` followed by the hardware request would under Xen:
//
//  1. pauses dom0, which believes the machine is going away and will not
//     run usefully again;
//  2. asks every other domain to power off (control/shutdown "poweroff"
//     through xenstore: RequestShutdown), for a machine reset too: that is
//     what Xen's xendomains script does with `xl shutdown` when dom0 goes
//     down, and nothing would restart a domain here (a Linux PVH domU
//     asked to "reboot" would end in a triple fault); lets any paused one
//     run so it can, and destroys at once those that cannot be asked (no
//     PV control interface);
//  3. waits until they have all ended, or ShutdownGrace has passed, then
//     destroys what is left (with a log line each) and shuts dom0 down;
//  4. Run returns, and the platform (cmd/hv) powers the machine off or
//     resets it, as Machine says. No domain is left running on a machine
//     that is about to go away.

import (
	"fmt"
	"time"

	"gozen/abi/xen"
)

// MachineAction is what the machine does once hv's run loop ends.
type MachineAction int

const (
	// MachineNone: no domain asked; hv stops as after its domains end.
	MachineNone MachineAction = iota
	// MachinePowerOff: dom0 powered the machine off.
	MachinePowerOff
	// MachineReboot: dom0 reset the machine.
	MachineReboot
)

func (a MachineAction) String() string {
	switch a {
	case MachinePowerOff:
		return "poweroff"
	case MachineReboot:
		return "reboot"
	}
	return "none"
}

// DefaultShutdownGrace is how long the other domains get to shut down when
// dom0 ends the machine: Linux powers off in well under a second on
// hardware, a few under QEMU's emulation.
const DefaultShutdownGrace = 10 * time.Second

// machineStop is a power-off or reset in progress.
type machineStop struct {
	action   MachineAction
	how      string // the register dom0 wrote, for the log and Machine
	dom0     *Domain
	deadline int64 // env.Now() by which the other domains must have ended
	done     bool  // every domain has ended; Run may return
}

// Machine reports what dom0 asked the machine to do (MachineNone if it did
// not), and how it asked. Safe from any goroutine.
func (h *Hypervisor) Machine() (MachineAction, string) {
	var a MachineAction
	var how string
	h.exec(func() {
		if h.stopping != nil {
			a, how = h.stopping.action, h.stopping.how
		}
	})
	return a, how
}

// machineRequest starts ending the machine at d0's request (on the run
// loop, from dom0's exit).
func (h *Hypervisor) machineRequest(d0 *Domain, a MachineAction, how string) {
	if h.stopping != nil {
		h.logf("dom0 asked to %s (%s) while the machine is already going to %s; ignored", a, how, h.stopping.action)
		return
	}
	grace := h.ShutdownGrace
	if grace == 0 {
		grace = DefaultShutdownGrace
	}
	h.stopping = &machineStop{action: a, how: how, dom0: d0, deadline: h.env.Now() + int64(grace)}
	h.logf("dom0 asked to %s the machine (%s): shutting the other domains down first (%v grace)", a, how, grace)
	if d0.state == DomainRunning {
		_ = h.pause(d0)
	}
	for _, d := range h.domains {
		if d == d0 || (d.state != DomainRunning && d.state != DomainPaused) {
			continue
		}
		if d.state == DomainPaused {
			_ = h.unpause(d) // a paused domain could not act on the request
		}
		if err := h.RequestShutdown(d, "poweroff"); err != nil {
			h.logf("domain %d %q cannot be asked to shut down (%v): destroyed", d.id, d.name, err)
			_ = h.destroy(d)
		}
	}
	h.checkMachineStop(h.env.Now())
}

// dom0Shutdown handles dom0 shutting itself down (SCHEDOP_shutdown, or
// every vCPU halted): as in Xen's hwdom_shutdown, the machine goes with it
// when the reason is poweroff or reboot. It reports whether it took the
// request (false: not dom0, a stop already under way, or another reason,
// which ends dom0 alone).
func (h *Hypervisor) dom0Shutdown(d *Domain, reason uint32, how string) bool {
	if d.dom0 == nil || h.stopping != nil {
		return false
	}
	switch reason {
	case xen.ShutdownPoweroff:
		h.machineRequest(d, MachinePowerOff, how)
	case xen.ShutdownReboot:
		h.machineRequest(d, MachineReboot, how)
	default:
		return false
	}
	return true
}

// checkMachineStop finishes a machine stop in progress once every other
// domain has ended or the grace has run out (on the run loop, each turn).
func (h *Hypervisor) checkMachineStop(now int64) {
	s := h.stopping
	if s == nil || s.done {
		return
	}
	left := 0
	for _, d := range h.domains {
		if d != s.dom0 && (d.state == DomainRunning || d.state == DomainPaused) {
			left++
		}
	}
	if left > 0 && now < s.deadline {
		return
	}
	for _, d := range h.domains {
		if d != s.dom0 && (d.state == DomainRunning || d.state == DomainPaused) {
			h.logf("domain %d %q did not shut down in time for the machine's %s: destroyed", d.id, d.name, s.action)
			_ = h.destroy(d)
		}
	}
	s.done = true
	reason := uint32(xen.ShutdownPoweroff)
	if s.action == MachineReboot {
		reason = xen.ShutdownReboot
	}
	h.shutdownDomain(s.dom0, reason)
	h.logf("every domain has ended: the machine will %s", s.action)
}

// stopDeadline is the grace deadline of a machine stop in progress, for
// the run loop's idle wait.
func (h *Hypervisor) stopDeadline() (int64, bool) {
	if s := h.stopping; s != nil && !s.done {
		return s.deadline, true
	}
	return 0, false
}

// powerWrite decides whether dom0's write of val to port (size bytes) asks
// to power the machine off or reset it. sleep is set for an ACPI sleep
// state other than S5, which hv does not support. A write reaches a
// register when its span covers the register's byte (an 8-bit write to
// PM1 control's high byte sets SLP_EN as well as a 16-bit one).
func (s *dom0State) powerWrite(port uint16, size int, val uint64) (a MachineAction, how string, sleep bool) {
	for i, p := range s.pm1Cnt {
		if p == 0 {
			continue
		}
		hi, ok := byteAt(port, size, val, p+1) // SLP_EN and SLP_TYP are bits 13 and 12-10
		if !ok || hi&(1<<5) == 0 {             // SLP_EN (ACPI §4.8.3.2.1)
			continue
		}
		typ := (hi >> 2) & 7
		ab := "ab"[i]
		if s.s5Known && typ != s.s5[i] {
			return MachineNone, fmt.Sprintf("PM1%c control %#x <- %#x: SLP_TYP %d is not S5's %d", ab, port, val, typ, s.s5[i]), true
		}
		what := "S5 per the DSDT's \\_S5"
		if !s.s5Known {
			what = "no \\_S5 found: taken as S5"
		}
		return MachinePowerOff, fmt.Sprintf("ACPI PM1%c control %#x <- %#x, SLP_EN with SLP_TYP %d, %s", ab, port, val, typ, what), false
	}
	if s.reset != 0 {
		if b, ok := byteAt(port, size, val, s.reset); ok && b == s.resetValue {
			return MachineReboot, fmt.Sprintf("ACPI reset register: port %#x <- %#x", s.reset, b), false
		}
	}
	if b, ok := byteAt(port, size, val, 0xCF9); ok && b&4 != 0 && !(port == 0xCF8 && size == 4) {
		// RST_CPU: the reset control register resets now. (A dword at
		// 0xCF8 is PCI's CONFIG_ADDRESS, not this register.)
		return MachineReboot, fmt.Sprintf("reset control: port 0xcf9 <- %#x", b), false
	}
	// Keyboard controller commands 0xF0-0xFF pulse the output port's low
	// lines; bit 0 low pulses the CPU reset line (0xFE is the one
	// everyone uses).
	if b, ok := byteAt(port, size, val, kbcCommand); ok && b&0xF0 == 0xF0 && b&1 == 0 {
		return MachineReboot, fmt.Sprintf("keyboard controller: port 0x64 <- %#x (pulse reset)", b), false
	}
	return MachineNone, "", false
}

// byteAt returns the byte an access of size bytes at port writes to
// target, if its span covers target.
func byteAt(port uint16, size int, val uint64, target uint16) (uint8, bool) {
	if target < port || int(target) >= int(port)+size {
		return 0, false
	}
	return uint8(val >> (8 * (target - port))), true
}

// kbcCommand is the 8042 keyboard controller's command/status port.
const kbcCommand = 0x64
