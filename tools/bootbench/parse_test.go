package main

import (
	"strings"
	"testing"
	"time"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// transcript is a real QEMU serial transcript of `hv selftest` (escape
// sequences and CRs as QEMU wrote them), cut into chunks at awkward places
// (inside an escape sequence, inside marker lines) with fake read times.
var transcript = []Chunk{
	{ms(310.0), "\x1bc\x1b["},
	{ms(311.0), "?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n\n\n"},
	{ms(390.0), "iPXE (http://ipxe.org) 00:03.0 CA00 PCI2.10 PnP PMM+3EFCF000+3EF0F000 CA00\r\n" +
		"Press Ctrl-B to configure iPXE (PCI 00:03.0)...\r                                                                               \r\n\n\n"},
	{ms(1400.0), "Booting from ROM..\r\n"},
	{ms(1450.0), "GoZen hv: boo"},
	{ms(1450.5), "ting\r\n"},
	{ms(1490.0), "GoZen 0.1.0-dev: Go go1.26.8 at ring 0, loglvl=info\r"},
	{ms(1490.2), "\ncpu: AuthenticAMD family 0xf model 0x6b, svm=true nx=true rdrand=true rdseed=false, tsc 2593 MHz, apic timer 62 MHz\r\n" +
		"memory: 1023 MiB RAM, 1020 MiB usable; hv pool 128 MiB (127 MiB free), guest pool 891 MiB (891 MiB free)\r\n" +
		"boot: loader \"qemu\", cmdline \"selftest\"\r\n" +
		"boot: no modules\r\n"},
	{ms(1600.0), "selftest: goroutines   ok   200 goroutines x 20 rounds\r\n"},
	{ms(1900.0), "selftest: sleep        ok   20ms->21.52ms 50ms->50.99ms 100ms->101.15ms worst=+7.6%\r\n" +
		"selftest: ticker       ok   10 ticks in 101.02ms, timer fired=true\r\n" +
		"selftest: maps         ok   100000 inserts, 50000 after deletes\r\n" +
		"selftest: gc           ok   17 cycles, heap 396 KiB\r\n" +
		"selftest: nilpanic     ok   recovered: runtime error: invalid memory address or nil pointer dereference\r\n" +
		"selftest: divpanic     ok   recovered: runtime error: integer divide by zero\r\n" +
		"selftest: clock        ok   wall 2026-11-25T19:25:00Z\r\n" +
		"selftest: oneshot      ok   armed +3ms, fired 1 time(s) at +3.16ms\r\n" +
		"SELFTEST: PASS goroutines=ok sleep=ok ticker=ok maps=ok gc=ok nilpanic=ok divpanic=ok clock=ok oneshot=ok gc_cycles=19 heap_sys_kib=11904 runtime_sys_kib=16222 hv_pool_used_kib=1816 elapsed_"},
	{ms(2301.0), "ms=811\r\nhv: stopped (code 0); reset the machine to restart\r\n"},
}

func TestScanTranscript(t *testing.T) {
	s := ScanTranscript(transcript, ms(2350))
	want := map[Marker]time.Duration{MarkHV: ms(1450.5), MarkMain: ms(1490.2), MarkSelftest: ms(2301.0)}
	for m, w := range want {
		got, ok := s.At(m)
		if !ok || got != w {
			t.Errorf("%v: got %v (seen %v), want %v", m, got, ok, w)
		}
	}
	if !strings.HasPrefix(s.SelftestLine, "SELFTEST: PASS goroutines=ok") || !strings.HasSuffix(s.SelftestLine, "elapsed_ms=811") {
		t.Errorf("SelftestLine = %q", s.SelftestLine)
	}
	if got := s.Tail[len(s.Tail)-1]; got != "hv: stopped (code 0); reset the machine to restart" {
		t.Errorf("last line %q", got)
	}

	r, err := Evaluate(s, ms(2350), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Marks != [numMarkers]time.Duration{ms(1450.5), ms(1490.2), ms(2301.0)} || r.Exit != ms(2350) {
		t.Errorf("run = %+v", r)
	}
	for k, w := range map[string]int64{"heap_sys_kib": 11904, "runtime_sys_kib": 16222, "hv_pool_used_kib": 1816, "elapsed_ms": 811} {
		if got, err := r.Selftest.Int(k); err != nil || got != w {
			t.Errorf("%s = %d, %v; want %d", k, got, err, w)
		}
	}
}

func TestScanOneByteChunks(t *testing.T) {
	var all strings.Builder
	for _, c := range transcript {
		all.WriteString(c.Data)
	}
	var chunks []Chunk
	for i, b := range []byte(all.String()) {
		chunks = append(chunks, Chunk{time.Duration(i), string([]byte{b})})
	}
	s := ScanTranscript(chunks, time.Hour)
	for m := Marker(0); m < numMarkers; m++ {
		at, ok := s.At(m)
		if !ok {
			t.Fatalf("%v not seen", m)
		}
		// The line is complete when its '\n' arrives: check that byte.
		if c := all.String()[int(at)]; c != '\n' {
			t.Errorf("%v timestamped at byte %d %q, want its newline", m, at, c)
		}
	}
}

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)\r": "SeaBIOS (version 1.16.2)",
		"Press Ctrl-B...\r        \r":                           "Press Ctrl-B...",
		"GoZen hv: booting\r":                                   "GoZen hv: booting",
		"\x1b[1;32mSELFTEST: PASS\x1b[0m":                       "SELFTEST: PASS",
		"tab\there\x00\x7f":                                     "tab\there",
		"trailing escape \x1b[":                                 "trailing escape",
	} {
		if got := CleanLine([]byte(in)); got != want {
			t.Errorf("CleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	for line, want := range map[string]int{
		"GoZen hv: booting": int(MarkHV),
		"GoZen 0.1.0-dev: Go go1.26.8 at ring 0, loglvl=info": int(MarkMain),
		"GoZen 0.2.0: Go go1.27rc1 at ring 0":                 int(MarkMain),
		"SELFTEST: PASS gc_cycles=1":                          int(MarkSelftest),
		"SELFTEST: FAIL sleep=fail":                           int(MarkSelftest),
		"selftest: gc           ok   17 cycles, heap 396 KiB": -1,
		"Booting from ROM..":                                  -1,
		"boot: loader \"qemu\", cmdline \"selftest\"":         -1,
	} {
		m, ok := Match(line)
		got := -1
		if ok {
			got = int(m)
		}
		if got != want {
			t.Errorf("Match(%q) = %d, want %d", line, got, want)
		}
	}
}

func TestEvaluateFailures(t *testing.T) {
	full := func() *Scanner { return ScanTranscript(transcript, ms(2350)) }
	cut := func(n int) *Scanner { return ScanTranscript(transcript[:n], ms(2350)) }
	failing := func(s string) *Scanner {
		var sc Scanner
		sc.Feed(1, []byte("GoZen hv: booting\nGoZen x: Go go at ring 0\n"+s+"\n"))
		return &sc
	}
	for _, tc := range []struct {
		name     string
		s        *Scanner
		status   int
		timedOut bool
		want     string
	}{
		{"exit status", full(), 7, false, "exit status 7"},
		{"triple fault", full(), 0, false, "exit status 0"},
		{"timeout", cut(6), -1, true, "timed out"},
		{"no main", cut(6), 1, false, `"Go main()" not seen`},
		{"no hv", cut(4), 1, false, `"hv first output" not seen`},
		{"no selftest", cut(8), 1, false, `"SELFTEST" not seen`},
		{"fail verdict", failing("SELFTEST: FAIL heap_sys_kib=1 runtime_sys_kib=2 hv_pool_used_kib=3"), 1, false, "verdict FAIL"},
		{"missing field", failing("SELFTEST: PASS heap_sys_kib=1 runtime_sys_kib=2"), 1, false, "no hv_pool_used_kib field"},
		{"bad field", failing("SELFTEST: PASS heap_sys_kib=x runtime_sys_kib=2 hv_pool_used_kib=3"), 1, false, "not an integer"},
		{"no verdict", failing("SELFTEST: heap_sys_kib=1"), 1, false, "without PASS/FAIL"},
	} {
		_, err := Evaluate(tc.s, ms(2350), tc.status, tc.timedOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	if got := median([]time.Duration{5, 1, 3}); got != 3 {
		t.Errorf("odd median = %v", got)
	}
	if got := median([]time.Duration{4, 1, 2, 3}); got != 2 { // (2+3)/2 truncated
		t.Errorf("even median = %v", got)
	}
	runs := []Run{{Exit: 30}, {Exit: 10}, {Exit: 50}, {Exit: 20}, {Exit: 40}}
	if got := MedianRun(runs); got != 0 {
		t.Errorf("MedianRun = %d, want 0", got)
	}
	if got := MedianRun(runs[:4]); got != 3 { // exits 10,20,30,40: lower middle is 20
		t.Errorf("MedianRun even = %d, want 3", got)
	}
}

func TestMarkdown(t *testing.T) {
	mk := func(hv, main, st, exit float64, heap string) Run {
		return Run{
			Marks: [numMarkers]time.Duration{ms(hv), ms(main), ms(st)},
			Exit:  ms(exit),
			Selftest: Selftest{Verdict: "PASS", Fields: map[string]string{
				"heap_sys_kib": heap, "runtime_sys_kib": "16222", "hv_pool_used_kib": "1816", "elapsed_ms": "811"}},
		}
	}
	runs := []Run{
		mk(1450.5, 1490.2, 2301.0, 2350.0, "11904"),
		mk(1400.0, 1440.0, 2200.0, 2250.0, "12000"),
		mk(1500.0, 1545.0, 2400.0, 2450.0, "13000"),
	}
	got := Markdown(runs, Image{Path: "out/hv.bin", Size: 1933312, SHA256: "abcd"})
	want := "Times in ms since QEMU was started.\n" +
		"\n" +
		"| run | hv first output | Go main() | SELFTEST | QEMU exit |\n" +
		"|----:|----------------:|----------:|---------:|----------:|\n" +
		"| 1 | 1450.5 | 1490.2 | 2301.0 | 2350.0 |\n" +
		"| 2 | 1400.0 | 1440.0 | 2200.0 | 2250.0 |\n" +
		"| 3 | 1500.0 | 1545.0 | 2400.0 | 2450.0 |\n" +
		"| **median** | **1450.5** | **1490.2** | **2301.0** | **2350.0** |\n" +
		"\n" +
		"| interval | median ms | min ms | max ms |\n" +
		"|----------|----------:|-------:|-------:|\n" +
		"| QEMU start → hv first output | 1450.5 | 1400.0 | 1500.0 |\n" +
		"| hv first output → Go main() | 40.0 | 39.7 | 45.0 |\n" +
		"| Go main() → SELFTEST | 810.8 | 760.0 | 855.0 |\n" +
		"| SELFTEST → QEMU exit | 50.0 | 49.0 | 50.0 |\n" +
		"\n" +
		"| | |\n" +
		"|---|---:|\n" +
		"| image size (`out/hv.bin`) | 1933312 bytes |\n" +
		"| median run (by QEMU exit time) | run 1 |\n" +
		"| SELFTEST heap_sys_kib | 11904 |\n" +
		"| SELFTEST runtime_sys_kib | 16222 |\n" +
		"| SELFTEST hv_pool_used_kib | 1816 |\n" +
		"| SELFTEST elapsed_ms | 811 |\n" +
		"\n" +
		"Image sha256 `abcd`.\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
