// Command dom0init is the uinit of dom0's u-root initramfs (tools/mkdom0
// installs it as /bin/uinit). u-root's init has mounted /proc, /sys,
// devtmpfs and devpts and runs it on the console the kernel was given
// (console=hvc0 under Xen), as a session leader with that console as its
// controlling tty. It:
//
//  1. loads the modules listed in /etc/dom0/modules, each after the modules
//     it needs by /lib/modules/$(uname -r)/modules.dep, with finit_module;
//     a module that fails is reported with the kernel's reason, and the
//     modules needing it are skipped (outside Xen the Xen modules refuse to
//     load with ENODEV: their init checks xen_domain());
//  2. mounts xenfs on /proc/xen if xenfs loaded;
//  3. starts xenstored (dom0's own xenbus, XS_LOCAL: before anything uses
//     xenbus), waits for its socket, writes dom0's nodes as Xen's
//     xen-init-dom0 does (/local/domain/0/name = "Domain-0", domid = 0),
//     then starts xenconsoled, then runs `xl init-dom0less`, which
//     connects the domains hv built at boot with xenstore=dom0 to xenstored
//     (Linux's late xenstore init), as Xen's init-dom0less does;
//  4. prints GOZEN-DOM0: lines saying what loaded, what did not and why,
//     the console, and the PCI devices with the drivers bound to them;
//  5. builds the bridge xenbr0 with the first physical NIC and gives dom0
//     10.0.2.15/24 on it (net.go);
//  6. when the kernel command line has gozen.create=CFG[,CFG...] (run.sh
//     passes /etc/xen/debian.cfg), runs `xl create CFG` for each and prints
//     how to reach the domain (`xl console NAME`);
//  7. becomes (exec) the u-root shell loop that prints GOZEN-USERSPACE-UP.
//
// It never exits: init's session leader exiting would hang up the console.
// Modules live under /lib/modules/RELEASE/kernel/..., where u-root's init,
// which loads /lib/modules/*.ko in glob order without dependencies, does
// not look.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gozen/dom0/kmod"
	"gozen/dom0/xl/kcache"
)

const (
	prefix    = "GOZEN-DOM0: "
	listFile  = "/etc/dom0/modules"
	modRoot   = "/lib/modules"
	xenfsDir  = "/proc/xen"
	shell     = "/bbin/gosh"
	userspace = "GOZEN-USERSPACE-UP"
)

func say(format string, args ...any) {
	fmt.Printf(prefix+format+"\n", args...)
}

func main() {
	start := time.Now()
	say("console %s", console())
	loaded := loadModules()
	mountKernelCache()
	daemons := mountXenfs(loaded) && startDaemons()
	if daemons {
		initDom0less()
	}
	listPCI()
	setupNetwork()
	say("init done in %d ms", time.Since(start).Milliseconds())
	if daemons {
		autostart()
	}
	// The shell loop domU images run: the marker, then shells one after
	// another (an exit from one starts the next).
	args := []string{"gosh", "-c", "echo " + userspace + "; while true; do gosh; done"}
	err := syscall.Exec(shell, args, os.Environ())
	say("exec %s: %v; dropping to a bare loop", shell, err)
	for {
		time.Sleep(time.Hour)
	}
}

// console names the terminal on standard input (u-root's init hands its
// commands /dev/console, or each console= of the command line) and the
// kernel's active consoles (hvc0 under Xen with console=hvc0).
func console() string {
	p, err := os.Readlink("/proc/self/fd/0")
	if err != nil {
		p = "unknown (" + err.Error() + ")"
	}
	if b, err := os.ReadFile("/sys/class/tty/console/active"); err == nil {
		p += " (kernel console " + strings.TrimSpace(string(b)) + ")"
	}
	return p
}

func release() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// readList reads the module names of listFile: one a line, # comments.
func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	return names, sc.Err()
}

// loadModules loads the listed modules and returns the names of those now
// in the kernel (loaded here or already there).
func loadModules() map[string]bool {
	loaded := map[string]bool{}
	rel, err := release()
	if err != nil {
		say("modules: uname: %v", err)
		return loaded
	}
	dir := filepath.Join(modRoot, rel)
	names, err := readList(listFile)
	if err != nil {
		say("modules: %v", err)
		return loaded
	}
	depf, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		say("modules: %v (built for another kernel than %s?)", err, rel)
		return loaded
	}
	dep, err := kmod.ParseDep(depf)
	depf.Close()
	if err != nil {
		say("modules: %v", err)
		return loaded
	}
	order, err := dep.Order(names)
	if err != nil {
		// Still load what could be ordered.
		for _, line := range strings.Split(err.Error(), "\n") {
			say("modules: not loaded: %s", line)
		}
	}
	failed := map[string]string{} // path -> why
	var ok, bad []string
	for i, p := range order {
		name := kmod.NameFromPath(p)
		if why := blocked(dep.Deps[p], failed); why != "" {
			failed[p] = why
			say("insmod %d/%d %s: skipped: needs %s", i+1, len(order), name, why)
			bad = append(bad, name+" (needs "+why+")")
			continue
		}
		t := time.Now()
		err := insmod(filepath.Join(dir, p))
		switch {
		case err == nil:
			say("insmod %d/%d %s: ok (%d ms)", i+1, len(order), name, time.Since(t).Milliseconds())
		case errors.Is(err, unix.EEXIST):
			say("insmod %d/%d %s: already loaded", i+1, len(order), name)
		default:
			failed[p] = name
			say("insmod %d/%d %s: FAILED: %s", i+1, len(order), name, describe(err))
			bad = append(bad, name+" ("+errnoName(err)+")")
			continue
		}
		loaded[name] = true
		ok = append(ok, name)
	}
	say("modules loaded: %s", strings.Join(ok, " "))
	if len(bad) > 0 {
		say("modules failed: %s", strings.Join(bad, ", "))
	}
	return loaded
}

// blocked returns the first of deps that failed, or "".
func blocked(deps []string, failed map[string]string) string {
	for _, d := range deps {
		if _, f := failed[d]; f {
			return kmod.NameFromPath(d)
		}
	}
	return ""
}

func insmod(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), "", 0)
}

// errnoName returns the errno's name ("ENODEV"), or the error.
func errnoName(err error) string {
	var no syscall.Errno
	if errors.As(err, &no) {
		return unix.ErrnoName(no)
	}
	return err.Error()
}

// describe explains a finit_module error; ENODEV is what the Xen drivers
// return outside Xen (xen_domain() false in their init functions).
func describe(err error) string {
	var no syscall.Errno
	if errors.As(err, &no) {
		s := unix.ErrnoName(no) + ": " + no.Error()
		if no == unix.ENODEV {
			s += " (no device for it; Xen drivers say this when not running under Xen: their init checks xen_domain())"
		}
		return s
	}
	return err.Error()
}

// kernelCacheDir holds xl's kernel cache (kcache.DefaultDir).
var kernelCacheDir = filepath.Dir(kcache.DefaultDir)

// mountKernelCache gives xl's kernel cache a tmpfs of its own whose files
// are backed by 2 MiB pages where dom0 has them (huge=always): an entry
// (Debian's vmlinux, 63 MiB) is then mapped by each xl create in a few
// dozen page faults rather than 16,000, and hv copies it into the new
// domain walking dom0's tables once per 2 MiB. Without it (a kernel
// without transparent huge pages) the cache stays on the root file
// system, which works the same, with small pages.
func mountKernelCache() {
	if err := os.MkdirAll(kernelCacheDir, 0o755); err != nil {
		say("%s: %v", kernelCacheDir, err)
		return
	}
	if err := unix.Mount("tmpfs", kernelCacheDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,huge=always"); err != nil {
		say("%s: no tmpfs with huge pages (%s): the kernel cache uses small pages", kernelCacheDir, describe(err))
	}
}

// mountXenfs mounts xenfs and reports whether it did.
func mountXenfs(loaded map[string]bool) bool {
	if !loaded["xenfs"] {
		say("%s not mounted: xenfs is not loaded", xenfsDir)
		return false
	}
	if err := os.MkdirAll(xenfsDir, 0o755); err != nil {
		say("%s: %v", xenfsDir, err)
		return false
	}
	if err := unix.Mount("xenfs", xenfsDir, "xenfs", 0, ""); err != nil {
		say("mount xenfs on %s: %s", xenfsDir, describe(err))
		return false
	}
	caps, err := os.ReadFile(filepath.Join(xenfsDir, "capabilities"))
	if err != nil {
		say("xenfs mounted on %s; capabilities: %v", xenfsDir, err)
		return true
	}
	say("xenfs mounted on %s; capabilities: %q", xenfsDir, strings.TrimSpace(string(caps)))
	return true
}

// listPCI prints each PCI device's address, IDs and bound driver, from
// /sys/bus/pci/devices (what lspci -k shows).
func listPCI() {
	devs, err := filepath.Glob("/sys/bus/pci/devices/*")
	if err != nil || len(devs) == 0 {
		say("pci: no devices in /sys/bus/pci/devices")
		return
	}
	for _, d := range devs {
		id := func(f string) string {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				return "?"
			}
			return strings.TrimPrefix(strings.TrimSpace(string(b)), "0x")
		}
		drv := "none"
		if l, err := os.Readlink(filepath.Join(d, "driver")); err == nil {
			drv = filepath.Base(l)
		}
		say("pci %s %s:%s class %s driver %s", filepath.Base(d), id("vendor"), id("device"), id("class"), drv)
	}
}
