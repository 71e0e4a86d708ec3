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
// (/var/log/xen/console/guest-NAME.log, what `xl console` shows). Both
// are polled every -poll. Then the domain is destroyed (if it has not
// ended itself) and gone before the next run. Last, the medians. With -v
// it runs `xl -v create` and prints how long xl's steps took.
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
	"syscall"
	"time"

	"gozen/dom0/privcmd"
	"gozen/dom0/xc"
	"gozen/dom0/xc/privxc"
	"gozen/dom0/xl"
)

func main() {
	n := flag.Int("n", 3, "runs per config")
	timeout := flag.Duration("timeout", 300*time.Second, "how long to wait for a run's first console line")
	poll := flag.Duration("poll", 5*time.Millisecond, "how often to look for the first line")
	xlPath := flag.String("xl", "/bin/xl", "the xl program")
	logDir := flag.String("logdir", "/var/log/xen/console", "xenconsoled's log directory")
	verbose := flag.Bool("v", false, "run xl -v create and print its step timings")
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
		verbose: *verbose}
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
	verbose bool // xl -v: its step timings go in result.steps
}

type result struct {
	create, first time.Duration
	line          string
	steps         []string // xl -v's timing lines
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

	hvLines := &lineWatcher{prefix: fmt.Sprintf("(d%d) ", id)}
	conLines := &lineWatcher{}
	for {
		text, next, err := b.hv.ReadConsoleFrom(pos)
		if err != nil {
			return r, err
		}
		pos = next
		if line, ok := hvLines.feed(text); ok {
			r.first, r.line = time.Since(t0), line
			seen()
			return r, nil
		}
		if text, err := readFrom(logPath, &logOff); err == nil {
			if line, ok := conLines.feed(text); ok {
				r.first, r.line = time.Since(t0), line
				seen()
				return r, nil
			}
		}
		if time.Since(t0) > b.timeout {
			return r, fmt.Errorf("domain %d (%s): no console line after %v", id, name, b.timeout)
		}
		time.Sleep(b.poll)
	}
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
