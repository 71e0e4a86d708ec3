package fd

import "testing"

func TestNetpollPattern(t *testing.T) {
	// The sequence Go's netpoll_epoll.go performs.
	var tb Table
	tb.Init()
	ep, e := tb.NewEpoll()
	if e != 0 || ep != 3 {
		t.Fatalf("epoll fd %d errno %d", ep, e)
	}
	efd, e := tb.NewEventFD(0, EFDNonblock)
	if e != 0 {
		t.Fatal(e)
	}
	if e := tb.Ctl(ep, EpollCtlAdd, efd, EPOLLIN, 0xdead); e != 0 {
		t.Fatal(e)
	}
	var ev [4]Event
	if n := tb.Ready(ep, ev[:]); n != 0 {
		t.Fatalf("ready %d before any write", n)
	}
	if e := tb.WriteEventFD(efd, 1); e != 0 {
		t.Fatal(e)
	}
	if n := tb.Ready(ep, ev[:]); n != 1 || ev[0].Data != 0xdead || ev[0].Events&EPOLLIN == 0 {
		t.Fatalf("ready %d %+v", n, ev[0])
	}
	// Level-triggered: still ready until read.
	if n := tb.Ready(ep, ev[:]); n != 1 {
		t.Fatalf("not level-triggered")
	}
	tb.WriteEventFD(efd, 2)
	if v, e := tb.ReadEventFD(efd); e != 0 || v != 3 {
		t.Fatalf("read %d %d", v, e)
	}
	if _, e := tb.ReadEventFD(efd); e != EAGAIN {
		t.Fatalf("empty read errno %d", e)
	}
	if n := tb.Ready(ep, ev[:]); n != 0 {
		t.Fatalf("ready after drain")
	}
}

func TestCtlErrors(t *testing.T) {
	var tb Table
	tb.Init()
	ep, _ := tb.NewEpoll()
	efd, _ := tb.NewEventFD(0, 0)
	cases := []struct {
		epfd, op, fd int32
		want         int
	}{
		{1, EpollCtlAdd, efd, EBADF},  // not an epoll fd
		{ep, EpollCtlAdd, ep, EINVAL}, // itself
		{ep, EpollCtlAdd, 40, EBADF},  // closed fd
		{ep, EpollCtlMod, efd, ENOENT},
		{ep, EpollCtlDel, efd, ENOENT},
		{ep, 9, efd, EINVAL},
		{ep, EpollCtlAdd, efd, 0},
		{ep, EpollCtlAdd, efd, EEXIST},
		{ep, EpollCtlMod, efd, 0},
		{ep, EpollCtlDel, efd, 0},
		{-1, EpollCtlAdd, efd, EBADF},
		{Max + 5, EpollCtlAdd, efd, EBADF},
	}
	for i, c := range cases {
		if got := tb.Ctl(c.epfd, c.op, c.fd, EPOLLIN, 0); got != c.want {
			t.Errorf("case %d: errno %d, want %d", i, got, c.want)
		}
	}
}

func TestCloseDropsWatchesAndReusesSlot(t *testing.T) {
	var tb Table
	tb.Init()
	ep, _ := tb.NewEpoll()
	efd, _ := tb.NewEventFD(5, 0)
	tb.Ctl(ep, EpollCtlAdd, efd, EPOLLIN, 1)
	if e := tb.Close(efd); e != 0 {
		t.Fatal(e)
	}
	var ev [2]Event
	if n := tb.Ready(ep, ev[:]); n != 0 {
		t.Errorf("closed fd still reported")
	}
	if e := tb.Close(efd); e != EBADF {
		t.Errorf("double close errno %d", e)
	}
	fd2, _ := tb.NewEventFD(0, 0)
	if fd2 != efd {
		t.Errorf("slot not reused: %d", fd2)
	}
	if tb.Ready(efd, ev[:]) != -EBADF {
		t.Errorf("Ready on non-epoll fd")
	}
}

func TestSemaphoreAndOverflow(t *testing.T) {
	var tb Table
	tb.Init()
	fd, _ := tb.NewEventFD(2, EFDSemaphore)
	if v, _ := tb.ReadEventFD(fd); v != 1 {
		t.Errorf("semaphore read %d", v)
	}
	if v, _ := tb.ReadEventFD(fd); v != 1 {
		t.Errorf("semaphore read %d", v)
	}
	if e := tb.WriteEventFD(fd, ^uint64(0)); e != EAGAIN {
		t.Errorf("max write errno %d", e)
	}
	tb.WriteEventFD(fd, ^uint64(0)-2)
	if e := tb.WriteEventFD(fd, 2); e != EAGAIN {
		t.Errorf("overflow errno %d", e)
	}
}

func TestExhaustion(t *testing.T) {
	var tb Table
	tb.Init()
	for i := 3; i < Max; i++ {
		if _, e := tb.NewEventFD(0, 0); e != 0 {
			t.Fatalf("fd %d: %d", i, e)
		}
	}
	if _, e := tb.NewEpoll(); e != ENFILE {
		t.Errorf("errno %d, want ENFILE", e)
	}
}

func TestNoAllocations(t *testing.T) {
	var tb Table
	tb.Init()
	ep, _ := tb.NewEpoll()
	var ev [8]Event
	n := testing.AllocsPerRun(100, func() {
		efd, _ := tb.NewEventFD(0, EFDNonblock)
		tb.Ctl(ep, EpollCtlAdd, efd, EPOLLIN, 7)
		tb.WriteEventFD(efd, 1)
		tb.Ready(ep, ev[:])
		tb.ReadEventFD(efd)
		tb.Close(efd)
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}
