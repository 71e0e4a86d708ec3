package uroot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"
)

// Record is one cpio record with its contents read.
type Record struct {
	cpio.Info
	Data []byte // file contents, or the target of a symlink
}

// Type returns the record's file type bits (cpio.S_IFREG, ...).
func (r Record) Type() uint64 { return r.Mode & cpio.S_IFMT }

// String formats the record like ls -l, for -list.
func (r Record) String() string {
	var c byte = '?'
	switch r.Type() {
	case cpio.S_IFDIR:
		c = 'd'
	case cpio.S_IFREG:
		c = '-'
	case cpio.S_IFLNK:
		c = 'l'
	case cpio.S_IFCHR:
		c = 'c'
	case cpio.S_IFBLK:
		c = 'b'
	}
	s := fmt.Sprintf("%c%s %9d %s", c, fs.FileMode(r.Mode & 0o777).String()[1:], r.FileSize, r.Name)
	if r.Type() == cpio.S_IFLNK {
		s += " -> " + string(r.Data)
	}
	return s
}

// ReadArchive reads a newc archive up to its TRAILER!!! record, with every
// record's contents. A truncated record or a missing trailer is an error:
// pkg/cpio's reader returns io.EOF both at the trailer and at the end of the
// data, so the trailer is looked for below its EOFReader wrapper.
func ReadArchive(b []byte) ([]Record, error) {
	var rr cpio.RecordReader = cpio.Newc.Reader(bytes.NewReader(b))
	if e, ok := rr.(cpio.EOFReader); ok {
		rr = e.RecordReader
	}
	var out []Record
	for {
		r, err := rr.ReadRecord()
		if err == io.EOF {
			return nil, errors.New("cpio: the archive ends before its TRAILER!!! record")
		}
		if err != nil {
			return nil, fmt.Errorf("cpio: record %d: %w", len(out), err)
		}
		if r.Name == cpio.Trailer {
			return out, nil
		}
		if r.FileSize > uint64(len(b)) || r.FilePos+int64(r.FileSize) > int64(len(b)) {
			return nil, fmt.Errorf("cpio: %s: contents run past the end of the archive", r.Name)
		}
		data := make([]byte, r.FileSize)
		if _, err := r.ReadAt(data, 0); err != nil && !(err == io.EOF && len(data) == 0) {
			return nil, fmt.Errorf("cpio: %s: %w", r.Name, err)
		}
		out = append(out, Record{Info: r.Info, Data: data})
	}
}

// ReadArchiveFile reads the archive at path.
func ReadArchiveFile(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadArchive(b)
}

// WriteArchive returns a newc archive of recs, in their order, with a
// directory record before the first record under each directory not yet
// written (the kernel's initramfs unpacker does not make missing parents),
// zeroed timestamps and owners, and a trailer. Two records with one name
// are an error.
func WriteArchive(recs []Record) ([]byte, error) {
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	seen := map[string]bool{}
	for _, r := range recs {
		name := cpio.Normalize(r.Name)
		if seen[name] {
			return nil, fmt.Errorf("cpio: %s twice", name)
		}
		seen[name] = true
		for _, d := range parents(name) {
			if !seen[d] {
				seen[d] = true
				dir := cpio.Directory(d, 0o755)
				dir.NLink = 1
				if err := w.WriteRecord(dir); err != nil {
					return nil, err
				}
			}
		}
		info := r.Info
		info.Name = name
		if info.NLink == 0 {
			info.NLink = 1
		}
		rec := cpio.MakeReproducible(cpio.StaticRecord(r.Data, info))
		if err := w.WriteRecord(rec); err != nil {
			return nil, fmt.Errorf("cpio: %s: %w", name, err)
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parents returns a/, a/b for a/b/c, outermost first.
func parents(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return out
}

// File returns a regular file record.
func File(name string, perm uint64, data []byte) Record {
	return Record{Info: cpio.Info{Name: name, Mode: cpio.S_IFREG | perm, FileSize: uint64(len(data))}, Data: data}
}

// Symlink returns a symbolic link record.
func Symlink(name, target string) Record {
	return Record{Info: cpio.Info{Name: name, Mode: cpio.S_IFLNK | 0o777, FileSize: uint64(len(target))}, Data: []byte(target)}
}

// Dir returns a directory record.
func Dir(name string, perm uint64) Record {
	return Record{Info: cpio.Info{Name: name, Mode: cpio.S_IFDIR | perm}}
}

// CharDev returns a character device record.
func CharDev(name string, perm, major, minor uint64) Record {
	return Record{Info: cpio.Info{Name: name, Mode: cpio.S_IFCHR | perm, Rmajor: major, Rminor: minor}}
}

// Want is one expectation of Check: a record of that name and type, with
// Data as its contents unless Data is empty.
type Want struct {
	Name string
	Type uint64
	Data string
}

// Check returns an error naming every expectation recs do not meet.
func Check(recs []Record, wants []Want) error {
	byName := map[string]Record{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	var errs []error
	for _, w := range wants {
		r, ok := byName[w.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("no %s", w.Name))
		case r.Type() != w.Type:
			errs = append(errs, fmt.Errorf("%s has mode %#o", w.Name, r.Mode))
		case w.Data != "" && string(r.Data) != w.Data:
			errs = append(errs, fmt.Errorf("%s is %q, want %q", w.Name, r.Data, w.Data))
		}
	}
	return errors.Join(errs...)
}

// Names returns the records' names, sorted.
func Names(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}
