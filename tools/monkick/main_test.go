package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeMonitor answers like HMP: a banner and a prompt, then a prompt
// after each command (echoed first, as HMP's readline does), the slow-th
// command late by delay; it hangs up after n commands. It returns the
// commands it got.
func fakeMonitor(c net.Conn, n, slow int, delay time.Duration) <-chan []string {
	done := make(chan []string, 1)
	go func() {
		defer c.Close()
		var got []string
		c.Write([]byte("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "))
		br := bufio.NewReader(c)
		for i := 0; i < n; i++ {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			cmd := strings.TrimSpace(line)
			got = append(got, cmd)
			if i == slow {
				time.Sleep(delay)
			}
			c.Write([]byte(cmd + "\x1b[K\r\n(qemu) "))
		}
		done <- got
	}()
	return done
}

func TestKickAlternatesAndTimes(t *testing.T) {
	a, b := net.Pipe()
	done := fakeMonitor(b, 9, 4, 200*time.Millisecond)
	r := kick(a)
	got := <-done
	if want := "stop cont stop cont stop cont stop cont stop"; strings.Join(got, " ") != want {
		t.Errorf("commands %q, want %q", strings.Join(got, " "), want)
	}
	// 9 commands answered: 4 full pairs; the 9th (a stop) made no pair.
	if r.pairs != 4 {
		t.Errorf("pairs %d, want 4", r.pairs)
	}
	if r.longest < 200*time.Millisecond || r.longest > 2*time.Second {
		t.Errorf("longest %v, want the 200 ms stall", r.longest)
	}
}

// A monitor that never prompts: no pairs, and kick returns when it hangs up.
func TestKickNoPrompt(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		b.Write([]byte("garbage without a prompt"))
		b.Close()
	}()
	if r := kick(a); r.pairs != 0 || r.longest != 0 {
		t.Errorf("report %v, want nothing", r)
	}
}

// A prompt split across reads is still found.
func TestPrompterSplit(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		for _, s := range []string{"ban", "ner\r\n(qe", "mu", ") ", "x (qemu) "} {
			b.Write([]byte(s))
		}
		b.Close()
	}()
	p := &prompter{r: a}
	if !p.next() || !p.next() || p.next() {
		t.Error("want exactly two prompts")
	}
}
