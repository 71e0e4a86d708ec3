// Command tcpbench moves a known byte stream over one TCP connection and
// reports throughput and the stream's SHA-256, for GoZen's network
// scenarios and benchmarks (in dom0's and the domU's images):
//
//	tcpbench recv [-l ADDR:PORT] [-n BYTES]   accept one connection, read to EOF
//	tcpbench send [-n BYTES] HOST:PORT        connect (retrying 30 s) and send
//	tcpbench sum [-n BYTES]                   the stream's SHA-256, no network
//
// The stream is a fixed pseudo-random sequence (PCG, fixed seed), so the
// receiver checks every byte against it as well as hashing what came:
// its line ends "data ok" or "data CORRUPT at byte N". The default size
// is 64 MiB.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

const chunk = 64 << 10

// stream generates the byte stream in chunks.
type stream struct {
	r   *rand.PCG
	buf [chunk]byte
}

func newStream() *stream { return &stream{r: rand.NewPCG(0x476f5a656e, 0x6e6574)} }

func (s *stream) next() []byte {
	for i := 0; i < chunk; i += 8 {
		binary.LittleEndian.PutUint64(s.buf[i:], s.r.Uint64())
	}
	return s.buf[:]
}

func mib(n int64, d time.Duration) float64 {
	if d <= 0 {
		d = time.Microsecond
	}
	return float64(n) / (1 << 20) / d.Seconds()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tcpbench recv [-l ADDR:PORT] [-n BYTES] | send [-n BYTES] HOST:PORT | sum [-n BYTES]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int64("n", 64<<20, "bytes")
	listen := fs.String("l", ":5001", "listen address (recv)")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "recv":
		err = recv(*listen, *n)
	case "send":
		if fs.NArg() != 1 {
			err = errors.New("send: want HOST:PORT")
		} else {
			err = send(fs.Arg(0), *n)
		}
	case "sum":
		h := sha256.New()
		s := newStream()
		for left := *n; left > 0; {
			b := s.next()
			if int64(len(b)) > left {
				b = b[:left]
			}
			h.Write(b)
			left -= int64(len(b))
		}
		fmt.Printf("%x\n", h.Sum(nil))
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tcpbench: %v\n", err)
		os.Exit(1)
	}
}

func recv(addr string, want int64) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("tcpbench: listening on %s\n", l.Addr())
	c, err := l.Accept()
	l.Close()
	if err != nil {
		return err
	}
	defer c.Close()
	h := sha256.New()
	s := newStream()
	var exp []byte
	var got int64
	bad := int64(-1)
	buf := make([]byte, chunk)
	var t0 time.Time
	for {
		k, err := c.Read(buf)
		if k > 0 && t0.IsZero() {
			t0 = time.Now()
		}
		b := buf[:k]
		h.Write(b)
		for len(b) > 0 {
			if len(exp) == 0 {
				exp = s.next()
			}
			m := min(len(b), len(exp))
			if bad < 0 && !bytes.Equal(b[:m], exp[:m]) {
				for i := 0; i < m; i++ {
					if b[i] != exp[i] {
						bad = got + int64(i)
						break
					}
				}
			}
			got += int64(m)
			b, exp = b[m:], exp[m:]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d bytes: %v", got, err)
		}
	}
	d := time.Since(t0)
	verdict := "data ok"
	switch {
	case bad >= 0:
		verdict = fmt.Sprintf("data CORRUPT at byte %d", bad)
	case got != want:
		verdict = fmt.Sprintf("data SHORT: %d of %d bytes", got, want)
	}
	fmt.Printf("tcpbench: received %d bytes from %s in %.2f s: %.2f MiB/s sha256 %x %s\n",
		got, c.RemoteAddr(), d.Seconds(), mib(got, d), h.Sum(nil), verdict)
	if verdict != "data ok" {
		return errors.New(verdict)
	}
	return nil
}

func send(addr string, n int64) error {
	var c net.Conn
	var err error
	for t := time.Now(); ; time.Sleep(500 * time.Millisecond) {
		if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil || time.Since(t) > 30*time.Second {
			break
		}
	}
	if err != nil {
		return err
	}
	h := sha256.New()
	s := newStream()
	t0 := time.Now()
	for left := n; left > 0; {
		b := s.next()
		if int64(len(b)) > left {
			b = b[:left]
		}
		h.Write(b)
		if _, err := c.Write(b); err != nil {
			return fmt.Errorf("after %d bytes: %v", n-left, err)
		}
		left -= int64(len(b))
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	io.Copy(io.Discard, c) // the receiver closes when it has all of it
	c.Close()
	d := time.Since(t0)
	fmt.Printf("tcpbench: sent %d bytes to %s in %.2f s: %.2f MiB/s sha256 %x\n", n, addr, d.Seconds(), mib(n, d), h.Sum(nil))
	return nil
}
