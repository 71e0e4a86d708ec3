// Package sched holds GoZen's vCPU schedulers for the one physical CPU.
// They are pure data structures over comparable handles (the core uses
// *hv.VCPU), tested on the host; the core's run loop asks them what to run.
//
// RoundRobin is the simple policy of the SVM bring-up: runnable vCPUs take
// turns, each for a time slice, preempted by the host timer. Blocked vCPUs
// are not in the queue at all, so they cost nothing.
package sched

// RoundRobin is a FIFO of runnable entities, each present at most once.
type RoundRobin[T comparable] struct {
	queue []T
	in    map[T]bool
}

// Add makes e runnable (a no-op if it already is).
func (r *RoundRobin[T]) Add(e T) {
	if r.in == nil {
		r.in = map[T]bool{}
	}
	if r.in[e] {
		return
	}
	r.in[e] = true
	r.queue = append(r.queue, e)
}

// Remove takes e off the queue (blocked, paused or destroyed).
func (r *RoundRobin[T]) Remove(e T) {
	if !r.in[e] {
		return
	}
	delete(r.in, e)
	for i, x := range r.queue {
		if x == e {
			r.queue = append(r.queue[:i], r.queue[i+1:]...)
			return
		}
	}
}

// Next pops the entity whose turn it is.
func (r *RoundRobin[T]) Next() (T, bool) {
	var zero T
	if len(r.queue) == 0 {
		return zero, false
	}
	e := r.queue[0]
	copy(r.queue, r.queue[1:])
	r.queue = r.queue[:len(r.queue)-1]
	delete(r.in, e)
	return e, true
}

// Len is the number of runnable entities.
func (r *RoundRobin[T]) Len() int { return len(r.queue) }

// Contains reports whether e is queued.
func (r *RoundRobin[T]) Contains(e T) bool { return r.in[e] }
