package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"gozen/rt"
)

// The self-test exercises the Go runtime on the bare-metal runtime layer:
// goroutines and channels (thread switching, futexes), timers and tickers
// (netpoll's epoll/eventfd and the APIC timer), maps and allocation (demand
// paging), the garbage collector, and a nil dereference turned into a
// recoverable panic (signal delivery). It prints one line:
//
//	SELFTEST: PASS|FAIL key=value ...
type check struct {
	name string
	ok   bool
	info string
}

func runSelfTest(w io.Writer) bool {
	start := time.Now()
	checks := []check{
		goroutines(),
		sleepAccuracy(),
		tickers(),
		maps(),
		gcCycles(),
		nilPanic(),
		divPanic(),
		clocks(),
		oneShot(),
	}
	pass := true
	var fields []string
	for _, c := range checks {
		status := "ok"
		if !c.ok {
			status = "FAIL"
			pass = false
		}
		fmt.Fprintf(w, "selftest: %-12s %-4s %s\n", c.name, status, c.info)
		fields = append(fields, c.name+"="+status)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := rt.ReadMemStats()
	verdict := "PASS"
	if !pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "SELFTEST: %s %s gc_cycles=%d heap_sys_kib=%d runtime_sys_kib=%d hv_pool_used_kib=%d elapsed_ms=%d\n",
		verdict, strings.Join(fields, " "), ms.NumGC, ms.HeapSys>>10, ms.Sys>>10,
		(m.HVPool-m.HVFree)>>10, time.Since(start).Milliseconds())
	return pass
}

// goroutines: 200 goroutines pass tokens around a ring of channels and
// report to a WaitGroup.
func goroutines() check {
	const n, rounds = 200, 20
	chans := make([]chan int, n)
	for i := range chans {
		chans[i] = make(chan int)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				v := <-chans[i]
				if i == n-1 && r == rounds-1 {
					chans[0] = nil
					_ = v
					return
				}
				chans[(i+1)%n] <- v + 1
			}
		}(i)
	}
	chans[0] <- 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		return check{"goroutines", false, "ring did not finish in 20s"}
	}
	return check{"goroutines", true, fmt.Sprintf("%d goroutines x %d rounds", n, rounds)}
}

// sleepAccuracy: time.Sleep of 50, 100 and 200 ms, three times each; the
// median of each must be within 10% (and never short). Medians keep one
// delayed wake-up on a loaded host from failing the check; the shortest
// sleep is long enough that epoll's millisecond timeouts do not dominate.
func sleepAccuracy() check {
	var worst float64
	var info []string
	ok := true
	for _, d := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		var got [3]time.Duration
		for i := range got {
			t0 := time.Now()
			time.Sleep(d)
			got[i] = time.Since(t0)
			if got[i] < d {
				ok = false // Sleep must never return early
			}
		}
		sort.Slice(got[:], func(i, j int) bool { return got[i] < got[j] })
		med := got[1]
		errPct := 100 * float64(med-d) / float64(d)
		if errPct > 10 {
			ok = false
		}
		if errPct > worst {
			worst = errPct
		}
		info = append(info, fmt.Sprintf("%v->%v", d, med.Round(10*time.Microsecond)))
	}
	return check{"sleep", ok, fmt.Sprintf("medians %s worst=+%.1f%%", strings.Join(info, " "), worst)}
}

// tickers: a 10 ms ticker ticks 10 times in 100 ms (±10%), alongside a timer.
func tickers() check {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	timer := time.NewTimer(55 * time.Millisecond)
	t0 := time.Now()
	ticks, timerFired := 0, false
	for ticks < 10 {
		select {
		case <-t.C:
			ticks++
		case <-timer.C:
			timerFired = true
		}
	}
	el := time.Since(t0)
	ok := timerFired && el >= 90*time.Millisecond && el <= 110*time.Millisecond
	return check{"ticker", ok, fmt.Sprintf("10 ticks in %v, timer fired=%v", el.Round(10*time.Microsecond), timerFired)}
}

// maps: build, check and delete a 100k-entry map.
func maps() check {
	m := make(map[string]int)
	for i := 0; i < 100000; i++ {
		m[fmt.Sprint("k", i)] = i
	}
	ok := len(m) == 100000
	for i := 0; i < 100000; i += 7 {
		if m[fmt.Sprint("k", i)] != i {
			ok = false
		}
	}
	keys := make([]string, 0, 10)
	for k := range m {
		if len(keys) == 10 {
			break
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i := 0; i < 100000; i += 2 {
		delete(m, fmt.Sprint("k", i))
	}
	ok = ok && len(m) == 50000
	return check{"maps", ok, fmt.Sprintf("100000 inserts, %d after deletes", len(m))}
}

// gcCycles: allocate garbage until at least 5 GC cycles have run, and check
// that live data survives them.
func gcCycles() check {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 4096)
		live[i][0] = byte(i)
	}
	var sink []byte
	for i := 0; i < 200; i++ {
		sink = make([]byte, 256<<10)
		sink[len(sink)-1] = 1
		if i%40 == 39 {
			runtime.GC()
		}
	}
	_ = sink
	debug.FreeOSMemory()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	cycles := after.NumGC - before.NumGC
	ok := cycles >= 5
	for i := range live {
		if live[i][0] != byte(i) {
			ok = false
		}
	}
	return check{"gc", ok, fmt.Sprintf("%d cycles, heap %d KiB", cycles, after.HeapAlloc>>10)}
}

type node struct{ next *node }

//go:noinline
func deref(n *node) *node { return n.next }

// nilPanic: a nil dereference faults (#PF at address 0), rt delivers SIGSEGV,
// and the Go runtime turns it into a panic that recover catches.
func nilPanic() (c check) {
	c = check{"nilpanic", false, "no panic"}
	defer func() {
		if r := recover(); r != nil {
			e, isErr := r.(runtime.Error)
			c.ok = isErr && strings.Contains(e.Error(), "nil pointer dereference")
			c.info = fmt.Sprint("recovered: ", r)
		}
	}()
	deref(nil)
	return
}

//go:noinline
func div(a, b int) int { return a / b }

// divPanic: integer division by zero raises #DE, delivered as SIGFPE.
func divPanic() (c check) {
	c = check{"divpanic", false, "no panic"}
	defer func() {
		if r := recover(); r != nil {
			c.ok = strings.Contains(fmt.Sprint(r), "divide by zero")
			c.info = fmt.Sprint("recovered: ", r)
		}
	}()
	div(1, 0)
	return
}

// clocks: monotonic time advances, wall time is after 2020.
func clocks() check {
	a := time.Now()
	busy := time.Now()
	for time.Since(busy) < 2*time.Millisecond {
	}
	b := time.Now()
	ok := b.Sub(a) >= 2*time.Millisecond && a.Year() >= 2020
	return check{"clock", ok, "wall " + a.UTC().Format(time.RFC3339)}
}

// oneShot: a deadline armed with rt.ArmTimer interrupts a thread that spins
// without making system calls, at or after the deadline.
func oneShot() check {
	before := rt.ReadCounters().HVTimerFired
	t0 := rt.Nanotime()
	rt.ArmTimer(t0 + 3_000_000)
	var firedAt int64
	for rt.Nanotime()-t0 < 20_000_000 {
		if firedAt == 0 && rt.ReadCounters().HVTimerFired != before {
			firedAt = rt.Nanotime() - t0
		}
	}
	n := rt.ReadCounters().HVTimerFired - before
	ok := n == 1 && firedAt >= 3_000_000
	return check{"oneshot", ok, fmt.Sprintf("armed +3ms, fired %d time(s) at +%.2fms", n, float64(firedAt)/1e6)}
}
