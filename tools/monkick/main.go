// Command monkick stops and continues a QEMU machine from its human monitor
// (HMP) over a Unix socket, again and again, until QEMU goes away, and
// reports how that went:
//
//	go run ./tools/monkick -socket out/irqonce.mon -o out/irqonce.kicks [-wait 30s]
//
// Each stop and cont kicks QEMU's vCPU thread out of its execution loop.
// qemu-test's guest-irqonce runs it while a guest takes interrupts that hv
// injects: when QEMU's TCG VMRUN had left an injected interrupt pending as
// an exception, such a kick delivered it a second time (see InjectInterrupt
// in arch/amd64/svm), which the guest counts. The report shows that the
// kicks happened (QEMU answered many pairs) and that QEMU never stalled.
//
// The report is one line: "pairs N longest_ms M", the stop/cont pairs QEMU
// answered and the longest wait for its prompt in milliseconds.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	sock := flag.String("socket", "", "QEMU's monitor socket (-monitor unix:PATH,server=on,wait=off)")
	out := flag.String("o", "", "write the report here (default stdout)")
	wait := flag.Duration("wait", 30*time.Second, "how long to wait for the socket")
	flag.Parse()
	if *sock == "" {
		fmt.Fprintln(os.Stderr, "monkick: -socket is required")
		os.Exit(2)
	}
	c, err := dial(*sock, *wait)
	if err != nil {
		fmt.Fprintln(os.Stderr, "monkick:", err)
		os.Exit(1)
	}
	r := kick(c)
	c.Close()
	line := r.String() + "\n"
	if *out == "" {
		os.Stdout.WriteString(line)
		return
	}
	if err := os.WriteFile(*out, []byte(line), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "monkick:", err)
		os.Exit(1)
	}
}

// dial connects to the socket, retrying until it appears or wait passes.
func dial(path string, wait time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no monitor at %s after %v: %w", path, wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// report is what kick saw.
type report struct {
	pairs   int           // stop/cont pairs QEMU answered
	longest time.Duration // the longest wait for a prompt
}

func (r report) String() string {
	return fmt.Sprintf("pairs %d longest_ms %d", r.pairs, r.longest.Milliseconds())
}

// prompt is what HMP prints when it is ready for the next command.
var prompt = []byte("(qemu) ")

// kick waits for the first prompt, then sends stop and cont in turn, each
// once QEMU has answered the one before, until the connection ends.
func kick(c io.ReadWriter) report {
	var r report
	p := &prompter{r: c}
	if !p.next() {
		return r
	}
	for i := 0; ; i++ {
		cmd := "stop\n"
		if i%2 == 1 {
			cmd = "cont\n"
		}
		if _, err := io.WriteString(c, cmd); err != nil {
			return r
		}
		t := time.Now()
		if !p.next() {
			return r
		}
		r.longest = max(r.longest, time.Since(t))
		if i%2 == 1 {
			r.pairs++
		}
	}
}

// prompter finds prompts in what the monitor sends.
type prompter struct {
	r   io.Reader
	buf []byte
}

// next reads until the next prompt; false when the connection ended first.
func (p *prompter) next() bool {
	var b [4096]byte
	for {
		if i := bytes.Index(p.buf, prompt); i >= 0 {
			p.buf = p.buf[i+len(prompt):]
			return true
		}
		n, err := p.r.Read(b[:])
		p.buf = append(p.buf, b[:n]...)
		if err != nil {
			if i := bytes.Index(p.buf, prompt); i >= 0 {
				p.buf = p.buf[i+len(prompt):]
				return true
			}
			return false
		}
	}
}
