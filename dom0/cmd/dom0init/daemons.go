package main

import (
	"net"
	"os"
	"os/exec"
	"time"

	"gozen/dom0/xs"
)

const (
	xenstored   = "/bin/xenstored"
	xenconsoled = "/bin/xenconsoled"
	xsSocket    = "/var/run/xenstored/socket"
	// daemonWait bounds the wait for xenstored's socket (it appears once
	// dom0's xenbus is attached; well under a second even under TCG).
	daemonWait = 30 * time.Second
)

// startDaemons starts xenstored, writes dom0's own nodes through its
// socket, as Xen's xen-init-dom0 does, then starts xenconsoled. The
// daemons log to the console (their lines start with their names) and
// keep running under the shell dom0init becomes. It reports whether both
// started.
func startDaemons() bool {
	if _, err := os.Stat("/proc/xen/xsd_port"); err != nil {
		say("xenstored not started: %v", err)
		return false
	}
	if !start(xenstored) {
		return false
	}
	var nc net.Conn
	var err error
	for t0 := time.Now(); time.Since(t0) < daemonWait; time.Sleep(20 * time.Millisecond) {
		if nc, err = net.Dial("unix", xsSocket); err == nil {
			break
		}
	}
	if err != nil {
		say("xenstored's socket %s: %v", xsSocket, err)
		return false
	}
	defer nc.Close()
	c := xs.New(nc)
	for _, kv := range [][2]string{{"/local/domain/0/name", "Domain-0"}, {"/local/domain/0/domid", "0"}} {
		if err := c.Write(kv[0], kv[1]); err != nil {
			say("xenstore: %v", err)
			return false
		}
	}
	say("xenstored up; /local/domain/0/name = Domain-0")
	return start(xenconsoled)
}

// initDom0less runs `xl init-dom0less`, which connects the domains hv
// built at boot with xenstore=dom0 (waiting for a late xenstore) to
// xenstored, as Xen's init-dom0less runs after xenstored at boot. Its
// lines go to the console.
func initDom0less() {
	cmd := exec.Command(xl, "init-dom0less")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		say("xl init-dom0less: %v", err)
	}
}

// start runs a daemon in the background with dom0init's console as its
// output.
func start(path string) bool {
	null, err := os.Open(os.DevNull)
	if err != nil {
		say("%s: %v", path, err)
		return false
	}
	defer null.Close()
	p, err := os.StartProcess(path, []string{path}, &os.ProcAttr{Files: []*os.File{null, os.Stdout, os.Stderr}})
	if err != nil {
		say("%s: %v", path, err)
		return false
	}
	say("started %s (pid %d)", path, p.Pid)
	p.Release()
	return true
}
