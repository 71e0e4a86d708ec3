package xenstore

import "gozen/abi/xen"

// transaction is one open XS_TRANSACTION: a private overlay on the live
// store and the generation of every live node it looked at.
//
// Reads see the overlay first, then the live store; the first look at a
// live path records its generation (0 if absent). TRANSACTION_END "T"
// commits only if every recorded path still has that generation, else
// EAGAIN: any commit or direct write to a node the transaction read or
// wrote makes it fail, as in xenstored since Xen 4.9 (which also tracks
// accessed nodes rather than copying the database).
type transaction struct {
	id       uint32
	dom      *domain
	accessed map[string]uint64
	overlay  map[string]*node // nil value: deleted in the transaction
	delta    map[uint32]*Usage
	bytes    int // memory charged to dom.txBytes
	events   []event
	evIndex  map[eventKey]int
	failed   xen.Errno // set once the transaction outgrew its node quota
}

type eventKey struct {
	path  string
	exact bool
}

// event is one change the watches see: a node path, the permissions it had
// (who may see the event), and whether only a watch on exactly this path
// matches (a descendant removed along with an ancestor).
type event struct {
	path  string
	perms []Perm
	alt   []Perm // if set, watchers allowed by either list see it (SET_PERMS)
	exact bool
}

// view is the store as one request sees it: live, or through a
// transaction.
type view struct {
	s  *Server
	tx *transaction
}

func genOf(n *node) uint64 {
	if n == nil {
		return 0
	}
	return n.gen
}

func (v *view) get(p string) *node {
	if v.tx == nil {
		return v.s.nodes[p]
	}
	if n, ok := v.tx.overlay[p]; ok {
		return n
	}
	n := v.s.nodes[p]
	if _, ok := v.tx.accessed[p]; !ok {
		v.tx.accessed[p] = genOf(n)
		v.tx.charge(len(p) + txOverhead)
	}
	return n
}

// set replaces the node at p by n (nil deletes it).
func (v *view) set(p string, n *node) {
	old := v.get(p)
	if v.tx == nil {
		v.s.setLive(p, old, n)
		return
	}
	t := v.tx
	if prev, ok := t.overlay[p]; ok && prev != nil {
		t.charge(-prev.cost(p))
	}
	t.overlay[p] = n
	if n != nil {
		t.charge(n.cost(p))
	}
	if old != nil {
		u := t.usage(old.owner())
		u.Entries--
		u.NodeBytes -= old.cost(p)
	}
	if n != nil {
		u := t.usage(n.owner())
		u.Entries++
		u.NodeBytes += n.cost(p)
	}
}

// doom fails the transaction with e and frees what it holds.
func (t *transaction) doom(e xen.Errno) {
	t.failed = e
	t.charge(-t.bytes)
	t.accessed, t.overlay, t.events, t.evIndex = nil, nil, nil, nil
	t.delta = map[uint32]*Usage{}
}

func (t *transaction) charge(b int) {
	t.bytes += b
	t.dom.txBytes += b
}

func (t *transaction) usage(id uint32) *Usage {
	u := t.delta[id]
	if u == nil {
		u = &Usage{}
		t.delta[id] = u
	}
	return u
}

// size is what the transaction-nodes quota counts.
func (t *transaction) size() int { return len(t.accessed) }

// addEvent queues ev for the commit, once per path: firing a watch twice
// for one commit tells the client nothing new, and this keeps the list as
// bounded as the accessed set.
func (t *transaction) addEvent(ev event) {
	k := eventKey{ev.path, ev.exact}
	if i, ok := t.evIndex[k]; ok {
		t.events[i] = ev
		return
	}
	t.evIndex[k] = len(t.events)
	t.events = append(t.events, ev)
	t.charge(len(ev.path) + txOverhead)
}

// removeTree deletes p and everything below it, unlinks p from its parent,
// and appends the events the removal causes: p for watches on p or above,
// and each removed descendant for a watch on exactly that node
// (xenstored's fire_watches with and without "exact").
func (v *view) removeTree(p string, evs []event) []event {
	n := v.get(p)
	if n == nil {
		return evs
	}
	evs = append(evs, event{path: p, perms: n.perms})
	var walk func(string, *node)
	walk = func(q string, m *node) {
		for _, ch := range m.children {
			cp := childPath(q, ch)
			if cn := v.get(cp); cn != nil {
				walk(cp, cn)
				evs = append(evs, event{path: cp, perms: cn.perms, exact: true})
				v.set(cp, nil)
			}
		}
	}
	walk(p, n)
	v.set(p, nil)
	if p != "/" {
		pp := parentOf(p)
		if parent := v.get(pp); parent != nil {
			v.set(pp, parent.withoutChild(baseOf(p)))
		}
	}
	return evs
}

// commit applies t to the live store, or fails with EAGAIN if a node it
// saw changed since, or ENOSPC/ENOMEM if the result would break the
// committing domain's quotas.
func (s *Server) commit(c *Conn, t *transaction) xen.Errno {
	if t.failed != 0 {
		return t.failed
	}
	for p, g := range t.accessed {
		if genOf(s.nodes[p]) != g {
			return xen.EAGAIN
		}
	}
	if !c.priv {
		l := s.limits(c)
		d, u := t.dom, t.usage(c.domid)
		if u.Entries > 0 && l.Entries > 0 && d.entries+u.Entries > l.Entries {
			return xen.ENOSPC
		}
		if u.NodeBytes > 0 && l.Memory > 0 && d.bytes+d.watchBytes+u.NodeBytes > l.Memory {
			return xen.ENOMEM
		}
	}
	for p, n := range t.overlay {
		old := s.nodes[p]
		if old == nil && n == nil {
			continue
		}
		s.setLive(p, old, n) // overlay nodes are the transaction's own copies

	}
	s.fire(t.events)
	return 0
}
