package loader

import (
	"errors"
	"fmt"
	"slices"
)

// Check validates the image against a domain whose RAM is memSize bytes
// starting at guest-physical address 0, of which [0, lowLimit) is kept for
// the boot information and legacy areas:
//
//   - the segments need at most memSize bytes in all (checked first: it
//     tells how much memory the domain lacks);
//   - every segment [Paddr, Paddr+Memsz) lies inside [lowLimit, memSize);
//   - no two segments overlap;
//   - Entry32 lies in the file-backed part of a segment, below 4 GiB.
//
// Segments are numbered as in im.Segments. Check never panics, also on an
// Image built by hand.
func (im *Image) Check(memSize, lowLimit uint64) error {
	if lowLimit >= memSize {
		return fmt.Errorf("the domain's %s of memory leaves nothing above the lowest load address %#x",
			sizeString(memSize), lowLimit)
	}
	if len(im.Segments) == 0 {
		return errors.New("image has no segments")
	}
	var total uint64
	for i, s := range im.Segments {
		if uint64(len(s.Data)) > s.Memsz {
			return fmt.Errorf("segment %d has %d bytes of data but a memory size of only %d", i, len(s.Data), s.Memsz)
		}
		if s.Paddr+s.Memsz < s.Paddr {
			return fmt.Errorf("segment %d at %#x with size %#x wraps around the address space", i, s.Paddr, s.Memsz)
		}
		if total+s.Memsz < total {
			return fmt.Errorf("image segment sizes add up to more than 2^64 bytes (segment %d has size %#x)", i, s.Memsz)
		}
		total += s.Memsz
	}
	if total > memSize {
		return fmt.Errorf("image needs %s but the domain has %s", sizeString(total), sizeString(memSize))
	}
	for i, s := range im.Segments {
		switch {
		case s.Paddr < lowLimit:
			return fmt.Errorf("segment %d [%#x-%#x) starts below %#x, the lowest address a kernel may use",
				i, s.Paddr, s.End(), lowLimit)
		case s.End() > memSize:
			return fmt.Errorf("segment %d [%#x-%#x) ends beyond the domain's %s of memory",
				i, s.Paddr, s.End(), sizeString(memSize))
		}
	}
	// Overlaps: sort segment numbers by address and compare neighbours.
	order := make([]int, 0, len(im.Segments))
	for i, s := range im.Segments {
		if s.Memsz != 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := im.Segments[a].Paddr, im.Segments[b].Paddr
		switch {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	for k := 1; k < len(order); k++ {
		a, b := im.Segments[order[k-1]], im.Segments[order[k]]
		if b.Paddr < a.End() {
			return fmt.Errorf("segments %d [%#x-%#x) and %d [%#x-%#x) overlap",
				order[k-1], a.Paddr, a.End(), order[k], b.Paddr, b.End())
		}
	}
	if im.Entry32 > 0xFFFFFFFF {
		return fmt.Errorf("PVH entry %#x is above 4 GiB, out of reach of 32-bit code", im.Entry32)
	}
	for i, s := range im.Segments {
		if im.Entry32 < s.Paddr || im.Entry32 >= s.End() {
			continue
		}
		if im.Entry32-s.Paddr >= uint64(len(s.Data)) {
			return fmt.Errorf("PVH entry %#x lies in the zero-filled part of segment %d [%#x-%#x), which has no code",
				im.Entry32, i, s.Paddr, s.End())
		}
		return nil
	}
	return fmt.Errorf("PVH entry %#x is not inside any loaded segment", im.Entry32)
}

// End returns the first address after the image's highest segment: where
// free memory above the kernel begins.
func (im *Image) End() uint64 {
	var end uint64
	for _, s := range im.Segments {
		end = max(end, s.End())
	}
	return end
}

// sizeString formats a byte count for messages: "16 MiB", "640 KiB",
// "40.5 MiB (0x2880000 bytes)", "100 bytes".
func sizeString(n uint64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB (%#x bytes)", float64(n)/mib, n)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%d bytes", n)
}
