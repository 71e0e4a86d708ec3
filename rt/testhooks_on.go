//go:build testhooks

package rt

import (
	"encoding/binary"
	"unsafe"

	"gozen/boot/multiboot"
	"gozen/bootparam"
)

// TestHooks reports whether this image was built with -tags testhooks.
//
// A testhooks image (go run ./tools/mkimage -tags testhooks) accepts
// mbinject=truncate|garble|overlap. It damages a copy of the boot
// information the loader passed, or the parsed module list, the way a broken
// boot loader would, so qemu-test.sh can check that hv reports bad boot input
// clearly instead of faulting. Production images do not contain this code.
const TestHooks = true

var mbiCopy [64 << 10]byte

func testhookBeforeParse() {}

func testhookAfterParse() {
	cmd := BootInfo.Cmdline()
	v, ok := bootparam.Lookup(cmd, "mbinject")
	if !ok {
		return
	}
	what := string(v) // before the word is blanked below
	blankWord(cmd, "mbinject")
	kprint("hv: testhooks: damaging the boot information (mbinject=")
	kprint(what)
	kprint(")\n")
	if what == "overlap" {
		if BootInfo.NModules == 0 {
			bootError("testhooks: mbinject=overlap needs a boot module")
		}
		m := &BootInfo.Modules[0]
		size := m.End - m.Start
		m.Start = imageLayout.DataStart
		m.End = m.Start + size
		return
	}
	src := uintptr(bootInfoAddr)
	n := 120
	if bootMagic == multiboot.Magic2 {
		n = int(*(*uint32)(unsafe.Pointer(src)))
		if n > len(mbiCopy) {
			n = len(mbiCopy)
		}
	}
	copy(mbiCopy[:n], unsafe.Slice((*byte)(unsafe.Pointer(src)), n))
	le := binary.LittleEndian
	switch {
	case what == "truncate" && bootMagic == multiboot.Magic1:
		// The memory map ends in the middle of its last entry.
		le.PutUint32(mbiCopy[44:], le.Uint32(mbiCopy[44:])-10)
	case what == "truncate":
		// total_size ends inside the first tag.
		le.PutUint32(mbiCopy[0:], 20)
	case what == "garble" && bootMagic == multiboot.Magic1:
		// Pointers into nowhere and an absurd module count.
		le.PutUint32(mbiCopy[16:], 0xfffffff0)
		le.PutUint32(mbiCopy[20:], 100000)
	case what == "garble":
		// The first tag claims a size smaller than its header.
		le.PutUint32(mbiCopy[8+4:], 3)
	default:
		bootError("testhooks: unknown mbinject= value (want truncate, garble or overlap)")
	}
	bootInfoAddr = uint64(uintptr(unsafe.Pointer(&mbiCopy[0])))
	if err := multiboot.Parse(uint32(bootMagic), bootInfoAddr, &bootMem, &BootInfo); err != nil {
		mbError(err)
	}
	bootError("testhooks: the damaged boot information was accepted")
}

// blankWord overwrites the word key=... in cmd with spaces so the option
// parser never sees the test-only option.
func blankWord(cmd []byte, key string) {
	for i := 0; i+len(key) < len(cmd); i++ {
		if (i == 0 || cmd[i-1] == ' ') && string(cmd[i:i+len(key)]) == key && cmd[i+len(key)] == '=' {
			for j := i; j < len(cmd) && cmd[j] != ' '; j++ {
				cmd[j] = ' '
			}
			return
		}
	}
}

// SysTestFault is a system call number that only testhooks images know: it
// makes rt fault inside trap context, to show such faults are reported.
const SysTestFault = 0x7fff

var testNil *uint64

func testhookSyscall(nr uint64) bool {
	if nr != SysTestFault {
		return false
	}
	kprint("hv: testhooks: faulting in trap context\n")
	*testNil = 1
	return true
}
