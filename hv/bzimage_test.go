package hv

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"gozen/abi/xen"
)

// bzImage wraps kernel, gzip-compressed, in a minimal bzImage: a setup
// header (boot protocol 2.15) pointing at the payload.
func bzImage(t *testing.T, kernel []byte) []byte {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(kernel)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	const setupSects = 4
	pm := (setupSects + 1) * 512
	b := make([]byte, pm+0x40)
	b[0x1F1] = setupSects
	le := binary.LittleEndian
	le.PutUint16(b[0x1FE:], 0xAA55)
	copy(b[0x202:], "HdrS")
	le.PutUint16(b[0x206:], 0x020F)
	le.PutUint32(b[0x248:], 0x40) // payload offset from the protected-mode code
	le.PutUint32(b[0x24C:], uint32(z.Len()))
	return append(b, z.Bytes()...)
}

// A domain built from a bzImage runs the kernel inside it, logs the
// extraction, and gives back the scratch memory the kernel was
// decompressed into; without scratch memory the heap serves.
func TestCreateDomainFromBzImage(t *testing.T) {
	code := append(append([]byte{}, insnVMMCALL...), 0, 0, 0, 0)
	kernel := pvhELF(code)
	bz := bzImage(t, kernel)
	for _, noScratch := range []bool{false, true} {
		h, _, out := newTestHV([]step{callXen(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x100003)})
		env := h.env.(*fakeEnv)
		env.noScratch = noScratch
		d, err := h.CreateDomain(DomainConfig{Name: "bz", Mem: 4 << 20, Kernel: bz})
		if err != nil {
			t.Fatal(err)
		}
		if env.lent != 0 {
			t.Errorf("noScratch=%v: %d scratch buffers not given back", noScratch, env.lent)
		}
		want := fmt.Sprintf(`domain "bz": bzImage of %d bytes decompressed to a %d-byte vmlinux in `, len(bz), len(kernel))
		if !strings.Contains(out.String(), want) {
			t.Errorf("no extraction log line: %q", out.String())
		}
		h.Run()
		if d.State() != DomainShutdown {
			t.Errorf("noScratch=%v: %s", noScratch, d.StateString())
		}
	}
	// A bad payload is refused, and its scratch buffer given back.
	h, _, _ := newTestHV()
	bad := bzImage(t, []byte("not an ELF kernel"))
	if _, err := h.CreateDomain(DomainConfig{Name: "bad", Mem: 4 << 20, Kernel: bad}); err == nil || !strings.Contains(err.Error(), "not a bootable PVH kernel") {
		t.Errorf("error %v", err)
	}
	if n := h.env.(*fakeEnv).lent; n != 0 {
		t.Errorf("%d scratch buffers not given back after a failure", n)
	}
}
