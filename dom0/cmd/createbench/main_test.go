package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLineWatcher(t *testing.T) {
	w := &lineWatcher{prefix: "(d3) "}
	for _, s := range []string{"hv: domain 3 \"d3\" created\n(d31) not this one\n", "(d3) hel", "lo from the test guest"} {
		if line, ok := w.feed(s); ok {
			t.Fatalf("a line before it was complete: %q", line)
		}
	}
	if line, ok := w.feed("\r\n(d3) second\n"); !ok || line != "(d3) hello from the test guest" {
		t.Errorf("got %q %v", line, ok)
	}
	any := &lineWatcher{}
	if _, ok := any.feed("\n  \n"); ok {
		t.Error("blank lines count as the first line")
	}
	if line, ok := any.feed("[    0.000000] Linux version 6.1\n"); !ok || line != "[    0.000000] Linux version 6.1" {
		t.Errorf("got %q %v", line, ok)
	}
}

func TestReadFrom(t *testing.T) {
	f := filepath.Join(t.TempDir(), "guest-x.log")
	var off int64
	if _, err := readFrom(f, &off); err == nil {
		t.Error("no error for a missing file")
	}
	os.WriteFile(f, []byte("old\n"), 0o644)
	off = 4
	if s, err := readFrom(f, &off); err != nil || s != "" || off != 4 {
		t.Errorf("nothing new: %q %d %v", s, off, err)
	}
	fh, _ := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString("new\n")
	fh.Close()
	if s, err := readFrom(f, &off); err != nil || s != "new\n" || off != 8 {
		t.Errorf("appended: %q %d %v", s, off, err)
	}
}

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	if m := median(ms(900, 100, 300)); m != 300*time.Millisecond {
		t.Errorf("median of 3: %v", m)
	}
	if m := median(ms(4, 1, 3, 2)); m != 2*time.Millisecond {
		t.Errorf("median of 4: %v", m)
	}
}
