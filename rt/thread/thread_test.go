package thread

import "testing"

func TestRoundRobin(t *testing.T) {
	var tb Table
	tb.Init(1)
	a, _ := tb.Spawn()
	b, _ := tb.Spawn()
	c, _ := tb.Spawn()
	var order []int
	for i := 0; i < 6; i++ {
		s, ok := tb.Next()
		if !ok {
			t.Fatal("queue empty")
		}
		order = append(order, s)
		tb.Requeue(s)
	}
	want := []int{a, b, c, a, b, c}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if tb.T[a].Tid != 1 || tb.T[c].Tid != 3 {
		t.Errorf("tids %d %d", tb.T[a].Tid, tb.T[c].Tid)
	}
}

func TestFutexFIFOAndCount(t *testing.T) {
	var tb Table
	tb.Init(1)
	var s [4]int
	for i := range s {
		s[i], _ = tb.Spawn()
	}
	for _, i := range []int{2, 0, 3} {
		tb.T[s[i]].FutexAddr = 0x1000
		tb.Block(s[i], WaitFutex, 0)
	}
	tb.T[s[1]].FutexAddr = 0x2000
	tb.Block(s[1], WaitFutex, 0)
	if tb.Queued() != 0 {
		t.Fatalf("blocked threads still queued: %d", tb.Queued())
	}
	if n := tb.FutexWake(0x1000, 2); n != 2 {
		t.Fatalf("woke %d, want 2", n)
	}
	first, _ := tb.Next()
	second, _ := tb.Next()
	if first != s[2] || second != s[0] {
		t.Errorf("woke %d,%d; want oldest first %d,%d", first, second, s[2], s[0])
	}
	if n := tb.FutexWake(0x1000, 10); n != 1 {
		t.Errorf("woke %d, want 1", n)
	}
	if n := tb.FutexWake(0x3000, 10); n != 0 {
		t.Errorf("woke %d on an address nobody waits on", n)
	}
	if tb.T[s[1]].State != Blocked {
		t.Errorf("waiter on another address woken")
	}
}

func TestExpireResults(t *testing.T) {
	var tb Table
	tb.Init(1)
	f, _ := tb.Spawn()
	sl, _ := tb.Spawn()
	ep, _ := tb.Spawn()
	late, _ := tb.Spawn()
	tb.Block(f, WaitFutex, 100)
	tb.Block(sl, WaitSleep, 50)
	tb.Block(ep, WaitEpoll, 100)
	tb.Block(late, WaitSleep, 1000)
	if d, ok := tb.NextDeadline(); !ok || d != 50 {
		t.Fatalf("next deadline %d %v", d, ok)
	}
	if n := tb.Expire(99); n != 1 {
		t.Fatalf("expired %d at 99", n)
	}
	if n := tb.Expire(100); n != 2 {
		t.Fatalf("expired %d at 100", n)
	}
	if tb.T[f].Result != -ETIMEDOUT || tb.T[sl].Result != 0 || tb.T[ep].Result != 0 {
		t.Errorf("results %d %d %d", tb.T[f].Result, tb.T[sl].Result, tb.T[ep].Result)
	}
	if tb.T[late].State != Blocked {
		t.Errorf("late sleeper woken")
	}
	if d, _ := tb.NextDeadline(); d != 1000 {
		t.Errorf("next deadline %d", d)
	}
}

func TestExitReapAndExhaustion(t *testing.T) {
	var tb Table
	tb.Init(10)
	for i := 0; i < Max; i++ {
		if _, ok := tb.Spawn(); !ok {
			t.Fatalf("spawn %d failed", i)
		}
	}
	if _, ok := tb.Spawn(); ok {
		t.Fatal("spawned beyond Max")
	}
	tb.Exit(5)
	if tb.Live() != Max-1 || tb.Queued() != Max-1 {
		t.Errorf("live %d queued %d", tb.Live(), tb.Queued())
	}
	if _, ok := tb.Spawn(); ok {
		t.Fatal("dead slot reused before reap")
	}
	tb.Reap(5)
	s, ok := tb.Spawn()
	if !ok || s != 5 || tb.T[5].Tid != 10+Max {
		t.Errorf("respawn slot %d tid %d", s, tb.T[5].Tid)
	}
	if i, ok := tb.Find(10 + Max); !ok || i != 5 {
		t.Errorf("find %d %v", i, ok)
	}
}

func TestWakeIgnoresNonBlocked(t *testing.T) {
	var tb Table
	tb.Init(1)
	s, _ := tb.Spawn()
	tb.Wake(s, 7)
	if tb.Queued() != 1 || tb.T[s].Result != 0 {
		t.Errorf("wake of a runnable thread changed it")
	}
}

func TestNoAllocations(t *testing.T) {
	var tb Table
	tb.Init(1)
	n := testing.AllocsPerRun(100, func() {
		s, _ := tb.Spawn()
		tb.T[s].FutexAddr = 8
		tb.Block(s, WaitFutex, 5)
		tb.FutexWake(8, 1)
		tb.Next()
		tb.Exit(s)
		tb.Reap(s)
		tb.Expire(10)
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}
