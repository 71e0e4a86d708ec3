package xenstore

import (
	"bytes"
	"strconv"

	"gozen/abi/xen"
)

// Conn is one client connection: a domain's ring, or a local client of a
// dom0 daemon. Requests go in through Process (or a Ring); replies and
// watch events queue on the Conn until the host takes them (ReadOutput, or
// the Ring writes them into the page).
type Conn struct {
	s      *Server
	domid  uint32
	priv   bool
	closed bool

	watches []*watch
	txs     map[uint32]*transaction
	nextTx  uint32

	out           []outMsg
	outOff        int // bytes of out[0] already taken
	outReplies    int
	outEventBytes int
	dropped       uint64
	notifyPending bool
}

type outMsg struct {
	b     []byte
	reply bool
}

// watch is one XS_WATCH of a connection.
type watch struct {
	path     string // canonical absolute path, or a '@' special name
	token    string
	relative bool // events are reported relative to the home path
}

// Domid is the connection's domain.
func (c *Conn) Domid() uint32 { return c.domid }

// Privileged reports whether the connection bypasses permissions.
func (c *Conn) Privileged() bool { return c.priv }

// Closed reports whether the Server dropped the connection (its domain was
// removed or released).
func (c *Conn) Closed() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.closed
}

// Close drops the connection: its watches and transactions go and
// nothing more is queued on it. A host closes a local client's connection
// when the client goes (a socket closed); the domain stays known.
func (c *Conn) Close() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.closeConn(c)
}

// Dropped is the number of watch events not queued because the
// connection's event queue was full (or the event was over
// XENSTORE_PAYLOAD_MAX).
func (c *Conn) Dropped() uint64 {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.dropped
}

// Pending is the number of output bytes queued.
func (c *Conn) Pending() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	n := -c.outOff
	for _, m := range c.out {
		n += len(m.b)
	}
	return n
}

// Busy reports whether the connection has as many unread replies as its
// "outstanding" limit: a host should read output before handing it more
// requests (the Ring does so itself).
func (c *Conn) Busy() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.busy()
}

func (c *Conn) busy() bool {
	l := c.s.limits(c)
	return l.Outstanding > 0 && c.outReplies >= l.Outstanding
}

// ReadOutput moves up to len(p) bytes of queued replies and events into p
// and returns how many. Messages come out whole and in order, possibly
// split across calls.
func (c *Conn) ReadOutput(p []byte) int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.readOutput(p)
}

func (c *Conn) readOutput(p []byte) int {
	n := 0
	for n < len(p) && len(c.out) > 0 {
		m := c.out[0]
		k := copy(p[n:], m.b[c.outOff:])
		n += k
		c.outOff += k
		if c.outOff == len(m.b) {
			if m.reply {
				c.outReplies--
			} else {
				c.outEventBytes -= len(m.b)
			}
			c.out[0] = outMsg{}
			c.out = c.out[1:]
			c.outOff = 0
		}
	}
	if len(c.out) == 0 {
		c.out = nil
	}
	return n
}

func (c *Conn) queue(b []byte, reply bool) {
	c.out = append(c.out, outMsg{b, reply})
	if reply {
		c.outReplies++
	} else {
		c.outEventBytes += len(b)
	}
}

func message(typ, reqID, txID uint32, payload []byte) []byte {
	b := make([]byte, xen.XsdSockmsgSize+len(payload))
	h := xen.XsdSockmsg{Type: typ, ReqID: reqID, TxID: txID, Len: uint32(len(payload))}
	h.Encode(b)
	copy(b[xen.XsdSockmsgSize:], payload)
	return b
}

// reply queues the answer to request h: payload under h's type, or an
// XS_ERROR naming e. A payload over XENSTORE_PAYLOAD_MAX becomes E2BIG,
// as in xenstored's send_reply.
func (c *Conn) reply(h *xen.XsdSockmsg, payload []byte, e xen.Errno) {
	if e == 0 && len(payload) > xen.XenstorePayloadMax {
		e = xen.E2BIG
	}
	if e != 0 {
		c.queue(message(xen.XSError, h.ReqID, h.TxID, append([]byte(xen.XsdErrorName(e)), 0)), true)
		return
	}
	c.queue(message(h.Type, h.ReqID, h.TxID, payload), true)
}

var okPayload = []byte("OK\x00")

// sendEvent queues a WATCH_EVENT for w about absolute path p (or a special
// name), if the event queue has room.
func (c *Conn) sendEvent(w *watch, p string) {
	if w.relative {
		home := homePath(c.domid) + "/"
		if len(p) > len(home) && p[:len(home)] == home {
			p = p[len(home):]
		}
	}
	payload := make([]byte, 0, len(p)+len(w.token)+2)
	payload = append(append(append(append(payload, p...), 0), w.token...), 0)
	l := c.s.limits(c)
	if len(payload) > xen.XenstorePayloadMax ||
		(l.EventBytes > 0 && c.outEventBytes+xen.XsdSockmsgSize+len(payload) > l.EventBytes) {
		c.dropped++
	} else {
		c.queue(message(xen.XSWatchEvent, 0, 0, payload), false)
	}
	// The host hears of a dropped event too: it may log it (Dropped).
	if c != c.s.current && !c.notifyPending {
		c.notifyPending = true
		c.s.notify = append(c.s.notify, c)
	}
}

// Process handles one complete message (header and payload) from the
// client and queues its reply, and any watch events it causes. A message
// that breaks the framing (short, over XENSTORE_PAYLOAD_MAX, or a length
// that disagrees with the header) is refused with an error and nothing
// else happens: the host should drop the connection, as xenstored does.
// msg is copied; the caller may reuse it.
func (c *Conn) Process(msg []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.process(msg)
}

func (c *Conn) process(msg []byte) error {
	if c.closed {
		return ErrClosed
	}
	var h xen.XsdSockmsg
	if err := h.Decode(msg); err != nil {
		return ErrShort
	}
	if h.Len > xen.XenstorePayloadMax {
		return ErrTooLong
	}
	if uint32(len(msg)-xen.XsdSockmsgSize) != h.Len {
		return ErrLength
	}
	payload := append([]byte(nil), msg[xen.XsdSockmsgSize:]...)
	s := c.s
	s.current = c
	payloadOut, e := c.dispatch(&h, payload)
	if payloadOut != nil || e != 0 {
		c.reply(&h, payloadOut, e)
	}
	// A new watch fires once, after its OK (xenstored's do_watch).
	if h.Type == xen.XSWatch && e == 0 && len(c.watches) > 0 {
		w := c.watches[len(c.watches)-1]
		c.sendEvent(w, w.path)
	}
	s.current = nil
	s.flushNotify()
	return nil
}

// oneArg is xenstored's onearg: the payload must be exactly one
// NUL-terminated string.
func oneArg(p []byte) (string, bool) {
	i := bytes.IndexByte(p, 0)
	if i < 0 || i != len(p)-1 {
		return "", false
	}
	return string(p[:i]), true
}

// args returns the NUL-terminated strings of p (an unterminated tail is
// not a string), or false if there are fewer than n.
func args(p []byte, n int) ([]string, bool) {
	var out []string
	for {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			break
		}
		out = append(out, string(p[:i]))
		p = p[i+1:]
	}
	return out, len(out) >= n
}

func (c *Conn) access(ps []Perm) uint8 {
	d := c.s.doms[c.domid]
	var target uint32
	var has bool
	if d != nil {
		target, has = d.target, d.hasTarget
	}
	return access(ps, c.domid, c.priv, target, has)
}

// missing is xenstored's errno_from_parents: for an absent node, EACCES if
// the nearest existing ancestor denies want, else ENOENT (so that a domain
// cannot probe for nodes it may not see).
func (c *Conn) missing(v *view, p string, want uint8) xen.Errno {
	for p != "/" {
		p = parentOf(p)
		if n := v.get(p); n != nil {
			if c.access(n.perms)&want != want {
				return xen.EACCES
			}
			return xen.ENOENT
		}
	}
	return xen.ENOENT
}

// lookup returns the node at p if the connection may access it for want.
func (c *Conn) lookup(v *view, p string, want uint8) (*node, xen.Errno) {
	n := v.get(p)
	if n == nil {
		return nil, c.missing(v, p, want)
	}
	if c.access(n.perms)&want != want {
		return nil, xen.EACCES
	}
	return n, 0
}

// dispatch handles one request. It returns the reply payload (nil for
// none) or an error.
func (c *Conn) dispatch(h *xen.XsdSockmsg, p []byte) ([]byte, xen.Errno) {
	switch h.Type {
	case xen.XSRead, xen.XSWrite, xen.XSMkdir, xen.XSRm, xen.XSDirectory,
		xen.XSDirectoryPart, xen.XSGetPerms, xen.XSSetPerms:
		return c.storeOp(h, p)
	case xen.XSWatch:
		return c.doWatch(p)
	case xen.XSUnwatch:
		return c.doUnwatch(p)
	case xen.XSResetWatches:
		c.resetWatches()
		return okPayload, 0
	case xen.XSTransactionStart:
		return c.txStart(h)
	case xen.XSTransactionEnd:
		return c.txEnd(h, p)
	case xen.XSGetDomainPath:
		a, ok := oneArg(p)
		if !ok {
			return nil, xen.EINVAL
		}
		id, e := parseDomid(a)
		if e != 0 {
			return nil, e
		}
		return append([]byte(homePath(id)), 0), 0
	case xen.XSIsDomainIntroduced:
		a, ok := oneArg(p)
		if !ok {
			return nil, xen.EINVAL
		}
		id, e := parseDomid(a)
		if e != 0 {
			return nil, e
		}
		if id == xen.DomIDSelf {
			id = c.domid
		}
		if d := c.s.doms[id]; d != nil && d.introduced {
			return []byte("T\x00"), 0
		}
		return []byte("F\x00"), 0
	case xen.XSIntroduce, xen.XSRelease, xen.XSResume, xen.XSSetTarget, xen.XSControl:
		if !c.priv {
			return nil, xen.EACCES
		}
		return c.domainOp(h, p)
	}
	// XS_WATCH_EVENT and XS_ERROR are not requests; 20 and the HEAD-only
	// feature and quota requests are unknown to Xen 4.17's xenstored.
	return nil, xen.EINVAL
}

// storeOp runs a read or write of the store, live or in a transaction.
func (c *Conn) storeOp(h *xen.XsdSockmsg, p []byte) ([]byte, xen.Errno) {
	v := &view{s: c.s}
	if h.TxID != 0 {
		t := c.txs[h.TxID]
		if t == nil {
			return nil, xen.ENOENT
		}
		if t.failed != 0 {
			return nil, t.failed
		}
		v.tx = t
	}
	var evs []event
	out, e := c.storeOpIn(v, h.Type, p, &evs)
	if t := v.tx; t != nil {
		// Even reads cost memory in a transaction (the paths it saw). Past
		// a quota the transaction is doomed: its copies go at once, and
		// every later request in it, and its commit, fail.
		l := c.s.limits(c)
		if !c.priv {
			if d := t.dom; l.Memory > 0 && d.bytes+d.watchBytes+d.txBytes > l.Memory {
				t.doom(xen.ENOMEM)
				return nil, xen.ENOMEM
			}
		}
		if l.TransactionNodes > 0 && t.size() > l.TransactionNodes {
			t.doom(xen.ENOSPC)
			return nil, xen.ENOSPC
		}
		for _, ev := range evs {
			t.addEvent(ev)
		}
		return out, e
	}
	c.s.fire(evs)
	return out, e
}

func (c *Conn) storeOpIn(v *view, typ uint32, p []byte, evs *[]event) ([]byte, xen.Errno) {
	switch typ {
	case xen.XSWrite:
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			return nil, xen.EINVAL
		}
		path, e := canonical(c.domid, string(p[:i]))
		if e != 0 {
			return nil, e
		}
		return okOr(c.write(v, path, p[i+1:], false, evs))
	case xen.XSMkdir:
		a, ok := oneArg(p)
		if !ok {
			return nil, xen.EINVAL
		}
		path, e := canonical(c.domid, a)
		if e != 0 {
			return nil, e
		}
		return okOr(c.write(v, path, nil, true, evs))
	case xen.XSRm:
		a, ok := oneArg(p)
		if !ok {
			return nil, xen.EINVAL
		}
		path, e := canonical(c.domid, a)
		if e != 0 {
			return nil, e
		}
		return okOr(c.rm(v, path, evs))
	case xen.XSSetPerms:
		return okOr(c.setPerms(v, p, evs))
	case xen.XSGetPerms:
		a, ok := oneArg(p)
		if !ok {
			return nil, xen.EINVAL
		}
		if len(a) > 0 && a[0] == '@' {
			ps, ok := c.s.special[a]
			if !ok || !validSpecial(a) {
				return nil, xen.ENOENT
			}
			if c.access(ps)&PermRead == 0 {
				return nil, xen.EACCES
			}
			return encodePerms(nil, ps), 0
		}
		path, e := canonical(c.domid, a)
		if e != 0 {
			return nil, e
		}
		n, e := c.lookup(v, path, PermRead)
		if e != 0 {
			return nil, e
		}
		return encodePerms(nil, n.perms), 0
	}
	// READ, DIRECTORY, DIRECTORY_PART: the path is the first argument.
	var a, off string
	if typ == xen.XSDirectoryPart {
		as, ok := args(p, 2)
		if !ok {
			return nil, xen.EINVAL
		}
		a, off = as[0], as[1]
	} else {
		var ok bool
		if a, ok = oneArg(p); !ok {
			return nil, xen.EINVAL
		}
	}
	path, e := canonical(c.domid, a)
	if e != 0 {
		return nil, e
	}
	n, e := c.lookup(v, path, PermRead)
	if e != 0 {
		return nil, e
	}
	switch typ {
	case xen.XSRead:
		return append([]byte{}, n.value...), 0
	case xen.XSDirectory:
		out := []byte{}
		for _, ch := range n.children {
			out = append(append(out, ch...), 0)
		}
		return out, 0
	}
	return directoryPart(n, off)
}

func okOr(e xen.Errno) ([]byte, xen.Errno) {
	if e != 0 {
		return nil, e
	}
	return okPayload, 0
}

// directoryPart answers DIRECTORY_PART: "<gen>\0" then the children list
// from byte offset off (which must fall on a name) as far as whole names
// fit, then an empty string if the list ended.
func directoryPart(n *node, off string) ([]byte, xen.Errno) {
	o, err := strconv.ParseUint(off, 10, 32)
	if err != nil {
		return nil, xen.EINVAL
	}
	out := append(strconv.AppendUint(nil, n.gen, 10), 0)
	pos := uint64(0)
	i := 0
	for ; i < len(n.children) && pos < o; i++ {
		pos += uint64(len(n.children[i])) + 1
	}
	if pos != o {
		return nil, xen.EINVAL
	}
	for ; i < len(n.children); i++ {
		ch := n.children[i]
		if len(out)+len(ch)+2 > xen.XenstorePayloadMax { // keep room for the end marker
			return out, 0
		}
		out = append(append(out, ch...), 0)
	}
	return append(out, 0), 0
}

// charge checks that the connection's domain may take entries more nodes
// and b more bytes (counting what its open transaction v.tx already
// added).
func (c *Conn) charge(v *view, entries, b int) xen.Errno {
	if c.priv {
		return 0
	}
	l := c.s.limits(c)
	d := c.s.dom(c.domid)
	ent, by := d.entries, d.bytes+d.watchBytes+d.txBytes
	if v.tx != nil {
		if u := v.tx.delta[c.domid]; u != nil {
			ent += u.Entries
			by += u.NodeBytes
		}
	}
	if entries > 0 && l.Entries > 0 && ent+entries > l.Entries {
		return xen.ENOSPC
	}
	if b > 0 && l.Memory > 0 && by+b > l.Memory {
		return xen.ENOMEM
	}
	return 0
}

// write is WRITE (value) and MKDIR (mkdir: leave an existing node alone).
// Missing parents are created with empty values, inheriting the nearest
// existing ancestor's permissions; an unprivileged creator owns them
// (xenstored's construct_node). Creating needs write access to that
// ancestor.
func (c *Conn) write(v *view, path string, value []byte, mkdir bool, evs *[]event) xen.Errno {
	if l := c.s.limits(c); !c.priv && l.EntrySize > 0 && len(value) > l.EntrySize {
		return xen.ENOSPC
	}
	if n := v.get(path); n != nil {
		if c.access(n.perms)&PermWrite == 0 {
			return xen.EACCES
		}
		if mkdir {
			return 0
		}
		nn := n.clone()
		nn.value = append([]byte(nil), value...)
		if n.owner() == c.domid {
			if e := c.charge(v, 0, len(value)-len(n.value)); e != 0 {
				return e
			}
		}
		v.set(path, nn)
		*evs = append(*evs, event{path: path, perms: nn.perms})
		return 0
	}
	// Find the nearest existing ancestor and the chain to create.
	chain := []string{path}
	anc := parentOf(path)
	var an *node
	for {
		if an = v.get(anc); an != nil {
			break
		}
		chain = append(chain, anc)
		anc = parentOf(anc)
	}
	if c.access(an.perms)&PermWrite == 0 {
		return xen.EACCES
	}
	perms := append([]Perm(nil), an.perms...)
	if !c.priv {
		perms[0].Domid = c.domid
	}
	cost := 0
	for i, p := range chain {
		cost += nodeOverhead + len(p) + 8*len(perms) + len(baseOf(p)) + childOverhead
		if i == 0 {
			cost += len(value)
		}
	}
	if e := c.charge(v, len(chain), cost); e != 0 {
		return e
	}
	v.set(anc, an.withChild(baseOf(chain[len(chain)-1])))
	for i := len(chain) - 1; i >= 0; i-- {
		n := &node{perms: perms}
		if i > 0 {
			n = n.withChild(baseOf(chain[i-1]))
		} else {
			n.value = append([]byte(nil), value...)
		}
		v.set(chain[i], n)
	}
	*evs = append(*evs, event{path: path, perms: perms})
	return 0
}

// rm is RM: remove path and its subtree. An absent path is fine if its
// parent exists (xenstore.txt); the root cannot go.
func (c *Conn) rm(v *view, path string, evs *[]event) xen.Errno {
	if path == "/" {
		return xen.EINVAL
	}
	n := v.get(path)
	if n == nil {
		if _, e := c.lookup(v, parentOf(path), PermRead); e != 0 {
			return e
		}
		return 0
	}
	if c.access(n.perms)&PermWrite == 0 {
		return xen.EACCES
	}
	*evs = v.removeTree(path, *evs)
	return 0
}

// setPerms is SET_PERMS: path, then one or more permission strings. Only
// the owner (or a privileged connection) may set them, and an
// unprivileged owner may not give the node away (EPERM, as xenstored).
func (c *Conn) setPerms(v *view, p []byte, evs *[]event) xen.Errno {
	as, ok := args(p, 2)
	if !ok {
		return xen.EINVAL
	}
	var ps []Perm
	for _, a := range as[1:] {
		if a == "" { // a trailing reserved empty string
			continue
		}
		pe, e := parsePerm(a)
		if e != 0 {
			return e
		}
		ps = append(ps, pe)
	}
	if len(ps) == 0 {
		return xen.EINVAL
	}
	if l := c.s.limits(c); !c.priv && l.Perms > 0 && len(ps) > l.Perms {
		return xen.ENOSPC
	}
	if a := as[0]; len(a) > 0 && a[0] == '@' {
		old, ok := c.s.special[a]
		if !ok || !validSpecial(a) {
			return xen.ENOENT
		}
		if c.access(old)&(PermWrite|permOwner) != PermWrite|permOwner {
			return xen.EACCES
		}
		if !c.priv && ps[0].Domid != old[0].Domid {
			return xen.EPERM
		}
		if v.tx != nil {
			return xen.EINVAL // special nodes live outside transactions
		}
		c.s.special[a] = ps
		return 0
	}
	path, e := canonical(c.domid, as[0])
	if e != 0 {
		return e
	}
	n, e := c.lookup(v, path, PermWrite|permOwner)
	if e != 0 {
		return e
	}
	if !c.priv && ps[0].Domid != n.owner() {
		return xen.EPERM
	}
	if e := c.charge(v, 0, 8*(len(ps)-len(n.perms))); e != 0 {
		return e
	}
	nn := n.clone()
	nn.perms = ps
	v.set(path, nn)
	// Watchers that could read it before or can now both hear of it.
	*evs = append(*evs, event{path: path, perms: ps, alt: n.perms})
	return 0
}
