// Package xltest has test support for the toolstack: a tiny PVH kernel
// image (ELF, or a gzip bzImage around it) and a xenstore server with
// dom0 and domU clients, for host tests of the builder and xl.
package xltest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"sync"

	"gozen/abi/xen"
	"gozen/dom0/xs"
	"gozen/xenstore"
	"gozen/xenstore/xstest"
)

// Kernel describes the test image Kernel builds.
type Kernel struct {
	Paddr uint64 // load address of its one segment
	Code  []byte // the segment's file contents
	Memsz uint64 // its size in memory (the rest is bss)
	Entry uint64 // the PVH entry (inside Code)
}

// DefaultKernel is a 3-page image at 1 MiB: 5000 bytes of patterned code
// and data, then bss up to 12 KiB, entry at +0x10.
func DefaultKernel() Kernel {
	code := make([]byte, 5000)
	for i := range code {
		code[i] = byte(i*7 + 1)
	}
	return Kernel{Paddr: 0x100000, Code: code, Memsz: 3 * 4096, Entry: 0x100010}
}

// ELF returns k as an ELF64 executable with one PT_LOAD and a PT_NOTE
// holding Xen's PHYS32_ENTRY note (type 18, "Xen"), as a PVH Linux has.
func (k Kernel) ELF() []byte {
	const ehdr, phdr = 64, 56
	note := make([]byte, 12+4+4)
	binary.LittleEndian.PutUint32(note[0:], 4) // namesz
	binary.LittleEndian.PutUint32(note[4:], 4) // descsz
	binary.LittleEndian.PutUint32(note[8:], xen.XenElfnotePhys32Entry)
	copy(note[12:], "Xen\x00")
	binary.LittleEndian.PutUint32(note[16:], uint32(k.Entry))
	noteOff := uint64(ehdr + 2*phdr)
	codeOff := uint64(0x1000)
	b := make([]byte, codeOff+uint64(len(k.Code)))
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], 2)  // ET_EXEC
	le.PutUint16(b[18:], 62) // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], k.Entry)
	le.PutUint64(b[32:], ehdr) // phoff
	le.PutUint16(b[52:], ehdr)
	le.PutUint16(b[54:], phdr)
	le.PutUint16(b[56:], 2)
	ph := func(i int, typ uint32, off, addr, filesz, memsz, align uint64) {
		p := b[ehdr+i*phdr:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], 7)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], addr)
		le.PutUint64(p[24:], addr)
		le.PutUint64(p[32:], filesz)
		le.PutUint64(p[40:], memsz)
		le.PutUint64(p[48:], align)
	}
	ph(0, 1, codeOff, k.Paddr, uint64(len(k.Code)), k.Memsz, 0x1000) // PT_LOAD
	ph(1, 4, noteOff, 0, uint64(len(note)), 0, 4)                    // PT_NOTE
	copy(b[noteOff:], note)
	copy(b[codeOff:], k.Code)
	return b
}

// BzImage wraps an ELF in a minimal bzImage (boot protocol 2.08 setup
// header, one setup sector, gzip payload), the shape loader.ExtractVmlinux
// reads.
func BzImage(elf []byte) []byte {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(elf)
	w.Close()
	const setupSects = 1
	pm := (setupSects + 1) * 512
	b := make([]byte, pm+z.Len())
	b[0x1F1] = setupSects
	binary.LittleEndian.PutUint16(b[0x1FE:], 0xAA55)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x020F)
	binary.LittleEndian.PutUint32(b[0x248:], 0)
	binary.LittleEndian.PutUint32(b[0x24C:], uint32(z.Len()))
	copy(b[pm:], z.Bytes())
	return b
}

// Store is a xenstore server with hooks that record introductions.
type Store struct {
	Server *xenstore.Server
	mu     sync.Mutex
	// Introduced maps a domid to its XS_INTRODUCE arguments.
	Introduced map[uint32][2]uint64
	Released   []uint32
}

// NewStore returns a server and dom0's client (with the nodes
// xen-init-dom0 writes).
func NewStore() (*Store, *xs.Client) {
	s := &Store{Introduced: map[uint32][2]uint64{}}
	s.Server = xenstore.NewServer(s, xenstore.DefaultLimits, xenstore.PrivilegedLimits)
	c := s.Client(0)
	c.Write("/local/domain/0/name", "Domain-0")
	c.Write("/local/domain/0/domid", "0")
	return s, c
}

// Client connects as domain domid (privileged for 0).
func (s *Store) Client(domid uint32) *xs.Client {
	return xs.New(&xstest.Pipe{C: s.Server.Connect(domid, domid == 0)})
}

func (s *Store) Introduce(c *xenstore.Conn, gfn uint64, port uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Introduced[c.Domid()] = [2]uint64{gfn, uint64(port)}
	return nil
}

func (s *Store) Release(domid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Released = append(s.Released, domid)
}

func (s *Store) Notify(*xenstore.Conn) {}

// Backends is dom0's xenstore client with Linux's xenbus back ends
// (blkback, netback) behind it, as the toolstack sees them, for host tests
// of device removal. A back end the toolstack has set to Closing (state 5)
// goes Closed (6) when its front end closes — when FrontendsAnswer, a
// front end answers its back end's Closing with Closed, as blkfront and
// netfront of a running domain do — or when its front-end tree is removed
// while it is Closing (xenbus_dev_remove writes Closed then; a back end
// whose front end went before it was Closing is left as it is, as
// Linux's back ends that allow rebinding leave it). Stuck back ends never
// close. Log records the writes, removals and closes in order.
type Backends struct {
	*xs.Client
	FrontendsAnswer bool
	Stuck           bool
	Log             []string
	// OnWrite, if set, is called after each write, as a kernel's watch
	// on the written path would fire at once (the fastest xenwatch).
	OnWrite func(path, value string)
}

// Write writes, then lets back end and front end react to a back end's
// Closing.
func (b *Backends) Write(path, value string) error {
	if err := b.Client.Write(path, value); err != nil {
		return err
	}
	b.Log = append(b.Log, "write "+path+"="+value)
	if b.OnWrite != nil {
		b.OnWrite(path, value)
	}
	be, ok := strings.CutSuffix(path, "/state")
	if !ok || value != "5" || !strings.Contains(be, "/backend/") || b.Stuck || !b.FrontendsAnswer {
		return nil
	}
	fe, err := b.Client.Read(be + "/frontend")
	if err != nil {
		return nil
	}
	if _, err := b.Client.Read(fe + "/state"); err != nil {
		return nil // no front end to answer
	}
	b.Client.Write(fe+"/state", "6")
	b.Log = append(b.Log, "frontend closed "+fe)
	b.close(be)
	return nil
}

// Rm removes path; back ends at Closing whose front end it removes close.
func (b *Backends) Rm(path string) error {
	var closing []string
	for _, be := range b.backends() {
		fe, _ := b.Client.Read(be + "/frontend")
		if fe == "" || (fe != path && !strings.HasPrefix(fe, path+"/")) {
			continue
		}
		if _, err := b.Client.Read(fe); err != nil {
			continue
		}
		if s, _ := b.Client.Read(be + "/state"); s == "5" {
			closing = append(closing, be)
		}
	}
	err := b.Client.Rm(path)
	b.Log = append(b.Log, "rm "+path)
	if !b.Stuck {
		for _, be := range closing {
			b.close(be)
		}
	}
	return err
}

func (b *Backends) close(be string) {
	b.Client.Write(be+"/state", "6")
	b.Log = append(b.Log, "closed "+be)
}

// backends lists /local/domain/0/backend/CLASS/DOMID/DEVID.
func (b *Backends) backends() []string {
	var out []string
	root := "/local/domain/0/backend"
	classes, _ := b.Client.Directory(root)
	for _, c := range classes {
		doms, _ := b.Client.Directory(root + "/" + c)
		for _, d := range doms {
			devs, _ := b.Client.Directory(root + "/" + c + "/" + d)
			for _, n := range devs {
				out = append(out, root+"/"+c+"/"+d+"/"+n)
			}
		}
	}
	return out
}
