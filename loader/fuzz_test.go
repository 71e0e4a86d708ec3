package loader

import (
	"bytes"
	"testing"
	"unsafe"
)

// FuzzParseELF feeds arbitrary bytes to ParseELF and, when it succeeds, to
// Check, PlaceModules and BuildStartInfo. None may panic, and a successful
// parse must describe only bytes of the input.
func FuzzParseELF(f *testing.F) {
	for _, k := range []telf{kernel64(), kernel32()} {
		f.Add(k.build())
		k.notes, k.sects = nil, []tnotes{{data: pvhNote8(testEntry), align: 4}}
		f.Add(k.build())
		k.sects = append(k.sects, tnotes{data: note("GNU", 5, make([]byte, 16), 8), align: 8})
		f.Add(k.build())
	}
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		im, err := ParseELF(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("ParseELF modified its input")
		}
		if err != nil {
			if im != nil {
				t.Fatal("image returned with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if im.Class != 32 && im.Class != 64 {
			t.Fatalf("class %d", im.Class)
		}
		if len(im.Segments) == 0 || len(im.Segments) > MaxProgHeaders || im.Entry32 > 0xFFFFFFFF {
			t.Fatalf("%d segments, entry %#x", len(im.Segments), im.Entry32)
		}
		for i, s := range im.Segments {
			if uint64(len(s.Data)) > s.Memsz || s.Memsz == 0 || s.Paddr+s.Memsz < s.Paddr {
				t.Fatalf("segment %d: %d bytes, memsz %#x at %#x", i, len(s.Data), s.Memsz, s.Paddr)
			}
			if len(s.Data) > 0 && !inside(b, s.Data) {
				t.Fatalf("segment %d data is not a sub-slice of the input", i)
			}
		}
		for _, mem := range []uint64{64 << 20, 1 << 32, ^uint64(0)} {
			if im.Check(mem, LowLoadLimit) != nil {
				continue
			}
			mods, err := im.PlaceModules(mem, []Module{{Data: b[:min(len(b), 100)], Cmdline: "m"}})
			if err != nil {
				continue
			}
			if _, err := BuildStartInfo(BootInfoBase, BootInfoLimit, GuestMemoryMap(mem), "console=hvc0", mods, 0, 0); err != nil {
				t.Fatalf("BuildStartInfo after a successful Check: %v", err)
			}
		}
	})
}

// inside reports whether s lies within b's backing array range.
func inside(b, s []byte) bool {
	if len(b) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}
