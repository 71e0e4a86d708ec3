package bootparam

import (
	"errors"
	"math/bits"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	const cmd = "  /boot/gozen.elf console=com1\tloglvl=debug selftest hvmem=64M\n" +
		"empty= a=b=c console=none  "
	for _, tc := range []struct {
		key   string
		val   string
		found bool
	}{
		{"console", "none", true}, // last occurrence wins
		{"loglvl", "debug", true},
		{"selftest", "", true}, // bare flag
		{"hvmem", "64M", true},
		{"empty", "", true},
		{"a", "b=c", true}, // split at the first '='
		{"/boot/gozen.elf", "", true},
		{"a=b", "", false},
		{"self", "", false},
		{"selftests", "", false},
		{"conso", "", false},
		{"", "", false},
		{"missing", "", false},
	} {
		val, found := Lookup([]byte(cmd), tc.key)
		if found != tc.found || string(val) != tc.val {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.key, val, found, tc.val, tc.found)
		}
		if found && val == nil {
			t.Errorf("Lookup(%q) returned nil val with found", tc.key)
		}
	}
	for _, cmd := range []string{"", " ", "\t\n", "x"} {
		if val, found := Lookup([]byte(cmd), "selftest"); found || val != nil {
			t.Errorf("Lookup(%q) = %q, %v", cmd, val, found)
		}
	}
	// The value's capacity is capped: appending must not clobber cmdline.
	b := []byte("a=1 b=2")
	v, _ := Lookup(b, "a")
	_ = append(v, 'X')
	if string(b) != "a=1 b=2" {
		t.Errorf("append to value modified cmdline: %q", b)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"4096", 4096, true},
		{"007", 7, true},
		{"16M", 16 << 20, true},
		{"16m", 16 << 20, true},
		{"4k", 4 << 10, true},
		{"4K", 4 << 10, true},
		{"2G", 2 << 30, true},
		{"2g", 2 << 30, true},
		{"0x1000", 0x1000, true},
		{"0X1000", 0x1000, true},
		{"0xdeadBEEF", 0xdeadbeef, true},
		{"0x10M", 0x10 << 20, true},
		{"0xfg", 0xf << 30, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"0xffffffffffffffff", 1<<64 - 1, true},
		{"17179869183G", 17179869183 << 30, true},
		{"0x3ffffffffG", 0x3ffffffff << 30, true},

		{"", 0, false},
		{"K", 0, false},
		{"0x", 0, false},
		{"0xM", 0, false},
		{"x10", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1_000", 0, false},
		{"1KB", 0, false},
		{"1T", 0, false},
		{"1.5G", 0, false},
		{"12abc", 0, false},
		{"0x0x1", 0, false},
		{"18446744073709551616", 0, false},
		{"99999999999999999999999", 0, false},
		{"0x10000000000000000", 0, false},
		{"17179869184G", 0, false},
		{"0x400000000G", 0, false},
		{"18014398509481984K", 0, false},
	} {
		got, ok := ParseSize([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLogLevel(t *testing.T) {
	for l, s := range map[LogLevel]string{LogError: "error", LogWarn: "warn", LogInfo: "info", LogDebug: "debug", -1: "invalid", 4: "invalid"} {
		if l.String() != s {
			t.Errorf("LogLevel(%d).String() = %q, want %q", int(l), l.String(), s)
		}
		got, ok := ParseLogLevel([]byte(s))
		if want := s != "invalid"; ok != want || (ok && got != l) {
			t.Errorf("ParseLogLevel(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "INFO", "inf", "infos", "debug "} {
		if _, ok := ParseLogLevel([]byte(s)); ok {
			t.Errorf("ParseLogLevel(%q) accepted", s)
		}
	}
}

func TestPreRuntimeAllocs(t *testing.T) {
	cmd := []byte("/boot/gozen.elf console=none loglvl=debug selftest hvmem=0x4000000 console=com1")
	sizes := [][]byte{[]byte("64M"), []byte("0xffffffffffffffff"), []byte("bogus"), []byte(""), []byte("99999999999999999999G")}
	var sink uint64
	allocs := testing.AllocsPerRun(100, func() {
		for _, k := range []string{"console", "selftest", "hvmem", "nothere", ""} {
			v, ok := Lookup(cmd, k)
			if ok {
				sink += uint64(len(v))
			}
		}
		for _, s := range sizes {
			n, _ := ParseSize(s)
			sink += n
		}
		l, _ := ParseLogLevel([]byte("debug"))
		sink += uint64(len(l.String()))
		l, _ = ParseLogLevel(cmd) // long input
		sink += uint64(len(l.String()))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
	_ = sink
}

func TestParseDefaults(t *testing.T) {
	for _, cmd := range []string{"", "   ", "\t\n"} {
		p, err := Parse(cmd)
		if err != nil {
			t.Fatalf("Parse(%q): %v", cmd, err)
		}
		want := Params{Console: "com1", LogLevel: LogInfo}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("Parse(%q) = %+v, want %+v", cmd, p, want)
		}
	}
}

func TestParse(t *testing.T) {
	def := func(mod func(*Params)) Params {
		p := Params{Console: "com1", LogLevel: LogInfo}
		mod(&p)
		return p
	}
	for _, tc := range []struct {
		cmd  string
		want Params
	}{
		{"console=com1", def(func(p *Params) { p.Console = "com1"; p.Raw = []string{"console=com1"} })},
		{"console=none", def(func(p *Params) { p.Console = "none"; p.Raw = []string{"console=none"} })},
		{"loglvl=error", def(func(p *Params) { p.LogLevel = LogError; p.Raw = []string{"loglvl=error"} })},
		{"loglvl=warn", def(func(p *Params) { p.LogLevel = LogWarn; p.Raw = []string{"loglvl=warn"} })},
		{"loglvl=info", def(func(p *Params) { p.LogLevel = LogInfo; p.Raw = []string{"loglvl=info"} })},
		{"loglvl=debug", def(func(p *Params) { p.LogLevel = LogDebug; p.Raw = []string{"loglvl=debug"} })},
		{"selftest", def(func(p *Params) { p.SelfTest = true; p.Raw = []string{"selftest"} })},
		{"hvmem=16M", def(func(p *Params) { p.HVMem = 16 << 20; p.Raw = []string{"hvmem=16M"} })},
		{"hvmem=0x40000000", def(func(p *Params) { p.HVMem = 1 << 30; p.Raw = []string{"hvmem=0x40000000"} })},
		{"hvmem=1g", def(func(p *Params) { p.HVMem = 1 << 30; p.Raw = []string{"hvmem=1g"} })},
		{"bootscrub=off", def(func(p *Params) { p.NoBootScrub = true; p.Raw = []string{"bootscrub=off"} })},
		{"bootscrub=on", def(func(p *Params) { p.Raw = []string{"bootscrub=on"} })},
		{"hvmem=16777216", def(func(p *Params) { p.HVMem = 16 << 20; p.Raw = []string{"hvmem=16777216"} })},
		{" console=none\tloglvl=debug\nselftest  hvmem=64M ", Params{
			Console: "none", LogLevel: LogDebug, SelfTest: true, HVMem: 64 << 20,
			Raw: []string{"console=none", "loglvl=debug", "selftest", "hvmem=64M"},
		}},
	} {
		got, err := Parse(tc.cmd)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.cmd, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.cmd, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ cmd, want string }{
		{"foo", `unknown option "foo"`},
		{"foo=bar", `unknown option "foo"`},
		{"console=com1 Console=com1", `unknown option "Console"`},
		{"/boot/gozen.elf", `unknown option "/boot/gozen.elf"`},
		{"=x", `malformed option "=x": empty name`},
		{"=", `malformed option "=": empty name`},
		{"console=vga", `console: invalid value "vga" (want com1 or none)`},
		{"console=COM1", `console: invalid value "COM1" (want com1 or none)`},
		{"console", `option "console" requires a value (console=...)`},
		{"console=", `option "console" requires a value (console=...)`},
		{"loglvl=loud", `loglvl: invalid value "loud" (want error, warn, info or debug)`},
		{"loglvl=INFO", `loglvl: invalid value "INFO" (want error, warn, info or debug)`},
		{"loglvl", `option "loglvl" requires a value (loglvl=...)`},
		{"loglvl=", `option "loglvl" requires a value (loglvl=...)`},
		{"selftest=1", `option "selftest" is a flag and takes no value (got "selftest=1")`},
		{"selftest=", `option "selftest" is a flag and takes no value (got "selftest=")`},
		{"hvmem", `option "hvmem" requires a value (hvmem=...)`},
		{"hvmem=lots", `hvmem: invalid size "lots" (want decimal or 0x-hex bytes with optional K, M or G suffix)`},
		{"hvmem=99999999999G", `hvmem: invalid size "99999999999G" (want decimal or 0x-hex bytes with optional K, M or G suffix)`},
		{"hvmem=0", `hvmem: size "0" is below the minimum of 16M`},
		{"hvmem=16777215", `hvmem: size "16777215" is below the minimum of 16M`},
		{"hvmem=15M", `hvmem: size "15M" is below the minimum of 16M`},
		{"bootscrub=no", `bootscrub: invalid value "no" (want on or off)`},
		{"bootscrub", `option "bootscrub" requires a value (bootscrub=...)`},
		{"console=com1 console=none", `option "console" given more than once`},
		{"selftest selftest", `option "selftest" given more than once`},
		{"hvmem=16M loglvl=info hvmem=32M", `option "hvmem" given more than once`},
		// The first error wins.
		{"loglvl=loud foo", `loglvl: invalid value "loud" (want error, warn, info or debug)`},
	} {
		p, err := Parse(tc.cmd)
		if err == nil {
			t.Errorf("Parse(%q) succeeded: %+v", tc.cmd, p)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q) error = %q, want %q", tc.cmd, err, tc.want)
		}
		if !reflect.DeepEqual(p, Params{}) {
			t.Errorf("Parse(%q) returned non-zero Params on error: %+v", tc.cmd, p)
		}
	}
}

// TestRepeatOption exercises the repeat machinery with a private table, as a
// future "domain=" option would use it.
func TestRepeatOption(t *testing.T) {
	var domains []string
	errBad := errors.New("domain: bad")
	table := append([]option{
		{name: "domain", kind: kindValue, repeat: true, set: func(p *Params, v string) error {
			if v == "bad" {
				return errBad
			}
			domains = append(domains, v)
			return nil
		}},
	}, options...)

	p, err := parseWith("domain=a selftest domain=b,mem=1G domain=c", table)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b,mem=1G", "c"}; !reflect.DeepEqual(domains, want) {
		t.Errorf("domains = %q, want %q", domains, want)
	}
	if !p.SelfTest || len(p.Raw) != 4 {
		t.Errorf("Params = %+v", p)
	}
	if _, err := parseWith("domain=a domain=bad", table); err != errBad {
		t.Errorf("setter error = %v, want %v", err, errBad)
	}
	if _, err := parseWith("domain", table); err == nil || !strings.Contains(err.Error(), `"domain" requires a value`) {
		t.Errorf("bare repeat option: err = %v", err)
	}
}

// TestOptionTable checks the table's internal consistency.
func TestOptionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range options {
		if o.name == "" || strings.ContainsAny(o.name, "= \t\n") {
			t.Errorf("bad option name %q", o.name)
		}
		if seen[o.name] {
			t.Errorf("duplicate option %q", o.name)
		}
		seen[o.name] = true
		if o.set == nil {
			t.Errorf("option %q has no setter", o.name)
		}
	}
}

// TestParseAgreesWithLookup checks that both layers see the same words and
// values.
func TestParseAgreesWithLookup(t *testing.T) {
	cmd := "\vconsole=none\f loglvl=warn\r\nhvmem=0x2000000 selftest"
	p, err := Parse(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Lookup([]byte(cmd), "console"); string(v) != p.Console {
		t.Errorf("console: Lookup %q, Parse %q", v, p.Console)
	}
	if v, _ := Lookup([]byte(cmd), "loglvl"); string(v) != p.LogLevel.String() {
		t.Errorf("loglvl: Lookup %q, Parse %v", v, p.LogLevel)
	}
	if v, _ := Lookup([]byte(cmd), "hvmem"); func() uint64 { n, _ := ParseSize(v); return n }() != p.HVMem {
		t.Errorf("hvmem: Lookup %q, Parse %d", v, p.HVMem)
	}
	if _, ok := Lookup([]byte(cmd), "selftest"); ok != p.SelfTest {
		t.Errorf("selftest: Lookup %v, Parse %v", ok, p.SelfTest)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "console=none loglvl=debug selftest hvmem=64M", "foo", "=", "selftest=1",
		"hvmem=0xffffffffffffffff", "loglvl", "console=com1 console=com1", "\x00=\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if p.Console != "com1" && p.Console != "none" {
			t.Fatalf("Console = %q", p.Console)
		}
		if p.LogLevel.String() == "invalid" {
			t.Fatalf("LogLevel = %d", p.LogLevel)
		}
		if p.HVMem != 0 && p.HVMem < MinHVMem {
			t.Fatalf("HVMem = %d", p.HVMem)
		}
		// Every word of an accepted command line is a known option whose
		// value Lookup reports identically.
		for _, w := range p.Raw {
			name, _, _ := strings.Cut(w, "=")
			if _, ok := Lookup([]byte(s), name); !ok {
				t.Fatalf("Lookup(%q) missed word %q", name, w)
			}
		}
	})
}

// FuzzParseSize compares ParseSize with a strconv-based reference.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "16M", "0x10g", "0x", "", "18446744073709551615", "17179869184G", "1k"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := ParseSize(b)
		want, wantOK := refParseSize(string(b))
		if ok != wantOK || got != want {
			t.Fatalf("ParseSize(%q) = %d, %v; reference %d, %v", b, got, ok, want, wantOK)
		}
	})
}

func refParseSize(s string) (uint64, bool) {
	mul := uint64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mul, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mul, s = 1<<20, s[:n-1]
		case 'g', 'G':
			mul, s = 1<<30, s[:n-1]
		}
	}
	base := 10
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		base, s = 16, s[2:]
	}
	// strconv.ParseUint with an explicit base accepts neither signs,
	// prefixes nor underscores.
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	hi, lo := bits.Mul64(v, mul)
	if hi != 0 {
		return 0, false
	}
	return lo, true
}

func TestStripImageName(t *testing.T) {
	cases := []struct{ cmd, loader, want string }{
		{"out/hv.bin selftest", "qemu", " selftest"},
		{"hv.bin", "qemu", ""},
		{"selftest loglvl=debug", "GRUB 2.06", "selftest loglvl=debug"},
		{"/boot/hv.bin selftest", "GRUB 2.06", " selftest"},
		{"path=/x selftest", "", "path=/x selftest"},
		{"", "qemu", ""},
	}
	for _, c := range cases {
		if got := string(StripImageName([]byte(c.cmd), []byte(c.loader))); got != c.want {
			t.Errorf("StripImageName(%q, %q) = %q, want %q", c.cmd, c.loader, got, c.want)
		}
	}
}
