// Package fd is the file-descriptor table of GoZen's runtime layer: the
// console (fds 0-2), eventfds and epoll instances, which is all the Go
// runtime opens by itself (netpoll uses an epoll instance and an eventfd to
// implement timed waits and wake-ups).
//
// Pure, host-tested, allocation-free: it runs in trap context.
package fd

// Max is the number of descriptors.
const Max = 64

// MaxInterest is how many descriptors one epoll instance can watch.
const MaxInterest = 16

// Kind of an open descriptor.
type Kind uint8

// Kinds.
const (
	None Kind = iota
	Console
	EventFD
	Epoll
)

// Linux errno values.
const (
	EBADF  = 9
	EAGAIN = 11
	EEXIST = 17
	EINVAL = 22
	ENFILE = 23
	ENOENT = 2
	ENOSPC = 28
)

// Linux flags and constants.
const (
	EPOLLIN  = 0x001
	EPOLLOUT = 0x004
	EPOLLERR = 0x008

	EpollCtlAdd = 1
	EpollCtlDel = 2
	EpollCtlMod = 3

	EFDNonblock  = 0x800
	EFDSemaphore = 1
)

// Event is one readiness report (struct epoll_event).
type Event struct {
	Events uint32
	Data   uint64
}

// EventSize is sizeof(struct epoll_event) on x86-64 (packed).
const EventSize = 12

type interest struct {
	fd     int32
	events uint32
	data   uint64
}

// File is one descriptor.
type File struct {
	Kind     Kind
	Nonblock bool
	sem      bool
	count    uint64
	watch    [MaxInterest]interest
	nwatch   int
}

// Table is the descriptor table.
type Table struct {
	F [Max]File
}

// Init opens fds 0, 1 and 2 on the console.
func (t *Table) Init() {
	*t = Table{}
	for i := 0; i < 3; i++ {
		t.F[i].Kind = Console
	}
}

func (t *Table) alloc(k Kind) (int32, int) {
	for i := range t.F {
		if t.F[i].Kind == None {
			t.F[i] = File{Kind: k}
			return int32(i), 0
		}
	}
	return -1, ENFILE
}

func (t *Table) get(fd int32, k Kind) *File {
	if fd < 0 || fd >= Max || t.F[fd].Kind != k {
		return nil
	}
	return &t.F[fd]
}

// Kind returns the kind of fd (None when closed or out of range).
func (t *Table) Kind(fd int32) Kind {
	if fd < 0 || fd >= Max {
		return None
	}
	return t.F[fd].Kind
}

// NewEventFD implements eventfd2(initval, flags).
func (t *Table) NewEventFD(initval uint32, flags int32) (int32, int) {
	fd, e := t.alloc(EventFD)
	if e != 0 {
		return fd, e
	}
	f := &t.F[fd]
	f.count = uint64(initval)
	f.Nonblock = flags&EFDNonblock != 0
	f.sem = flags&EFDSemaphore != 0
	return fd, 0
}

// NewEpoll implements epoll_create1.
func (t *Table) NewEpoll() (int32, int) { return t.alloc(Epoll) }

// Close implements close(fd). Closing a console descriptor is allowed and
// makes it unusable, as on Linux. Watches on the closed fd are dropped.
func (t *Table) Close(fd int32) int {
	if fd < 0 || fd >= Max || t.F[fd].Kind == None {
		return EBADF
	}
	t.F[fd] = File{}
	for i := range t.F {
		if t.F[i].Kind == Epoll {
			t.unwatch(&t.F[i], fd)
		}
	}
	return 0
}

func (t *Table) unwatch(ep *File, fd int32) bool {
	for i := 0; i < ep.nwatch; i++ {
		if ep.watch[i].fd == fd {
			ep.nwatch--
			ep.watch[i] = ep.watch[ep.nwatch]
			ep.watch[ep.nwatch] = interest{}
			return true
		}
	}
	return false
}

// Ctl implements epoll_ctl.
func (t *Table) Ctl(epfd int32, op int32, fd int32, events uint32, data uint64) int {
	ep := t.get(epfd, Epoll)
	if ep == nil {
		return EBADF
	}
	if fd == epfd {
		return EINVAL
	}
	if t.Kind(fd) == None {
		return EBADF
	}
	idx := -1
	for i := 0; i < ep.nwatch; i++ {
		if ep.watch[i].fd == fd {
			idx = i
		}
	}
	switch op {
	case EpollCtlAdd:
		if idx >= 0 {
			return EEXIST
		}
		if ep.nwatch == MaxInterest {
			return ENOSPC
		}
		ep.watch[ep.nwatch] = interest{fd: fd, events: events, data: data}
		ep.nwatch++
	case EpollCtlMod:
		if idx < 0 {
			return ENOENT
		}
		ep.watch[idx].events, ep.watch[idx].data = events, data
	case EpollCtlDel:
		if idx < 0 {
			return ENOENT
		}
		t.unwatch(ep, fd)
	default:
		return EINVAL
	}
	return 0
}

// readiness returns the EPOLL* bits fd currently has.
func (t *Table) readiness(fd int32) uint32 {
	switch t.Kind(fd) {
	case EventFD:
		r := uint32(EPOLLOUT)
		if t.F[fd].count > 0 {
			r |= EPOLLIN
		}
		return r
	case Console:
		return EPOLLOUT
	}
	return 0
}

// Ready fills out with the level-triggered events of epoll instance epfd and
// returns how many it wrote, or -errno.
func (t *Table) Ready(epfd int32, out []Event) int {
	ep := t.get(epfd, Epoll)
	if ep == nil {
		return -EBADF
	}
	n := 0
	for i := 0; i < ep.nwatch && n < len(out); i++ {
		w := ep.watch[i]
		if r := t.readiness(w.fd) & (w.events | EPOLLERR); r != 0 {
			out[n] = Event{Events: r, Data: w.data}
			n++
		}
	}
	return n
}

// IsEpoll reports whether fd is an epoll instance.
func (t *Table) IsEpoll(fd int32) bool { return t.get(fd, Epoll) != nil }

// ReadEventFD implements an 8-byte read of an eventfd: it returns the counter
// and resets it (or decrements by one in semaphore mode). A zero counter gives
// EAGAIN; GoZen never blocks on eventfd reads (Go opens it non-blocking).
func (t *Table) ReadEventFD(fd int32) (uint64, int) {
	f := t.get(fd, EventFD)
	if f == nil {
		return 0, EBADF
	}
	if f.count == 0 {
		return 0, EAGAIN
	}
	if f.sem {
		f.count--
		return 1, 0
	}
	v := f.count
	f.count = 0
	return v, 0
}

// WriteEventFD implements an 8-byte write: it adds v to the counter.
func (t *Table) WriteEventFD(fd int32, v uint64) int {
	f := t.get(fd, EventFD)
	if f == nil {
		return EBADF
	}
	if v == ^uint64(0) || f.count+v < f.count || f.count+v == ^uint64(0) {
		return EAGAIN
	}
	f.count += v
	return 0
}
