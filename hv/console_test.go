package hv

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A domain flooding its console loses lines beyond its rate limit and hv
// says how many when its output goes through again; another domain's
// output is not affected.
func TestConsoleFloodIsRateLimitedPerDomain(t *testing.T) {
	var out bytes.Buffer
	var flood, quiet lineBuffer
	flood.id, quiet.id = 1, 2
	now := int64(1e9)
	const lines = 20000
	for i := 0; i < lines; i++ {
		now += 1000 // 1 µs a line: far beyond the rate
		flood.write(&out, "flood", []byte(fmt.Sprintf("flood line %d of a domain that prints too much\n", i)), now)
		if i%1000 == 0 {
			quiet.write(&out, "quiet", []byte(fmt.Sprintf("quiet %d\n", i/1000)), now)
		}
	}
	printed := strings.Count(out.String(), "(flood) ")
	if got := out.Len(); got > consoleBurst+consoleBurst/10+20*len("(quiet) quiet 19\n") {
		t.Errorf("%d bytes printed for the flood (%d lines), burst is %d", got, printed, consoleBurst)
	}
	if printed == 0 || printed >= lines {
		t.Fatalf("%d of %d flood lines printed", printed, lines)
	}
	for i := 0; i < 20; i++ {
		if !strings.Contains(out.String(), fmt.Sprintf("(quiet) quiet %d\n", i)) {
			t.Errorf("the quiet domain's line %d is missing", i)
		}
	}
	// A second later the domain prints again: any report comes first, and
	// what was printed and reported dropped adds up to what it wrote.
	now += 1e9
	flood.write(&out, "flood", []byte("back\n"), now)
	if !regexp.MustCompile(`hv: domain 1 "flood": \d+ console lines dropped\n\(flood\) back\n$`).MatchString(out.String()) {
		t.Fatalf("after the flood: %q", out.String()[max(0, out.Len()-200):])
	}
	if n := droppedIn(out.String()); n != lines-printed {
		t.Errorf("reported %d dropped, want %d", n, lines-printed)
	}
	// The bucket refills at consoleRate: over 10 s about 10 × rate bytes.
	out.Reset()
	for i := 0; i < 100000; i++ {
		now += 1e5 // 10 s in all
		flood.write(&out, "flood", []byte("0123456789012345678901234567890123456789\n"), now)
	}
	perLine := int64(len("(flood) 0123456789012345678901234567890123456789\n"))
	if got := int64(strings.Count(out.String(), "(flood) 0123")); got < 10*consoleRate/perLine-5 || got > (10*consoleRate+consoleRate)/perLine+5 {
		t.Errorf("%d lines over 10 s at %d bytes/s", got, consoleRate)
	}
	// The last flush reports what was dropped at the end.
	flood.write(&out, "flood", []byte("no credit left for this one\n"), now)
	out.Reset()
	flood.flush(&out, "flood")
	if !strings.HasPrefix(out.String(), `hv: domain 1 "flood": `) {
		t.Errorf("final flush: %q", out.String())
	}
}

// Through the domain: port 0xE9, console_io and the ring share one limit.
func TestConsoleWriteUsesTheDomainsLimit(t *testing.T) {
	h, _, out, a, b := newTwoDomains(t)
	line := []byte(strings.Repeat("x", 200) + "\n")
	for i := 0; i < 2000; i++ {
		a.consoleWrite(line)
	}
	b.consoleWrite([]byte("neighbour\n"))
	if !strings.Contains(out.String(), "(b) neighbour\n") {
		t.Error("the neighbour's line was dropped")
	}
	if n := strings.Count(out.String(), "(a) x"); n >= 2000 || n == 0 {
		t.Errorf("%d of 2000 flood lines printed", n)
	}
	h.shutdownDomain(a, 0)
	if !regexp.MustCompile(`hv: domain 1 "a": \d+ console lines dropped`).MatchString(out.String()) {
		t.Error("no dropped-lines report when the domain ended")
	}
}

// droppedIn adds up the dropped-lines reports in s.
func droppedIn(s string) int {
	n := 0
	for _, m := range regexp.MustCompile(`console lines dropped`).FindAllStringIndex(s, -1) {
		line := s[strings.LastIndex(s[:m[0]], "\n")+1 : m[0]]
		f := strings.Fields(line)
		k, _ := strconv.Atoi(f[len(f)-1])
		n += k
	}
	return n
}
