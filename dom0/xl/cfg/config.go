package cfg

import (
	"fmt"
	"strconv"
	"strings"
)

// Action is what happens when a domain powers off, reboots or crashes
// (xl.cfg on_poweroff, on_reboot, on_crash).
type Action string

// The actions GoZen honours, as xl names them.
const (
	Destroy       Action = "destroy"        // destroy the domain
	Restart       Action = "restart"        // destroy it and create a new one from the same config
	Preserve      Action = "preserve"       // keep it (shut down) for inspection; `xl destroy` ends it
	RenameRestart Action = "rename-restart" // keep the old one under a new name, start a new one
)

// Config is a PVH domain's configuration.
type Config struct {
	Name    string
	Type    string // "pvh"
	Kernel  string
	Ramdisk string
	Cmdline string // cmdline, or root= and extra combined as xl does
	// MemoryMiB is the RAM the domain starts with (memory=); MaxMemMiB
	// its ceiling (maxmem=, default memory).
	MemoryMiB, MaxMemMiB uint64
	VCPUs                int
	OnPoweroff, OnReboot Action
	OnCrash              Action
	Disks                []Disk
	Vifs                 []Vif
}

// Defaults, as libxl and xl apply them.
const (
	// DefaultMemoryMiB is libxl's default max_memkb (32 MiB) when memory=
	// is not given (libxl__domain_build_info_setdefault).
	DefaultMemoryMiB = 32
	// MaxVCPUs is the most vCPUs a PVH domain may have here: the MADT of
	// GoZen's ACPI tables (loader.ACPIMaxVCPUs, Xen's HVM_MAX_VCPUS).
	MaxVCPUs = 128
	// MaxMemoryMiB bounds memory= and maxmem= (1 TiB): beyond anything a
	// GoZen host offers, and far from overflowing byte counts.
	MaxMemoryMiB = 1 << 20
)

// Keys lists the settings Decode understands; any other is an error.
var Keys = []string{"name", "type", "kernel", "ramdisk", "cmdline", "extra", "root", "memory", "maxmem",
	"vcpus", "on_poweroff", "on_reboot", "on_crash", "disk", "vif"}

// Decode checks f's settings and returns the configuration. Unknown keys,
// values of the wrong kind and bad values are errors naming file:line and
// the key; settings are checked in file order, so the first bad one is
// reported.
func Decode(f *File) (*Config, error) {
	c := &Config{Type: "", VCPUs: 1, OnPoweroff: Destroy, OnReboot: Restart, OnCrash: Destroy}
	var root, extra string
	var rootSet, extraSet, cmdlineSet, memSet, maxSet bool
	for _, s := range f.Settings {
		v := s.Value
		bad := func(format string, args ...any) error {
			return &Error{File: v.File, Line: v.Line, Key: s.Key, Msg: fmt.Sprintf(format, args...)}
		}
		str := func() (string, error) {
			if v.Kind != String {
				return "", bad("want a quoted string, got a %s", v.Kind)
			}
			if strings.IndexByte(v.Text, 0) >= 0 {
				return "", bad("the string holds a NUL byte")
			}
			return v.Text, nil
		}
		num := func(lo, hi uint64) (uint64, error) {
			t := v.Text
			if v.Kind == List {
				return 0, bad("want a number, got a list")
			}
			n, err := strconv.ParseUint(t, 0, 64)
			if err != nil {
				return 0, bad("want a number, got %q", t)
			}
			if n < lo || n > hi {
				return 0, bad("%d is out of range (%d..%d)", n, lo, hi)
			}
			return n, nil
		}
		var err error
		switch s.Key {
		case "name":
			if c.Name, err = str(); err == nil {
				err = checkName(c.Name, bad)
			}
		case "type":
			if c.Type, err = str(); err == nil && c.Type != "pvh" {
				err = bad("type %q is not supported: GoZen builds only type=\"pvh\" domains", c.Type)
			}
		case "kernel":
			if c.Kernel, err = str(); err == nil && c.Kernel == "" {
				err = bad("empty path")
			}
		case "ramdisk":
			c.Ramdisk, err = str()
		case "cmdline":
			c.Cmdline, err = str()
			cmdlineSet = true
		case "root":
			root, err = str()
			rootSet = true
		case "extra":
			extra, err = str()
			extraSet = true
		case "memory":
			c.MemoryMiB, err = num(1, MaxMemoryMiB)
			memSet = true
		case "maxmem":
			c.MaxMemMiB, err = num(1, MaxMemoryMiB)
			maxSet = true
		case "vcpus":
			var n uint64
			n, err = num(1, MaxVCPUs)
			c.VCPUs = int(n)
		case "on_poweroff", "on_reboot", "on_crash":
			var a string
			if a, err = str(); err == nil {
				var act Action
				act, err = parseAction(a, bad)
				switch s.Key {
				case "on_poweroff":
					c.OnPoweroff = act
				case "on_reboot":
					c.OnReboot = act
				default:
					c.OnCrash = act
				}
			}
		case "disk", "vif":
			if v.Kind != List {
				err = bad("want a list of strings, got a %s", v.Kind)
				break
			}
			for i, e := range v.List {
				if e.Kind != String {
					err = bad("entry %d: want a quoted string, got a %s", i, e.Kind)
					break
				}
				if s.Key == "disk" {
					var d Disk
					if d, err = ParseDisk(e.Text); err == nil {
						c.Disks = append(c.Disks, d)
					}
				} else {
					var n Vif
					if n, err = ParseVif(e.Text); err == nil {
						c.Vifs = append(c.Vifs, n)
					}
				}
				if err != nil {
					err = bad("entry %d %q: %v", i, e.Text, err)
					break
				}
			}
		default:
			err = bad("unknown setting (GoZen's xl knows %s)", strings.Join(Keys, ", "))
		}
		if err != nil {
			return nil, err
		}
	}
	at := func(key string) (string, int) {
		if v, ok := f.Get(key); ok {
			return v.File, v.Line
		}
		return "config", 0
	}
	file := f.Name
	if file == "" {
		file = "config"
	}
	if c.Name == "" {
		return nil, fmt.Errorf("%s: name: a domain name must be given (name=\"...\")", file)
	}
	if c.Type == "" {
		return nil, fmt.Errorf("%s: type: xl's default type is \"pv\", which GoZen does not build: set type=\"pvh\"", file)
	}
	if c.Kernel == "" {
		return nil, fmt.Errorf("%s: kernel: a PVH domain needs a kernel (kernel=\"/path/to/vmlinuz\")", file)
	}
	// xl: cmdline wins over root and extra; otherwise "root=ROOT EXTRA".
	if !cmdlineSet {
		switch {
		case rootSet && extraSet:
			c.Cmdline = "root=" + root + " " + extra
		case rootSet:
			c.Cmdline = "root=" + root
		case extraSet:
			c.Cmdline = extra
		}
	}
	if !memSet {
		c.MemoryMiB = DefaultMemoryMiB
		if maxSet {
			c.MemoryMiB = c.MaxMemMiB
		}
	}
	if !maxSet {
		c.MaxMemMiB = c.MemoryMiB
	}
	if c.MaxMemMiB < c.MemoryMiB {
		file, line := at("maxmem")
		return nil, &Error{File: file, Line: line, Key: "maxmem",
			Msg: fmt.Sprintf("%d MiB is less than memory=%d MiB", c.MaxMemMiB, c.MemoryMiB)}
	}
	return c, nil
}

// checkName applies libxl's rules for a domain name: not empty, not all
// digits (it would read as a domain ID), no '/' (it is a xenstore value
// used in paths by some tools), printable.
func checkName(n string, bad func(string, ...any) error) error {
	if n == "" {
		return bad("empty name")
	}
	if _, err := strconv.ParseUint(n, 10, 64); err == nil {
		return bad("%q is all digits, which xl would read as a domain ID", n)
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f || r == '/' {
			return bad("%q holds a control character or '/'", n)
		}
	}
	return nil
}

func parseAction(a string, bad func(string, ...any) error) (Action, error) {
	switch act := Action(a); act {
	case Destroy, Restart, Preserve, RenameRestart:
		return act, nil
	case "coredump-destroy", "coredump-restart", "soft-reset":
		return "", bad("%q is an xl action GoZen does not support (it has destroy, restart, preserve, rename-restart)", a)
	}
	return "", bad("unknown action %q (want destroy, restart, preserve or rename-restart)", a)
}
