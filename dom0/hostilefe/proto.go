package hostilefe

import "encoding/binary"

// Block requests (io/blkif.h, x86-64: struct blkif_request is packed, 112
// bytes; the response 16).
const (
	blkEntry        = 112
	blkMaxSegs      = 11
	blkOpRead       = 0
	blkOpWrite      = 1
	blkOpDiscard    = 5
	blkOpIndirect   = 6
	blkRspOkay      = 0
	blkRspError     = -1
	blkRspNotSupp   = -2
	blkSectorsPage  = PageSize / 512
	blkSegSize      = 8
	blkOffSegs      = 24
	blkOffID        = 8
	blkOffSector    = 16
	blkRspOffStatus = 10
)

// blkSeg is a blkif_request_segment: a grant and the page's sectors.
type blkSeg struct {
	Gref        uint32
	First, Last uint8
}

// blkReq is a read/write request; NrSegs is written as given, even when
// it does not match len(Segs) (at most blkMaxSegs are encoded).
type blkReq struct {
	Op     uint8
	NrSegs uint8
	Handle uint16
	ID     uint64
	Sector uint64
	Segs   []blkSeg
}

func (q blkReq) encode() []byte {
	b := make([]byte, blkEntry)
	b[0] = q.Op
	b[1] = q.NrSegs
	binary.LittleEndian.PutUint16(b[2:], q.Handle)
	binary.LittleEndian.PutUint64(b[blkOffID:], q.ID)
	binary.LittleEndian.PutUint64(b[blkOffSector:], q.Sector)
	for i, s := range q.Segs {
		if i == blkMaxSegs {
			break
		}
		o := blkOffSegs + i*blkSegSize
		binary.LittleEndian.PutUint32(b[o:], s.Gref)
		b[o+4] = s.First
		b[o+5] = s.Last
	}
	return b
}

// blkDiscard is a blkif_request_discard: flag, id, sector, nr_sectors.
func blkDiscard(id, sector, nr uint64) []byte {
	b := make([]byte, blkEntry)
	b[0] = blkOpDiscard
	binary.LittleEndian.PutUint64(b[blkOffID:], id)
	binary.LittleEndian.PutUint64(b[blkOffSector:], sector)
	binary.LittleEndian.PutUint64(b[24:], nr)
	return b
}

// blkIndirect is a blkif_request_indirect: indirect_op, nr_segments
// (16 bits), id, sector, handle, indirect_grefs[8].
func blkIndirect(id uint64, nrSegs uint16, gref uint32) []byte {
	b := make([]byte, blkEntry)
	b[0] = blkOpIndirect
	b[1] = blkOpRead
	binary.LittleEndian.PutUint16(b[2:], nrSegs)
	binary.LittleEndian.PutUint64(b[blkOffID:], id)
	binary.LittleEndian.PutUint32(b[28:], gref)
	return b
}

// blkRsp decodes a blkif_response: id, operation, status.
func blkRsp(b []byte) (id uint64, op uint8, status int16) {
	return binary.LittleEndian.Uint64(b), b[8], int16(binary.LittleEndian.Uint16(b[blkRspOffStatus:]))
}

// Network requests (io/netif.h): netif_tx_request is 12 bytes, its
// response 4 (the ring entry, their union, 12); netif_rx_request and
// netif_rx_response are 8.
const (
	txEntry    = 12
	rxEntry    = 8
	txRspOkay  = 0
	txRspError = -1
	ethHLen    = 14
)

// txReq is a netif_tx_request.
type txReq struct {
	Gref   uint32
	Offset uint16
	Flags  uint16
	ID     uint16
	Size   uint16
}

func (q txReq) encode() []byte {
	b := make([]byte, txEntry)
	binary.LittleEndian.PutUint32(b[0:], q.Gref)
	binary.LittleEndian.PutUint16(b[4:], q.Offset)
	binary.LittleEndian.PutUint16(b[6:], q.Flags)
	binary.LittleEndian.PutUint16(b[8:], q.ID)
	binary.LittleEndian.PutUint16(b[10:], q.Size)
	return b
}

// txRsp decodes a netif_tx_response: id, status.
func txRsp(b []byte) (id uint16, status int16) {
	return binary.LittleEndian.Uint16(b), int16(binary.LittleEndian.Uint16(b[2:]))
}
