// Package xs is a xenstore client: requests and replies in Xen's wire
// format (xs_wire.h, abi/xen) over any byte stream. On a Linux guest the
// stream is /dev/xen/xenbus, which forwards each whole message to the
// guest's xenstore ring and queues the reply for read(2), as Xen's
// libxenstore uses it when there is no xenstored socket
// (tools/libs/store/xs.c, xs_domain_open). It imports only abi/xen, so it
// builds for dom0 tools and domU utilities alike and is tested on the host
// against package xenstore's server.
//
// A Client sends one request at a time and waits for its reply; it sets no
// watches, so every message it reads is the reply to its request. Watches
// go on a connection of their own (Watcher).
package xs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"

	"gozen/abi/xen"
)

// DevicePath is the xenbus device Linux offers to userspace.
const DevicePath = "/dev/xen/xenbus"

// Error is a xenstore error reply: the errno name xenstored sent, such as
// "EACCES" or "ENOENT".
type Error struct {
	Op   string // the request type, such as "READ"
	Path string
	Name string
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %s", e.Op, e.Path, e.Name) }

// IsErrno reports whether err is a xenstore error reply named name.
func IsErrno(err error, name string) bool {
	var e *Error
	return errors.As(err, &e) && e.Name == name
}

// Client talks to xenstore over rw.
type Client struct {
	rw    io.ReadWriter
	r     *bufio.Reader // replies, read from rw through a buffer
	reqID uint32
	// stream: rw takes several messages in one write (a socket).
	// Linux's /dev/xen/xenbus does not: it handles the first message of
	// a write and drops the rest.
	stream bool
}

// New returns a client over rw (an open /dev/xen/xenbus, xenstored's
// socket, or a test pipe).
func New(rw io.ReadWriter) *Client {
	_, stream := rw.(net.Conn)
	return &Client{rw: rw, r: bufio.NewReaderSize(rw, 8<<10), stream: stream}
}

// call sends a request of type typ with payload and returns the reply's
// payload, or an *Error for an XS_ERROR reply.
func (c *Client) call(typ uint32, path string, payload []byte) ([]byte, error) {
	// One write a message: the xenbus device takes a message across
	// writes too, but a single write keeps it whole on any stream.
	if err := c.send(typ, path, payload); err != nil {
		return nil, err
	}
	return c.reply(typ, path)
}

// send writes one request.
func (c *Client) send(typ uint32, path string, payload []byte) error {
	if err := checkSize(typ, path, payload); err != nil {
		return err
	}
	if _, err := c.rw.Write(c.encode(nil, typ, payload)); err != nil {
		return fmt.Errorf("xenstore %s %s: %w", xen.XSTypeName(typ), path, err)
	}
	return nil
}

// checkSize refuses a request whose payload is over XENSTORE_PAYLOAD_MAX,
// before anything is sent.
func checkSize(typ uint32, path string, payload []byte) error {
	if len(payload) > xen.XenstorePayloadMax {
		return fmt.Errorf("xenstore %s %s: request of %d bytes is over the %d-byte limit",
			xen.XSTypeName(typ), path, len(payload), xen.XenstorePayloadMax)
	}
	return nil
}

// encode appends a request of type typ with payload to b, numbering it.
func (c *Client) encode(b []byte, typ uint32, payload []byte) []byte {
	c.reqID++
	var h [xen.XsdSockmsgSize]byte
	(&xen.XsdSockmsg{Type: typ, ReqID: c.reqID, Len: uint32(len(payload))}).Encode(h[:])
	return append(append(b, h[:]...), payload...)
}

// Write is one node for WriteBatch: its value and, unless Perms is nil,
// its permission list (as SetPerms takes it).
type Write struct {
	Path, Value string
	Perms       []string
}

// batchWindow bounds the requests WriteBatch has in flight: well under
// xenstored's limit of unread replies a connection may have.
const batchWindow = 16

// WriteBatch writes the nodes in order, each XS_WRITE followed by its
// XS_SET_PERMS, without waiting for each reply before the next request
// (up to batchWindow at a time): a builder's dozens of nodes cost a few
// round trips to xenstored instead of one each. xenstored answers a
// connection's requests in order, so reply i is request i's. The first
// error is returned once the requests sent have been answered; the
// requests after a failed one were still carried out.
func (c *Client) WriteBatch(ws []Write) error {
	type req struct {
		typ  uint32
		path string
		body []byte
	}
	var reqs []req
	for _, w := range ws {
		reqs = append(reqs, req{xen.XSWrite, w.Path, append(append([]byte(w.Path), 0), w.Value...)})
		if w.Perms != nil {
			reqs = append(reqs, req{xen.XSSetPerms, w.Path, nul(append([]string{w.Path}, w.Perms...)...)})
		}
	}
	var first error
	for _, r := range reqs {
		if err := checkSize(r.typ, r.path, r.body); err != nil {
			return err
		}
	}
	for len(reqs) > 0 {
		n := min(len(reqs), batchWindow)
		sent := 0
		if c.stream {
			// A window's requests in one write: the daemon reads them
			// together and answers them in one write.
			var b []byte
			for _, r := range reqs[:n] {
				b = c.encode(b, r.typ, r.body)
			}
			if _, err := c.rw.Write(b); err != nil {
				return fmt.Errorf("xenstore %s %s: %w", xen.XSTypeName(reqs[0].typ), reqs[0].path, err)
			}
			sent = n
		}
		for _, r := range reqs[sent:n] {
			if err := c.send(r.typ, r.path, r.body); err != nil {
				if first == nil {
					first = err
				}
				break
			}
			sent++
		}
		for _, r := range reqs[:sent] {
			if _, err := c.reply(r.typ, r.path); err != nil && first == nil {
				first = err
			}
		}
		if sent < n {
			return first
		}
		reqs = reqs[n:]
	}
	return first
}

// reply reads the reply to a request of type typ.
func (c *Client) reply(typ uint32, path string) ([]byte, error) {
	h, body, err := readMsg(c.r)
	if err != nil {
		return nil, fmt.Errorf("xenstore %s %s: reading the reply: %w", xen.XSTypeName(typ), path, err)
	}
	if h.Type == xen.XSError {
		return nil, &Error{Op: xen.XSTypeName(typ), Path: path, Name: strings.TrimRight(string(body), "\x00")}
	}
	if h.Type != typ {
		return nil, fmt.Errorf("xenstore %s %s: reply of type %s", xen.XSTypeName(typ), path, xen.XSTypeName(h.Type))
	}
	return body, nil
}

func nul(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = append(append(b, s...), 0)
	}
	return b
}

// Read returns the value of path (XS_READ). A relative path is under the
// caller's /local/domain/<id>.
func (c *Client) Read(path string) (string, error) {
	b, err := c.call(xen.XSRead, path, nul(path))
	return string(b), err
}

// Write sets path to value, creating missing parents (XS_WRITE).
func (c *Client) Write(path, value string) error {
	_, err := c.call(xen.XSWrite, path, append(append([]byte(path), 0), value...))
	return err
}

// Mkdir creates path with an empty value if it does not exist (XS_MKDIR).
func (c *Client) Mkdir(path string) error {
	_, err := c.call(xen.XSMkdir, path, nul(path))
	return err
}

// Rm removes path and everything below it (XS_RM).
func (c *Client) Rm(path string) error {
	_, err := c.call(xen.XSRm, path, nul(path))
	return err
}

// Directory lists the children of path (XS_DIRECTORY), in the server's
// order.
func (c *Client) Directory(path string) ([]string, error) {
	b, err := c.call(xen.XSDirectory, path, nul(path))
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

// Perms returns path's permission list in wire form ("n0", "r5", ...;
// the first names the owner) (XS_GET_PERMS).
func (c *Client) Perms(path string) ([]string, error) {
	b, err := c.call(xen.XSGetPerms, path, nul(path))
	if err != nil {
		return nil, err
	}
	return splitNUL(b), nil
}

// SetPerms sets path's permission list ("n0", "r5", ...; the first names
// the owner) (XS_SET_PERMS).
func (c *Client) SetPerms(path string, perms ...string) error {
	_, err := c.call(xen.XSSetPerms, path, nul(append([]string{path}, perms...)...))
	return err
}

// DomainPath returns the home path of domain domid (XS_GET_DOMAIN_PATH).
func (c *Client) DomainPath(domid uint32) (string, error) {
	s := fmt.Sprint(domid)
	b, err := c.call(xen.XSGetDomainPath, s, nul(s))
	return strings.TrimRight(string(b), "\x00"), err
}

func splitNUL(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Node is one entry of a listing.
type Node struct {
	Path  string // relative to the listed root, "" for the root
	Depth int
	Value string
	Perms []string // only with perms requested
	Err   error    // why the value or children could not be read
}

// Walk lists path and everything below it, depth first with children
// sorted (as xenstore-ls prints them), reading each node's value and,
// with perms, its permissions. A node that cannot be read is reported
// with Err and its subtree skipped; the walk goes on.
func (c *Client) Walk(path string, perms bool, f func(Node)) {
	c.walk(path, "", 0, perms, f)
}

func (c *Client) walk(abs, rel string, depth int, perms bool, f func(Node)) {
	n := Node{Path: rel, Depth: depth}
	n.Value, n.Err = c.Read(abs)
	if n.Err == nil && perms {
		n.Perms, n.Err = c.Perms(abs)
	}
	var kids []string
	if n.Err == nil {
		kids, n.Err = c.Directory(abs)
	}
	f(n)
	if n.Err != nil {
		return
	}
	sort.Strings(kids)
	for _, k := range kids {
		child := k
		if rel != "" {
			child = rel + "/" + k
		}
		c.walk(strings.TrimSuffix(abs, "/")+"/"+k, child, depth+1, perms, f)
	}
}

// Introduce tells xenstored about domain domid's ring: guest frame gfn
// (or grant 1) and event channel port (XS_INTRODUCE; dom0 only). The
// toolstack sends it once the domain is built.
func (c *Client) Introduce(domid uint32, gfn uint64, port uint32) error {
	d := fmt.Sprint(domid)
	_, err := c.call(xen.XSIntroduce, d, nul(d, fmt.Sprint(gfn), fmt.Sprint(port)))
	return err
}

// Release tells xenstored that domain domid is gone (XS_RELEASE; dom0
// only): it drops the domain's connection, watches and transactions.
func (c *Client) Release(domid uint32) error {
	d := fmt.Sprint(domid)
	_, err := c.call(xen.XSRelease, d, nul(d))
	return err
}
