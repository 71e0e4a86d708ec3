// Command xenstored is GoZen's xenstore daemon for dom0, in the role of
// Xen's tools/xenstored: it serves the store (package xenstore: nodes,
// permissions, watches, transactions, quotas) to
//
//   - dom0's own kernel xenbus (XS_LOCAL: hv leaves dom0's
//     HVM_PARAM_STORE_EVTCHN at 0, so Linux allocates the ring page and a
//     loopback port itself; the daemon maps the page from
//     /proc/xen/xsd_kva, reads the port from /proc/xen/xsd_port and binds
//     it with bind_interdomain(0, port)). /dev/xen/xenbus in dom0 then
//     reaches the daemon through the kernel;
//   - every domain a dom0 client introduces (XS_INTRODUCE domid gfn port):
//     grant 1 of the domain mapped through /dev/xen/gntdev, its store port
//     bound through /dev/xen/evtchn;
//   - local clients on a unix socket (-socket, Xen's
//     /var/run/xenstored/socket), each a privileged dom0 connection.
//
// On VIRQ_DOM_EXC it lists the domains (getdomaininfolist through
// /dev/xen/privcmd) and releases every introduced domain that is gone or
// dying: ring unmapped, port unbound, connection, watches and owned nodes
// removed, @releaseDomain fired, as Xen's xenstored does in
// domain_cleanup; a domain that shut down gets @releaseDomain once.
//
// A guest that breaks its ring (bad indexes, an oversized message) loses
// its connection with a log line; the others carry on. The serving loop
// (daemon.go) works through the Events and Mapper interfaces and is tested
// on the host with in-memory rings.
//
// Usage: xenstored [-socket PATH] [-log FILE] [-no-local]
//
// It writes one line per notable event to the log (stderr by default) and
// creates the socket once dom0's xenbus is attached, so a starter may wait
// for the socket to appear.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"gozen/abi/xen"
	"gozen/dom0/privcmd"
	"gozen/dom0/xc/privxc"
	"gozen/dom0/xendev"
)

// DefaultSocket is where C xenstored listens, and where libxenstore looks.
const DefaultSocket = "/var/run/xenstored/socket"

func main() {
	sock := flag.String("socket", DefaultSocket, "unix socket for local clients (empty: none)")
	logPath := flag.String("log", "", "log file (default stderr)")
	noLocal := flag.Bool("no-local", false, "do not attach dom0's own xenbus (/proc/xen/xsd_kva)")
	flag.Parse()
	lg := log.New(os.Stderr, "xenstored: ", log.Lmsgprefix)
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			lg.Fatal(err)
		}
		lg.SetOutput(f)
	}
	if err := run(*sock, !*noLocal, lg.Printf); err != nil {
		lg.Fatal(err)
	}
}

// gntdevMapper maps grant 1 of a domain, the xenstore page Xen's
// toolstack (and hv) seed for it.
type gntdevMapper struct{ g *xendev.Gntdev }

func (m gntdevMapper) MapRing(domid uint32, gfn uint64) ([]byte, func() error, error) {
	if m.g == nil {
		return nil, nil, fmt.Errorf("no %s", xendev.GntdevPath)
	}
	return m.g.MapGrant(domid, xen.GnttabReservedXenstore)
}

func run(sock string, local bool, logf func(string, ...any)) error {
	ev, err := xendev.OpenEvtchn()
	if err != nil {
		return err
	}
	g, err := xendev.OpenGntdev()
	if err != nil {
		logf("%v: domains cannot be introduced", err)
		g = nil
	}
	d := NewDaemon(ev, gntdevMapper{g}, logf)
	if local {
		page, port, err := xendev.LocalStore()
		if err != nil {
			return fmt.Errorf("dom0's xenbus: %w", err)
		}
		if err := d.AttachLocal(page, port); err != nil {
			return fmt.Errorf("dom0's xenbus: %w", err)
		}
	}
	if sock != "" {
		if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
			return err
		}
		os.Remove(sock)
		l, err := net.Listen("unix", sock)
		if err != nil {
			return err
		}
		go func() {
			if err := d.Serve(l); err != nil {
				logf("socket: %v", err)
			}
		}()
	}
	// VIRQ_DOM_EXC: a domain shut down or died. Its state comes from
	// getdomaininfolist (privcmd); without either, dead domains stay
	// until a toolstack releases them (XS_RELEASE).
	var doms Domains
	excPort, err := ev.BindVIRQ(xen.VIRQDomExc)
	if err != nil {
		logf("VIRQ_DOM_EXC: %v: dead domains are released only by XS_RELEASE", err)
	} else if p, perr := privcmd.Open(); perr != nil {
		logf("%v: dead domains are released only by XS_RELEASE", perr)
		err = perr
	} else {
		doms = privxc.NewControl(privxc.Dom0{P: p})
	}
	logf("serving")
	for {
		ports, werr := ev.Wait()
		if werr != nil {
			return fmt.Errorf("%s: %w", xendev.EvtchnPath, werr)
		}
		for _, p := range ports {
			if err == nil && p == excPort {
				if cerr := d.DomainsChanged(doms); cerr != nil {
					logf("VIRQ_DOM_EXC: %v", cerr)
				}
				continue
			}
			d.Event(p)
		}
		if err := ev.Unmask(ports...); err != nil {
			return fmt.Errorf("%s: unmask: %w", xendev.EvtchnPath, err)
		}
	}
}
