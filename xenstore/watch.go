package xenstore

import (
	"strconv"

	"gozen/abi/xen"
)

// fire delivers events to every matching watch whose connection may read
// the node (xenstored's fire_watches with its permission check): a watch
// matches an event on its own path or below it, and an "exact" event
// (a descendant removed with its ancestor) only on that path.
func (s *Server) fire(evs []event) {
	if len(evs) == 0 {
		return
	}
	for _, c := range s.conns {
		for _, w := range c.watches {
			for i := range evs {
				ev := &evs[i]
				if ev.exact {
					if w.path != ev.path {
						continue
					}
				} else if !isChild(ev.path, w.path) {
					continue
				}
				if c.access(ev.perms)&PermRead == 0 && (ev.alt == nil || c.access(ev.alt)&PermRead == 0) {
					continue
				}
				c.sendEvent(w, ev.path)
			}
		}
	}
}

// fireSpecial fires the special watch name for every connection allowed
// to read it (the special node's permissions: dom0 only by default, as in
// xenstored since XSA-115's follow-ups).
func (s *Server) fireSpecial(name string) {
	ps := s.special[name]
	for _, c := range s.conns {
		if c.access(ps)&PermRead == 0 {
			continue
		}
		for _, w := range c.watches {
			if w.path == name {
				c.sendEvent(w, name)
			}
		}
	}
}

func (c *Conn) doWatch(p []byte) ([]byte, xen.Errno) {
	as, ok := args(p, 2)
	if !ok {
		return nil, xen.EINVAL
	}
	w := &watch{token: as[1]}
	if a := as[0]; len(a) > 0 && a[0] == '@' {
		if !validSpecial(a) {
			return nil, xen.EINVAL
		}
		w.path = a
	} else {
		path, e := canonical(c.domid, a)
		if e != 0 {
			return nil, e
		}
		w.path, w.relative = path, a[0] != '/'
	}
	for _, x := range c.watches {
		if x.path == w.path && x.token == w.token {
			return nil, xen.EEXIST
		}
	}
	d := c.s.dom(c.domid)
	cost := watchOverhead + len(w.path) + len(w.token)
	if !c.priv {
		l := c.s.limits(c)
		if l.Watches > 0 && d.watches >= l.Watches {
			return nil, xen.E2BIG
		}
		if l.Memory > 0 && d.bytes+d.watchBytes+d.txBytes+cost > l.Memory {
			return nil, xen.ENOMEM
		}
	}
	d.watches++
	d.watchBytes += cost
	c.watches = append(c.watches, w)
	return okPayload, 0 // process fires the new watch once after this reply
}

func (c *Conn) doUnwatch(p []byte) ([]byte, xen.Errno) {
	as, ok := args(p, 2)
	if !ok {
		return nil, xen.EINVAL
	}
	path := as[0]
	if len(path) == 0 || path[0] != '@' {
		var e xen.Errno
		if path, e = canonical(c.domid, path); e != 0 {
			return nil, e
		}
	}
	for i, w := range c.watches {
		if w.path == path && w.token == as[1] {
			c.dropWatch(w)
			c.watches = append(c.watches[:i], c.watches[i+1:]...)
			return okPayload, 0
		}
	}
	return nil, xen.ENOENT
}

func (c *Conn) dropWatch(w *watch) {
	if d := c.s.doms[c.domid]; d != nil {
		d.watches--
		d.watchBytes -= watchOverhead + len(w.path) + len(w.token)
	}
}

// resetWatches is RESET_WATCHES: drop the connection's watches and its
// transactions (xenstored's do_reset_watches).
func (c *Conn) resetWatches() {
	for _, w := range c.watches {
		c.dropWatch(w)
	}
	c.watches = nil
	for id, t := range c.txs {
		c.endTx(t)
		delete(c.txs, id)
	}
}

func (c *Conn) endTx(t *transaction) {
	t.dom.txs--
	t.dom.txBytes -= t.bytes
	t.bytes = 0
}

func (c *Conn) txStart(h *xen.XsdSockmsg) ([]byte, xen.Errno) {
	if h.TxID != 0 {
		return nil, xen.EBUSY
	}
	d := c.s.dom(c.domid)
	if l := c.s.limits(c); !c.priv && l.Transactions > 0 && d.txs >= l.Transactions {
		return nil, xen.ENOSPC
	}
	// Ids are per connection, never 0, and skip ones still open.
	for {
		c.nextTx++
		if c.nextTx != 0 && c.txs[c.nextTx] == nil {
			break
		}
	}
	t := &transaction{
		id: c.nextTx, dom: d,
		accessed: map[string]uint64{}, overlay: map[string]*node{},
		delta: map[uint32]*Usage{}, evIndex: map[eventKey]int{},
	}
	c.txs[t.id] = t
	d.txs++
	return append(strconv.AppendUint(nil, uint64(t.id), 10), 0), 0
}

func (c *Conn) txEnd(h *xen.XsdSockmsg, p []byte) ([]byte, xen.Errno) {
	a, ok := oneArg(p)
	if !ok || (a != "T" && a != "F") {
		return nil, xen.EINVAL
	}
	t := c.txs[h.TxID]
	if t == nil {
		return nil, xen.ENOENT
	}
	delete(c.txs, h.TxID)
	c.endTx(t)
	if a == "F" {
		return okPayload, 0
	}
	return okOr(c.s.commit(c, t))
}

// domainOp handles the privileged domain-management requests.
func (c *Conn) domainOp(h *xen.XsdSockmsg, p []byte) ([]byte, xen.Errno) {
	s := c.s
	switch h.Type {
	case xen.XSIntroduce:
		as, ok := args(p, 3)
		if !ok {
			return nil, xen.EINVAL
		}
		id, e := parseDomid(as[0])
		if e != 0 || id == 0 || id >= xen.DomIDFirstReserved {
			return nil, xen.EINVAL
		}
		gfn, err := strconv.ParseInt(as[1], 10, 64) // "signed decimal (!)", xenstore.txt
		if err != nil {
			u, err2 := strconv.ParseUint(as[1], 10, 64)
			if err2 != nil {
				return nil, xen.EINVAL
			}
			gfn = int64(u)
		}
		port, err := strconv.ParseUint(as[2], 10, 32)
		if err != nil {
			return nil, xen.EINVAL
		}
		if d := s.doms[id]; d != nil && d.introduced {
			return okPayload, 0 // already connected: nothing to do
		}
		if s.hooks == nil {
			return nil, xen.ENOSYS
		}
		nc := s.connect(id, false)
		if err := s.hooks.Introduce(nc, uint64(gfn), uint32(port)); err != nil {
			s.closeConn(nc)
			s.dom(id).introduced = false
			return nil, xen.EINVAL
		}
		s.fireSpecial(IntroduceDomain)
		return okPayload, 0
	case xen.XSRelease, xen.XSResume:
		a, ok := oneArg(p)
		if !ok {
			return nil, xen.EINVAL
		}
		id, e := parseDomid(a)
		if e != 0 || id == 0 {
			return nil, xen.EINVAL
		}
		d := s.doms[id]
		if d == nil || !d.introduced {
			return nil, xen.ENOENT
		}
		if h.Type == xen.XSResume {
			d.shutdown = false
			return okPayload, 0
		}
		s.releaseDomain(id)
		return okPayload, 0
	case xen.XSSetTarget:
		as, ok := args(p, 2)
		if !ok {
			return nil, xen.EINVAL
		}
		id, e1 := parseDomid(as[0])
		tid, e2 := parseDomid(as[1])
		if e1 != 0 || e2 != 0 {
			return nil, xen.EINVAL
		}
		d := s.doms[id]
		if d == nil || !d.introduced {
			return nil, xen.ENOENT
		}
		d.target, d.hasTarget = tid, true
		return okPayload, 0
	}
	// XS_CONTROL: GoZen implements no control commands.
	return nil, xen.EINVAL
}
