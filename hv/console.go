package hv

import (
	"fmt"
	"io"
)

// lineBuffer collects a domain's console bytes into lines, which go to hv's
// console prefixed by the domain's name.
type lineBuffer struct {
	buf     []byte
	touched int64 // Env.Now of the last write, for flushing prompts
}

// partialFlushDelay is how long an unfinished line (a shell prompt, typed
// characters being echoed) waits for more output before hv prints it.
const partialFlushDelay = 150e6 // ns

const maxLine = 256

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

func (l *lineBuffer) flush(out io.Writer, name string) {
	if len(l.buf) == 0 {
		return
	}
	fmt.Fprintf(out, "(%s) %s\n", name, l.buf)
	l.buf = l.buf[:0]
}
