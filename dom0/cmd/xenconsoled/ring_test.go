package main

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"gozen/abi/xen"
)

// FuzzConsRing: whatever indexes a guest puts in its console page, drain
// and feed never panic, never return more than the ring holds, and only
// move the indexes the backend owns, within range.
func FuzzConsRing(f *testing.F) {
	f.Add(uint32(0), uint32(5), uint32(0), uint32(0), []byte("hi"))
	f.Add(uint32(0xfffffff0), uint32(0x10), uint32(7), uint32(7), []byte("wrap"))
	f.Add(uint32(0), uint32(0x80000000), uint32(0), uint32(2000), []byte{})
	f.Fuzz(func(t *testing.T, outCons, outProd, inCons, inProd uint32, input []byte) {
		page := alignedPage()
		le := binary.LittleEndian
		le.PutUint32(page[xen.XenconsOutConsOffset:], outCons)
		le.PutUint32(page[xen.XenconsOutProdOffset:], outProd)
		le.PutUint32(page[xen.XenconsInConsOffset:], inCons)
		le.PutUint32(page[xen.XenconsInProdOffset:], inProd)
		r, err := newConsRing(page)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.drain(nil)
		if err == nil {
			if uint32(len(out)) != outProd-outCons || le.Uint32(page[xen.XenconsOutConsOffset:]) != outProd {
				t.Fatalf("drained %d bytes of %d", len(out), outProd-outCons)
			}
		} else if len(out) != 0 || le.Uint32(page[xen.XenconsOutConsOffset:]) != outCons {
			t.Fatal("a broken ring was consumed")
		}
		n, err := r.feed(input)
		prod := le.Uint32(page[xen.XenconsInProdOffset:])
		if err != nil {
			if n != 0 || prod != inProd {
				t.Fatal("a broken ring was fed")
			}
			return
		}
		if n > len(input) || prod-inProd != uint32(n) || prod-inCons > xen.XenconsInSize {
			t.Fatalf("fed %d of %d, in_prod %d -> %d, in_cons %d", n, len(input), inProd, prod, inCons)
		}
	})
}

// alignedPage returns a 4-byte aligned page, as a mapped page always is
// (a []byte's alignment is not guaranteed, and fuzzing builds differ).
func alignedPage() []byte {
	w := make([]uint32, 1024)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 4096)
}
