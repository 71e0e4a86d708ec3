package loader

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeBzImage wraps payload in a minimal bzImage: setup sectors, a setup
// header (protocol 2.15) pointing at the payload, and some decompressor
// code around it, as arch/x86/boot/header.S lays them out.
func makeBzImage(payload []byte, setupSects byte) []byte {
	n := int(setupSects)
	if n == 0 {
		n = 4
	}
	pm := (n + 1) * 512
	const stubBefore, stubAfter = 0x2C4, 0x40
	b := make([]byte, pm+stubBefore, pm+stubBefore+len(payload)+stubAfter)
	b[bzSetupSects] = setupSects
	binary.LittleEndian.PutUint16(b[bzBootFlag:], 0xAA55)
	copy(b[bzHeaderMagic:], "HdrS")
	binary.LittleEndian.PutUint16(b[bzVersion:], 0x020F)
	binary.LittleEndian.PutUint32(b[bzPayloadOffset:], stubBefore)
	binary.LittleEndian.PutUint32(b[bzPayloadLength:], uint32(len(payload)))
	for i := pm; i < len(b); i++ {
		b[i] = 0xCC
	}
	b = append(b, payload...)
	return append(b, bytes.Repeat([]byte{0x90}, stubAfter)...)
}

// x86ish returns n bytes that exercise the x86 BCJ filter: plausible CALL
// and JMP instructions (E8/E9 with a displacement whose top byte is 00 or
// FF), runs of adjacent opcode bytes, and filler.
func x86ish(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, 0, n+8)
	for len(b) < n {
		switch r.IntN(8) {
		case 0, 1:
			top := []byte{0x00, 0xFF}[r.IntN(2)]
			b = append(b, 0xE8+byte(r.IntN(2)), byte(r.Uint32()), byte(r.Uint32()), byte(r.IntN(4)), top)
		case 2:
			b = append(b, []byte{0xE8, 0xE9, 0x00, 0xFF}[r.IntN(4)])
		case 3:
			b = append(b, 0xE8, 0xE8, byte(r.IntN(3)-1), 0xE9, 0xFF, 0x00)
		default:
			for range r.IntN(12) {
				b = append(b, byte(r.Uint32()))
			}
		}
	}
	return b[:n]
}

// bcjKernel returns a test kernel ELF whose text segment is x86ish code,
// followed by stand-in relocation data as a relocatable vmlinux.bin has.
func bcjKernel(codeSize int) []byte {
	k := kernel64()
	code := x86ish(codeSize, 7)
	k.segs[0] = tseg{testText, code, alignUp(uint64(len(code)), 0x1000)}
	return append(k.build(), x86ish(256, 8)...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// xzBytes compresses b with the xz command and the given options, and
// appends the size as the kernel build does. It skips the test when there
// is no xz command.
func xzBytes(t testing.TB, b []byte, opts ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("xz")
	if err != nil {
		t.Skip("no xz command (apt-get install xz-utils)")
	}
	args := append([]string{"--format=xz", "--stdout", "--compress"}, opts...)
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %s: %v: %s", strings.Join(opts, " "), err, stderr.Bytes())
	}
	return binary.LittleEndian.AppendUint32(out, uint32(len(b)))
}

func TestIsBzImage(t *testing.T) {
	b := makeBzImage([]byte{1, 2, 3}, 27)
	if !IsBzImage(b) {
		t.Error("IsBzImage(bzImage) = false")
	}
	if IsBzImage(kernel64().build()) || IsBzImage(nil) || IsBzImage(b[:0x205]) {
		t.Error("IsBzImage true for a non-bzImage")
	}
	b[bzBootFlag] = 0
	if IsBzImage(b) {
		t.Error("IsBzImage true without the boot flag")
	}
}

func TestExtractGzip(t *testing.T) {
	elf := bcjKernel(20000)
	for _, sects := range []byte{0, 1, 27, 63} {
		got, err := ExtractVmlinux(makeBzImage(gzipBytes(t, elf), sects))
		if err != nil {
			t.Fatalf("setup_sects %d: %v", sects, err)
		}
		if !bytes.Equal(got, elf) {
			t.Fatalf("setup_sects %d: extracted %d bytes differ from the %d-byte ELF", sects, len(got), len(elf))
		}
	}
	// The kernel's own test ELF, unmodified.
	elf = kernel64().build()
	got, err := ExtractVmlinux(makeBzImage(gzipBytes(t, elf), 4))
	if err != nil || !bytes.Equal(got, elf) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	checkKernelImage(t, mustParse(t, got), 64)
}

// TestExtractVmlinuxInto decompresses into a caller's buffer of the size
// VmlinuxSize gives, for both compressions and with or without the size
// the kernel build appends to the payload.
func TestExtractVmlinuxInto(t *testing.T) {
	elf := bcjKernel(100000)
	gz := gzipBytes(t, elf)
	images := map[string][]byte{
		"gzip":          makeBzImage(gz, 4),
		"gzip and size": makeBzImage(binary.LittleEndian.AppendUint32(bytes.Clone(gz), uint32(len(elf))), 4),
	}
	if _, err := exec.LookPath("xz"); err == nil {
		images["xz"] = makeBzImage(xzBytes(t, elf, "--check=crc32", "--x86", "--lzma2"), 4)
		images["xz, blocks"] = makeBzImage(xzBytes(t, elf, "--check=crc64", "--x86", "--lzma2", "--block-size=30000"), 4)
	}
	for name, img := range images {
		n, err := VmlinuxSize(img)
		if err != nil || n != len(elf) {
			t.Errorf("%s: VmlinuxSize = %d, %v; want %d", name, n, err, len(elf))
			continue
		}
		buf := make([]byte, n)
		if err := ExtractVmlinuxInto(img, buf); err != nil || !bytes.Equal(buf, elf) {
			t.Errorf("%s: ExtractVmlinuxInto: %v (output equal: %v)", name, err, bytes.Equal(buf, elf))
		}
		for _, bad := range [][]byte{nil, make([]byte, n-1), make([]byte, n+1)} {
			if err := ExtractVmlinuxInto(img, bad); err == nil {
				t.Errorf("%s: ExtractVmlinuxInto accepted a %d-byte buffer", name, len(bad))
			}
		}
		if allocs := testing.AllocsPerRun(3, func() { ExtractVmlinuxInto(img, buf) }); name == "xz" && allocs > 20 {
			t.Errorf("%s: %v allocations", name, allocs)
		}
	}
}

func TestVmlinuxSizeErrors(t *testing.T) {
	elf := kernel64().build()
	gz := gzipBytes(t, elf)
	size := func(n uint32) []byte { // gz with its size field replaced
		b := bytes.Clone(gz)
		binary.LittleEndian.PutUint32(b[len(b)-4:], n)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"not a bzImage", elf, "not a bzImage"},
		{"zstd", makeBzImage([]byte("\x28\xB5\x2F\xFDxxxx"), 4), "zstd-compressed"},
		{"short gzip", makeBzImage(gz[:10], 4), "truncated"},
		{"gzip over the limit", makeBzImage(size(MaxVmlinuxSize+1), 4), "more than 268435456 bytes"},
		{"gzip beyond deflate", makeBzImage(size(uint32(1040*len(gz))), 4), "more than"},
		{"xz", makeBzImage([]byte("\xFD7zXZ\x00\x00\x01"), 4), "xz payload"},
	} {
		if n, err := VmlinuxSize(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: VmlinuxSize = %d, %v; want an error containing %q", tc.name, n, err, tc.want)
		}
	}
	// A size that lies, appended after an intact gzip member as the kernel
	// build appends it, is caught when decompressing.
	for _, tc := range []struct {
		n    int
		want string
	}{{len(elf) - 1, "more than the"}, {len(elf) + 1, "fewer than the"}} {
		img := makeBzImage(binary.LittleEndian.AppendUint32(bytes.Clone(gz), uint32(tc.n)), 4)
		if _, err := ExtractVmlinux(img); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("size field %d for %d bytes: %v, want %q", tc.n, len(elf), err, tc.want)
		}
		if err := ExtractVmlinuxInto(img, make([]byte, tc.n)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("size field %d for %d bytes, into a buffer: %v, want %q", tc.n, len(elf), err, tc.want)
		}
	}
}

func TestExtractXZRefusesSHA256(t *testing.T) {
	img := makeBzImage(xzBytes(t, bcjKernel(4096), "--check=sha256", "--lzma2"), 27)
	if _, err := ExtractVmlinux(img); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("err = %v", err)
	}
}

func TestExtractXZ(t *testing.T) {
	elf := bcjKernel(300000)
	for _, opts := range [][]string{
		{"--check=crc32", "--x86", "--lzma2"}, // like the kernel's xz_wrap.sh
		{"--check=crc32", "--x86", "--lzma2=preset=9e,dict=32MiB"},
		{"--check=crc64", "--x86", "--lzma2=preset=1"},
		{"--check=crc64", "--x86=start=74565", "--lzma2"},
		{"--check=none", "--lzma2"},
		{"--check=crc32", "--x86", "--lzma2", "--block-size=65537"}, // several blocks, BCJ restarting in each
		{"-0", "--check=crc32"},
	} {
		t.Run(strings.Join(opts, " "), func(t *testing.T) {
			img := makeBzImage(xzBytes(t, elf, opts...), 27)
			got, err := ExtractVmlinux(img)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, elf) {
				i := 0
				for i < min(len(got), len(elf)) && got[i] == elf[i] {
					i++
				}
				t.Fatalf("extracted %d bytes differ from the %d-byte ELF at %#x", len(got), len(elf), i)
			}
		})
	}
}

// TestBCJX86 checks that decoding undoes encoding, and that encoding changes
// the test data (so the filter is really exercised).
func TestBCJX86(t *testing.T) {
	for _, start := range []uint32{0, 1, 0xFFFFFFF0} {
		orig := x86ish(100000, uint64(start))
		b := bytes.Clone(orig)
		bcjX86(b, start, true)
		if bytes.Equal(b, orig) {
			t.Fatal("encoding changed nothing")
		}
		bcjX86(b, start, false)
		if !bytes.Equal(b, orig) {
			t.Fatalf("start %#x: decode(encode(x)) != x", start)
		}
	}
	for n := range 6 { // too short to hold a CALL: unchanged
		b := bytes.Repeat([]byte{0xE8}, n)
		bcjX86(b, 0, false)
		if !bytes.Equal(b, bytes.Repeat([]byte{0xE8}, n)) {
			t.Fatalf("%d bytes changed", n)
		}
	}
	b := []byte{0xE8, 0x10, 0x00, 0x00, 0x00}
	bcjX86(b, 0, false)
	if want := []byte{0xE8, 0x0B, 0x00, 0x00, 0x00}; !bytes.Equal(b, want) { // 0x10 - 5
		t.Fatalf("decoded % x, want % x", b, want)
	}
}

func TestExtractErrors(t *testing.T) {
	elf := kernel64().build()
	gz := gzipBytes(t, elf)
	good := makeBzImage(gz, 4)
	set := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	oldProto := bytes.Clone(good)
	binary.LittleEndian.PutUint16(oldProto[bzVersion:], 0x0206)
	notPVH := kernel64()
	notPVH.notes = nil
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a bzImage"},
		{"ELF", elf, "not a bzImage"},
		{"old protocol", oldProto, "older than 2.08"},
		{"empty payload", set(bzPayloadLength, 0), "empty payload"},
		{"payload past end", set(bzPayloadLength, uint32(len(gz)+0x100)), "runs past the end"},
		{"payload offset huge", set(bzPayloadOffset, 0xFFFFFFFF), "runs past the end"},
		{"zstd", makeBzImage([]byte("\x28\xB5\x2F\xFDxxxx"), 4), "zstd-compressed (CONFIG_KERNEL_ZSTD)"},
		{"lz4", makeBzImage([]byte("\x02\x21\x4C\x18xxxx"), 4), "lz4-compressed"},
		{"lzma", makeBzImage([]byte("\x5D\x00\x00\x80\x00"), 4), "lzma-compressed"},
		{"bzip2", makeBzImage([]byte("BZh91AY&SY"), 4), "bzip2-compressed"},
		{"lzo", makeBzImage([]byte("\x89LZO\x00\r\n"), 4), "lzo-compressed"},
		{"unknown", makeBzImage([]byte("hello"), 4), "unknown payload compression"},
		{"truncated gzip", makeBzImage(gz[:len(gz)/2], 4), "gzip payload"},
		{"not an ELF", makeBzImage(gzipBytes(t, []byte("just text, no ELF")), 4), "not a bootable PVH kernel"},
		{"no PVH note", makeBzImage(gzipBytes(t, notPVH.build()), 4), "no PVH entry note"},
	}
	for _, tc := range tests {
		_, err := ExtractVmlinux(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := ExtractVmlinux(makeBzImage(gz, 4)); !errors.Is(err, nil) {
		t.Fatal(err)
	}
	// The size limit.
	big := append(bytes.Clone(elf), make([]byte, 1<<20)...)
	if _, err := extractVmlinux(makeBzImage(gzipBytes(t, big), 4), 1<<20, nil); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("gzip over the limit: %v", err)
	}
	if _, err := extractVmlinux(makeBzImage(gzipBytes(t, big), 4), len(big), nil); err != nil {
		t.Errorf("gzip at the limit: %v", err)
	}
}

func TestExtractXZErrors(t *testing.T) {
	elf := bcjKernel(50000)
	xz := xzBytes(t, elf, "--check=crc32", "--x86", "--lzma2")
	flip := func(off int) []byte {
		b := bytes.Clone(xz)
		if off < 0 {
			off += len(b)
		}
		b[off] ^= 0x40
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"header crc", flip(7), "stream header"},
		{"block header", flip(13), "block header CRC32"},
		{"data", flip(len(xz) / 2), "block 0"},
		{"footer", flip(-6), "no valid stream footer"},
		{"index", flip(-4 - 12 - 6), "index"},
		{"truncated", xz[:len(xz)-40], "no valid stream footer"},
		{"too much trailing", append(bytes.Clone(xz), make([]byte, 100)...), "no valid stream footer"},
		{"delta filter", xzBytes(t, elf, "--delta=dist=4", "--lzma2"), "filter 1 of 2 is 0x3 (delta)"},
		{"arm64 filter", xzBytes(t, elf, "--arm64", "--lzma2"), "(ARM64 BCJ)"},
		{"two x86 filters", xzBytes(t, elf, "--x86", "--x86", "--lzma2"), "unsupported filter chain"},
	}
	for _, tc := range tests {
		_, err := ExtractVmlinux(makeBzImage(tc.b, 4))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := extractVmlinux(makeBzImage(xz, 4), len(elf)-1, nil); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := extractVmlinux(makeBzImage(xz, 4), len(elf), nil); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	// A 4 KiB dictionary suffices for a tiny block even when the header
	// asks for 1.5 GiB (dict property 39): the decoder must not allocate it.
	tiny := xzBytes(t, []byte("tiny"), "--check=crc32", "--lzma2=dict=1536MiB")
	if _, err := decodeXZ(tiny, 1<<20, nil); err != nil {
		t.Errorf("tiny stream with a huge dictionary: %v", err)
	}
}

// realKernel returns the Debian kernel scripts/get-kernel.sh downloads, or
// skips the test.
func realKernel(t testing.TB) []byte {
	path := filepath.Join("..", "out", "linux", "vmlinuz")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no %s (run scripts/get-kernel.sh): %v", path, err)
	}
	return b
}

// TestExtractRealKernel extracts the distribution kernel, when present, and
// checks its PVH entry; with the xz command it also compares the result
// with xz's own decompression of the payload.
func TestExtractRealKernel(t *testing.T) {
	b := realKernel(t)
	if !IsBzImage(b) {
		t.Fatal("not a bzImage")
	}
	vmlinux, err := ExtractVmlinux(b)
	if err != nil {
		t.Fatal(err)
	}
	im := mustParse(t, vmlinux)
	t.Logf("%d-byte bzImage -> %d-byte vmlinux (sha256 %x), ELF%d, PVH entry %#x, %d segments",
		len(b), len(vmlinux), sha256.Sum256(vmlinux), im.Class, im.Entry32, len(im.Segments))
	for _, s := range im.Segments {
		t.Logf("  segment at %#x: %d bytes in the file, %#x in memory", s.Paddr, len(s.Data), s.Memsz)
	}
	if im.Class != 64 || im.Entry32 < 0x1000000 || im.Entry32 >= 0x4000000 {
		t.Errorf("ELF%d, entry %#x: want ELF64 with the entry between 16 and 64 MiB", im.Class, im.Entry32)
	}
	if err := im.Check(512<<20, LowLoadLimit); err != nil {
		t.Errorf("Check(512 MiB): %v", err)
	}

	xzPath, err := exec.LookPath("xz")
	if err != nil {
		return
	}
	payload, err := bzPayload(b)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xzPath, "--decompress", "--stdout", "--single-stream")
	cmd.Stdin = bytes.NewReader(payload)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz: %v", err)
	}
	if !bytes.Equal(vmlinux, want) {
		t.Fatalf("ExtractVmlinux differs from xz's decompression (%d vs %d bytes)", len(vmlinux), len(want))
	}
	if size := binary.LittleEndian.Uint32(payload[len(payload)-4:]); int(size) != len(vmlinux) {
		t.Errorf("the size appended to the payload is %d, the vmlinux %d bytes", size, len(vmlinux))
	}
	if n, err := VmlinuxSize(b); n != len(vmlinux) || err != nil {
		t.Errorf("VmlinuxSize = %d, %v; the vmlinux has %d bytes", n, err, len(vmlinux))
	}
}

// BenchmarkExtractRealKernel measures what hv does with Debian's bzImage
// (on the host: hv runs the same code under QEMU, much slower):
//
//	go test -run XXX -bench RealKernel -benchmem ./loader
//
// "Into" decompresses into a buffer the caller provides, as hv does.
func BenchmarkExtractRealKernel(b *testing.B) {
	k := realKernel(b)
	b.SetBytes(int64(len(k)))
	for b.Loop() {
		if _, err := ExtractVmlinux(k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtractRealKernelInto(b *testing.B) {
	k := realKernel(b)
	n, err := VmlinuxSize(k)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, n)
	b.SetBytes(int64(len(k)))
	for b.Loop() {
		if err := ExtractVmlinuxInto(k, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// bzImageSeeds returns fuzz seeds: bzImages wrapping gzip and (with the xz
// command) xz kernels.
func bzImageSeeds(f *testing.F) [][]byte {
	elf := bcjKernel(2000)
	seeds := [][]byte{makeBzImage(gzipBytes(f, elf), 4)}
	if _, err := exec.LookPath("xz"); err == nil {
		seeds = append(seeds,
			makeBzImage(xzBytes(f, elf, "--check=crc32", "--x86", "--lzma2"), 4),
			makeBzImage(xzBytes(f, elf, "--check=crc64", "--lzma2", "--block-size=1000"), 1))
	}
	return seeds
}

// FuzzExtractVmlinux feeds arbitrary bytes to ExtractVmlinux: it must not
// panic, and whatever it returns must parse as a PVH kernel.
func FuzzExtractVmlinux(f *testing.F) {
	for _, s := range bzImageSeeds(f) {
		f.Add(s)
	}
	f.Add(makeBzImage([]byte("\xFD7zXZ\x00\x00\x01"), 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		out, err := ExtractVmlinux(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("ExtractVmlinux modified its input")
		}
		if err != nil {
			if out != nil || err.Error() == "" {
				t.Fatalf("output %d bytes with error %q", len(out), err)
			}
			return
		}
		if len(out) > MaxVmlinuxSize {
			t.Fatalf("%d bytes", len(out))
		}
		if _, err := ParseELF(out); err != nil {
			t.Fatalf("result does not parse: %v", err)
		}
	})
}

// FuzzDecodeXZ fuzzes the xz decoder on bare streams, where mutations reach
// the container structures more often than through a bzImage.
func FuzzDecodeXZ(f *testing.F) {
	for _, s := range bzImageSeeds(f) {
		if p, err := bzPayload(s); err == nil && compressionOf(p) == "xz" {
			f.Add(p)
		}
	}
	f.Add([]byte("\xFD7zXZ\x00\x00\x01\x69\x22\xDE\x36"))
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := decodeXZ(p, 1<<20, nil)
		if err == nil && len(out) > 1<<20 {
			t.Fatalf("%d bytes over the limit", len(out))
		}
	})
}
