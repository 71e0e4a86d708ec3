package hv

import (
	"fmt"
	"io"
)

// lineBuffer collects a domain's console bytes into lines, which go to hv's
// console prefixed by the domain's name.
//
// Every line a domain prints (port 0xE9, console_io, its console ring)
// passes a per-domain token bucket, as Xen rate-limits what guests print
// (printk_ratelimit, guest_loglvl): a domain gets consoleBurst bytes at
// once and consoleRate bytes a second after that, so one domain flooding
// its console cannot starve hv's serial line of the others' output. Lines
// over the limit are dropped whole and counted; when the domain's output
// goes through again (or its console is flushed for the last time) hv says
// how many: `hv: domain N "name": M console lines dropped`.
type lineBuffer struct {
	buf     []byte
	touched int64 // Env.Now of the last write, for flushing prompts

	id      uint16 // the domain's ID, for the dropped-lines report
	credit  int64  // bytes the domain may print now, at most consoleBurst
	refill  int64  // Env.Now up to which credit has been added
	started bool   // credit and refill have been set
	dropped uint64 // lines dropped since the last report
}

// partialFlushDelay is how long an unfinished line (a shell prompt, typed
// characters being echoed) waits for more output before hv prints it.
const partialFlushDelay = 150e6 // ns

const maxLine = 256

// The console rate limit. The burst holds a Linux domU's boot log, which
// it prints at once when hvc0 comes up (about 20 KB for Debian's 6.1) and
// `dmesg` in its shell; the rate is about a third of a 115200-baud serial
// line, so two flooding domains still leave room for a third.
const (
	consoleBurst = 64 << 10 // bytes
	consoleRate  = 4 << 10  // bytes per second
)

// consoleWrite is the one way a domain's console output reaches hv's
// console: port 0xE9, console_io and the console ring.
func (d *Domain) consoleWrite(p []byte) {
	d.console.id = d.id
	d.console.write(d.hv.out, d.name, p, d.hv.env.Now())
}

// write adds guest output p, written at time now (Env.Now).
func (l *lineBuffer) write(out io.Writer, name string, p []byte, now int64) {
	l.touched = now
	for _, c := range p {
		switch {
		case c == '\n':
			l.flush(out, name)
		case c == '\r':
		case c == '\t' || (c >= ' ' && c < 0x7f):
			l.buf = append(l.buf, c)
		default:
			l.buf = append(l.buf, '.') // keep hv's console clean of control bytes
		}
		if len(l.buf) >= maxLine {
			l.flush(out, name)
		}
	}
}

// flush prints the line collected so far if the rate limit allows it, and
// otherwise counts it as dropped. With nothing collected it reports the
// lines dropped so far, if any (the domain's last output).
func (l *lineBuffer) flush(out io.Writer, name string) {
	if len(l.buf) == 0 {
		l.reportDropped(out, name)
		return
	}
	if !l.allow(int64(len(name)+len(l.buf)+4), l.touched) {
		l.dropped++
		l.buf = l.buf[:0]
		return
	}
	l.reportDropped(out, name)
	fmt.Fprintf(out, "(%s) %s\n", name, l.buf)
	l.buf = l.buf[:0]
}

func (l *lineBuffer) reportDropped(out io.Writer, name string) {
	if l.dropped == 0 {
		return
	}
	fmt.Fprintf(out, "hv: domain %d %q: %d console lines dropped\n", l.id, name, l.dropped)
	l.dropped = 0
}

// allow takes cost bytes from the bucket at time now, if it holds them.
func (l *lineBuffer) allow(cost, now int64) bool {
	if !l.started {
		l.credit, l.refill, l.started = consoleBurst, now, true
	}
	const full = 1e9 * consoleBurst / consoleRate // ns to fill an empty bucket
	if dt := now - l.refill; dt > full {
		l.credit, l.refill = consoleBurst, now
	} else if add := dt * consoleRate / 1e9; add > 0 {
		// Advance refill only by what the bytes added are worth, so no
		// fraction of a byte is lost between calls.
		l.refill += add * 1e9 / consoleRate
		l.credit = min(l.credit+add, consoleBurst)
	}
	if l.credit < cost {
		return false
	}
	l.credit -= cost
	return true
}
