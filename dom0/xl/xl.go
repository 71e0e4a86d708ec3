// Package xl is GoZen's `xl`: Xen's domain management verbs with xl's
// arguments, output formats and exit codes (Xen 4.17 tools/xl), over the
// xc.Interface and a xenstore client, so that all of it runs on the host
// against fakes. dom0/cmd/xl is its thin main.
//
//	xl create [-c] [-p] FILE [KEY=VALUE...]
//	xl list [-l|-v] [DOMAIN]       xl vcpu-list [DOMAIN...]
//	xl destroy DOMAIN              xl shutdown [-w] DOMAIN     xl reboot [-w] DOMAIN
//	xl pause DOMAIN                xl unpause DOMAIN           xl console DOMAIN
//	xl mem-set DOMAIN SIZE         xl sched-credit [-d DOMAIN [-w WEIGHT] [-c CAP]]
//	xl info                        xl dmesg [-c]               xl uptime [-s] [DOMAIN...]
//	xl network-attach DOMAIN [KEY=VALUE...]   xl network-detach DOMAIN DEVID|MAC
//	xl network-list DOMAIN...
//	xl block-attach DOMAIN DISKSPEC...        xl block-detach DOMAIN VDEV|DEVID
//	xl block-list DOMAIN...
//	xl init-dom0less               (connects boot-built domains, as Xen's init-dom0less)
//
// A DOMAIN is a domain ID or a name. Exit codes are xl's: 0 on success, 1
// on failure (the message names the domain and the cause), 2 for a usage
// error.
package xl

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gozen/dom0/xc"
	"gozen/dom0/xl/build"
	"gozen/dom0/xl/kcache"
)

// Store is the xenstore client xl needs (*xs.Client implements it).
type Store interface {
	build.Store
	Directory(path string) ([]string, error)
}

// Env is what xl runs against: the hypervisor, xenstore, and the bits of
// dom0 it touches. Nil function fields get the defaults named.
type Env struct {
	XC     xc.Interface
	XS     Store
	Stdout io.Writer
	Stderr io.Writer
	// StateDir holds each domain's configuration record, as libxl keeps
	// /var/lib/xen/userdata-d.DOMID.UUID.libxl-json.
	StateDir string
	Now      func() time.Time    // time.Now
	Sleep    func(time.Duration) // time.Sleep
	// Verbose counts xl's global -v options.
	Verbose int
	// Started, if set, says how long ago the process started (xl -v
	// create reports its start-up).
	Started func() (time.Duration, error)
	// PollInterval is how often waits poll the domain (shutdown -w, the
	// lifecycle monitor); 200 ms by default.
	PollInterval time.Duration
	// Dom0Uptime is dom0's uptime (/proc/uptime).
	Dom0Uptime func() (time.Duration, error)
	// Uname is the host's (dom0's) node name, kernel release, version and
	// machine, for xl info.
	Uname func() (host, release, version, machine string)
	// AttachConsole connects the terminal to a domain's console pty until
	// the user detaches (Ctrl-]); nil means no terminal.
	AttachConsole func(tty string) error
	// Spawn starts a detached copy of xl with args (the lifecycle
	// monitor xl create leaves behind); nil: none is started.
	Spawn func(args ...string) error
	// Net is dom0's network interfaces, for vif hotplug (vif.go); nil:
	// domains with vifs cannot be created.
	Net Netdev
	// Block is dom0's block devices, for disk hotplug (disk.go); nil:
	// domains with disks cannot be created.
	Block Blockdev
	// KernelCache keeps the kernels create decompressed from bzImages
	// (package kcache); nil: every create decompresses.
	KernelCache *kcache.Cache
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) sleep() {
	d := e.PollInterval
	if d == 0 {
		d = 200 * time.Millisecond
	}
	if e.Sleep != nil {
		e.Sleep(d)
	} else {
		time.Sleep(d)
	}
}

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// usageError makes Main print the verb's usage and exit 2.
type usageError struct{ verb, msg string }

func (u *usageError) Error() string { return u.msg }

func usage(verb, format string, args ...any) error {
	return &usageError{verb, fmt.Sprintf(format, args...)}
}

type verb struct {
	name, args, help string
	run              func(e *Env, args []string) error
}

var verbs []verb

func init() {
	verbs = []verb{
		{"create", "[-c] [-p] FILE [KEY=VALUE...]", "Create a domain from a config file", (*Env).create},
		{"list", "[-l|-v] [DOMAIN]", "List information about all/some domains", (*Env).list},
		{"destroy", "DOMAIN", "Terminate a domain immediately", (*Env).destroy},
		{"shutdown", "[-w] DOMAIN", "Issue a shutdown signal to a domain", (*Env).shutdownVerb},
		{"reboot", "[-w] DOMAIN", "Issue a reboot signal to a domain", (*Env).rebootVerb},
		{"pause", "DOMAIN", "Pause execution of a domain", (*Env).pause},
		{"unpause", "DOMAIN", "Unpause a paused domain", (*Env).unpause},
		{"console", "DOMAIN", "Attach to domain's console", (*Env).console},
		{"info", "", "Get information about Xen host", (*Env).info},
		{"vcpu-list", "[DOMAIN...]", "List the VCPUs for all/some domains", (*Env).vcpuList},
		{"mem-set", "DOMAIN SIZE", "Set the current memory usage for a domain (SIZE in KiB, or with a b/k/m/g/t suffix)", (*Env).memSet},
		{"sched-credit", "[-d DOMAIN [-w WEIGHT] [-c CAP]]", "Get/set credit scheduler parameters", (*Env).schedCredit},
		{"dmesg", "[-c]", "Read and/or clear dmesg buffer", (*Env).dmesg},
		{"uptime", "[-s] [DOMAIN...]", "Print uptime for all/some domains", (*Env).uptime},
		{"network-attach", "DOMAIN [KEY=VALUE...]", "Create a new virtual network device", (*Env).networkAttach},
		{"network-detach", "DOMAIN DEVID|MAC", "Destroy a domain's virtual network device", (*Env).networkDetach},
		{"network-list", "DOMAIN...", "List virtual network interfaces for a domain", (*Env).networkList},
		{"block-attach", "DOMAIN DISKSPEC...", "Create a new virtual block device", (*Env).blockAttach},
		{"block-detach", "DOMAIN VDEV|DEVID", "Destroy a domain's virtual block device", (*Env).blockDetach},
		{"block-list", "DOMAIN...", "List virtual block devices for a domain", (*Env).blockList},
		{InitDom0lessVerb, "", "Connect the domains the hypervisor built at boot to xenstore", (*Env).initDom0less},
		{MonitorVerb, "DOMID", "(internal) apply on_poweroff/on_reboot/on_crash to a domain", (*Env).monitorVerb},
	}
}

// MonitorVerb is the hidden verb of the lifecycle monitor xl create
// spawns (xl's forked "xl-NAME" daemon).
const MonitorVerb = "__monitor"

// Main runs `xl ARGS...` and returns the exit code.
func Main(e *Env, args []string) int {
	// xl's global -v: more output (here, xl create's step timings).
	for len(args) > 0 && args[0] == "-v" {
		e.Verbose++
		args = args[1:]
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		e.help()
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, v := range verbs {
		if v.name != args[0] {
			continue
		}
		err := v.run(e, args[1:])
		var u *usageError
		switch {
		case err == nil:
			return ExitOK
		case errors.As(err, &u):
			fmt.Fprintf(e.Stderr, "%s\nUsage: xl %s %s\n\n%s.\n", u.msg, v.name, v.args, v.help)
			return ExitUsage
		default:
			fmt.Fprintf(e.Stderr, "%v\n", err)
			return ExitFail
		}
	}
	fmt.Fprintf(e.Stderr, "xl: command %q not implemented\n", args[0])
	e.help()
	return ExitUsage
}

func (e *Env) help() {
	fmt.Fprintf(e.Stderr, "Usage: xl <subcommand> [args]\n\nxl full list of subcommands:\n\n")
	for _, v := range verbs {
		if v.name != MonitorVerb {
			fmt.Fprintf(e.Stderr, " %-20s%s\n", v.name, v.help)
		}
	}
}

// flags splits args into the single-letter options in opts (a letter
// followed by ':' takes a value, as getopt) and the operands.
func flags(verb string, args []string, opts string) (map[byte]string, []string, error) {
	set := map[byte]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			k := strings.IndexByte(opts, a[j])
			if k < 0 || a[j] == ':' {
				return nil, nil, usage(verb, "xl %s: unknown option -%c", verb, a[j])
			}
			if k+1 < len(opts) && opts[k+1] == ':' {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, nil, usage(verb, "xl %s: option -%c needs a value", verb, a[j])
					}
					i++
					v = args[i]
				}
				set[a[j]] = v
				break
			}
			set[a[j]] = ""
		}
	}
	return set, rest, nil
}

// name is domain id's name from xenstore, "(null)" if it has none (what
// xl prints for libxl_domid_to_name's NULL).
func (e *Env) name(id uint32) string {
	n, err := e.XS.Read(fmt.Sprintf("/local/domain/%d/name", id))
	if err != nil {
		return "(null)"
	}
	return n
}

// find resolves a DOMAIN argument as xl's find_domain: digits are a
// domain ID (which must exist), anything else a name.
func (e *Env) find(q string) (uint32, error) {
	if n, err := strconv.ParseUint(q, 10, 32); err == nil {
		if _, err := e.XC.DomainInfo(uint32(n)); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return 0, fmt.Errorf("Error: Domain '%s' does not exist.", q)
			}
			return 0, fmt.Errorf("Error: domain %s: %v", q, err)
		}
		return uint32(n), nil
	}
	list, err := e.XC.ListDomains()
	if err != nil {
		return 0, fmt.Errorf("Error: listing domains: %v", err)
	}
	for _, d := range list {
		if e.name(d.ID) == q {
			return d.ID, nil
		}
	}
	return 0, fmt.Errorf("Error: Domain '%s' does not exist.", q)
}

// one checks a verb got exactly one DOMAIN and resolves it.
func (e *Env) one(verb string, rest []string) (uint32, error) {
	if len(rest) != 1 {
		return 0, usage(verb, "xl %s: want one DOMAIN", verb)
	}
	return e.find(rest[0])
}

// domainErr wraps a failed operation on a domain with its name and ID.
func (e *Env) domainErr(id uint32, what string, err error) error {
	return fmt.Errorf("%s of domain %d (%s) failed: %v", what, id, e.name(id), cause(err))
}

// cause is an error's innermost errno, named, when it has one.
func cause(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en.Error()
	}
	return err.Error()
}

func (e *Env) pause(args []string) error {
	id, err := e.one("pause", args)
	if err != nil {
		return err
	}
	if err := e.XC.Pause(id); err != nil {
		return e.domainErr(id, "pause", err)
	}
	return nil
}

func (e *Env) unpause(args []string) error {
	id, err := e.one("unpause", args)
	if err != nil {
		return err
	}
	if err := e.XC.Unpause(id); err != nil {
		return e.domainErr(id, "unpause", err)
	}
	return nil
}

// destroy is libxl_domain_destroy: the domain goes at once, then its
// xenstore nodes and its record.
func (e *Env) destroy(args []string) error {
	id, err := e.one("destroy", args)
	if err != nil {
		return err
	}
	if id == 0 {
		return errors.New("Error: cannot destroy privileged domain 0 (dom0).")
	}
	return e.destroyDomain(id)
}

func (e *Env) destroyDomain(id uint32) error {
	name := e.name(id)
	vm, vmErr := e.XS.Read(fmt.Sprintf("/local/domain/%d/vm", id))
	if err := e.closeBackends(id, vifClass, vbdClass); err != nil {
		fmt.Fprintf(e.Stderr, "warning: domain %d (%s): %v\n", id, name, err)
	}
	if err := e.removeVifs(id); err != nil {
		fmt.Fprintf(e.Stderr, "warning: domain %d (%s): %v\n", id, name, err)
	}
	if err := e.removeDisks(id); err != nil {
		fmt.Fprintf(e.Stderr, "warning: domain %d (%s): %v\n", id, name, err)
	}
	if err := e.XC.DestroyDomain(id); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("destroy of domain %d (%s) failed: %v", id, name, cause(err))
	}
	e.XS.Rm(fmt.Sprintf("/local/domain/%d", id))
	if vmErr == nil && strings.HasPrefix(vm, "/vm/") {
		e.XS.Rm(vm)
	}
	e.XS.Rm(fmt.Sprintf("/libxl/%d", id))
	e.removeRecord(id)
	return nil
}

// console attaches to the pty the console daemon recorded in
// console/tty (libxl_console_get_tty), as xl console runs xenconsole.
func (e *Env) console(args []string) error {
	id, err := e.one("console", args)
	if err != nil {
		return err
	}
	return e.attach(id)
}

// ConsoleWaitPolls is how many polls attach waits for the console daemon
// to record the pty (10 s at the default interval), as xenconsole waits
// for console/tty of a domain just created.
const ConsoleWaitPolls = 50

func (e *Env) attach(id uint32) error {
	var tty string
	for i := 0; ; i++ {
		var err error
		tty, err = e.XS.Read(fmt.Sprintf("/local/domain/%d/console/tty", id))
		if err == nil && tty != "" {
			break
		}
		if _, ierr := e.XC.DomainInfo(id); ierr != nil || i == ConsoleWaitPolls {
			return fmt.Errorf("console of domain %d (%s): no console pty recorded in xenstore (is the console daemon running?)", id, e.name(id))
		}
		e.sleep()
	}
	if e.AttachConsole == nil {
		return fmt.Errorf("console of domain %d (%s): no terminal to attach", id, e.name(id))
	}
	if err := e.AttachConsole(tty); err != nil {
		return fmt.Errorf("console of domain %d (%s) on %s: %v", id, e.name(id), tty, err)
	}
	return nil
}

// sortedIDs lists the domains by ID.
func sortedIDs(list []xc.DomainInfo) []xc.DomainInfo {
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list
}
