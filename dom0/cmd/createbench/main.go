// Command createbench times `xl create` to the new domU's first console
// line, in dom0 (BENCHMARKS.md, issue 10; bench/xl-create.sh boots hv and
// dom0 and types it).
//
//	createbench [-n 3] [-v] [-timeout 300s] CFG...
//
// For each config it runs `xl create CFG` n times and for each run reports
// how long xl took (its process, from exec to exit) and how long until the
// domain's first complete console line appeared, whichever way it came:
// on hv's console (`(dN) ...`, what a guest writes with console_io or to
// port 0xE9, read like `xl dmesg` with XEN_SYSCTL_readconsole, following
// the ring), or in xenconsoled's log of its console ring
// (/var/log/xen/console/guest-NAME.log, what `xl console` shows). It
// waits for either to grow without taking the CPU the new domain needs:
// hv raises VIRQ_CON_RING when its console takes bytes, and inotify
// reports writes to the log directory. If either cannot be set up, or
// fails later, it looks at both every -poll instead, and says so. Then
// the domain is destroyed (if it has not ended itself) and gone before
// the next run. Last, the medians. With -v it runs `xl -v create` and
// prints how long xl's steps took.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"gozen/abi/xen"
	"gozen/dom0/privcmd"
	"gozen/dom0/xc"
	"gozen/dom0/xc/privxc"
	"gozen/dom0/xendev"
	"gozen/dom0/xl"
)

func main() {
	n := flag.Int("n", 3, "runs per config")
	timeout := flag.Duration("timeout", 300*time.Second, "how long to wait for a run's first console line")
	poll := flag.Duration("poll", 5*time.Millisecond, "how often to look for the first line without events")
	xlPath := flag.String("xl", "/bin/xl", "the xl program")
	logDir := flag.String("logdir", "/var/log/xen/console", "xenconsoled's log directory")
	verbose := flag.Bool("v", false, "run xl -v create and print its step timings")
	procs := flag.Bool("procs", false, "print which dom0 processes ran between xl's exit and the first line "+
		"(reading /proc takes dom0 ~0.2 s under TCG: the figures then include it)")
	flag.Parse()
	if flag.NArg() == 0 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: createbench [-n RUNS] [-timeout D] CFG...")
		os.Exit(2)
	}
	p, err := privcmd.Open()
	if err != nil {
		fail(err)
	}
	b := &bench{hv: privxc.NewControl(privxc.Dom0{P: p}), xl: *xlPath, logDir: *logDir, poll: *poll, timeout: *timeout,
		verbose: *verbose, procs: *procs, w: watch(*logDir)}
	if b.w == nil {
		fmt.Fprintf(os.Stderr, "createbench: polling every %v\n", *poll)
	}
	for _, file := range flag.Args() {
		c, err := xl.LoadConfig(file, nil)
		if err != nil {
			fail(err)
		}
		var creates, firsts []time.Duration
		for i := 1; i <= *n; i++ {
			// Markers for a clock outside dom0 (bench/xl-create.sh stamps
			// the serial lines as they come): dom0's own clock is only as
			// good as hv's TSC calibration, which QEMU's TCG makes noisy.
			fmt.Printf("createbench: %s run %d: start\n", c.Name, i)
			r, err := b.once(file, c.Name, func() { fmt.Printf("createbench: %s run %d: first line\n", c.Name, i) })
			if err != nil {
				fail(fmt.Errorf("%s run %d: %v", c.Name, i, err))
			}
			fmt.Printf("createbench: %s run %d: xl create %d ms, first console line %d ms: %q\n",
				c.Name, i, r.create.Milliseconds(), r.first.Milliseconds(), r.line)
			fmt.Printf("createbench: %s run %d: xl exit -> first line %d ms: CPU dom0 %s ms, %s %s ms\n",
				c.Name, i, r.after.Milliseconds(), ms(r.dom0CPU), c.Name, ms(r.domUCPU))
			if r.procs != "" {
				fmt.Printf("createbench: %s run %d: CPU ticks (1/100 s) since xl's exit: %s\n", c.Name, i, r.procs)
			}
			for _, l := range r.steps {
				fmt.Printf("createbench: %s run %d:   %s\n", c.Name, i, l)
			}
			creates = append(creates, r.create)
			firsts = append(firsts, r.first)
		}
		fmt.Printf("createbench: %s: median of %d: xl create %d ms, first console line %d ms\n",
			c.Name, *n, median(creates).Milliseconds(), median(firsts).Milliseconds())
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "createbench: FAILED: %v\n", err)
	os.Exit(1)
}

type bench struct {
	hv interface {
		ReadConsoleFrom(index uint32) (string, uint32, error)
		DomainInfo(dom uint32) (xc.DomainInfo, error)
	}
	xl      string
	logDir  string
	poll    time.Duration
	timeout time.Duration
	verbose bool     // xl -v: its step timings go in result.steps
	procs   bool     // fill in result.procs
	w       *watcher // nil: poll from the start
}

// watcher wakes the wait for a first line when one of its sources may
// have grown: VIRQ_CON_RING through /dev/xen/evtchn, and inotify on
// xenconsoled's log directory.
type watcher struct {
	wake chan struct{} // one slot: a wake-up that comes while nobody waits is kept
	dead atomic.Bool   // a source failed: poll from then on
}

func (w *watcher) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// fail ends waiting on events: the sources are polled from then on.
func (w *watcher) fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "createbench: "+format+"\n", args...)
	w.dead.Store(true)
	w.kick()
}

// watch sets up both sources; nil, after saying why, if either cannot be.
// The watchers live as long as the process.
func watch(logDir string) *watcher {
	e, err := xendev.OpenEvtchn()
	if err != nil {
		fmt.Fprintf(os.Stderr, "createbench: hv's console: %v\n", err)
		return nil
	}
	if _, err := e.BindVIRQ(xen.VIRQConRing); err != nil {
		e.Close()
		fmt.Fprintf(os.Stderr, "createbench: hv's console: %v\n", err)
		return nil
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err == nil {
		err = os.MkdirAll(logDir, 0o755) // xenconsoled makes it with its first log
		if err == nil {
			_, err = syscall.InotifyAddWatch(fd, logDir, syscall.IN_MODIFY|syscall.IN_CREATE)
		}
		if err != nil {
			syscall.Close(fd)
		}
	}
	if err != nil {
		e.Close()
		fmt.Fprintf(os.Stderr, "createbench: inotify on %s: %v\n", logDir, err)
		return nil
	}
	w := &watcher{wake: make(chan struct{}, 1)}
	go func() {
		for {
			ports, err := e.Wait()
			if err == nil {
				w.kick()
				err = e.Unmask(ports...)
			}
			if err != nil {
				w.fail("VIRQ_CON_RING: %v", err)
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := syscall.Read(fd, buf); err != nil && err != syscall.EINTR {
				w.fail("inotify: %v", err)
				return
			}
			w.kick()
		}
	}()
	return w
}

// sleep waits for the next look at the sources: a wake-up (or a second,
// in case one is missed), or the poll interval without working watchers.
func (b *bench) sleep() {
	if b.w != nil && b.w.dead.Load() {
		fmt.Fprintf(os.Stderr, "createbench: polling every %v\n", b.poll)
		b.w = nil
	}
	if b.w == nil {
		time.Sleep(b.poll)
		return
	}
	select {
	case <-b.w.wake:
	case <-time.After(time.Second):
	}
}

type result struct {
	create, first time.Duration
	line          string
	steps         []string // xl -v's timing lines
	// After xl exited until the first line: the CPU time dom0 and the new
	// domain had from hv (XEN_DOMCTL_getdomaininfo; -1 if it could not be
	// read), against the wall time.
	after, dom0CPU, domUCPU time.Duration
	procs                   string
}

// procTimes reads every dom0 process's CPU time (utime+stime, in clock
// ticks) by "pid comm", and the kernel's totals as "cpu user", "cpu
// system"... from /proc/stat.
func procTimes() map[string]uint64 {
	m := map[string]uint64{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		j := bytes.IndexByte(b, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(string(b[i+2:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		st, _ := strconv.ParseUint(f[12], 10, 64)
		m[e.Name()+" "+string(b[j+1:i])] = u + st
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		l, _, _ := strings.Cut(string(b), "\n")
		names := []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}
		for k, v := range strings.Fields(l)[1:] {
			if k < len(names) {
				n, _ := strconv.ParseUint(v, 10, 64)
				m["cpu "+names[k]] = n
			}
		}
	}
	return m
}

// topProcs lists the n largest CPU-time deltas from a to b, in ticks.
func topProcs(a, b map[string]uint64, n int) string {
	type d struct {
		k string
		v uint64
	}
	var ds []d
	for k, v := range b {
		if v > a[k] {
			ds = append(ds, d{k, v - a[k]})
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].v > ds[j].v })
	var out []string
	for i, x := range ds {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%s=%d", x.k, x.v))
	}
	return strings.Join(out, ", ")
}

var startedRE = regexp.MustCompile(`Started domain .* \(id=([0-9]+)\)`)

// once creates the domain from file (named name), waits for its first
// console line, then destroys it and waits until it is gone.
func (b *bench) once(file, name string, seen func()) (result, error) {
	var r result
	// Where both sources end now: only what comes after counts.
	_, pos, err := b.hv.ReadConsoleFrom(0)
	if err != nil {
		return r, err
	}
	logPath := filepath.Join(b.logDir, "guest-"+name+".log")
	var logOff int64
	if st, err := os.Stat(logPath); err == nil {
		logOff = st.Size()
	}

	var stderr bytes.Buffer
	args := []string{"create", file}
	if b.verbose {
		args = append([]string{"-v"}, args...)
	}
	cmd := exec.Command(b.xl, args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	t0 := time.Now()
	err = cmd.Run()
	r.create = time.Since(t0)
	if err != nil {
		return r, fmt.Errorf("xl create %s: %v: %s", file, err, strings.TrimSpace(stderr.String()))
	}
	m := startedRE.FindStringSubmatch(stderr.String())
	if m == nil {
		return r, fmt.Errorf("xl create %s printed no domain ID: %s", file, strings.TrimSpace(stderr.String()))
	}
	id, _ := strconv.Atoi(m[1])
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "xl: domain ") && strings.HasSuffix(l, " ms") {
			r.steps = append(r.steps, strings.TrimPrefix(l, "xl: "))
		}
	}
	defer b.destroy(name, id)
	// What dom0 and the domain ran from here to the first line: hv's
	// counts first, then (-procs) dom0's processes, read last at the end
	// too, so the wall time and hv's counts cover the same span.
	tExit := time.Now()
	dom0Start, err0 := b.hv.DomainInfo(0)
	domUStart, errU := b.hv.DomainInfo(uint32(id))
	var procStart map[string]uint64
	if b.procs {
		procStart = procTimes()
	}
	found := func(line string) {
		r.first, r.line = time.Since(t0), line
		r.after = time.Since(tExit)
		seen()
		d0, e0 := b.hv.DomainInfo(0)
		dU, eU := b.hv.DomainInfo(uint32(id))
		r.dom0CPU, r.domUCPU = cpuDelta(dom0Start, err0, d0, e0), cpuDelta(domUStart, errU, dU, eU)
		if b.procs {
			r.procs = topProcs(procStart, procTimes(), 10)
		}
	}

	hvLines := &lineWatcher{prefix: fmt.Sprintf("(d%d) ", id)}
	conLines := &lineWatcher{}
	for {
		text, next, err := b.hv.ReadConsoleFrom(pos)
		if err != nil {
			return r, err
		}
		pos = next
		if line, ok := hvLines.feed(text); ok {
			found(line)
			return r, nil
		}
		if text, err := readFrom(logPath, &logOff); err == nil {
			if line, ok := conLines.feed(text); ok {
				found(line)
				return r, nil
			}
		}
		if time.Since(t0) > b.timeout {
			return r, fmt.Errorf("domain %d (%s): no console line after %v", id, name, b.timeout)
		}
		b.sleep()
	}
}

// cpuDelta is the CPU time from a to b, -1 if either could not be read
// (the test guest may be gone by the time its line is found).
func cpuDelta(a xc.DomainInfo, errA error, b xc.DomainInfo, errB error) time.Duration {
	if errA != nil || errB != nil {
		return -1
	}
	return time.Duration(b.CPUTimeNS - a.CPUTimeNS)
}

// ms formats a duration in whole milliseconds, "?" if negative (unknown).
func ms(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// destroy ends domain id unless it already went (the test guest powers
// off and its monitor destroys it), and waits until it is gone.
func (b *bench) destroy(name string, id int) {
	deadline := time.Now().Add(60 * time.Second)
	for tries := 0; time.Now().Before(deadline); tries++ {
		info, err := b.hv.DomainInfo(uint32(id))
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if err == nil && !info.Dying() && tries%20 == 0 {
			exec.Command(b.xl, "destroy", strconv.Itoa(id)).Run()
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "createbench: domain %d (%s) still there 60 s after xl destroy\n", id, name)
}

// readFrom returns what file has past *off and moves *off to its end.
func readFrom(file string, off *int64) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(*off, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(f)
	*off += int64(len(b))
	if errors.Is(err, syscall.EINTR) {
		err = nil
	}
	return string(b), err
}

// lineWatcher finds the first complete non-empty line (one starting with
// prefix, if set) in text fed to it piece by piece.
type lineWatcher struct {
	prefix string
	part   string // an unfinished line
}

func (w *lineWatcher) feed(text string) (string, bool) {
	w.part += text
	for {
		i := strings.IndexByte(w.part, '\n')
		if i < 0 {
			return "", false
		}
		line := strings.TrimRight(w.part[:i], "\r")
		w.part = w.part[i+1:]
		if strings.TrimSpace(line) != "" && strings.HasPrefix(line, w.prefix) {
			return line, true
		}
	}
}

// median of ds (the lower middle one for an even count).
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}
