package loader

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// xzRaw compresses b into a bare LZMA2 stream (no .xz container) with the
// xz command and the given --lzma2 options, or skips the test without xz.
func xzRaw(t testing.TB, b []byte, lzma2Opts string) []byte {
	t.Helper()
	path, err := exec.LookPath("xz")
	if err != nil {
		t.Skip("no xz command (apt-get install xz-utils)")
	}
	cmd := exec.Command(path, "--format=raw", "--stdout", "--compress", "--lzma2="+lzma2Opts)
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz --lzma2=%s: %v: %s", lzma2Opts, err, stderr.Bytes())
	}
	return out
}

// lzma2Chunk is one chunk of an LZMA2 stream, as lzma2Chunks finds it.
type lzma2Chunk struct {
	off     int  // offset of the control byte
	control byte // 0 for the end marker
	data    int  // offset of the chunk's data
	size    int  // bytes of data (packed, for an LZMA chunk)
}

// lzma2Chunks walks the chunks of a well-formed LZMA2 stream.
func lzma2Chunks(t testing.TB, p []byte) []lzma2Chunk {
	t.Helper()
	var cs []lzma2Chunk
	for i := 0; i < len(p); {
		c := lzma2Chunk{off: i, control: p[i]}
		switch {
		case c.control == 0:
			c.data = i + 1
		case c.control < 0x80:
			c.data, c.size = i+3, int(binary.BigEndian.Uint16(p[i+1:]))+1
		default:
			c.data, c.size = i+5, int(binary.BigEndian.Uint16(p[i+3:]))+1
			if c.control >= 0xC0 {
				c.data++
			}
		}
		cs = append(cs, c)
		if c.control == 0 {
			return cs
		}
		i = c.data + c.size
	}
	t.Fatal("no end marker")
	return nil
}

// randomBytes returns n incompressible bytes.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// compressible returns n bytes of text-like data with repeats at many
// distances, long runs and some noise.
func compressible(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	words := strings.Fields("the quick brown fox jumps over a lazy dog while GoZen decodes LZMA2 chunks into its output buffer")
	b := make([]byte, 0, n+300)
	for len(b) < n {
		switch r.IntN(10) {
		case 0:
			b = append(b, bytes.Repeat([]byte{byte(r.IntN(3))}, r.IntN(300))...)
		case 1:
			if len(b) > 0 { // a copy of earlier output, far or near
				from := r.IntN(len(b))
				b = append(b, b[from:min(len(b), from+r.IntN(200))]...)
			}
		case 2:
			b = append(b, byte(r.Uint32()))
		default:
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// lzma2TestInputs returns TestLZMA2's inputs, by name.
func lzma2TestInputs() map[string][]byte {
	random := randomBytes(300000, 3)
	return map[string][]byte{
		"empty":        {},
		"byte":         {'x'},
		"text":         compressible(200000, 1),
		"x86":          x86ish(200000, 2),
		"zeros":        make([]byte, 3<<20),
		"random":       random,
		"random first": append(bytes.Clone(random), compressible(200000, 4)...),
		"mixed":        append(append(compressible(100000, 4), random[:100000]...), compressible(100000, 5)...),
	}
}

// TestLZMA2 decodes what xz encodes, over the properties LZMA2 allows
// and data that makes xz emit every kind of chunk (TestLZMA2ChunkKinds):
// LZMA chunks with and without resets, uncompressed chunks (random data),
// and several chunks in a row (over 2 MiB of output, or 64 KiB of packed
// data).
func TestLZMA2(t *testing.T) {
	inputs := lzma2TestInputs()
	opts := []string{"preset=6", "preset=0", "preset=9e", "lc=0,lp=0,pb=0", "lc=4,lp=0,pb=4", "lc=0,lp=4,pb=2",
		"lc=1,lp=3,pb=1", "preset=6,mf=hc4,nice=8", "preset=6,dict=4KiB"}
	for name, in := range inputs {
		opts := opts
		if name != "x86" && name != "mixed" {
			opts = opts[:2] // the properties are exercised on two inputs, to keep the test quick
		}
		for _, o := range opts {
			p := xzRaw(t, in, o)
			got, err := lzma2Decode(nil, p, uint64(len(in)))
			if err != nil {
				t.Errorf("%s, %s: %v", name, o, err)
				continue
			}
			if !bytes.Equal(got, in) {
				t.Errorf("%s, %s: decoded %d bytes differ from the %d-byte input", name, o, len(got), len(in))
			}
		}
	}
}

// TestLZMA2ChunkKinds checks that TestLZMA2's inputs really produce the
// chunk kinds it claims to cover.
func TestLZMA2ChunkKinds(t *testing.T) {
	seen := map[string]bool{}
	inputs := lzma2TestInputs()
	for _, in := range [][]byte{inputs["x86"], inputs["random first"]} {
		for _, c := range lzma2Chunks(t, xzRaw(t, in, "preset=6")) {
			switch {
			case c.control == 0x01:
				seen["uncompressed, dictionary reset"] = true
			case c.control == 0x02:
				seen["uncompressed"] = true
			case c.control >= 0xE0:
				seen["LZMA, dictionary reset"] = true
			case c.control >= 0xC0:
				seen["LZMA, new properties"] = true
			case c.control >= 0xA0:
				seen["LZMA, state reset"] = true
			case c.control >= 0x80:
				seen["LZMA"] = true
			}
		}
	}
	for _, k := range []string{"uncompressed, dictionary reset", "uncompressed", "LZMA, dictionary reset", "LZMA, new properties", "LZMA"} {
		if !seen[k] {
			t.Errorf("no %s chunk (saw %v)", k, seen)
		}
	}
}

// TestLZMA2Append checks that lzma2Decode appends after existing output,
// which is not part of the dictionary, and fills spare capacity in place.
func TestLZMA2Append(t *testing.T) {
	in := compressible(50000, 7)
	p := xzRaw(t, in, "preset=6")
	buf := make([]byte, 3, 3+len(in))
	copy(buf, "abc")
	got, err := lzma2Decode(buf, p, uint64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:3]) != "abc" || !bytes.Equal(got[3:], in) {
		t.Fatal("wrong output")
	}
	if &got[0] != &buf[0] {
		t.Error("output reallocated although it had the capacity")
	}
}

func TestLZMA2Errors(t *testing.T) {
	in := compressible(20000, 8)
	good := xzRaw(t, in, "preset=6")
	cs := lzma2Chunks(t, good)
	if len(cs) != 2 || cs[0].control < 0xE0 || good[4] == 0xFF {
		t.Fatalf("unexpected chunks %+v", cs)
	}
	lzmaData := cs[0].data // the first range-coded byte
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		p    []byte
		n    int
		want string
	}{
		{"empty", nil, 0, "no end marker"},
		{"no end marker", good[:len(good)-1], len(in), "no end marker"},
		{"trailing bytes", append(bytes.Clone(good), 0), len(in), "1 bytes left after the end marker"},
		{"too short", good, len(in) + 1, "decodes to 20000 bytes, 20001 declared"},
		{"too long", good, len(in) - 1, "more than the 19999 bytes declared"},
		{"end at once", []byte{0}, 1, "decodes to 0 bytes, 1 declared"},
		{"no dictionary reset", []byte{0x02, 0, 0, 'x', 0}, 1, "does not reset the dictionary"},
		{"LZMA without dictionary reset", mod(func(b []byte) []byte { b[0] = 0xC0 | b[0]&0x1F; return b }), len(in), "does not reset the dictionary"},
		{"control 0x03", []byte{0x01, 0, 0, 'x', 0x03}, 1, "invalid chunk control byte 0x03"},
		{"no properties", []byte{0x01, 0, 0, 'x', 0xA0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0}, 2, "without properties"},
		{"bad properties", mod(func(b []byte) []byte { b[5] = 225; return b }), len(in), "bad LZMA properties byte"},
		{"lc+lp > 4", mod(func(b []byte) []byte { b[5] = 3 + 2*9; return b }), len(in), "lc=3 lp=2"},
		{"truncated header", []byte{0xE0, 0, 0}, 1, "truncated chunk header"},
		{"truncated uncompressed", []byte{0x01, 0, 9, 'x'}, 10, "runs past the end of the data"},
		{"truncated LZMA", good[:lzmaData+100], len(in), "runs past the end of the data"},
		{"nonzero first byte", mod(func(b []byte) []byte { b[lzmaData] = 1; return b }), len(in), "does not start with a zero byte"},
		{"packed size too large", mod(func(b []byte) []byte { b[4]++; return append(b[:len(b)-1], 0xAA, 0) }), len(in), "packed bytes declared"},
		{"corrupt data", mod(func(b []byte) []byte { b[lzmaData+500] ^= 0x55; return b }), len(in), "LZMA chunk at output offset 0"},
	}
	for _, tc := range tests {
		out, err := lzma2Decode(nil, tc.p, uint64(tc.n))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if len(out) > tc.n {
			t.Errorf("%s: %d bytes of output, more than %d", tc.name, len(out), tc.n)
		}
	}
	if _, err := lzma2Decode(nil, []byte{0x01, 0, 0, 'x', 0x02, 0, 1, 'y', 'z', 0}, 3); err != nil {
		t.Errorf("uncompressed chunks: %v", err)
	}
}

// TestLZMA2DistanceBeyondDictionary moves a dictionary reset in front of
// data whose matches reach back past it: the matches must be refused.
func TestLZMA2DistanceBeyondDictionary(t *testing.T) {
	// Random data (stored in uncompressed chunks) and then the same again,
	// which xz codes as a long match reaching back to the first copy.
	random := randomBytes(200000, 9)
	in := append(bytes.Clone(random), random...)
	p := xzRaw(t, in, "preset=6")
	if _, err := lzma2Decode(nil, p, uint64(len(in))); err != nil {
		t.Fatal(err)
	}
	cs := lzma2Chunks(t, p)
	last := -1 // the last uncompressed chunk before the first LZMA chunk
	for i, c := range cs {
		if c.control >= 0x80 {
			break
		}
		if c.control == 0x02 {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("no uncompressed chunk to add a dictionary reset to: %+v", cs)
	}
	p[cs[last].off] = 0x01
	_, err := lzma2Decode(nil, p, uint64(len(in)))
	if err == nil || !strings.Contains(err.Error(), "of the dictionary") {
		t.Errorf("error %v, want a distance beyond the dictionary", err)
	}
}

func TestCopyMatch(t *testing.T) {
	for dist := 1; dist <= 9; dist++ {
		for n := 1; n <= 40; n++ {
			out := make([]byte, 64)
			for i := range 10 {
				out[i] = byte('a' + i)
			}
			want := bytes.Clone(out)
			for i := range n {
				want[10+i] = want[10-dist+i]
			}
			if end := copyMatch(out, 10, dist, n); end != 10+n || !bytes.Equal(out, want) {
				t.Fatalf("dist %d, n %d: %q (end %d), want %q", dist, n, out, end, want)
			}
		}
	}
}

// TestRangeDecoderBitInlined checks that the compiler inlines
// rangeDecoder.bit, the innermost step of decoding: it is kept within the
// inliner's budget, and a call per bit would cost about 15% on the host.
func TestRangeDecoderBitInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(gobin, "build", "-gcflags=-m", "-o", os.DevNull, ".")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("can inline rangeDecoder.bit")) {
		t.Errorf("rangeDecoder.bit is not inlined any more:\n%s", grepLines(out, "rangeDecoder"))
	}
}

func grepLines(b []byte, s string) string {
	var keep []string
	for l := range strings.Lines(string(b)) {
		if strings.Contains(l, s) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// FuzzLZMA2 feeds arbitrary LZMA2 data to the decoder: it must not panic
// and must never produce more than the declared size.
func FuzzLZMA2(f *testing.F) {
	if _, err := exec.LookPath("xz"); err == nil {
		f.Add(xzRaw(f, compressible(3000, 10), "preset=6"), uint16(3000))
		f.Add(xzRaw(f, x86ish(3000, 11), "lc=0,lp=4,pb=2"), uint16(3000))
	}
	f.Add([]byte{0x01, 0, 0, 'x', 0x02, 0, 1, 'y', 'z', 0}, uint16(3))
	f.Fuzz(func(t *testing.T, p []byte, n uint16) {
		out, err := lzma2Decode(nil, p, uint64(n))
		if len(out) > int(n) || (err == nil && len(out) != int(n)) {
			t.Fatalf("%d bytes of output for %d declared (error %v)", len(out), n, err)
		}
	})
}
