package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file holds bootbench's pure logic: turning timestamped chunks of QEMU's
// serial output into marker times, checking a run, and summarising runs as
// Markdown. main.go does the I/O.

// Marker identifies one of the console lines bootbench times.
type Marker int

const (
	// MarkHV is hv's first output, "GoZen hv: booting", printed by boot0
	// before the Go runtime exists.
	MarkHV Marker = iota
	// MarkMain is the first line Go main() prints:
	// "GoZen <version>: Go <go version> at ring 0, ...".
	MarkMain
	// MarkSelftest is the self-test result line "SELFTEST: PASS|FAIL ...".
	MarkSelftest
	numMarkers
)

var markerNames = [numMarkers]string{
	MarkHV:       "hv first output",
	MarkMain:     "Go main()",
	MarkSelftest: "SELFTEST",
}

func (m Marker) String() string {
	if m >= 0 && m < numMarkers {
		return markerNames[m]
	}
	return fmt.Sprintf("Marker(%d)", int(m))
}

// Match reports which marker a cleaned console line is, if any.
func Match(line string) (Marker, bool) {
	switch {
	case strings.Contains(line, "GoZen hv: booting"):
		return MarkHV, true
	case strings.HasPrefix(line, "GoZen ") && strings.Contains(line, " at ring 0"):
		return MarkMain, true
	case strings.HasPrefix(line, "SELFTEST:"):
		return MarkSelftest, true
	}
	return 0, false
}

// CleanLine removes carriage returns, terminal escape sequences (SeaBIOS and
// iPXE emit some) and other control characters from one line of serial
// output, and trims surrounding blanks.
func CleanLine(raw []byte) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == 0x1b: // ESC
			if i+1 < len(raw) && raw[i+1] == '[' {
				// CSI: parameter and intermediate bytes, then a final byte.
				j := i + 2
				for j < len(raw) && raw[j] >= 0x20 && raw[j] <= 0x3f {
					j++
				}
				i = j // the final byte (or end of line) is skipped
			} else {
				i++ // two-byte sequence such as ESC c
			}
		case c == '\t' || c >= 0x20 && c != 0x7f:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// Scanner splits serial output into lines as it arrives and records when each
// marker line was complete, measured from the start of the run. It does no
// I/O: feed it chunks with the time each was read.
type Scanner struct {
	partial []byte
	seen    [numMarkers]bool
	at      [numMarkers]time.Duration
	// SelftestLine is the cleaned SELFTEST line, if one was seen.
	SelftestLine string
	// Tail holds the last few cleaned non-empty lines, for diagnostics.
	Tail []string
}

const tailLines = 12

// Feed adds one chunk of output read at time at. A line is timestamped with
// the time of the chunk that completes it.
func (s *Scanner) Feed(at time.Duration, data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			s.partial = append(s.partial, data...)
			return
		}
		s.partial = append(s.partial, data[:i]...)
		s.line(at, s.partial)
		s.partial = s.partial[:0]
		data = data[i+1:]
	}
}

// Close ends the transcript at time at, counting an unterminated last line.
func (s *Scanner) Close(at time.Duration) {
	if len(s.partial) > 0 {
		s.line(at, s.partial)
		s.partial = s.partial[:0]
	}
}

func (s *Scanner) line(at time.Duration, raw []byte) {
	l := CleanLine(raw)
	if l == "" {
		return
	}
	s.Tail = append(s.Tail, l)
	if len(s.Tail) > tailLines {
		s.Tail = slices.Delete(s.Tail, 0, len(s.Tail)-tailLines)
	}
	m, ok := Match(l)
	if !ok || s.seen[m] {
		return // only the first occurrence counts
	}
	s.seen[m], s.at[m] = true, at
	if m == MarkSelftest {
		s.SelftestLine = l
	}
}

// At reports when marker m's line was complete, and whether it was seen.
func (s *Scanner) At(m Marker) (time.Duration, bool) { return s.at[m], s.seen[m] }

// Chunk is a piece of output and the time it was read.
type Chunk struct {
	At   time.Duration
	Data string
}

// ScanTranscript runs a Scanner over a recorded transcript ending at end.
func ScanTranscript(chunks []Chunk, end time.Duration) *Scanner {
	var s Scanner
	for _, c := range chunks {
		s.Feed(c.At, []byte(c.Data))
	}
	s.Close(end)
	return &s
}

// Selftest is a parsed "SELFTEST: PASS|FAIL key=value ..." line.
type Selftest struct {
	Verdict string // PASS or FAIL
	Fields  map[string]string
}

// ParseSelftest parses a cleaned SELFTEST line.
func ParseSelftest(line string) (Selftest, error) {
	rest, ok := strings.CutPrefix(line, "SELFTEST:")
	if !ok {
		return Selftest{}, fmt.Errorf("not a SELFTEST line: %q", line)
	}
	f := strings.Fields(rest)
	if len(f) == 0 || f[0] != "PASS" && f[0] != "FAIL" {
		return Selftest{}, fmt.Errorf("SELFTEST line without PASS/FAIL verdict: %q", line)
	}
	st := Selftest{Verdict: f[0], Fields: map[string]string{}}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return Selftest{}, fmt.Errorf("SELFTEST line: malformed field %q", kv)
		}
		st.Fields[k] = v
	}
	return st, nil
}

// Int returns numeric field k.
func (st Selftest) Int(k string) (int64, error) {
	v, ok := st.Fields[k]
	if !ok {
		return 0, fmt.Errorf("SELFTEST line has no %s field", k)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("SELFTEST field %s=%q is not an integer", k, v)
	}
	return n, nil
}

// MemFields are the SELFTEST fields bootbench reports, in table order.
var MemFields = []string{"heap_sys_kib", "runtime_sys_kib", "hv_pool_used_kib"}

// ExpectedExitStatus is QEMU's exit status when hv stops with code 0
// (isa-debug-exit turns code c into status 2c+1).
const ExpectedExitStatus = 1

// Run is the outcome of one boot.
type Run struct {
	Marks    [numMarkers]time.Duration
	Exit     time.Duration // when QEMU exited
	Status   int           // QEMU exit status; -1 if killed by a signal
	TimedOut bool
	Selftest Selftest
	Tail     []string // last console lines, for diagnostics
}

// Evaluate checks one boot: every marker seen, in order, SELFTEST PASS with
// the memory fields present, QEMU exited by itself with the expected status.
// It returns the Run even when it reports an error, filled as far as known.
func Evaluate(s *Scanner, exit time.Duration, status int, timedOut bool) (Run, error) {
	r := Run{Exit: exit, Status: status, TimedOut: timedOut, Tail: s.Tail}
	var errs []error
	if timedOut {
		errs = append(errs, fmt.Errorf("timed out after %s ms (QEMU killed)", fmtDur(exit)))
	} else if status != ExpectedExitStatus {
		errs = append(errs, fmt.Errorf("QEMU exit status %d, want %d (hv stop code 0)", status, ExpectedExitStatus))
	}
	prev := time.Duration(0)
	for m := Marker(0); m < numMarkers; m++ {
		at, ok := s.At(m)
		if !ok {
			errs = append(errs, fmt.Errorf("marker %q not seen", m))
			continue
		}
		if at < prev {
			errs = append(errs, fmt.Errorf("marker %q at %s comes before an earlier marker", m, fmtDur(at)))
		}
		r.Marks[m], prev = at, at
	}
	if s.SelftestLine != "" {
		st, err := ParseSelftest(s.SelftestLine)
		if err != nil {
			errs = append(errs, err)
		} else {
			r.Selftest = st
			if st.Verdict != "PASS" {
				errs = append(errs, fmt.Errorf("self-test verdict %s", st.Verdict))
			}
			for _, k := range MemFields {
				if _, err := st.Int(k); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return r, errors.Join(errs...)
}

// median returns the median of ds (the mean of the middle two for an even
// count). ds must not be empty.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianRun returns the index of the run whose QEMU exit time is the median
// (the lower middle one for an even count). runs must not be empty.
func MedianRun(runs []Run) int {
	idx := make([]int, len(runs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return runs[idx[a]].Exit < runs[idx[b]].Exit })
	return idx[(len(idx)-1)/2]
}

// Image describes the benchmarked image.
type Image struct {
	Path   string
	Size   int64
	SHA256 string // hex
}

// fmtDur formats a duration as milliseconds with one decimal.
func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// Markdown formats successful runs: a table of per-run times since QEMU start
// with a median row, a table of median intervals between markers, and the
// image size and memory figures of the median run. runs must not be empty.
func Markdown(runs []Run, img Image) string {
	var b strings.Builder
	cols := func(r [numMarkers + 1]time.Duration) string {
		var c []string
		for _, d := range r {
			c = append(c, fmtDur(d))
		}
		return strings.Join(c, " | ")
	}
	row := func(r Run) (a [numMarkers + 1]time.Duration) {
		copy(a[:], r.Marks[:])
		a[numMarkers] = r.Exit
		return a
	}
	b.WriteString("Times in ms since QEMU was started.\n\n")
	b.WriteString("| run | hv first output | Go main() | SELFTEST | QEMU exit |\n")
	b.WriteString("|----:|----------------:|----------:|---------:|----------:|\n")
	var per [numMarkers + 1][]time.Duration
	for i, r := range runs {
		a := row(r)
		for j, d := range a {
			per[j] = append(per[j], d)
		}
		fmt.Fprintf(&b, "| %d | %s |\n", i+1, cols(a))
	}
	var med [numMarkers + 1]time.Duration
	for j := range per {
		med[j] = median(per[j])
	}
	fmt.Fprintf(&b, "| **median** | **%s** |\n", strings.ReplaceAll(cols(med), " | ", "** | **"))

	// Intervals: medians of the per-run differences.
	var iv [numMarkers + 1][]time.Duration
	for _, r := range runs {
		a := row(r)
		prev := time.Duration(0)
		for j, d := range a {
			iv[j] = append(iv[j], d-prev)
			prev = d
		}
	}
	names := [numMarkers + 1]string{
		"QEMU start → hv first output",
		"hv first output → Go main()",
		"Go main() → SELFTEST",
		"SELFTEST → QEMU exit",
	}
	b.WriteString("\n| interval | median ms | min ms | max ms |\n")
	b.WriteString("|----------|----------:|-------:|-------:|\n")
	for j := range iv {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", names[j],
			fmtDur(median(iv[j])), fmtDur(slices.Min(iv[j])), fmtDur(slices.Max(iv[j])))
	}

	mr := MedianRun(runs)
	st := runs[mr].Selftest
	b.WriteString("\n| | |\n|---|---:|\n")
	fmt.Fprintf(&b, "| image size (`%s`) | %d bytes |\n", img.Path, img.Size)
	fmt.Fprintf(&b, "| median run (by QEMU exit time) | run %d |\n", mr+1)
	for _, k := range append(slices.Clone(MemFields), "elapsed_ms") {
		if v, ok := st.Fields[k]; ok {
			fmt.Fprintf(&b, "| SELFTEST %s | %s |\n", k, v)
		}
	}
	if img.SHA256 != "" {
		fmt.Fprintf(&b, "\nImage sha256 `%s`.\n", img.SHA256)
	}
	return b.String()
}
