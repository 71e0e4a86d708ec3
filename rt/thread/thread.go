// Package thread keeps the threads of GoZen's runtime layer: the Linux
// threads (Go's Ms) that clone creates, their run queue, and what a blocked
// thread waits for (a futex word, a deadline, an epoll instance).
//
// It is pure bookkeeping, tested on the host. The register state of a thread
// lives in package rt, indexed by the same slot number. The code runs in trap
// context: it never allocates and holds no Go pointers.
package thread

// Max is the number of thread slots. Go at GOMAXPROCS=1 uses a handful.
const Max = 64

// State of a slot.
type State uint8

// Slot states.
const (
	Free     State = iota // unused slot
	Runnable              // on the run queue or running
	Blocked               // waiting (see Wait)
	Dead                  // exited; reaped when rt no longer runs on its state
)

// Wait says what a blocked thread waits for.
type Wait uint8

// Wait kinds.
const (
	WaitNone  Wait = iota
	WaitFutex      // FUTEX_WAIT on FutexAddr
	WaitSleep      // nanosleep until Deadline
	WaitEpoll      // epoll_pwait on EpollFD
)

// Errno values returned through Result.
const (
	ETIMEDOUT = 110
)

// Thread is one slot.
type Thread struct {
	State     State
	Wait      Wait
	Tid       int32
	FutexAddr uint64
	Deadline  int64 // monotonic ns; 0 = none
	Result    int64 // the blocking call's return value once woken
	seq       uint64
	// Epoll wait arguments, kept for completing the call on wake-up.
	EpollFD    int32
	EventsAddr uint64
	MaxEvents  int32
}

// Table is the set of threads and the run queue.
type Table struct {
	T       [Max]Thread
	queue   [Max]uint8
	head    int
	n       int
	nextTid int32
	seq     uint64
}

// Init makes an empty table whose first thread ID will be firstTid.
func (t *Table) Init(firstTid int32) {
	*t = Table{nextTid: firstTid}
}

// Spawn takes a free slot, gives it a new thread ID and queues it.
func (t *Table) Spawn() (slot int, ok bool) {
	for i := range t.T {
		if t.T[i].State == Free {
			t.T[i] = Thread{State: Runnable, Tid: t.nextTid}
			t.nextTid++
			t.push(i)
			return i, true
		}
	}
	return -1, false
}

// Exit marks slot dead. The caller frees it with Reap once it no longer
// depends on the slot's saved state.
func (t *Table) Exit(slot int) {
	t.remove(slot)
	t.T[slot].State = Dead
	t.T[slot].Wait = WaitNone
}

// Reap returns a dead slot to the free pool.
func (t *Table) Reap(slot int) {
	if t.T[slot].State == Dead {
		t.T[slot] = Thread{}
	}
}

// Live counts threads that are not free or dead.
func (t *Table) Live() int {
	n := 0
	for i := range t.T {
		if s := t.T[i].State; s == Runnable || s == Blocked {
			n++
		}
	}
	return n
}

func (t *Table) push(slot int) {
	if t.n == Max {
		return
	}
	t.queue[(t.head+t.n)%Max] = uint8(slot)
	t.n++
}

func (t *Table) remove(slot int) {
	w := 0
	for r := 0; r < t.n; r++ {
		s := t.queue[(t.head+r)%Max]
		if int(s) != slot {
			t.queue[(t.head+w)%Max] = s
			w++
		}
	}
	t.n = w
}

// Queued reports how many threads wait on the run queue.
func (t *Table) Queued() int { return t.n }

// Next pops the next runnable thread from the queue. The caller runs it and
// either Requeues it (preempted, yielded) or Blocks it.
func (t *Table) Next() (slot int, ok bool) {
	if t.n == 0 {
		return -1, false
	}
	s := int(t.queue[t.head])
	t.head = (t.head + 1) % Max
	t.n--
	return s, true
}

// Requeue puts a running thread at the back of the queue.
func (t *Table) Requeue(slot int) {
	if t.T[slot].State == Runnable {
		t.push(slot)
	}
}

// Block parks slot waiting for w, with an optional monotonic deadline (0 = none).
func (t *Table) Block(slot int, w Wait, deadline int64) {
	t.remove(slot)
	t.seq++
	th := &t.T[slot]
	th.State = Blocked
	th.Wait = w
	th.Deadline = deadline
	th.seq = t.seq
}

// Wake makes a blocked slot runnable with the given result for its call.
func (t *Table) Wake(slot int, result int64) {
	th := &t.T[slot]
	if th.State != Blocked {
		return
	}
	th.State = Runnable
	th.Wait = WaitNone
	th.Deadline = 0
	th.Result = result
	t.push(slot)
}

// FutexWake wakes up to n threads waiting on addr, oldest first, and returns
// how many it woke.
func (t *Table) FutexWake(addr uint64, n int) int {
	woken := 0
	for woken < n {
		best := -1
		for i := range t.T {
			th := &t.T[i]
			if th.State == Blocked && th.Wait == WaitFutex && th.FutexAddr == addr &&
				(best < 0 || th.seq < t.T[best].seq) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		t.Wake(best, 0)
		woken++
	}
	return woken
}

// Expire wakes every blocked thread whose deadline is at or before now:
// futex waits fail with -ETIMEDOUT, sleeps return 0, and epoll waits return 0
// events. It returns the number woken. onEpoll, if set, is not called: epoll
// timeouts simply report no events.
func (t *Table) Expire(now int64) int {
	n := 0
	for i := range t.T {
		th := &t.T[i]
		if th.State != Blocked || th.Deadline == 0 || th.Deadline > now {
			continue
		}
		var r int64
		if th.Wait == WaitFutex {
			r = -ETIMEDOUT
		}
		t.Wake(i, r)
		n++
	}
	return n
}

// NextDeadline returns the earliest deadline among blocked threads.
func (t *Table) NextDeadline() (int64, bool) {
	var d int64
	ok := false
	for i := range t.T {
		th := &t.T[i]
		if th.State == Blocked && th.Deadline != 0 && (!ok || th.Deadline < d) {
			d, ok = th.Deadline, true
		}
	}
	return d, ok
}

// Find returns the slot of thread tid.
func (t *Table) Find(tid int32) (int, bool) {
	for i := range t.T {
		if t.T[i].State != Free && t.T[i].Tid == tid {
			return i, true
		}
	}
	return -1, false
}
