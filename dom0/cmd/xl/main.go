// Command xl is GoZen's xl for dom0: package dom0/xl's verbs over
// /dev/xen/xenbus (xenstore) and /dev/xen/privcmd (the hypervisor). See
// package xl for the verbs.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gozen/dom0/privcmd"
	"gozen/dom0/xc"
	"gozen/dom0/xc/privxc"
	"gozen/dom0/xl"
	"gozen/dom0/xl/kcache"
	"gozen/dom0/xs"
)

// Where xl keeps its state and the monitors' logs, as Xen's xl does, and
// the kernels it decompressed (GoZen's; package kcache): at most
// kernelCacheMax bytes, one Debian 6.1 kernel (63 MiB) and room to spare.
const (
	stateDir       = "/var/lib/xen"
	logDir         = "/var/log/xen"
	kernelCacheMax = 128 << 20
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	env := &xl.Env{Stdout: os.Stdout, Stderr: os.Stderr, StateDir: stateDir,
		Dom0Uptime: dom0Uptime, Uname: uname, AttachConsole: attachConsole, Spawn: spawn, Net: netOps{}, Block: blockOps{},
		Started: started, KernelCache: &kcache.Cache{Dir: kcache.DefaultDir, Max: kernelCacheMax, Avail: kcache.MemAvailable}}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return xl.Main(env, args)
	}
	bus, err := xs.DialToolstack() // xenstored's socket, else /dev/xen/xenbus
	if err != nil {
		fmt.Fprintf(os.Stderr, "xl: xenstore: %v\n", err)
		return xl.ExitFail
	}
	defer bus.Close()
	env.XS = xs.New(bus)
	if env.XC, err = openHypervisor(); err != nil {
		fmt.Fprintf(os.Stderr, "xl: %v\n", err)
		return xl.ExitFail
	}
	return xl.Main(env, args)
}

// openHypervisor returns the xc.Interface over /dev/xen/privcmd and
// /dev/xen/hypercall (package privxc): domctl and sysctl included.
func openHypervisor() (xc.Interface, error) {
	p, err := privcmd.Open()
	if err != nil {
		return nil, err
	}
	caller := privxc.Dom0{P: p}
	return privxc.New(caller, privxc.NewControl(caller)), nil
}

func dom0Uptime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("/proc/uptime is empty")
	}
	s, err := strconv.ParseFloat(f[0], 64)
	return time.Duration(s * float64(time.Second)), err
}

// started is how long ago this process started: /proc/uptime less the
// start time in /proc/self/stat (field 22, in clock ticks of 1/100 s, as
// Linux reports them on x86), so at 10 ms resolution.
func started() (time.Duration, error) {
	up, err := dom0Uptime()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 20 {
		return 0, errors.New("/proc/self/stat: too few fields")
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, err
	}
	return up - time.Duration(ticks)*10*time.Millisecond, nil
}

func uname() (host, release, version, machine string) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return
	}
	return unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Release[:]),
		unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:])
}

// spawn starts `xl args...` in its own session with its output in
// /var/log/xen/xl-DOMID.log: the lifecycle monitor outlives this xl.
func spawn(args ...string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(logDir, "xl-"+args[len(args)-1]+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	p, err := os.StartProcess(self, append([]string{"xl"}, args...), &os.ProcAttr{
		Files: []*os.File{null, log, log},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return err
	}
	return p.Release()
}
