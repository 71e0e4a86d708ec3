package bootparam

import (
	"fmt"
	"strings"
)

// LogLevel is the hypervisor's log verbosity. Higher values log more.
type LogLevel int

// Log levels, from least to most verbose.
const (
	// LogError logs only errors.
	LogError LogLevel = iota
	// LogWarn logs errors and warnings.
	LogWarn
	// LogInfo logs errors, warnings and informational messages (default).
	LogInfo
	// LogDebug logs everything.
	LogDebug
)

// String returns the command line spelling of l ("error", "warn", "info" or
// "debug"), or "invalid" for other values. It does not allocate and is safe
// to call before the Go runtime is initialised.
func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	}
	return "invalid"
}

// ParseLogLevel parses the value of the loglvl option: "error", "warn",
// "info" or "debug". It does not allocate and is safe to call before the Go
// runtime is initialised.
func ParseLogLevel(s []byte) (LogLevel, bool) {
	// Compare byte-wise: converting s to a string could call into the
	// runtime.
	for l := LogError; l <= LogDebug; l++ {
		if equal(s, l.String()) {
			return l, true
		}
	}
	return 0, false
}

// equal reports whether b and s hold the same bytes.
func equal(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b[i] != s[i] {
			return false
		}
	}
	return true
}

// Defaults and limits of Params.
const (
	// DefaultConsole is the console used when none is given.
	DefaultConsole = "com1"
	// DefaultLogLevel is the log level used when none is given.
	DefaultLogLevel = LogInfo
	// MinHVMem is the smallest accepted hvmem= value.
	MinHVMem = 16 << 20
)

// Params is the parsed hypervisor command line.
type Params struct {
	// Console selects the console: "com1" (default) or "none".
	// Option console=.
	Console string
	// LogLevel is the log verbosity, LogInfo by default. Option
	// loglvl=error|warn|info|debug.
	LogLevel LogLevel
	// SelfTest requests the boot-time self tests. Flag selftest.
	SelfTest bool
	// HVMem is the amount of memory reserved for the hypervisor in bytes,
	// 0 meaning the built-in default. Option hvmem=<size> (see ParseSize);
	// must be at least MinHVMem (16M) if given.
	HVMem uint64
	// NoBootScrub says the guest pool's RAM holds only zeros at boot, so
	// hv need not clear a frame before its first use (Xen's bootscrub=off).
	// Frames a domain gives back are cleared before reuse regardless.
	// Option bootscrub=on|off, default on: firmware need not clear RAM
	// (and a warm reboot leaves the old contents), but QEMU's RAM starts
	// zeroed, and leaving it untouched keeps QEMU's memory use at what the
	// guests actually use.
	NoBootScrub bool
	// Domains are the domains to build at boot, in command line order,
	// except that dom0 (option dom0=..., at most one; DomainSpec.Dom0)
	// comes first. Option domain=NAME,mem=SIZE,module=N[,vcpus=N]... (see
	// DomainSpec), repeatable.
	Domains []DomainSpec
	// Raw holds the words of the command line, in order.
	Raw []string
}

// optionKind says whether an option is a bare flag or takes a value.
type optionKind uint8

const (
	// kindFlag options are bare words; "name=..." is an error.
	kindFlag optionKind = iota
	// kindValue options are "name=value" with a non-empty value; the
	// bare word is an error.
	kindValue
)

// option describes one command line option. Adding an option is one entry
// in the options table (plus its field in Params).
type option struct {
	name string
	kind optionKind
	// repeat allows the option to occur more than once; set is then called
	// for every occurrence, in command line order, and is expected to
	// collect the values (e.g. append to a slice in Params). Options
	// without repeat may occur at most once.
	repeat bool
	// set validates val and stores it in p. For flags val is "". Errors
	// should name the option.
	set func(p *Params, val string) error
}

// options is the option table used by Parse.
var options = []option{
	{name: "console", kind: kindValue, set: setConsole},
	{name: "loglvl", kind: kindValue, set: setLogLevel},
	{name: "selftest", kind: kindFlag, set: setSelfTest},
	{name: "hvmem", kind: kindValue, set: setHVMem},
	{name: "bootscrub", kind: kindValue, set: setBootScrub},
	{name: "domain", kind: kindValue, repeat: true, set: setDomain},
	// Repeatable so that a second dom0= gets its own message (setDom0).
	{name: "dom0", kind: kindValue, repeat: true, set: setDom0},
}

func setConsole(p *Params, val string) error {
	switch val {
	case "com1", "none":
		p.Console = val
		return nil
	}
	return fmt.Errorf("console: invalid value %q (want com1 or none)", val)
}

func setLogLevel(p *Params, val string) error {
	l, ok := ParseLogLevel([]byte(val))
	if !ok {
		return fmt.Errorf("loglvl: invalid value %q (want error, warn, info or debug)", val)
	}
	p.LogLevel = l
	return nil
}

func setSelfTest(p *Params, _ string) error {
	p.SelfTest = true
	return nil
}

func setHVMem(p *Params, val string) error {
	n, ok := ParseSize([]byte(val))
	if !ok {
		return fmt.Errorf("hvmem: invalid size %q (want decimal or 0x-hex bytes with optional K, M or G suffix)", val)
	}
	if n < MinHVMem {
		return fmt.Errorf("hvmem: size %q is below the minimum of 16M", val)
	}
	p.HVMem = n
	return nil
}

func setBootScrub(p *Params, val string) error {
	switch val {
	case "on":
		p.NoBootScrub = false
	case "off":
		p.NoBootScrub = true
	default:
		return fmt.Errorf("bootscrub: invalid value %q (want on or off)", val)
	}
	return nil
}

// Parse parses and validates the hypervisor command line. Options not given
// keep their defaults (console com1, log level info). It returns an error
// naming the offending word for unknown options, malformed values, a flag
// given a value, an option missing its value, or a non-repeatable option
// given twice; the returned Params is then the zero value.
//
// Parse allocates and must only be called after the Go runtime is
// initialised; before that, use Lookup.
func Parse(cmdline string) (Params, error) {
	return parseWith(cmdline, options)
}

// parseWith is Parse with an explicit option table.
func parseWith(cmdline string, table []option) (Params, error) {
	p := Params{Console: DefaultConsole, LogLevel: DefaultLogLevel}
	p.Raw = splitWords(cmdline)
	seen := make([]bool, len(table))
	for _, w := range p.Raw {
		name, val, hasVal := strings.Cut(w, "=")
		if name == "" {
			return Params{}, fmt.Errorf("malformed option %q: empty name", w)
		}
		idx := -1
		for k := range table {
			if table[k].name == name {
				idx = k
				break
			}
		}
		if idx < 0 {
			return Params{}, fmt.Errorf("unknown option %q", name)
		}
		o := &table[idx]
		switch o.kind {
		case kindFlag:
			if hasVal {
				return Params{}, fmt.Errorf("option %q is a flag and takes no value (got %q)", name, w)
			}
		case kindValue:
			if val == "" {
				return Params{}, fmt.Errorf("option %q requires a value (%s=...)", name, name)
			}
		}
		if seen[idx] && !o.repeat {
			return Params{}, fmt.Errorf("option %q given more than once", name)
		}
		seen[idx] = true
		if err := o.set(&p, val); err != nil {
			return Params{}, err
		}
	}
	return p, nil
}

// splitWords splits s at runs of the white space recognised by Lookup. It
// returns nil if s has no words.
func splitWords(s string) []string {
	var words []string
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		if start < i {
			words = append(words, s[start:i])
		}
	}
	return words
}
