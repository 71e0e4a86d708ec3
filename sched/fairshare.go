// Package sched holds GoZen's vCPU scheduler for the one physical CPU. It
// is a pure data structure over comparable handles (the core uses
// *hv.VCPU), tested on the host; the core's run loop asks it what to run.
// Its decisions depend only on its inputs (the calls made and the times
// given), never on Go's randomised map order, so a run is reproducible.
package sched

// FairShare is a weighted fair-share scheduler with caps, on the model of
// Xen's credit scheduler: every group (a domain) has a weight, and over time
// each runnable group gets CPU time in proportion to its weight, shared
// among its runnable entities (vCPUs); a group with a cap gets at most that
// percentage of one CPU per accounting period, even when the CPU would
// otherwise idle.
//
// It is implemented as stride scheduling, which gives the same long-run
// shares as credit with exact arithmetic and no periodic credit refill:
// each entity has a virtual time ("pass") that advances by the time it runs
// divided by its weight; the runnable, uncapped entity with the smallest
// pass runs next. An entity that wakes up is not allowed to bank the time
// it slept: its pass is raised to the current minimum, as a credit
// scheduler caps credit.
//
// Between entities with the same pass, the one that joined first runs
// first: entities are scanned in Join order, never in map order.
//
// Pure and host-tested; times are nanoseconds supplied by the caller.
type FairShare[T comparable] struct {
	ents map[T]*fsEnt[T]
	// list holds the entities in Join order: every scan that chooses or
	// aggregates goes through it, so the result does not depend on map
	// iteration order.
	list   []*fsEnt[T]
	groups map[int]*fsGroup
	// Period is the accounting period for caps (default 30 ms, like
	// Xen's credit accounting tick).
	Period      int64
	periodStart int64
}

type fsEnt[T comparable] struct {
	key      T
	group    int
	runnable bool
	yielded  bool // gives way at the next Pick
	pass     uint64
}

type fsGroup struct {
	weight uint64
	cap    uint64 // percent of one CPU per period; 0 = none
	used   int64  // ns used in the current period
	ents   int
	// runnable counts its runnable entities: the group's weight is shared
	// among them (Xen's credit scheduler splits a domain's credit among
	// its active vCPUs), so a domain's share does not depend on how many
	// vCPUs it has, nor on how many of them are idle.
	runnable int
}

// Defaults, as in Xen's credit scheduler.
const (
	DefaultWeight = 256
	MaxWeight     = 65535
	DefaultPeriod = 30e6
	passScale     = 1 << 16
)

func (s *FairShare[T]) init() {
	if s.ents == nil {
		s.ents = map[T]*fsEnt[T]{}
		s.groups = map[int]*fsGroup{}
	}
	if s.Period == 0 {
		s.Period = DefaultPeriod
	}
}

// SetGroup sets the weight (1..MaxWeight) and cap (0..100 percent, 0 for
// none) of group g.
func (s *FairShare[T]) SetGroup(g int, weight, capPercent uint64) {
	s.init()
	if weight < 1 {
		weight = 1
	}
	if weight > MaxWeight {
		weight = MaxWeight
	}
	if capPercent > 100 {
		capPercent = 100
	}
	gr := s.group(g)
	gr.weight, gr.cap = weight, capPercent
}

func (s *FairShare[T]) group(g int) *fsGroup {
	gr, ok := s.groups[g]
	if !ok {
		gr = &fsGroup{weight: DefaultWeight}
		s.groups[g] = gr
	}
	return gr
}

// Join makes e a member of group g (not yet runnable).
func (s *FairShare[T]) Join(e T, g int) {
	s.init()
	s.Leave(e)
	en := &fsEnt[T]{key: e, group: g, pass: s.minPass()}
	s.ents[e] = en
	s.list = append(s.list, en)
	s.group(g).ents++
}

// Leave forgets e.
func (s *FairShare[T]) Leave(e T) {
	en, ok := s.ents[e]
	if !ok {
		return
	}
	s.groups[en.group].ents--
	if en.runnable {
		s.groups[en.group].runnable--
	}
	delete(s.ents, e)
	for i, x := range s.list {
		if x == en {
			s.list = append(s.list[:i], s.list[i+1:]...)
			break
		}
	}
}

// RemoveGroup forgets group g, once its entities have left (a destroyed
// domain), so a long-running hypervisor does not accumulate dead groups.
func (s *FairShare[T]) RemoveGroup(g int) {
	if gr, ok := s.groups[g]; ok && gr.ents == 0 {
		delete(s.groups, g)
	}
}

func (s *FairShare[T]) minPass() uint64 {
	var m uint64
	first := true
	for _, en := range s.list {
		if en.runnable && (first || en.pass < m) {
			m, first = en.pass, false
		}
	}
	return m
}

// Add makes e runnable when it wakes up; it is a no-op for an entity that
// is already runnable (a preempted entity stays runnable and keeps its
// pass). Unknown entities join group 0.
func (s *FairShare[T]) Add(e T) {
	s.init()
	en, ok := s.ents[e]
	if !ok {
		s.Join(e, 0)
		en = s.ents[e]
	}
	if en.runnable {
		return
	}
	if m := s.minPass(); en.pass < m {
		en.pass = m // no banking of sleep time
	}
	en.runnable = true
	s.groups[en.group].runnable++
}

// Remove makes e not runnable (blocked, paused).
func (s *FairShare[T]) Remove(e T) {
	if en, ok := s.ents[e]; ok && en.runnable {
		en.runnable = false
		s.groups[en.group].runnable--
	}
}

// Contains reports whether e is runnable.
func (s *FairShare[T]) Contains(e T) bool {
	en, ok := s.ents[e]
	return ok && en.runnable
}

// Len is the number of runnable entities.
func (s *FairShare[T]) Len() int {
	n := 0
	for _, en := range s.list {
		if en.runnable {
			n++
		}
	}
	return n
}

// roll starts a new accounting period when the old one is over. A capped
// group's overrun (a slice cannot stop exactly on its budget) is carried
// into the next period, token-bucket style, so the long-run share equals the
// cap.
func (s *FairShare[T]) roll(now int64) {
	s.init()
	if now-s.periodStart < s.Period {
		return
	}
	periods := (now - s.periodStart) / s.Period
	s.periodStart += periods * s.Period
	for _, g := range s.groups {
		if g.cap == 0 {
			g.used = 0
			continue
		}
		g.used -= periods * int64(g.cap) * s.Period / 100
		if g.used < 0 {
			g.used = 0
		}
	}
}

func (s *FairShare[T]) capped(g *fsGroup) bool {
	return g.cap != 0 && g.used*100 >= int64(g.cap)*s.Period
}

// Pick returns the runnable, uncapped entity to run now. It stays
// runnable: after running it, call Charge, and Remove if it blocked. ok is
// false when nothing may run. An entity that yielded is picked only if no
// other may run; either way its yield is used up.
func (s *FairShare[T]) Pick(now int64) (e T, ok bool) {
	s.roll(now)
	var best *fsEnt[T]
	for _, en := range s.list {
		if !en.runnable || s.capped(s.groups[en.group]) {
			continue
		}
		// Strictly smaller: on a tie the earlier joiner keeps the CPU.
		if best == nil || (best.yielded && !en.yielded) ||
			(best.yielded == en.yielded && en.pass < best.pass) {
			best, e = en, en.key
		}
	}
	for _, en := range s.list {
		en.yielded = false
	}
	return e, best != nil
}

// Yield makes runnable entity e give way to any other at the next Pick
// (Xen's SCHEDOP_yield). Its accounting is unchanged, so a vCPU that spins
// on yield lets the others run without losing its share.
func (s *FairShare[T]) Yield(e T) {
	if en, ok := s.ents[e]; ok && en.runnable {
		en.yielded = true
	}
}

// Budget is how long e may run from now before its group reaches its cap
// (-1: no cap).
func (s *FairShare[T]) Budget(e T, now int64) int64 {
	s.roll(now)
	en, ok := s.ents[e]
	if !ok {
		return -1
	}
	g := s.groups[en.group]
	if g.cap == 0 {
		return -1
	}
	left := int64(g.cap)*s.Period/100 - g.used
	if left < 0 {
		left = 0
	}
	return left
}

// Charge accounts ran nanoseconds of CPU to e.
func (s *FairShare[T]) Charge(e T, ran int64) {
	en, ok := s.ents[e]
	if !ok || ran <= 0 {
		return
	}
	g := s.groups[en.group]
	g.used += ran
	// A group's weight is shared by its runnable entities (e among them:
	// the caller charges before it removes an entity that blocked).
	per := g.weight * passScale / uint64(max(g.runnable, 1))
	if per == 0 {
		per = 1
	}
	en.pass += uint64(ran) * passScale * passScale / per / passScale
}

// NextRefill is when the current accounting period ends (capped groups may
// run again then).
func (s *FairShare[T]) NextRefill(now int64) int64 {
	s.roll(now)
	return s.periodStart + s.Period
}
