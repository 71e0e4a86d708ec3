package xenstore

import (
	"errors"
	"sort"
	"sync"
)

// Limits are the per-domain quotas of an unprivileged (or privileged)
// domain, after xenstored's quota options. A zero field means no limit.
type Limits struct {
	Entries          int // nodes a domain may own (xenstored -E, quota "nodes"): ENOSPC beyond
	EntrySize        int // bytes of one node's value (-S, "node-size"): ENOSPC beyond
	Perms            int // entries of one permission list (-A, "permissions"): ENOSPC beyond
	Watches          int // watches of one domain (-W, "watches"): E2BIG beyond
	Transactions     int // open transactions of one domain (-t, "transactions"): ENOSPC beyond
	TransactionNodes int // nodes one transaction may touch ("transaction-nodes"): ENOSPC beyond
	Memory           int // bytes of owned nodes, watches and transaction copies ("memory"): ENOMEM beyond
	Outstanding      int // replies queued on one connection before its ring stops taking requests ("outstanding")
	EventBytes       int // bytes of watch events queued on one connection; later events are dropped
}

// DefaultLimits are the limits of an unprivileged domain: xenstored's
// defaults for the counts (1000 nodes of at most 2048 bytes, 5 permission
// entries, 128 watches, 10 transactions of 1024 nodes, 20 outstanding
// requests) and GoZen's own bound on memory, so that one domain can pin at
// most a few MiB of the host's heap.
var DefaultLimits = Limits{
	Entries:          1000,
	EntrySize:        2048,
	Perms:            5,
	Watches:          128,
	Transactions:     10,
	TransactionNodes: 1024,
	Memory:           2 << 20,
	Outstanding:      20,
	EventBytes:       64 << 10,
}

// PrivilegedLimits are the limits of a privileged domain (dom0): none on
// the store, bounded queues only.
var PrivilegedLimits = Limits{
	Outstanding: 1024,
	EventBytes:  4 << 20,
}

// Hooks is what a host provides. The Server calls these with its mutex
// held: they must not call back into the Server, its Conns or Rings.
type Hooks interface {
	// Introduce is called for XS_INTRODUCE of a new domain from a
	// privileged connection: the host maps the ring page gfn of c's domain,
	// binds event channel port and attaches c to that ring (NewRing). An
	// error fails the request with EINVAL and discards c.
	Introduce(c *Conn, gfn uint64, port uint32) error
	// Release is called for XS_RELEASE: the host unmaps the domain's ring.
	// The Server then removes the domain as RemoveDomain does.
	Release(domid uint32)
	// Notify is called when watch events were queued on c outside a call
	// on c itself: the host should flush c (Ring.Service) soon.
	Notify(c *Conn)
}

// Errors of Process for messages that break the protocol; a host drops
// (or marks broken) the connection that sent them.
var (
	ErrShort   = errors.New("xenstore: message shorter than its header")
	ErrTooLong = errors.New("xenstore: payload longer than XENSTORE_PAYLOAD_MAX")
	ErrLength  = errors.New("xenstore: message length does not match its header")
	ErrClosed  = errors.New("xenstore: connection closed")
)

// node is one store entry. Nodes are never modified once stored (copy on
// write): a transaction may hold a pointer to a live node while the live
// store moves on.
type node struct {
	value      []byte
	perms      []Perm // never empty: perms[0] is the owner
	children   []string
	childBytes int    // sum of len(child)+childOverhead, cached for cost
	gen        uint64 // Server.gen when this version was stored live; 0 in a transaction
}

const (
	nodeOverhead  = 64 // bookkeeping bytes charged per node
	childOverhead = 16 // per child name
	watchOverhead = 64
	txOverhead    = 24 // per path a transaction records
)

func (n *node) owner() uint32 { return n.perms[0].Domid }

// cost is what n at path p counts against its owner's memory quota.
func (n *node) cost(p string) int {
	return nodeOverhead + len(p) + len(n.value) + 8*len(n.perms) + n.childBytes
}

func (n *node) clone() *node {
	c := *n
	c.gen = 0
	return &c
}

func (n *node) withChild(name string) *node {
	c := n.clone()
	c.children = append(append(make([]string, 0, len(n.children)+1), n.children...), name)
	c.childBytes += len(name) + childOverhead
	return c
}

func (n *node) withoutChild(name string) *node {
	c := n.clone()
	c.children = make([]string, 0, len(n.children))
	for _, ch := range n.children {
		if ch != name {
			c.children = append(c.children, ch)
		} else {
			c.childBytes -= len(name) + childOverhead
		}
	}
	return c
}

// domain is the Server's record of a domain: what it owns and uses.
type domain struct {
	id         uint32
	introduced bool // connected (Connect or XS_INTRODUCE) and not yet released
	shutdown   bool // @releaseDomain fired for its shutdown (until RESUME)
	target     uint32
	hasTarget  bool
	entries    int // live nodes it owns
	bytes      int // their cost
	watches    int
	watchBytes int
	txs        int
	txBytes    int
}

// Usage is what a domain currently holds, as the quotas count it.
type Usage struct {
	Entries, NodeBytes, Watches, WatchBytes, Transactions, TransactionBytes int
}

// Server is a xenstore: the store, its watches and transactions, and the
// connections of the domains it serves. All methods of Server, Conn and
// Ring take the one mutex, so a host may call them from any goroutine;
// hv calls them from one.
type Server struct {
	mu      sync.Mutex
	hooks   Hooks
	nodes   map[string]*node
	gen     uint64
	doms    map[uint32]*domain
	conns   []*Conn // in connection order, so events go out deterministically
	special map[string][]Perm
	unpriv  Limits
	priv    Limits

	current *Conn   // the connection whose request is being handled
	notify  []*Conn // others that got events meanwhile
}

// NewServer returns a store holding "/", "/local", "/local/domain" and
// "/tool", owned by dom0 with no access for others (xenstored starts with
// "/" and "/tool"; GoZen also makes the parents of the domains' homes, so
// that a host can create /local/domain/<id> before any toolstack runs). hooks may be nil; XS_INTRODUCE then fails with
// ENOSYS. unpriv and priv are the limits of unprivileged and privileged
// domains.
func NewServer(hooks Hooks, unpriv, priv Limits) *Server {
	s := &Server{
		hooks:   hooks,
		nodes:   map[string]*node{},
		doms:    map[uint32]*domain{},
		special: map[string][]Perm{},
		unpriv:  unpriv,
		priv:    priv,
	}
	root := []Perm{{0, PermNone}}
	s.setLive("/", nil, &node{perms: root})
	for _, p := range []string{"/local", "/local/domain", "/tool"} {
		s.setLive(parentOf(p), s.nodes[parentOf(p)], s.nodes[parentOf(p)].withChild(baseOf(p)))
		s.setLive(p, nil, &node{perms: root})
	}
	s.special[IntroduceDomain] = root
	s.special[ReleaseDomain] = root
	return s
}

func (s *Server) dom(id uint32) *domain {
	d := s.doms[id]
	if d == nil {
		d = &domain{id: id}
		s.doms[id] = d
	}
	return d
}

// setLive replaces the live node at p (old, possibly nil) by n (nil to
// delete), keeping the owners' counts right. Every change to the live store
// goes through here.
func (s *Server) setLive(p string, old, n *node) {
	if old != nil {
		d := s.dom(old.owner())
		d.entries--
		d.bytes -= old.cost(p)
	}
	if n == nil {
		delete(s.nodes, p)
		return
	}
	s.gen++
	n.gen = s.gen
	s.nodes[p] = n
	d := s.dom(n.owner())
	d.entries++
	d.bytes += n.cost(p)
}

// Connect registers a connection for domain domid (privileged or not) and
// marks the domain introduced. hv connects each domain it builds; a dom0
// daemon connects its local clients as privileged dom0 connections.
func (s *Server) Connect(domid uint32, privileged bool) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connect(domid, privileged)
}

func (s *Server) connect(domid uint32, privileged bool) *Conn {
	c := &Conn{s: s, domid: domid, priv: privileged, txs: map[uint32]*transaction{}}
	s.conns = append(s.conns, c)
	s.dom(domid).introduced = true
	return c
}

func (s *Server) limits(c *Conn) *Limits {
	if c.priv {
		return &s.priv
	}
	return &s.unpriv
}

// RemoveDomain forgets domain domid, as xenstored does when a domain dies
// or is released: its connections are closed (with their watches and
// transactions), the nodes it owns are deleted (watches on them fire),
// permission entries naming it are dropped so that a later domain reusing
// the id gains nothing, and @releaseDomain fires. It reports whether the
// domain was known.
func (s *Server) RemoveDomain(domid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.removeDomain(domid)
	s.flushNotify()
	return ok
}

func (s *Server) removeDomain(domid uint32) bool {
	d := s.doms[domid]
	if d == nil {
		return false
	}
	for _, c := range append([]*Conn(nil), s.conns...) {
		if c.domid == domid {
			s.closeConn(c)
		}
	}
	// Delete what it owns, shallowest first so that a subtree goes at once.
	var owned []string
	for p, n := range s.nodes {
		if n.owner() == domid && p != "/" {
			owned = append(owned, p)
		}
	}
	sort.Slice(owned, func(i, j int) bool {
		if len(owned[i]) != len(owned[j]) {
			return len(owned[i]) < len(owned[j])
		}
		return owned[i] < owned[j]
	})
	v := &view{s: s}
	var evs []event
	for _, p := range owned {
		if s.nodes[p] != nil {
			evs = v.removeTree(p, evs)
		}
	}
	// Drop ACL entries that name it; an owner entry cannot name it any
	// more (those nodes are gone).
	for p, n := range s.nodes {
		keep := n.perms[:1:1]
		for _, e := range n.perms[1:] {
			if e.Domid != domid {
				keep = append(keep, e)
			}
		}
		if len(keep) != len(n.perms) {
			nn := n.clone()
			nn.perms = keep
			s.setLive(p, n, nn)
		}
	}
	for _, t := range s.doms {
		if t.hasTarget && t.target == domid {
			t.hasTarget = false
		}
	}
	delete(s.doms, domid)
	s.fire(evs)
	s.fireSpecial(ReleaseDomain)
	return true
}

// ReleaseDomain does what XS_RELEASE does for an introduced domain that
// died: the host's Release hook drops its ring (under the Server's mutex,
// so no Service touches the page meanwhile), then RemoveDomain's cleanup
// (connections, watches, transactions, owned nodes, permission entries;
// @releaseDomain fires). xenstored calls it when VIRQ_DOM_EXC shows a
// domain gone or dying (domain_cleanup). It reports whether the domain was
// introduced.
func (s *Server) ReleaseDomain(domid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doms[domid]
	if d == nil || !d.introduced || domid == 0 {
		return false
	}
	s.releaseDomain(domid)
	s.flushNotify()
	return true
}

func (s *Server) releaseDomain(domid uint32) {
	if s.hooks != nil {
		s.hooks.Release(domid)
	}
	s.removeDomain(domid)
}

// IntroducedDomains returns the IDs of the introduced domains (dom0's own
// connection aside), in no particular order.
func (s *Server) IntroducedDomains() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []uint32
	for id, d := range s.doms {
		if d.introduced && id != 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// DomainShutdown tells the Server that domain domid shut down (but still
// exists): @releaseDomain fires once, and again only after XS_RESUME, as
// xenstored's domain_cleanup does.
func (s *Server) DomainShutdown(domid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doms[domid]
	if d == nil || d.shutdown {
		return
	}
	d.shutdown = true
	s.fireSpecial(ReleaseDomain)
	s.flushNotify()
}

// DomainUsage returns what domain domid holds, as its quotas count it.
func (s *Server) DomainUsage(domid uint32) Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doms[domid]
	if d == nil {
		return Usage{}
	}
	return Usage{d.entries, d.bytes, d.watches, d.watchBytes, d.txs, d.txBytes}
}

// Introduced reports whether domain domid is connected (IS_DOMAIN_INTRODUCED).
func (s *Server) Introduced(domid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.doms[domid]
	return d != nil && d.introduced
}

// NodeCount is the number of nodes in the live store.
func (s *Server) NodeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nodes)
}

func (s *Server) closeConn(c *Conn) {
	if c.closed {
		return
	}
	c.resetWatches()
	c.closed = true
	c.out, c.outOff, c.outReplies, c.outEventBytes = nil, 0, 0, 0
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			break
		}
	}
}

// flushNotify tells the host about connections that got output while
// another connection's request was handled.
func (s *Server) flushNotify() {
	pending := s.notify
	s.notify = nil
	for _, c := range pending {
		c.notifyPending = false
		if s.hooks != nil && !c.closed {
			s.hooks.Notify(c)
		}
	}
}
