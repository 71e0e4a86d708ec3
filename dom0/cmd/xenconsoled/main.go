// Command xenconsoled is GoZen's console daemon for dom0, in the role of
// Xen's tools/console/daemon: for every domain in xenstore with a console
// ring (console/ring-ref, console/port), it maps the ring (grant 0 through
// /dev/xen/gntdev), binds the port (/dev/xen/evtchn), opens a pty, writes
// the pty's path to /local/domain/N/console/tty (what `xl console`
// opens) and copies the guest's output to the pty and to
// /var/log/xen/console/guest-NAME.log. The core (daemon.go) is tested on
// the host with in-memory rings.
//
// It rescans /local/domain whenever @introduceDomain or @releaseDomain
// fires (watches on a second connection, as Xen's daemon watches them),
// and every -scan interval besides.
//
// Usage: xenconsoled [-scan 1s] [-logdir /var/log/xen/console]
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"gozen/abi/xen"
	"gozen/dom0/xendev"
	"gozen/dom0/xs"
)

func main() {
	scan := flag.Duration("scan", time.Second, "how often to rescan /local/domain")
	logDir := flag.String("logdir", "/var/log/xen/console", "directory of the guests' console logs (empty: none)")
	sock := flag.String("socket", "/var/run/xenstored/socket", "xenstored's socket")
	flag.Parse()
	lg := log.New(os.Stderr, "xenconsoled: ", log.Lmsgprefix)
	if err := run(*sock, *logDir, *scan, lg.Printf); err != nil {
		lg.Fatal(err)
	}
}

func run(sock, logDir string, every time.Duration, logf func(string, ...any)) error {
	nc, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	ev, err := xendev.OpenEvtchn()
	if err != nil {
		return err
	}
	g, err := xendev.OpenGntdev()
	if err != nil {
		return err
	}
	d := NewDaemon(xs.New(nc), ev, gntdevMapper{g}, host{logDir}, logf)
	var scanMu sync.Mutex // one Scan at a time
	scan := func() {
		scanMu.Lock()
		defer scanMu.Unlock()
		if err := d.Scan(); err != nil {
			logf("scan: %v", err)
		}
	}
	go func() {
		for {
			scan()
			time.Sleep(every)
		}
	}()
	if wc, err := net.Dial("unix", sock); err != nil {
		logf("no watches (rescanning every %v only): %v", every, err)
	} else {
		go watchDomains(xs.NewWatcher(wc), scan, logf)
	}
	logf("serving")
	for {
		ports, err := ev.Wait()
		if err != nil {
			return err
		}
		for _, p := range ports {
			d.Event(p)
		}
		if err := ev.Unmask(ports...); err != nil {
			return err
		}
	}
}

// watchDomains calls scan whenever a domain is introduced or released. A
// domain xl creates has its console nodes before XS_INTRODUCE, so its
// console is served from its first line on.
func watchDomains(w *xs.Watcher, scan func(), logf func(string, ...any)) {
	for _, p := range []string{"@introduceDomain", "@releaseDomain"} {
		if err := w.Watch(p, "domains"); err != nil {
			logf("watch %s: %v (rescanning periodically only)", p, err)
			return
		}
	}
	for {
		if _, err := w.Next(); err != nil {
			logf("watches: %v (rescanning periodically only)", err)
			return
		}
		scan()
	}
}

// gntdevMapper maps grant 0, the console page the toolstack seeds.
type gntdevMapper struct{ g *xendev.Gntdev }

func (m gntdevMapper) MapConsole(domid uint32, ref uint64) ([]byte, func() error, error) {
	return m.g.MapGrant(domid, xen.GnttabReservedConsole)
}

type host struct{ logDir string }

func (h host) OpenLog(domid uint32, name string) (io.WriteCloser, error) {
	if h.logDir == "" {
		return nopCloser{io.Discard}, nil
	}
	if name == "" {
		name = strconv.Itoa(int(domid))
	}
	if err := os.MkdirAll(h.logDir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(h.logDir, "guest-"+filepath.Base(name)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// pty is a pseudo-terminal pair: the daemon reads and writes the master;
// it also keeps the slave open, so the master neither reports a hangup
// nor loses output while no `xl console` is attached.
type pty struct {
	master *os.File
	slave  *os.File
	name   string
}

func (h host) OpenPTY() (PTY, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (PTY, error) { m.Close(); return nil, err }
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("unlockpt: %w", err))
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("ptsname: %w", err))
	}
	name := "/dev/pts/" + strconv.Itoa(n)
	s, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fail(err)
	}
	// Raw, as xenconsoled's cfmakeraw: the guest's own tty does the line
	// discipline.
	if t, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS); err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, t)
	}
	return &pty{master: m, slave: s, name: name}, nil
}

func (p *pty) Name() string { return p.name }

func (p *pty) Read(b []byte) (int, error) { return p.master.Read(b) }

// Write never blocks: output nobody reads is dropped once the pty's
// buffer is full, so one idle console cannot stall the others.
func (p *pty) Write(b []byte) (int, error) {
	sc, err := p.master.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var werr error
	sc.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), b)
		return true
	})
	return n, werr
}

func (p *pty) Close() error {
	p.slave.Close()
	return p.master.Close()
}
