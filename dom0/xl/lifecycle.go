package xl

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"gozen/dom0/xc"
	"gozen/dom0/xl/cfg"
)

// Decide is the lifecycle policy (xl_vmcontrol.c handle_domain_death):
// what to do with a domain that shut down with SHUTDOWN_* reason, under
// its configuration. A suspended domain is left alone (""). xl's
// on_watchdog and on_soft_reset are not in GoZen's config subset: a
// watchdog reset is destroyed (xl's default), and so is a soft reset,
// which GoZen does not support.
func Decide(reason uint32, c *cfg.Config) cfg.Action {
	switch reason {
	case xc.ShutdownPoweroff:
		return c.OnPoweroff
	case xc.ShutdownReboot:
		return c.OnReboot
	case xc.ShutdownCrash:
		return c.OnCrash
	case xc.ShutdownSuspend:
		return ""
	}
	return cfg.Destroy
}

// ReasonName names a SHUTDOWN_* reason as xl's messages do.
func ReasonName(r uint32) string {
	names := []string{"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"}
	if int(r) < len(names) {
		return names[r]
	}
	return "reason " + strconv.Itoa(int(r))
}

// Outcome is what Step did.
type Outcome struct {
	Action cfg.Action // what was done ("" nothing)
	Next   uint32     // the domain to watch from now on (a restart's new ID)
	Done   bool       // nothing left to watch
}

// Step applies the lifecycle policy once to domain id, created from rec:
// a running domain is left alone; one that shut down is destroyed,
// restarted (destroyed and built again from its configuration, with the
// same UUID, under a new ID), preserved (renamed with a -YYYYMMDDTHHMMZ
// suffix, as xl's preserve_domain does, and left for `xl destroy`), or
// renamed that way and restarted. A domain that is gone ends the watch.
func (e *Env) Step(id uint32, rec *Record) (Outcome, error) {
	info, err := e.XC.DomainInfo(id)
	if err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return Outcome{Next: id, Done: true}, nil
		}
		return Outcome{Next: id}, err
	}
	if !info.IsShutdown() || info.Dying() {
		return Outcome{Next: id}, nil
	}
	reason := info.ShutdownReason()
	act := Decide(reason, &rec.Config)
	name := e.name(id)
	fmt.Fprintf(e.Stderr, "Domain %d (%s) has shut down, reason code %d (%s): action %q\n", id, name, reason, ReasonName(reason), act)
	out := Outcome{Action: act, Next: id}
	switch act {
	case "":
		return out, nil
	case cfg.Destroy:
		out.Done = true
		return out, e.destroyDomain(id)
	case cfg.Preserve:
		out.Done = true
		return out, e.preserve(id, name)
	case cfg.Restart, cfg.RenameRestart:
		uuid, _ := parseUUID(rec.UUID)
		if act == cfg.RenameRestart {
			if err := e.preserve(id, name); err != nil {
				return out, err
			}
			uuid = [16]byte{} // the new domain gets its own
		} else if err := e.destroyDomain(id); err != nil {
			return out, err
		}
		c := rec.Config
		newID, err := e.createFrom(&c, uuid, false)
		if err != nil {
			out.Done = true
			return out, fmt.Errorf("restarting domain %q: %v", c.Name, err)
		}
		out.Next = newID
		if r := e.loadRecord(newID); r != nil {
			*rec = *r
		}
		return out, nil
	}
	return out, fmt.Errorf("domain %d (%s): unknown action %q", id, name, act)
}

// preserve renames a shut-down domain out of the way (libxl_domain_preserve
// with xl's time suffix) and forgets its record, so the name is free.
func (e *Env) preserve(id uint32, name string) error {
	suffix := e.now().UTC().Format("-20060102T1504Z")
	home := fmt.Sprintf("/local/domain/%d", id)
	if err := e.XS.Write(home+"/name", name+suffix); err != nil {
		return e.domainErr(id, "preserve", err)
	}
	if vm, err := e.XS.Read(home + "/vm"); err == nil {
		e.XS.Write(vm+"/name", name+suffix)
	}
	fmt.Fprintf(e.Stderr, "Preserving domain %d %s with suffix%s\n", id, name, suffix)
	if r := e.loadRecord(id); r != nil {
		e.removeRecord(id)
		r.Config.Name = name + suffix
		e.saveRecord(r)
	}
	return nil
}

func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	h := make([]byte, 0, 32)
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			h = append(h, s[i])
		}
	}
	if len(h) != 32 {
		return u, false
	}
	for i := range u {
		v, err := strconv.ParseUint(string(h[2*i:2*i+2]), 16, 8)
		if err != nil {
			return [16]byte{}, false
		}
		u[i] = byte(v)
	}
	return u, true
}

// Monitor watches domain id until it is gone or preserved, applying the
// lifecycle policy whenever it shuts down (the daemon xl create leaves).
func (e *Env) Monitor(id uint32) error {
	rec := e.loadRecord(id)
	if rec == nil {
		return fmt.Errorf("domain %d (%s): no configuration record, so no lifecycle actions", id, e.name(id))
	}
	for {
		out, err := e.Step(id, rec)
		if err != nil {
			fmt.Fprintf(e.Stderr, "%v\n", err)
		}
		if out.Done {
			return err
		}
		if out.Next == id {
			e.sleep()
		}
		id = out.Next
	}
}

func (e *Env) monitorVerb(args []string) error {
	if len(args) != 1 {
		return usage(MonitorVerb, "want DOMID")
	}
	id, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return usage(MonitorVerb, "bad DOMID %q", args[0])
	}
	return e.Monitor(uint32(id))
}
