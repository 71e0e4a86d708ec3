package main

import (
	"slices"
	"testing"
	"unsafe"

	"gozen/bootparam"
)

// Only a module that one domU alone uses, where the loader put it, is lent.
func TestLendableModules(t *testing.T) {
	bufs := make([][]byte, 6)
	starts := make([]uint64, 6)
	for i := range bufs {
		bufs[i] = make([]byte, 4096)
		starts[i] = uint64(uintptr(unsafe.Pointer(&bufs[i][0])))
	}
	starts[5]++ // module 5 was moved (its copy is elsewhere)
	specs := []bootparam.DomainSpec{
		{Name: "a", Module: 0, Ramdisk: 1},  // both lent
		{Name: "b", Module: 2, Ramdisk: -1}, // 2 is also b2's kernel
		{Name: "b2", Module: 2, Ramdisk: 3}, // 3 lent
		{Name: "d0", Module: 4, Ramdisk: -1, Dom0: true},
		{Name: "m", Module: 5, Ramdisk: -1},
	}
	got := lendableModules(specs, bufs, starts)
	want := []uint64{starts[0], starts[1], 0, starts[3], 0, 0}
	if !slices.Equal(got, want) {
		t.Errorf("lendableModules = %#x, want %#x", got, want)
	}
	// The same module as kernel and ramdisk of one domain is not lent.
	got = lendableModules([]bootparam.DomainSpec{{Name: "x", Module: 0, Ramdisk: 0}}, bufs[:1], starts[:1])
	if got[0] != 0 {
		t.Errorf("a module used twice by one domain is lent")
	}
}
