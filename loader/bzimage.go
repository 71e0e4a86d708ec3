package loader

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// This file extracts the ELF kernel (vmlinux) from a Linux bzImage, the
// format distributions ship as /boot/vmlinuz, so that GoZen can boot an
// unmodified distribution kernel through its PVH entry point.
//
// A bzImage is the real-mode setup code followed by the protected-mode part:
// the kernel's own decompressor and, inside it, the compressed vmlinux (the
// "payload"). The x86 boot protocol (Documentation/arch/x86/boot.rst, version
// 2.08 and later) gives the payload's place in the setup header, so no
// scanning for magic numbers is needed. The payload is the stripped vmlinux
// ELF file, followed by the relocation table when the kernel is relocatable;
// ParseELF ignores the latter.

// Setup header fields (offsets into the bzImage).
const (
	bzSetupSects    = 0x1F1 // u8: size of the setup code in 512-byte sectors, 0 meaning 4
	bzBootFlag      = 0x1FE // u16: 0xAA55
	bzHeaderMagic   = 0x202 // "HdrS"
	bzVersion       = 0x206 // u16: boot protocol version
	bzPayloadOffset = 0x248 // u32: payload offset from the protected-mode code
	bzPayloadLength = 0x24C // u32: payload length
	bzHeaderEnd     = 0x250

	bzMinVersion = 0x0208 // first protocol version with payload_offset/length
)

// MaxVmlinuxSize is the largest decompressed kernel ExtractVmlinux produces.
// A Linux 6.1 distribution vmlinux is about 60 MiB; the limit keeps a hostile
// image (a decompression bomb) from exhausting the hypervisor's memory.
const MaxVmlinuxSize = 256 << 20

// IsBzImage reports whether b starts like a Linux bzImage: the boot sector
// signature 0xAA55 at 0x1FE and the setup header magic "HdrS" at 0x202.
func IsBzImage(b []byte) bool {
	return len(b) >= bzHeaderMagic+4 &&
		le.Uint16(b[bzBootFlag:]) == 0xAA55 &&
		string(b[bzHeaderMagic:bzHeaderMagic+4]) == "HdrS"
}

// ExtractVmlinux returns the ELF kernel inside the bzImage b: it locates the
// compressed payload through the setup header, decompresses it (XZ, the
// compression Debian's kernels use, or gzip), and checks with ParseELF that
// the result is a kernel GoZen can boot, with a PVH entry note. The result
// is a new slice (b is not modified) of at most MaxVmlinuxSize bytes.
//
// It never panics, whatever b holds, and its memory use is bounded by the
// sizes the compressed data declares, themselves bounded by MaxVmlinuxSize.
func ExtractVmlinux(b []byte) ([]byte, error) {
	return extractVmlinux(b, MaxVmlinuxSize, nil)
}

// VmlinuxSize returns the size of the ELF kernel inside the bzImage b, as
// its compressed payload declares it (the XZ index, or the size field that
// ends a gzip payload), so that a caller can provide the memory to
// decompress it into with ExtractVmlinuxInto. The size is at most
// MaxVmlinuxSize; the payload itself is not decompressed or checked yet.
func VmlinuxSize(b []byte) (int, error) {
	payload, err := bzPayload(b)
	if err != nil {
		return 0, err
	}
	switch c := compressionOf(payload); c {
	case "xz":
		s, err := xzOpen(payload, MaxVmlinuxSize)
		if err != nil {
			return 0, fmt.Errorf("bzImage: xz payload: %w", err)
		}
		return int(s.total), nil
	case "gzip":
		n, err := gzipSize(payload, MaxVmlinuxSize)
		if err != nil {
			return 0, fmt.Errorf("bzImage: gzip payload: %w", err)
		}
		return n, nil
	default:
		return 0, unsupportedPayload(payload, c)
	}
}

// ExtractVmlinuxInto is ExtractVmlinux decompressing into buf, which must
// be VmlinuxSize(b) bytes long; on success buf holds the vmlinux. The
// decompression allocates next to nothing besides: the caller chooses
// where the one large buffer comes from.
func ExtractVmlinuxInto(b, buf []byte) error {
	if buf == nil {
		return errors.New("ExtractVmlinuxInto: no buffer")
	}
	_, err := extractVmlinux(b, MaxVmlinuxSize, buf)
	return err
}

// extractVmlinux extracts the vmlinux of at most limit bytes from b, into
// buf if it is not nil.
func extractVmlinux(b []byte, limit int, buf []byte) ([]byte, error) {
	payload, err := bzPayload(b)
	if err != nil {
		return nil, err
	}
	out, err := decompressPayload(payload, limit, buf)
	if err != nil {
		return nil, err
	}
	if _, err := ParseELF(out); err != nil {
		return nil, fmt.Errorf("bzImage: the decompressed payload (%d bytes) is not a bootable PVH kernel: %w", len(out), err)
	}
	return out, nil
}

// bzPayload returns the compressed payload of bzImage b.
func bzPayload(b []byte) ([]byte, error) {
	if !IsBzImage(b) {
		return nil, errors.New("not a bzImage: no boot signature 0xAA55 at 0x1FE and \"HdrS\" at 0x202")
	}
	if len(b) < bzHeaderEnd {
		return nil, fmt.Errorf("truncated bzImage: %d bytes, the setup header alone is %d", len(b), bzHeaderEnd)
	}
	if v := le.Uint16(b[bzVersion:]); v < bzMinVersion {
		return nil, fmt.Errorf("bzImage boot protocol %d.%02d is older than 2.08, which introduced the payload fields",
			v>>8, v&0xFF)
	}
	setupSects := uint64(b[bzSetupSects])
	if setupSects == 0 {
		setupSects = 4
	}
	pmStart := (setupSects + 1) * 512
	off := pmStart + uint64(le.Uint32(b[bzPayloadOffset:]))
	n := uint64(le.Uint32(b[bzPayloadLength:]))
	if n == 0 {
		return nil, errors.New("bzImage has an empty payload (payload_length is 0)")
	}
	if off > uint64(len(b)) || n > uint64(len(b))-off {
		return nil, fmt.Errorf("truncated bzImage: payload at %#x, %d bytes, runs past the end of the file (%d bytes)",
			off, n, len(b))
	}
	return b[off : off+n], nil
}

// compression formats the kernel build supports, by the magic numbers its
// decompressors (lib/decompress.c) recognise.
var compressions = []struct {
	magic string
	name  string
}{
	{"\xFD7zXZ\x00", "xz"},
	{"\x1F\x8B", "gzip"},
	{"\x1F\x9E", "gzip"}, // old gzip magic, accepted by the kernel
	{"BZh", "bzip2"},
	{"\x5D\x00\x00", "lzma"},
	{"\x89LZO", "lzo"},
	{"\x02\x21\x4C\x18", "lz4"},
	{"\x28\xB5\x2F\xFD", "zstd"},
}

// compressionOf names the compression of payload p, or returns "".
func compressionOf(p []byte) string {
	for _, c := range compressions {
		if bytes.HasPrefix(p, []byte(c.magic)) {
			return c.name
		}
	}
	return ""
}

// decompressPayload decompresses a kernel payload of at most limit bytes,
// into buf if it is not nil (it must then have the payload's declared
// size).
func decompressPayload(p []byte, limit int, buf []byte) ([]byte, error) {
	switch c := compressionOf(p); c {
	case "xz":
		out, err := decodeXZ(p, limit, buf)
		if err != nil {
			return nil, fmt.Errorf("bzImage: xz payload: %w", err)
		}
		return out, nil
	case "gzip":
		out, err := decodeGzip(p, limit, buf)
		if err != nil {
			return nil, fmt.Errorf("bzImage: gzip payload: %w", err)
		}
		return out, nil
	default:
		return nil, unsupportedPayload(p, c)
	}
}

// unsupportedPayload is the error for payload p of compression c, which
// is neither xz nor gzip.
func unsupportedPayload(p []byte, c string) error {
	if c == "" {
		return fmt.Errorf("bzImage: unknown payload compression (first bytes % x)", p[:min(len(p), 8)])
	}
	return fmt.Errorf("bzImage: the payload is %s-compressed (CONFIG_KERNEL_%s); only xz and gzip kernels are supported",
		c, upper(c))
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// deflateMaxRatio bounds how far deflate data expands: a 258-byte match
// takes at least two bits, so about 1032 bytes per input byte.
const deflateMaxRatio = 1032

// gzipSize returns the decompressed size gzip payload p declares in its
// last four bytes. Those are the gzip member's ISIZE field, or the same
// size again when the kernel build appended it after the member. It fails
// when the size exceeds limit or what deflate could produce from p.
func gzipSize(p []byte, limit int) (int, error) {
	if len(p) < 18 { // header 10, empty deflate block 1+, trailer 8
		return 0, fmt.Errorf("truncated: %d bytes", len(p))
	}
	n := uint64(le.Uint32(p[len(p)-4:]))
	if n > uint64(limit) {
		return 0, fmt.Errorf("decompresses to more than %d bytes (its size field says %d)", limit, n)
	}
	if n > deflateMaxRatio*uint64(len(p)) {
		return 0, fmt.Errorf("its size field says %d bytes, more than %d compressed bytes can hold", n, len(p))
	}
	return int(n), nil
}

// decodeGzip decompresses the first gzip member of p (the kernel build
// appends the size after it; trailing bytes are ignored as the kernel does)
// into buf, or a new buffer if buf is nil, of the size gzipSize gives.
// gzip.Reader checks the member's CRC-32 and length.
func decodeGzip(p []byte, limit int, buf []byte) ([]byte, error) {
	n, err := gzipSize(p, limit)
	if err != nil {
		return nil, err
	}
	switch {
	case buf == nil:
		buf = make([]byte, n)
	case len(buf) != n:
		return nil, fmt.Errorf("the payload declares %d bytes, not %d", n, len(buf))
	}
	zr, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	if _, err := io.ReadFull(zr, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("decompresses to fewer than the %d bytes its size field declares", n)
		}
		return nil, err
	}
	// The member must end here; reading its end checks CRC-32 and ISIZE.
	var more [1]byte
	switch _, err := io.ReadFull(zr, more[:]); err {
	case io.EOF:
		return buf, nil
	case nil:
		return nil, fmt.Errorf("decompresses to more than the %d bytes its size field declares", n)
	default:
		return nil, err
	}
}
