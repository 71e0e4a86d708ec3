// Package cfg reads xl domain configuration files (xl.cfg(5)) for the
// subset of settings GoZen builds: a PVH domain's name, kernel, ramdisk,
// command line, memory, vCPUs and lifecycle actions, plus the disk and vif
// lists for the PV back ends.
//
// The syntax is libxlu's (Xen tools/libs/util/libxlu_cfg_l.l and
// libxlu_cfg_y.y):
//
//	# comment to the end of the line
//	KEY = VALUE        one setting; a newline or ';' ends it
//	KEY += VALUE       append to a list (or to a string) set before
//	VALUE:  "string" | 'string' | NUMBER | [ VALUE, VALUE, ... ]
//
// Strings take C escapes (\n \t \\ \" \' \xHH \ooo); a list may span lines
// and end with a comma; numbers are kept as their text and converted when a
// setting is decoded (decimal, 0x hex or 0 octal, as strtol with base 0).
// A key set twice keeps the last value, which is how `xl create FILE
// KEY=VALUE...` overrides the file: the command-line settings are parsed
// as more lines after it (ParseOverrides).
//
// Parse never panics and never allocates in proportion to anything but its
// input; errors name file:line and, for a bad setting, the key.
package cfg

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the type of a Value.
type Kind int

// Value kinds.
const (
	String Kind = iota // a quoted string
	Number             // an unquoted number, kept as written
	List               // a bracketed list
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	}
	return "list"
}

// Value is one setting's value.
type Value struct {
	Kind Kind
	Text string  // String and Number
	List []Value // List
	File string  // where it was set
	Line int
}

// Setting is KEY = VALUE.
type Setting struct {
	Key   string
	Value Value
}

// File is a parsed configuration: its settings in order, a key set again
// replacing the earlier one in place.
type File struct {
	Name     string // the file's name, for errors about settings it lacks
	Settings []Setting
}

// Get returns the value of key and whether it is set.
func (f *File) Get(key string) (Value, bool) {
	for _, s := range f.Settings {
		if s.Key == key {
			return s.Value, true
		}
	}
	return Value{}, false
}

// set replaces key's value, or appends the setting.
func (f *File) set(key string, v Value) {
	for i := range f.Settings {
		if f.Settings[i].Key == key {
			f.Settings[i].Value = v
			return
		}
	}
	f.Settings = append(f.Settings, Setting{key, v})
}

// Error is a syntax or setting error at file:line.
type Error struct {
	File string
	Line int
	Key  string // the setting, when the error is about one
	Msg  string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// MaxNesting bounds list nesting, so hostile input cannot recurse deeply.
const MaxNesting = 16

// Parse reads a configuration file's text; name is used in errors.
func Parse(name string, text []byte) (*File, error) {
	f := &File{Name: name}
	if err := f.parse(name, string(text), 1); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseOverrides applies `xl create` command-line settings (each
// "KEY=VALUE", VALUE in the file's syntax) on top of f, as xl does by
// parsing them as extra lines after the file.
func (f *File) ParseOverrides(args []string) error {
	for i, a := range args {
		if !strings.Contains(a, "=") {
			return &Error{File: "command line", Line: i + 1, Msg: fmt.Sprintf("%q is not KEY=VALUE", a)}
		}
		// Line i+1 of the "command line": each argument is one line.
		if err := f.parse("command line", a, i+1); err != nil {
			return err
		}
	}
	return nil
}

type lexer struct {
	name string
	s    string
	pos  int
	line int
}

func (l *lexer) errf(format string, args ...any) error {
	return &Error{File: l.name, Line: l.line, Msg: fmt.Sprintf(format, args...)}
}

// skip passes blanks and comments; with newlines it passes line ends too.
func (l *lexer) skip(newlines bool) {
	for l.pos < len(l.s) {
		switch c := l.s[l.pos]; {
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '\n' && newlines:
			l.pos++
			l.line++
		case c == '#':
			for l.pos < len(l.s) && l.s[l.pos] != '\n' {
				l.pos++
			}
		default:
			return
		}
	}
}

func isIdent(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && ('0' <= c && c <= '9')
}

func (f *File) parse(name, text string, line int) error {
	l := &lexer{name: name, s: text, line: line}
	for {
		l.skip(true)
		for l.pos < len(l.s) && l.s[l.pos] == ';' {
			l.pos++
			l.skip(true)
		}
		if l.pos >= len(l.s) {
			return nil
		}
		start := l.pos
		for l.pos < len(l.s) && isIdent(l.s[l.pos], l.pos == start) {
			l.pos++
		}
		if l.pos == start {
			return l.errf("unexpected %q: want a setting name", l.s[l.pos])
		}
		key := l.s[start:l.pos]
		line := l.line
		l.skip(false)
		appendOp := false
		switch {
		case strings.HasPrefix(l.s[l.pos:], "+="):
			appendOp = true
			l.pos += 2
		case strings.HasPrefix(l.s[l.pos:], "="):
			l.pos++
		default:
			return &Error{File: name, Line: line, Key: key, Msg: "want '=' after the setting name"}
		}
		l.skip(false)
		v, err := l.value(0)
		if err != nil {
			return err
		}
		v.Line = line
		l.skip(false)
		if l.pos < len(l.s) && l.s[l.pos] != '\n' && l.s[l.pos] != ';' {
			return l.errf("unexpected %q after the value of %s: one setting a line (or ';' between them)", l.s[l.pos], key)
		}
		if appendOp {
			old, ok := f.Get(key)
			if ok {
				switch {
				case old.Kind == List && v.Kind == List:
					v.List = append(append([]Value{}, old.List...), v.List...)
				case old.Kind == String && v.Kind == String:
					v.Text = old.Text + v.Text
				default:
					return &Error{File: name, Line: line, Key: key, Msg: fmt.Sprintf("cannot append a %s to a %s", v.Kind, old.Kind)}
				}
			}
		}
		f.set(key, v)
	}
}

// value reads one value at nesting depth.
func (l *lexer) value(depth int) (Value, error) {
	v := Value{File: l.name, Line: l.line}
	if l.pos >= len(l.s) {
		return v, l.errf("missing value at the end of the input")
	}
	switch c := l.s[l.pos]; {
	case c == '"' || c == '\'':
		s, err := l.str(c)
		v.Kind, v.Text = String, s
		return v, err
	case c == '[':
		if depth >= MaxNesting {
			return v, l.errf("lists nested more than %d deep", MaxNesting)
		}
		l.pos++
		v.Kind = List
		v.List = []Value{}
		for {
			l.skip(true)
			if l.pos >= len(l.s) {
				return v, l.errf("unterminated list")
			}
			if l.s[l.pos] == ']' {
				l.pos++
				return v, nil
			}
			e, err := l.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.List = append(v.List, e)
			l.skip(true)
			if l.pos >= len(l.s) {
				return v, l.errf("unterminated list")
			}
			switch l.s[l.pos] {
			case ',':
				l.pos++
			case ']':
			default:
				return v, l.errf("unexpected %q in a list: want ',' or ']'", l.s[l.pos])
			}
		}
	case '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.':
		start := l.pos
		l.pos++
		for l.pos < len(l.s) && (isIdent(l.s[l.pos], false) || l.s[l.pos] == '.') {
			l.pos++
		}
		v.Kind, v.Text = Number, l.s[start:l.pos]
		return v, nil
	default:
		return v, l.errf("unexpected %q: a value is a \"string\", a number or a [list]", c)
	}
}

// str reads a string quoted with q, decoding its escapes.
func (l *lexer) str(q byte) (string, error) {
	line := l.line
	l.pos++
	var b strings.Builder
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		l.pos++
		switch c {
		case q:
			return b.String(), nil
		case '\n':
			return "", &Error{File: l.name, Line: line, Msg: "unterminated string (a newline before the closing quote)"}
		case '\\':
			if l.pos >= len(l.s) {
				break
			}
			e := l.s[l.pos]
			l.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'x':
				n := 0
				for n < 2 && l.pos+n < len(l.s) && isHex(l.s[l.pos+n]) {
					n++
				}
				if n == 0 {
					return "", &Error{File: l.name, Line: line, Msg: `\x with no hex digits in a string`}
				}
				x, _ := strconv.ParseUint(l.s[l.pos:l.pos+n], 16, 8)
				b.WriteByte(byte(x))
				l.pos += n
			case '0', '1', '2', '3', '4', '5', '6', '7':
				n := 1
				for n < 3 && l.pos-1+n < len(l.s) && '0' <= l.s[l.pos-1+n] && l.s[l.pos-1+n] <= '7' {
					n++
				}
				o, _ := strconv.ParseUint(l.s[l.pos-1:l.pos-1+n], 8, 16)
				if o > 0xFF {
					return "", &Error{File: l.name, Line: line, Msg: fmt.Sprintf(`octal escape \%s is over \377`, l.s[l.pos-1:l.pos-1+n])}
				}
				b.WriteByte(byte(o))
				l.pos += n - 1
			default:
				return "", &Error{File: l.name, Line: line, Msg: fmt.Sprintf(`unknown escape \%c in a string`, e)}
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", &Error{File: l.name, Line: line, Msg: "unterminated string"}
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
