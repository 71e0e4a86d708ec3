// Package xenstore is a xenstore server core for GoZen: the store, watches,
// transactions, permissions, quotas, the wire protocol of Xen's
// xen/include/public/io/xs_wire.h and the shared-page ring transport,
// written from Xen's docs/misc/xenstore.txt and the behaviour of
// tools/xenstored. It imports only the standard library and gozen/abi/xen,
// so it runs under `go test` on the host and can be hosted two ways, as
// Xen's one xenstored core is hosted by posix.c or minios.c: by hv, serving
// each domain's ring page through its event channel, or by a dom0 daemon
// serving rings it mapped and local clients.
//
// # Model
//
// A Server holds the store and the domains it knows. Connect gives a Conn
// for a domain (privileged or not); a host feeds it whole messages with
// Conn.Process and takes replies and watch events with Conn.ReadOutput, or
// attaches it to a ring page with NewRing and calls Ring.Service on every
// event-channel notification (and after Hooks.Notify), notifying the guest
// when Service says so.
//
// # Hosting in hv
//
// hv (hv/xen_store.go) keeps one Server and a privileged dom0 Conn of its
// own. For each domain it builds it writes libxl's nodes through that
// Conn, then sends XS_INTRODUCE with the domain's ring frame and its port
// (bound to hv); Hooks.Introduce attaches the Ring. A notification on the
// port runs one Ring.Service on hv's run loop; Hooks.Notify only records
// the Conn, and hv services those rings once the call into the package
// has returned (never from inside a hook), with a budget per
// notification. DomainShutdown and RemoveDomain report a domain's
// shutdown and the release of its memory. Hooks is what the host provides: INTRODUCE (map a
// domain's ring and bind its port), RELEASE, and Notify (events were queued
// on a Conn by someone else's request). RemoveDomain and DomainShutdown are
// how the host reports a domain's death or shutdown.
//
// # Hosting in dom0
//
// dom0/cmd/xenstored keeps one Server too. dom0's own kernel ring
// (XS_LOCAL) and its socket clients are privileged dom0 Conns; its
// Hooks.Introduce maps the introduced domain's grant 1 and binds its
// store port; a socket client that goes is closed with Conn.Close. hv
// then serves only the domains it builds itself.
//
// # What is implemented
//
// READ, WRITE (creating missing parents), MKDIR, RM (recursive),
// DIRECTORY, DIRECTORY_PART (with the node's generation count), GET_PERMS,
// SET_PERMS, WATCH (which fires once at once, after its OK), UNWATCH,
// RESET_WATCHES, TRANSACTION_START/END, GET_DOMAIN_PATH,
// IS_DOMAIN_INTRODUCED, and for privileged connections INTRODUCE, RELEASE,
// RESUME and SET_TARGET. CONTROL answers EINVAL to privileged connections
// (no commands) and EACCES to others; the types Xen 4.17 does not know
// (GET/SET_FEATURE, GET/SET_QUOTA, the removed RESTRICT) and replies sent
// as requests answer EINVAL. Errors are xs_wire.h's names in an XS_ERROR
// reply; req_id and tx_id are echoed; a reply over XENSTORE_PAYLOAD_MAX
// becomes E2BIG.
//
// # Semantics, and where they differ from xenstored
//
//   - Paths: letters, digits and "-/_@", no "//", no trailing '/', at most
//     3072 bytes absolute or 2048 relative; relative paths are under
//     /local/domain/<domid>. '@' names are only for watches and for the
//     permissions of the two special watches.
//   - Permissions (perm_for_conn): privileged connections and the owner
//     (the first entry) may do anything; otherwise the first ACL entry for
//     the domain (or its SET_TARGET target) decides, else the owner entry's
//     default. Reading below an unreadable node says EACCES, not ENOENT.
//     Creating needs write access to the nearest existing ancestor; new
//     nodes copy its permissions and an unprivileged creator becomes the
//     owner. Only the owner may SET_PERMS, and an unprivileged one may not
//     change the owner (EPERM).
//   - Watches: an event on a path reaches watches on it or above; removing
//     a subtree also fires watches set exactly on removed descendants; a
//     relative watch gets relative paths. Events go only to connections
//     that may read the node (for SET_PERMS, under the old or the new
//     permissions). @introduceDomain and @releaseDomain fire on INTRODUCE
//     and on RELEASE, RemoveDomain or DomainShutdown (once per shutdown
//     until RESUME), to connections that may read the special node: dom0
//     only unless dom0 grants more with SET_PERMS, as in current xenstored.
//   - Transactions: reads and writes go through a private overlay over the
//     live store, recording the generation of every node looked at; the
//     commit fails with EAGAIN if any of them changed (so writes to the
//     same directory conflict, as in xenstored). Watch events of a
//     transaction fire at commit, once per path.
//   - Removing a domain deletes every node it owns (as xenstored since
//     XSA-419) and strips ACL entries naming it, so a later domain with the
//     same id inherits nothing; a domain's own home is usually dom0's and
//     is left for the toolstack to remove.
//   - The store starts with "/", "/local", "/local/domain" and "/tool",
//     owned by dom0.
//
// # Quotas
//
// Limits apply per domain, with separate values for privileged domains
// (PrivilegedLimits: only the queues are bounded). DefaultLimits follow
// xenstored's defaults: 1000 nodes (ENOSPC), values of 2048 bytes
// (ENOSPC), 5 permission entries (ENOSPC), 128 watches (E2BIG), 10
// transactions (ENOSPC) of 1024 nodes each (ENOSPC, and the transaction is
// doomed), 20 outstanding replies. GoZen adds a memory bound (2 MiB:
// node bytes owned, watches, and everything open transactions hold, even
// paths they only read; ENOMEM) and a bound on queued watch events (64
// KiB; later events are dropped and counted, as xenstored drops events for
// a domain over its limits). Entries created in a transaction count when
// checked and again at commit. So a hostile domain pins a bounded amount
// of the host's memory whatever it sends.
//
// # Guest input
//
// Process copies each message before looking at it and rejects bad framing
// (ErrShort, ErrLength, ErrTooLong for a payload over 4096 bytes: the host
// then drops the connection, as xenstored kills it). The Ring reads each
// index of the shared page once per pass with an atomic load, treats a
// producer more than XENSTORE_RING_SIZE ahead of its consumer (either
// direction) or an oversized length as a protocol error (the ring is
// marked broken, XENSTORE_ERROR_RINGIDX or _PROTO is written to its error
// word, and it is never touched again), copies bytes out of req[] before
// parsing, and publishes indexes with atomic stores after the data. It
// stops taking requests while "outstanding" replies wait for room in rsp[],
// and it honours XENSTORE_RECONNECT.
//
// # Concurrency
//
// One mutex in the Server guards everything; every exported method of
// Server, Conn and Ring takes it, so calls from several goroutines are
// safe, though hv makes them from one. Hooks run with the mutex held and
// must not call back into the package.
package xenstore
