package rt

import (
	"gozen/arch/amd64"
	"gozen/mm/pgtable"
)

// MapMMIO maps device registers [pa, pa+n) at their own address (the
// direct map is an identity map), writable, uncached and non-executable,
// for hv's own drivers (the IOMMU's register window). Pages already mapped
// must be mapped uncached and writable already. It reports false if the
// range could not be mapped; pages it did map stay mapped.
func MapMMIO(pa, n uint64) bool {
	if n == 0 {
		return true
	}
	if pa < pageSize || pa+n < pa || pa+n > directMapLimit {
		return false
	}
	amd64.DisableInterrupts()
	defer amd64.EnableInterrupts()
	mapped, ok := false, true
	for a := pa &^ 0xfff; a < pa+n; a += pageSize {
		if _, flags, _, present := kpt.Lookup(a); present {
			if flags&(pgtable.Writable|pgtable.CacheDisable) != pgtable.Writable|pgtable.CacheDisable {
				ok = false
				break
			}
			continue
		}
		if err := kpt.Map(a, a, pgtable.Size4K, ptMMIO); err != nil {
			ok = false
			break
		}
		mapped = true
	}
	if mapped {
		amd64.WriteCR3(kpt.Root)
	}
	return ok
}
