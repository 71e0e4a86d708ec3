package mm

import (
	"math/rand"
	"testing"
)

// subtractModel computes r minus cut over a small integer domain.
func subtractModel(r Range, cut []Range) []Range {
	var out []Range
	for x := r.Start; x < r.End; x++ {
		covered := false
		for _, c := range cut {
			if c.Start <= x && x < c.End {
				covered = true
			}
		}
		if covered {
			continue
		}
		if len(out) > 0 && out[len(out)-1].End == x {
			out[len(out)-1].End++
		} else {
			out = append(out, Range{x, x + 1})
		}
	}
	return out
}

func TestSubtractExamples(t *testing.T) {
	out := make([]Range, 8)
	n := Subtract(Range{0x1000, 0x9000}, []Range{{0x3000, 0x4000}, {0x0, 0x2000}, {0x3800, 0x5000}}, out)
	want := []Range{{0x2000, 0x3000}, {0x5000, 0x9000}}
	if n != len(want) || out[0] != want[0] || out[1] != want[1] {
		t.Fatalf("got %v", out[:n])
	}
	if n := Subtract(Range{5, 5}, nil, out); n != 0 {
		t.Fatalf("empty range gave %d", n)
	}
	if n := Subtract(Range{5, 1}, nil, out); n != 0 {
		t.Fatalf("inverted range gave %d", n)
	}
	if n := Subtract(Range{0, ^uint64(0)}, []Range{{0, ^uint64(0)}}, out); n != 0 {
		t.Fatalf("fully cut gave %d", n)
	}
	if n := Subtract(Range{0, ^uint64(0)}, nil, out); n != 1 || out[0] != (Range{0, ^uint64(0)}) {
		t.Fatalf("uncut gave %v", out[:n])
	}
	// Truncation: count reported, only len(out) written.
	small := make([]Range, 1)
	if n := Subtract(Range{0, 10}, []Range{{2, 3}, {5, 6}}, small); n != 3 || small[0] != (Range{0, 2}) {
		t.Fatalf("truncated: n=%d %v", n, small)
	}
	if n := Subtract(Range{0, 10}, []Range{{2, 3}}, nil); n != 2 {
		t.Fatalf("nil out: n=%d", n)
	}
	if (Range{3, 1}).Size() != 0 || !(Range{3, 3}).Empty() || (Range{1, 3}).Size() != 2 {
		t.Fatal("Size/Empty")
	}
}

func TestSubtractRandom(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	out := make([]Range, 64)
	for iter := 0; iter < 5000; iter++ {
		rr := Range{uint64(r.Intn(64)), uint64(r.Intn(64))}
		cut := make([]Range, r.Intn(6))
		for i := range cut {
			cut[i] = Range{uint64(r.Intn(70)), uint64(r.Intn(70))}
		}
		want := subtractModel(rr, cut)
		n := Subtract(rr, cut, out)
		if n != len(want) {
			t.Fatalf("Subtract(%v, %v) = %v, want %v", rr, cut, out[:n], want)
		}
		for i := range want {
			if out[i] != want[i] {
				t.Fatalf("Subtract(%v, %v) = %v, want %v", rr, cut, out[:n], want)
			}
		}
	}
}
