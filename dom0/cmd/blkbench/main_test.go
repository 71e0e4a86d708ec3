package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSize(t *testing.T) {
	for s, want := range map[string]int64{"4096": 4096, "1k": 1024, "256m": 256 << 20, "2G": 2 << 30} {
		if n, err := size(s); err != nil || n != want {
			t.Errorf("size(%q) = %d, %v", s, n, err)
		}
	}
	for _, bad := range []string{"", "m", "-1", "0", "1x", "99999999999g"} {
		if _, err := size(bad); err == nil {
			t.Errorf("size(%q): no error", bad)
		}
	}
}

// TestRun writes then reads a file with O_DIRECT (skipped where the file
// system refuses it, as tmpfs does).
func TestRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n, _, err := run("write", p, 3<<20, 1<<20)
	if err != nil {
		t.Skipf("no direct I/O here: %v", err)
	}
	if n != 3<<20 {
		t.Fatalf("wrote %d", n)
	}
	if n, _, err := run("read", p, 3<<20, 1<<20); err != nil || n != 3<<20 {
		t.Fatalf("read %d, %v", n, err)
	}
	b, _ := os.ReadFile(p)
	for i := 0; i < len(b); i++ {
		if b[i] != byte(i%(1<<20)*7+i%(1<<20)>>12) {
			t.Fatalf("byte %d is %d", i, b[i])
		}
	}
	if _, _, err := run("read", p, 4<<20, 1<<20); err == nil {
		t.Error("reading past the end: no error")
	}
	if _, _, err := run("read", p, 1<<20, 1000); err == nil {
		t.Error("unaligned -bs: no error")
	}
	if _, _, err := run("read", filepath.Join(p, "nope"), 1<<20, 1<<20); err == nil {
		t.Error("missing file: no error")
	}
}
