package sched

import "testing"

func TestRoundRobinOrderAndUniqueness(t *testing.T) {
	var r RoundRobin[int]
	r.Add(1)
	r.Add(2)
	r.Add(1) // already queued
	r.Add(3)
	var got []int
	for i := 0; i < 6; i++ {
		e, ok := r.Next()
		if !ok {
			t.Fatal("empty")
		}
		got = append(got, e)
		r.Add(e) // ran its slice, still runnable
	}
	want := []int{1, 2, 3, 1, 2, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
}

func TestRoundRobinRemove(t *testing.T) {
	var r RoundRobin[string]
	for _, s := range []string{"a", "b", "c"} {
		r.Add(s)
	}
	r.Remove("b")
	r.Remove("zz")
	if r.Len() != 2 || r.Contains("b") {
		t.Fatalf("len %d", r.Len())
	}
	a, _ := r.Next()
	c, _ := r.Next()
	if a != "a" || c != "c" {
		t.Errorf("%s %s", a, c)
	}
	if _, ok := r.Next(); ok {
		t.Error("not empty")
	}
	r.Add("b")
	if e, _ := r.Next(); e != "b" {
		t.Error("re-add failed")
	}
}
