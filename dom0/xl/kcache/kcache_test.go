package kcache

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func key(t *testing.T, path string) Key {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := KeyOf(fi)
	if !ok {
		t.Fatal("no stat")
	}
	return k
}

// TestGetPut: an entry comes back as stored; rewriting the bzImage makes
// a new key; an entry of the wrong size is dropped.
func TestGetPut(t *testing.T) {
	dir := t.TempDir()
	c := Cache{Dir: filepath.Join(dir, "cache"), Max: 1 << 20}
	bz := filepath.Join(dir, "vmlinuz")
	os.WriteFile(bz, []byte("bzImage one"), 0o644)
	k := key(t, bz)
	if _, _, ok := c.Get(k, 100); ok {
		t.Fatal("an empty cache had an entry")
	}
	v := bytes.Repeat([]byte("vmlinux!"), 1000)
	if ok, err := put(c, k, v); !ok || err != nil {
		t.Fatal(err)
	}
	b, release, ok := c.Get(k, len(v))
	if !ok || !bytes.Equal(b, v) {
		t.Fatalf("Get = %v, equal %v", ok, bytes.Equal(b, v))
	}
	release()
	// The same path rewritten (a new kernel installed over it) is
	// another key.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(bz, []byte("bzImage two"), 0o644)
	if k2 := key(t, bz); k2 == k {
		t.Fatal("rewriting the file kept its key")
	} else if _, _, ok := c.Get(k2, len(v)); ok {
		t.Error("a rewritten bzImage found the old kernel")
	}
	// An entry whose size is not what the bzImage announces is damaged:
	// not returned, and removed.
	if _, _, ok := c.Get(k, len(v)+1); ok {
		t.Error("an entry of the wrong size was returned")
	}
	if _, _, ok := c.Get(k, len(v)); ok {
		t.Error("the damaged entry was kept")
	}
	// Larger than the whole cache: not stored.
	if ok, err := put(c, k, make([]byte, 2<<20)); ok || err != nil {
		t.Fatalf("Put of more than Max = %v, %v", ok, err)
	}
	if _, _, ok := c.Get(k, 2<<20); ok {
		t.Error("an entry larger than Max was stored")
	}
}

// TestEvictsLeastRecentlyUsed: over Max, Put drops the entries used
// longest ago, never the one it stores; files that are not entries stay.
func TestEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	c := Cache{Dir: dir, Max: 3000}
	os.WriteFile(filepath.Join(dir, "README"), make([]byte, 5000), 0o644)
	// Temporary files of killed Puts: an old one goes, a fresh one (a
	// Put under way) stays.
	stale, fresh := filepath.Join(dir, tempPrefix+"1"), filepath.Join(dir, tempPrefix+"2")
	os.WriteFile(stale, make([]byte, 10), 0o600)
	os.WriteFile(fresh, make([]byte, 10), 0o600)
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(stale, old, old)
	ks := []Key{{Ino: 1}, {Ino: 2}, {Ino: 3}}
	for i, k := range ks[:2] {
		if _, err := put(c, k, bytes.Repeat([]byte{byte(i + 1)}, 1000)); err != nil {
			t.Fatal(err)
		}
		// Entry 0 used last: entry 1 is the least recently used.
		old := time.Now().Add(time.Duration(i-10) * time.Second)
		os.Chtimes(filepath.Join(dir, k.name()), old, old)
	}
	if _, release, ok := c.Get(ks[0], 1000); !ok {
		t.Fatal("entry 0 missing")
	} else {
		release()
	}
	if _, err := put(c, ks[2], make([]byte, 1500)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true} {
		n := 1000
		if i == 2 {
			n = 1500
		}
		if _, release, ok := c.Get(ks[i], n); ok != want {
			t.Errorf("entry %d present %v, want %v", i, ok, want)
		} else if ok {
			release()
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("a file that is not an entry was removed: %v", err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale temporary file was kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
}

// TestPutLeavesMemory: with too little memory available for the entry
// twice over plus Reserve, Put stores nothing.
func TestPutLeavesMemory(t *testing.T) {
	avail := int64(Reserve + 2*1000)
	c := Cache{Dir: t.TempDir(), Max: 1 << 20, Avail: func() (int64, error) { return avail, nil }}
	if ok, err := put(c, Key{Ino: 1}, make([]byte, 1000)); !ok || err != nil {
		t.Errorf("Put with just enough memory = %v, %v", ok, err)
	}
	avail--
	if ok, err := put(c, Key{Ino: 2}, make([]byte, 1000)); ok || err != nil {
		t.Errorf("Put with a byte too little = %v, %v", ok, err)
	}
	if _, _, ok := c.Get(Key{Ino: 2}, 1000); ok {
		t.Error("stored anyway")
	}
}

func TestParseMemAvailable(t *testing.T) {
	const mi = "MemTotal:        8041904 kB\nMemFree:          245656 kB\nMemAvailable:    5523960 kB\nBuffers:          357332 kB\n"
	if n, err := parseMemAvailable(mi); err != nil || n != 5523960<<10 {
		t.Errorf("= %d, %v", n, err)
	}
	for _, bad := range []string{"", "MemTotal: 1 kB\n", "MemAvailable: x kB\n", "MemAvailable: -5 kB\n", "MemAvailable: 5 MB\n"} {
		if _, err := parseMemAvailable(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestCreateCommitAbort: an entry being written is not found until it is
// committed; an aborted one leaves nothing behind.
func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	c := Cache{Dir: dir, Max: 1 << 20}
	e, err := c.Create(Key{Ino: 7}, 5000)
	if err != nil || e == nil || len(e.Buf) != 5000 {
		t.Fatalf("Create = %v, %v", e, err)
	}
	copy(e.Buf, "kernel")
	if _, _, ok := c.Get(Key{Ino: 7}, 5000); ok {
		t.Error("an uncommitted entry was found")
	}
	if err := e.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, release, ok := c.Get(Key{Ino: 7}, 5000); !ok || string(b[:6]) != "kernel" {
		t.Errorf("committed entry: %v", ok)
	} else {
		release()
	}
	if err := e.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	e2, err := c.Create(Key{Ino: 8}, 100)
	if err != nil || e2 == nil {
		t.Fatal(err)
	}
	e2.Abort()
	e2.Abort()
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Errorf("after an abort the directory holds %d files, want the one entry", len(des))
	}
	if e3, err := c.Create(Key{Ino: 9}, 2<<20); e3 != nil || err != nil {
		t.Errorf("Create of more than Max = %v, %v", e3, err)
	}
}

// put stores vmlinux as k's entry as xl does (Create, fill, Commit); false
// when Create declined it.
func put(c Cache, k Key, vmlinux []byte) (bool, error) {
	e, err := c.Create(k, len(vmlinux))
	if e == nil || err != nil {
		return false, err
	}
	copy(e.Buf, vmlinux)
	return true, e.Commit()
}
