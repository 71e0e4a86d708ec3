// Command blkbench measures sequential direct I/O on a block device or
// file, for GoZen's disk benchmarks (in dom0's and the domU's images;
// u-root's dd has no iflag=direct):
//
//	blkbench read  [-n BYTES] [-bs BYTES] PATH   read from offset 0
//	blkbench write [-n BYTES] [-bs BYTES] PATH   write a pattern from offset 0, then fsync
//
// Both open PATH with O_DIRECT (the page cache is bypassed on both sides of
// a PV disk) and print one line: "blkbench: read N bytes from PATH in
// D: X MiB/s". BYTES take a k, m or g suffix (powers of 1024); the
// defaults are 256 MiB in 1 MiB blocks. Write destroys PATH's contents.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// size reads BYTES: a decimal number with an optional k, m or g suffix.
func size(s string) (int64, error) {
	shift := 0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		shift = 10
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		shift = 20
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		shift = 30
	}
	if shift != 0 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)>>shift {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n << shift, nil
}

type sizeFlag struct{ v *int64 }

func (f sizeFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.FormatInt(*f.v, 10)
}

func (f sizeFlag) Set(s string) error {
	n, err := size(s)
	if err == nil {
		*f.v = n
	}
	return err
}

// run does the transfer and returns the bytes moved and the time taken.
func run(verb, path string, n, bs int64) (int64, time.Duration, error) {
	if bs%4096 != 0 {
		return 0, 0, errors.New("-bs must be a multiple of 4096 (direct I/O)")
	}
	flags := unix.O_RDONLY
	if verb == "write" {
		flags = unix.O_WRONLY
	}
	fd, err := unix.Open(path, flags|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(fd)
	// mmap: page-aligned, as O_DIRECT wants.
	buf, err := unix.Mmap(-1, 0, int(bs), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, 0, err
	}
	defer unix.Munmap(buf)
	for i := range buf {
		buf[i] = byte(i*7 + i>>12)
	}
	var done int64
	start := time.Now()
	for done < n {
		want := bs
		if n-done < want {
			want = (n - done + 4095) &^ 4095
		}
		var k int
		if verb == "write" {
			k, err = unix.Pwrite(fd, buf[:want], done)
		} else {
			k, err = unix.Pread(fd, buf[:want], done)
		}
		if err != nil {
			return done, time.Since(start), fmt.Errorf("%s at byte %d: %w", path, done, err)
		}
		if k == 0 {
			if verb == "read" {
				return done, time.Since(start), fmt.Errorf("%s: %w after %d bytes", path, io.ErrUnexpectedEOF, done)
			}
			return done, time.Since(start), fmt.Errorf("%s: no space after %d bytes", path, done)
		}
		done += int64(k)
	}
	if verb == "write" {
		if err := unix.Fsync(fd); err != nil {
			return done, time.Since(start), fmt.Errorf("%s: fsync: %w", path, err)
		}
	}
	return done, time.Since(start), nil
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "read" && os.Args[1] != "write") {
		fmt.Fprintln(os.Stderr, "usage: blkbench read|write [-n BYTES] [-bs BYTES] PATH")
		os.Exit(2)
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet(verb, flag.ExitOnError)
	n, bs := int64(256<<20), int64(1<<20)
	fs.Var(sizeFlag{&n}, "n", "bytes to move (k, m, g suffixes)")
	fs.Var(sizeFlag{&bs}, "bs", "bytes per request, a multiple of 4096")
	fs.Parse(os.Args[2:])
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "blkbench: want one PATH")
		os.Exit(2)
	}
	path := fs.Arg(0)
	done, d, err := run(verb, path, n, bs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "blkbench: %v\n", err)
		os.Exit(1)
	}
	dir := "from"
	if verb == "write" {
		dir = "to"
	}
	fmt.Printf("blkbench: %s %d bytes %s %s in %v: %.1f MiB/s\n", verb, done, dir, path, d.Round(time.Millisecond), float64(done)/(1<<20)/d.Seconds())
}
