package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
)

// cpioEntry is one record of a newc ("070701") cpio archive, the format of
// Linux initramfs images.
type cpioEntry struct {
	Name string
	Mode uint32 // st_mode: file type and permissions
	Size int    // length of Data
	Data []byte // file contents, or the target of a symlink
}

// File types in st_mode.
const (
	sIFMT  = 0o170000
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
	sIFCHR = 0o020000
)

func (e cpioEntry) typeChar() byte {
	switch e.Mode & sIFMT {
	case sIFDIR:
		return 'd'
	case sIFREG:
		return '-'
	case sIFLNK:
		return 'l'
	case sIFCHR:
		return 'c'
	}
	return '?'
}

func (e cpioEntry) String() string {
	s := fmt.Sprintf("%c%s %9d %s", e.typeChar(), fs.FileMode(e.Mode & 0o777).String()[1:], e.Size, e.Name)
	if e.Mode&sIFMT == sIFLNK {
		s += " -> " + string(e.Data)
	}
	return s
}

const cpioHeaderSize = 110

// readCpio parses a newc cpio archive up to its TRAILER!!! record. Only
// what a check of the initramfs needs is decoded: names, modes, contents.
func readCpio(b []byte) ([]cpioEntry, error) {
	var entries []cpioEntry
	off := 0
	for {
		if len(b)-off < cpioHeaderSize {
			return nil, fmt.Errorf("cpio: truncated header at %#x", off)
		}
		h := b[off : off+cpioHeaderSize]
		if string(h[:6]) != "070701" && string(h[:6]) != "070702" {
			return nil, fmt.Errorf("cpio: bad magic %q at %#x (want newc 070701)", h[:6], off)
		}
		field := func(i int) (int, error) {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			return int(v), err
		}
		var vals [13]int
		for i := range vals {
			v, err := field(i)
			if err != nil {
				return nil, fmt.Errorf("cpio: bad header field %d at %#x: %v", i, off, err)
			}
			vals[i] = v
		}
		mode, size, namesize := uint32(vals[1]), vals[6], vals[11]
		nameOff := off + cpioHeaderSize
		if namesize < 1 || namesize > len(b)-nameOff {
			return nil, fmt.Errorf("cpio: bad name size %d at %#x", namesize, off)
		}
		name := string(bytes.TrimRight(b[nameOff:nameOff+namesize], "\x00"))
		dataOff := align4(nameOff + namesize)
		if dataOff > len(b) || size > len(b)-dataOff {
			return nil, fmt.Errorf("cpio: %s: data runs past the end of the archive", name)
		}
		if name == "TRAILER!!!" {
			return entries, nil
		}
		entries = append(entries, cpioEntry{Name: name, Mode: mode, Size: size, Data: b[dataOff : dataOff+size]})
		off = align4(dataOff + size)
		if off > len(b) {
			return nil, errors.New("cpio: no TRAILER!!! record")
		}
	}
}

func align4(n int) int { return (n + 3) &^ 3 }
