package x86

import (
	"errors"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// asmReg maps an x86asm general-purpose register to its index, size in bytes
// and whether it is a high-byte register.
func asmReg(r x86asm.Reg) (idx, size int, high, ok bool) {
	switch {
	case r >= x86asm.AL && r <= x86asm.BL:
		return int(r - x86asm.AL), 1, false, true
	case r >= x86asm.AH && r <= x86asm.BH:
		return int(r - x86asm.AH), 1, true, true
	case r >= x86asm.SPB && r <= x86asm.R15B:
		return int(r-x86asm.SPB) + 4, 1, false, true
	case r >= x86asm.AX && r <= x86asm.R15W:
		return int(r - x86asm.AX), 2, false, true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return int(r - x86asm.EAX), 4, false, true
	case r >= x86asm.RAX && r <= x86asm.R15:
		return int(r - x86asm.RAX), 8, false, true
	}
	return 0, 0, false, false
}

func fuzzMode(b byte) Mode {
	return [3]Mode{Mode16, Mode32, Mode64}[b%3]
}

// FuzzDecodeMMIO checks that DecodeMMIO never panics and that whatever it
// accepts agrees with x86asm: the same length, operation, access size,
// register and immediate. In the other direction, every MOV/MOVZX/MOVSX
// between memory and a general-purpose register or immediate that x86asm
// decodes (without LOCK) must be accepted.
func FuzzDecodeMMIO(f *testing.F) {
	for _, tt := range mmioTests {
		f.Add(tt.code, map[Mode]byte{Mode16: 0, Mode32: 1, Mode64: 2}[tt.mode], tt.in)
	}
	for _, tt := range insnTests {
		f.Add(tt.code, byte(2), uint64(0))
	}
	f.Fuzz(func(t *testing.T, code []byte, modeSel byte, in uint64) {
		mode := fuzzMode(modeSel)
		regs := base
		m, err := DecodeMMIO(code, mode, &regs)
		if regs != base {
			t.Fatalf("DecodeMMIO changed the registers")
		}
		n, lerr := InsnLen(code, mode)
		if lerr == nil && (n < 1 || n > MaxInsnLen || n > len(code)) {
			t.Fatalf("InsnLen(% x) = %d", code, n)
		}

		// x86asm's view, without the REX bytes the CPU ignores.
		window := code
		if len(window) > MaxInsnLen {
			window = window[:MaxInsnLen]
		}
		p := scanPrefixes(window, mode)
		var buf [MaxInsnLen]byte
		clean, dropped := stripIgnored(window, &p, &buf)
		inst, aerr := x86asm.Decode(clean, int(mode))
		asmOK := aerr == nil && inst.Op != 0 && inst.Len+dropped <= MaxInsnLen

		if err != nil {
			if errors.Is(err, ErrUnsupportedMMIO) && !p.lock && asmOK && isMemMove(inst) {
				t.Fatalf("DecodeMMIO(% x, %v) rejected %s: %v", code, mode, x86asm.IntelSyntax(inst, 0, nil), err)
			}
			return
		}

		if m.Len < 1 || m.Len > MaxInsnLen || m.Len > len(code) {
			t.Fatalf("DecodeMMIO(% x) Len %d", code, m.Len)
		}
		if lerr != nil || n != m.Len {
			t.Fatalf("DecodeMMIO(% x, %v) Len %d, InsnLen %d, %v", code, mode, m.Len, n, lerr)
		}
		switch m.Size {
		case 1, 2, 4, 8:
		default:
			t.Fatalf("DecodeMMIO(% x) Size %d", code, m.Size)
		}
		if !asmOK {
			t.Fatalf("DecodeMMIO(% x, %v) = %+v but x86asm: %v (op %v)", code, mode, m, aerr, inst.Op)
		}
		text := x86asm.IntelSyntax(inst, 0, nil)
		if inst.Len+dropped != m.Len {
			t.Fatalf("% x, %v: Len %d, x86asm %d (%s)", code, mode, m.Len, inst.Len+dropped, text)
		}
		if inst.MemBytes != m.Size {
			t.Fatalf("% x, %v: Size %d, x86asm %d (%s)", code, mode, m.Size, inst.MemBytes, text)
		}
		memArg, other := 1, 0
		if m.Write {
			memArg, other = 0, 1
		}
		if _, isMem := inst.Args[memArg].(x86asm.Mem); !isMem {
			t.Fatalf("% x, %v: Write=%v but x86asm has %s", code, mode, m.Write, text)
		}
		switch a := inst.Args[other].(type) {
		case x86asm.Reg:
			idx, size, high, ok := asmReg(a)
			if !ok {
				t.Fatalf("% x, %v: %s: not a GPR", code, mode, text)
			}
			if high != m.HighByte {
				t.Fatalf("% x, %v: HighByte %v (%s)", code, mode, m.HighByte, text)
			}
			if m.Write {
				if size != m.Size || m.Value != regValue(&regs, idx, size, high) {
					t.Fatalf("% x, %v: store %+v (%s)", code, mode, m, text)
				}
			} else if idx != m.Dest || size != m.DestSize {
				t.Fatalf("% x, %v: load %+v (%s)", code, mode, m, text)
			}
		case x86asm.Imm:
			if !m.Write || m.Value != uint64(a)&sizeMask(m.Size) {
				t.Fatalf("% x, %v: immediate %+v (%s)", code, mode, m, text)
			}
		default:
			t.Fatalf("% x, %v: %+v but x86asm has %s", code, mode, m, text)
		}
		var opOK bool
		switch inst.Op {
		case x86asm.MOV:
			opOK = !m.SignExtend && (m.Write || m.DestSize == m.Size)
		case x86asm.MOVZX:
			opOK = !m.SignExtend && !m.Write
		case x86asm.MOVSX:
			opOK = m.SignExtend && !m.Write
		}
		if !opOK {
			t.Fatalf("% x, %v: %+v but x86asm has %s", code, mode, m, text)
		}

		// Complete touches only the destination register.
		m.Complete(&regs, in, mode)
		for i := range regs {
			if regs[i] != base[i] && (m.Write || i != m.Dest) {
				t.Fatalf("% x, %v: Complete changed register %d", code, mode, i)
			}
		}
	})
}

// isMemMove reports whether inst is a MOV, MOVZX or MOVSX between memory and
// a general-purpose register or an immediate: a form DecodeMMIO supports.
func isMemMove(inst x86asm.Inst) bool {
	if inst.Op != x86asm.MOV && inst.Op != x86asm.MOVZX && inst.Op != x86asm.MOVSX {
		return false
	}
	var hasMem, hasOther bool
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Mem:
			hasMem = true
		case x86asm.Reg:
			_, _, _, hasOther = asmReg(a)
		case x86asm.Imm:
			hasOther = true
		}
	}
	return hasMem && hasOther
}

// ringMem is guest-physical memory where every address is backed: byte gpa
// is data[gpa % len(data)], so that fuzzed page tables walk deep.
type ringMem struct{ data []byte }

func (m ringMem) ReadPhys(gpa uint64, p []byte) error {
	if len(m.data) == 0 {
		return errUnbacked
	}
	for i := range p {
		p[i] = m.data[(gpa+uint64(i))%uint64(len(m.data))]
	}
	return nil
}

func (m ringMem) WritePhys(gpa uint64, p []byte) error {
	if len(m.data) == 0 {
		return errUnbacked
	}
	for i := range p {
		m.data[(gpa+uint64(i))%uint64(len(m.data))] = p[i]
	}
	return nil
}

// FuzzTranslate checks that Translate never panics, that its results are
// consistent (page offset kept, error-code bits matching the access, the
// fault address being the linear address), and that success is monotonic:
// an access that succeeds also succeeds, at the same address, as a read and
// (for data accesses) as an explicit supervisor access with RFLAGS.AC set or
// CR4.SMAP clear, and with CR0.WP clear.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{0x03, 0x10, 0, 0, 0, 0, 0, 0}, uint64(CR0PE|CR0PG), uint64(0), uint64(CR4PAE), uint64(EFERLMA|EFERNXE), uint64(0x1234), byte(0), byte(7))
	f.Add([]byte{0x87, 0x00, 0x40, 0x00}, uint64(CR0PE|CR0PG|CR0WP), uint64(0x1000), uint64(CR4PSE), uint64(0), uint64(0xffff_ffff), byte(40), byte(3))
	f.Add([]byte{0x07, 0x20, 0, 0, 0, 0, 0, 0x80}, uint64(CR0PE|CR0PG), uint64(0x20), uint64(CR4PAE|CR4SMEP), uint64(EFERNXE), uint64(0xc000_0000), byte(36), byte(4))
	f.Add([]byte{0xe7, 0, 0, 0, 1, 0, 0, 0}, uint64(CR0PE|CR0PG), uint64(0), uint64(CR4PAE|CR4LA57), uint64(EFERLMA), uint64(0xff00_0000_0000_0000), byte(52), byte(1))
	f.Fuzz(func(t *testing.T, data []byte, cr0, cr3, cr4, efer, gva uint64, physBits, accBits byte) {
		pg := Paging{CR0: cr0, CR3: cr3, CR4: cr4, EFER: efer, PhysBits: physBits, AC: accBits&0x40 != 0}
		mem := ringMem{data}
		acc := Access{Write: accBits&1 != 0, User: accBits&2 != 0, Fetch: accBits&4 != 0, Implicit: accBits&0x80 != 0}
		gpa, err := Translate(mem, pg, gva, acc)
		linear := gva
		if !pg.LongMode() {
			linear = uint64(uint32(gva))
		}
		var pf *PageFault
		switch {
		case err == nil:
			if gpa&0xfff != linear&0xfff {
				t.Fatalf("gpa %#x for gva %#x: page offset differs", gpa, gva)
			}
			if pg.CR0&CR0PG == 0 && gpa != linear {
				t.Fatalf("paging off: gpa %#x for gva %#x", gpa, gva)
			}
			weaker := []Access{{User: acc.User, Fetch: acc.Fetch, Implicit: acc.Implicit}}
			if !acc.Fetch {
				weaker = append(weaker, Access{Write: acc.Write})
			}
			noWP := pg
			noWP.CR0 &^= CR0WP
			acOn := pg
			acOn.AC = true
			for _, w := range weaker {
				if g, err := Translate(mem, acOn, gva, w); err != nil || g != gpa {
					t.Fatalf("%+v gives %#x but %+v gives %#x, %v", acc, gpa, w, g, err)
				}
			}
			if acc.Implicit && !acc.User && !acc.Fetch {
				// What an implicit access may do, an explicit one may too.
				if g, err := Translate(mem, pg, gva, Access{Write: acc.Write}); err != nil || g != gpa {
					t.Fatalf("implicit %+v gives %#x but explicit gives %#x, %v", acc, gpa, g, err)
				}
			}
			if g, err := Translate(mem, noWP, gva, acc); err != nil || g != gpa {
				t.Fatalf("WP=1 gives %#x but WP=0 gives %#x, %v", gpa, g, err)
			}
		case errors.As(err, &pf):
			c := pf.Code
			if c&^0x1f != 0 || (c&PFWrite != 0) != acc.Write || (c&PFUser != 0) != acc.User ||
				(c&PFFetch != 0 && !acc.Fetch) || (c&PFRsvd != 0 && c&PFPresent == 0) {
				t.Fatalf("%+v: error code %#x", acc, c)
			}
			if pf.Addr != linear {
				t.Fatalf("fault address %#x for gva %#x", pf.Addr, gva)
			}
			if pg.CR0&CR0PG == 0 {
				t.Fatalf("page fault with paging off")
			}
		case err == ErrNonCanonical:
			if !pg.LongMode() {
				t.Fatalf("non-canonical outside long mode")
			}
		default:
			var pe *PhysError
			if !errors.As(err, &pe) || len(data) != 0 {
				t.Fatalf("unexpected error %v", err)
			}
		}

		// The copying helpers must not panic either.
		var buf [15]byte
		_, _ = FetchInsn(mem, pg, cr3, gva, fuzzMode(accBits>>3), acc.User, &buf)
		p := make([]byte, int(accBits)%64*100)
		_ = ReadVirt(mem, pg, gva, p, acc.User)
		_ = WriteVirt(mem, pg, gva, p, acc.User)
	})
}
