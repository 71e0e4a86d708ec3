package grant

// mapping is Xen's struct grant_mapping, plus the gfn the mapping was
// placed at, so unmap can insist on the same address.
type mapping struct {
	flags uint32 // GNTMAP_* of the mapping; 0 when the handle is free
	dom   uint16 // granting domain
	ref   uint32 // grant ref in dom's table
	gfn   uint64 // where it is mapped in the mapper's physmap
	next  int32  // free list link
}

// maptrack hands out mapping handles. Like Xen's, freed handles go to the
// tail of a FIFO free list and one entry always stays on the list while the
// table can still grow, so a just-freed handle is not reused at once (a stale
// handle then fails with GNTST_bad_handle instead of hitting a new mapping).
type maptrack struct {
	ents       []mapping
	max        int
	head, tail int32 // free list, -1 when empty
	nfree      int
}

func (t *maptrack) init(max int) {
	t.max = max
	t.head, t.tail = -1, -1
}

// get returns a free handle, or -1 if all max handles are in use.
func (t *maptrack) get() int32 {
	switch {
	case t.nfree >= 2:
		return t.pop()
	case len(t.ents) < t.max:
		t.ents = append(t.ents, mapping{next: -1})
		return int32(len(t.ents) - 1)
	case t.nfree == 1:
		return t.pop() // Xen steals the sentinel when it cannot grow
	}
	return -1
}

func (t *maptrack) pop() int32 {
	h := t.head
	t.head = t.ents[h].next
	if t.head < 0 {
		t.tail = -1
	}
	t.ents[h].next = -1
	t.nfree--
	return h
}

// put frees handle h.
func (t *maptrack) put(h int32) {
	t.ents[h] = mapping{next: -1}
	if t.tail < 0 {
		t.head = h
	} else {
		t.ents[t.tail].next = h
	}
	t.tail = h
	t.nfree++
}

// lookup returns the in-use mapping of handle h, or nil.
func (t *maptrack) lookup(h uint32) *mapping {
	if uint64(h) >= uint64(len(t.ents)) {
		return nil
	}
	m := &t.ents[h]
	if m.flags == 0 {
		return nil
	}
	return m
}

// inUse is the number of live mappings.
func (t *maptrack) inUse() int { return len(t.ents) - t.nfree }
