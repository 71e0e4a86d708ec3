// Package kcache keeps the kernels xl decompressed, so that creating a
// domain from the same bzImage again skips the decompression. Under QEMU's
// TCG, decoding Debian's XZ-compressed 6.1 kernel (8 MiB to 63 MiB) costs
// dom0 3 to 4 seconds of every `xl create`, most of the command's time;
// Xen's xl pays it every time. A restart on_reboot, or several domUs of
// one kernel, now pay it once.
//
// An entry is the decompressed vmlinux, a file in the cache directory
// named by the identity of the bzImage it came from (device, inode, size,
// modification and change times): a bzImage that is rewritten, replaced
// or touched is a new key, and its old entry is evicted in time. Entries
// are written to a temporary file and renamed, so a reader sees a whole
// entry or none; Get checks the entry's size against the one the
// bzImage's header announces. The directory's total is bounded (Max):
// Commit evicts the least recently used entries beyond it. In GoZen's dom0
// the cache lives in memory (its root is an initramfs), so the bound is
// dom0 memory, and Create stores nothing when memory is short (Avail);
// deleting the directory empties the cache.
package kcache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDir is where GoZen's xl keeps the cache; dom0init mounts a tmpfs
// with huge pages on its parent.
const DefaultDir = "/var/cache/xen/kernels"

// Key identifies a kernel file's contents as its file system knows them.
type Key struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// KeyOf is the key of the file fi describes (from os.File.Stat), false if
// fi carries no Unix stat (never on Linux).
func KeyOf(fi os.FileInfo) (Key, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Key{}, false
	}
	return Key{Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}, true
}

// suffix ends every entry's name; other files in the directory are not
// the cache's, except Create's temporary files (tempPrefix), which the next
// Commit removes once they are staleTemp old.
const (
	suffix     = ".vmlinux"
	tempPrefix = ".new-"
	staleTemp  = time.Hour
)

func (k Key) name() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x%s", k.Dev, k.Ino, k.Size, k.Mtime, k.Ctime, suffix)
}

// Cache is a directory of entries of at most Max bytes in all.
type Cache struct {
	Dir string
	Max int64
	// Avail, if set, is the memory the system can still give
	// (MemAvailable); Create stores nothing that would leave it under
	// Reserve plus the entry's size again: a cache in memory must not
	// crowd out what dom0 runs.
	Avail func() (int64, error)
}

// Reserve is the memory an entry must leave available (Avail) besides
// twice its own size.
const Reserve = 64 << 20

// MemAvailable is Linux's estimate of the memory available for new work
// (/proc/meminfo's MemAvailable), a Cache.Avail.
func MemAvailable() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	return parseMemAvailable(string(b))
}

func parseMemAvailable(meminfo string) (int64, error) {
	for _, l := range strings.Split(meminfo, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "MemAvailable:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb < 0 {
				break
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("/proc/meminfo has no MemAvailable line")
}

// Get returns the entry for k, mapped read-only, and its release; false
// when there is none or its size is not size (a damaged entry, which Get
// removes).
func (c Cache) Get(k Key, size int) ([]byte, func(), bool) {
	p := filepath.Join(c.Dir, k.name())
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(size) || size <= 0 {
		os.Remove(p)
		return nil, nil, false
	}
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	now := time.Now()
	os.Chtimes(p, now, now) // most recently used
	return b, func() { unix.Munmap(b) }, true
}

// Entry is an entry being written: Buf is a shared mapping of a new file
// in the cache directory, to be filled (a decoder writes the kernel
// straight into it, so keeping it costs no copy). Commit makes it the
// entry for its key; Abort drops it.
type Entry struct {
	Buf  []byte
	c    Cache
	k    Key
	path string
}

// Create starts the entry for k, of n bytes. It returns nil and no error
// when the entry is not to be stored: larger than Max, or memory too short
// for it (Avail under twice n plus Reserve).
func (c Cache) Create(k Key, n int) (*Entry, error) {
	if int64(n) > c.Max || n <= 0 {
		return nil, nil
	}
	if c.Avail != nil {
		if a, err := c.Avail(); err != nil || a < 2*int64(n)+Reserve {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(c.Dir, tempPrefix+"*")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b []byte
	if err = f.Truncate(int64(n)); err == nil {
		b, err = unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &Entry{Buf: b, c: c, k: k, path: f.Name()}, nil
}

// Commit unmaps the entry and makes it the one for its key (a rename: a
// reader sees the whole entry or none), then evicts the least recently
// used entries until the directory holds at most Max bytes.
func (e *Entry) Commit() error {
	if e.Buf == nil {
		return errors.New("kcache: entry committed or aborted already")
	}
	unix.Munmap(e.Buf)
	e.Buf = nil
	if err := os.Rename(e.path, filepath.Join(e.c.Dir, e.k.name())); err != nil {
		os.Remove(e.path)
		return err
	}
	return e.c.evict(e.k.name())
}

// Abort unmaps and removes the entry (after Commit, it does nothing).
func (e *Entry) Abort() {
	if e.Buf == nil {
		return
	}
	unix.Munmap(e.Buf)
	e.Buf = nil
	os.Remove(e.path)
}

// evict removes the least recently used entries other than keep while
// the entries' total is over Max.
func (c Cache) evict(keep string) error {
	des, err := os.ReadDir(c.Dir)
	if err != nil {
		return err
	}
	type entry struct {
		name string
		size int64
		used time.Time
	}
	var es []entry
	var total int64
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			// Left by an xl that was killed: gone after staleTemp.
			if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
				os.Remove(filepath.Join(c.Dir, de.Name()))
			}
			continue
		}
		if !strings.HasSuffix(de.Name(), suffix) || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		es = append(es, entry{de.Name(), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	// Oldest first.
	slices.SortFunc(es, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range es {
		if total <= c.Max {
			break
		}
		if e.name == keep {
			continue
		}
		if err := os.Remove(filepath.Join(c.Dir, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		total -= e.size
	}
	return nil
}
