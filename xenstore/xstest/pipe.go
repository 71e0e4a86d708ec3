// Package xstest has test support for xenstore clients: an in-process
// stand-in for /dev/xen/xenbus.
package xstest

import (
	"bytes"

	"gozen/xenstore"
)

// Pipe is a /dev/xen/xenbus stand-in over a xenstore.Conn: a write is a
// request (Process), a read takes the queued replies.
type Pipe struct {
	C   *xenstore.Conn
	out bytes.Buffer
}

func (p *Pipe) Write(b []byte) (int, error) {
	if err := p.C.Process(b); err != nil {
		return 0, err
	}
	buf := make([]byte, p.C.Pending())
	p.out.Write(buf[:p.C.ReadOutput(buf)])
	return len(b), nil
}

func (p *Pipe) Read(b []byte) (int, error) { return p.out.Read(b) }
