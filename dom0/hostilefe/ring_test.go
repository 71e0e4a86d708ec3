package hostilefe

import (
	"encoding/binary"
	"testing"
)

// Ring sizes as io/ring.h's __RING_SIZE gives them for each entry union:
// blkif 112 bytes (32 slots), netif tx 12 (256), rx 8 (256).
func TestRingSizes(t *testing.T) {
	for _, c := range []struct {
		entry int
		want  uint32
	}{{blkEntry, 32}, {txEntry, 256}, {rxEntry, 256}, {16, 128}} {
		if got := ringSize(c.entry); got != c.want {
			t.Errorf("ringSize(%d) = %d, want %d", c.entry, got, c.want)
		}
	}
}

// The request layouts against io/blkif.h's packed x86-64 structs:
// operation@0, nr_segments@1, handle@2, id@8, sector_number@16,
// seg[i]@24+8i (gref@0, first_sect@4, last_sect@5); discard's nr_sectors
// @24; indirect's nr_segments (16 bits)@2, indirect_grefs@28; the
// response's status@10.
func TestBlkifLayout(t *testing.T) {
	le := binary.LittleEndian
	b := blkReq{Op: 1, NrSegs: 12, Handle: 0x1234, ID: 0x1122334455667788, Sector: 0x99,
		Segs: make([]blkSeg, 12)}.encode()
	if len(b) != 112 || b[0] != 1 || b[1] != 12 || le.Uint16(b[2:]) != 0x1234 || le.Uint64(b[8:]) != 0x1122334455667788 || le.Uint64(b[16:]) != 0x99 {
		t.Errorf("rw header % x", b[:24])
	}
	s := blkReq{Segs: []blkSeg{{}, {Gref: 0xabcdef, First: 3, Last: 7}}}.encode()
	if le.Uint32(s[32:]) != 0xabcdef || s[36] != 3 || s[37] != 7 {
		t.Errorf("seg[1] % x", s[32:40])
	}
	d := blkDiscard(5, 6, 7)
	if d[0] != 5 || le.Uint64(d[8:]) != 5 || le.Uint64(d[16:]) != 6 || le.Uint64(d[24:]) != 7 {
		t.Errorf("discard % x", d[:32])
	}
	in := blkIndirect(9, 65535, 0x77)
	if in[0] != 6 || in[1] != 0 || le.Uint16(in[2:]) != 65535 || le.Uint64(in[8:]) != 9 || le.Uint32(in[28:]) != 0x77 {
		t.Errorf("indirect % x", in[:32])
	}
	r := make([]byte, 16)
	le.PutUint64(r, 42)
	r[8] = 1
	le.PutUint16(r[10:], 0xfffe)
	if id, op, st := blkRsp(r); id != 42 || op != 1 || st != -2 {
		t.Errorf("response: %d %d %d", id, op, st)
	}
}

// netif_tx_request: gref@0, offset@4, flags@6, id@8, size@10; the
// response id@0, status@2.
func TestNetifLayout(t *testing.T) {
	le := binary.LittleEndian
	b := txReq{Gref: 0x10203, Offset: 4000, Flags: 4, ID: 9, Size: 200}.encode()
	if len(b) != 12 || le.Uint32(b) != 0x10203 || le.Uint16(b[4:]) != 4000 || le.Uint16(b[6:]) != 4 || le.Uint16(b[8:]) != 9 || le.Uint16(b[10:]) != 200 {
		t.Errorf("tx request % x", b)
	}
	if id, st := txRsp([]byte{9, 0, 0xff, 0xff}); id != 9 || st != -1 {
		t.Errorf("tx response %d %d", id, st)
	}
}

// The front ring publishes requests at 64 + slot*entry, wraps at its
// size, and consumes responses the back end produced.
func TestFrontRing(t *testing.T) {
	le := binary.LittleEndian
	page := make([]byte, PageSize)
	page[100] = 0xee // cleared by the init
	r := newFrontRing(page, blkEntry)
	if le.Uint32(page[4:]) != 1 || le.Uint32(page[12:]) != 1 || page[100] != 0 {
		t.Fatalf("init: % x", page[:16])
	}
	for i := 0; i < 33; i++ {
		r.push([]byte{byte(i + 1)})
	}
	if le.Uint32(page[0:]) != 33 {
		t.Errorf("req_prod %d", le.Uint32(page[0:]))
	}
	if page[64] != 33 || page[64+112] != 2 { // slot 0 rewritten by request 33
		t.Errorf("slots: %d %d", page[64], page[64+112])
	}
	if _, ok := r.response(); ok {
		t.Fatal("a response before the back end produced one")
	}
	page[64+2*112] = 0x5a // response slot 0 is slot 0: write there
	page[64] = 0x5a
	le.PutUint32(page[8:], 1)
	b, ok := r.response()
	if !ok || b[0] != 0x5a || le.Uint32(page[12:]) != 2 {
		t.Errorf("response %v % x, rsp_event %d", ok, b[:2], le.Uint32(page[12:]))
	}
	r.setReqProd(1033)
	if le.Uint32(page[0:]) != 1033 {
		t.Error("setReqProd")
	}
}
