// Package bootparam parses the hypervisor command line.
//
// The command line is a sequence of words separated by ASCII white space
// (space, tab, newline, carriage return, vertical tab, form feed). Each word
// is either a bare flag ("selftest") or an option "key=value"; the key is the
// text before the first '=', the value everything after it. There is no
// quoting.
//
// The package has two layers.
//
// # Pre-runtime layer
//
// [Lookup], [ParseSize], [ParseLogLevel] and [LogLevel.String] may be called
// before the Go runtime is initialised (no heap, no package initialisation):
// they do not allocate, use no package-level variables, cannot panic on any
// input and return results only through their return values. Early boot code
// uses them to read single options (e.g. the console) straight from the
// Multiboot command line bytes.
//
// # Post-runtime layer
//
// [Parse] validates the whole command line against the option table and
// returns [Params]. It allocates and formats error messages, so it must only
// be called once the runtime is up. Both layers split words the same way.
package bootparam

// isSpace reports whether c separates words.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// Lookup returns the value of option key in cmdline. If key occurs several
// times the last occurrence wins. A bare flag ("key") and an empty value
// ("key=") both yield an empty val with found true. An empty key is never
// found.
//
// val aliases cmdline (its capacity is limited to its length, so appending to
// it cannot overwrite cmdline). Lookup does not allocate and is safe to call
// before the Go runtime is initialised.
func Lookup(cmdline []byte, key string) (val []byte, found bool) {
	if len(key) == 0 {
		return nil, false
	}
	i := 0
	for i < len(cmdline) {
		for i < len(cmdline) && isSpace(cmdline[i]) {
			i++
		}
		start := i
		for i < len(cmdline) && !isSpace(cmdline[i]) {
			i++
		}
		end := i
		if start == end {
			break
		}
		// Split at the first '='.
		keyEnd, valStart := end, end
		for j := start; j < end; j++ {
			if cmdline[j] == '=' {
				keyEnd, valStart = j, j+1
				break
			}
		}
		if equal(cmdline[start:keyEnd], key) {
			val, found = cmdline[valStart:end:end], true
		}
	}
	return val, found
}

// ParseSize parses a size: a decimal number or a hexadecimal number with a
// "0x" or "0X" prefix, optionally followed by a binary unit suffix K (2^10),
// M (2^20) or G (2^30), in either case. It reports false for an empty or
// malformed string and for values that overflow uint64. Signs, white space
// and digit separators are not accepted.
//
// ParseSize does not allocate and is safe to call before the Go runtime is
// initialised.
func ParseSize(s []byte) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	shift := uint(0)
	switch s[len(s)-1] {
	case 'k', 'K':
		shift = 10
	case 'm', 'M':
		shift = 20
	case 'g', 'G':
		shift = 30
	}
	if shift != 0 {
		s = s[:len(s)-1]
	}
	base := uint64(10)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base = 16
		s = s[2:]
	}
	if len(s) == 0 {
		return 0, false
	}
	const maxU64 = ^uint64(0)
	var v uint64
	for _, c := range s {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if v > (maxU64-d)/base {
			return 0, false
		}
		v = v*base + d
	}
	if v > maxU64>>shift {
		return 0, false
	}
	return v << shift, true
}

// StripImageName returns the command line without the boot image's path when
// the boot loader put it first. QEMU's multiboot loader (boot loader name
// "qemu") passes "path/to/hv.bin args"; GRUB 2 passes only the arguments.
// For other loaders, a first word that contains '/' and no '=' is taken to
// be a path. It does not allocate.
func StripImageName(cmdline, loader []byte) []byte {
	i := 0
	for i < len(cmdline) && isSpace(cmdline[i]) {
		i++
	}
	j := i
	slash, eq := false, false
	for j < len(cmdline) && !isSpace(cmdline[j]) {
		switch cmdline[j] {
		case '/':
			slash = true
		case '=':
			eq = true
		}
		j++
	}
	qemu := len(loader) >= 4 && loader[0] == 'q' && loader[1] == 'e' && loader[2] == 'm' && loader[3] == 'u'
	if j > i && (qemu || (slash && !eq)) {
		return cmdline[j:]
	}
	return cmdline
}
