package xen

import (
	"bytes"
	"reflect"
	"testing"
)

// Test helpers shared by the ABI tests. The layout tests use checkLayout
// and roundTrip from startinfo_test.go.

// seqPattern returns n bytes where byte i is byte(i+1), except in the
// half-open ranges gaps, which are zero. It is the expected encoding of a
// structure whose every field is filled with the bytes of its own offsets
// (see the Encoding tests): a field encoded at the wrong offset, with the
// wrong width or in the wrong byte order shows up as a mismatch, and
// padding must come out as zeros.
func seqPattern(n int, gaps ...[2]int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + 1)
	}
	for _, g := range gaps {
		clear(b[g[0]:g[1]])
	}
	return b
}

// checkEncoding encodes v over a buffer of junk and compares the result
// with want byte for byte; it checks that Encode writes nothing past
// len(want), that Decode gives back v, and then runs roundTrip.
func checkEncoding(t *testing.T, v, fresh binaryCodec, want []byte) {
	t.Helper()
	n := len(want)
	b := bytes.Repeat([]byte{0xEE}, n+4)
	v.Encode(b)
	if !bytes.Equal(b[:n], want) {
		for i := range n {
			if b[i] != want[i] {
				t.Errorf("Encode: first difference at byte %d: got %#02x, want %#02x", i, b[i], want[i])
				break
			}
		}
		t.Fatalf("Encode:\n got %x\nwant %x", b[:n], want)
	}
	if !bytes.Equal(b[n:], []byte{0xEE, 0xEE, 0xEE, 0xEE}) {
		t.Fatalf("Encode wrote past %d bytes: %x", n, b[n:])
	}
	if err := fresh.Decode(b); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(fresh, v) {
		t.Fatalf("Decode = %+v, want %+v", fresh, v)
	}
	roundTrip(t, v, reflect.New(reflect.TypeOf(v).Elem()).Interface().(binaryCodec), want)
}

// constCase pins one constant to the value in a Xen header. name is the C
// expression it must equal (a macro, enum constant or offsetof), or starts
// with "~" when the value does not come from xen/include/public.
type constCase struct {
	name      string
	got, want uint64
}

func checkConsts(t *testing.T, cases []constCase) {
	t.Helper()
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// sconstCase is constCase for signed values.
type sconstCase struct {
	name      string
	got, want int64
}

func checkSConsts(t *testing.T, cases []sconstCase) {
	t.Helper()
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestSeqPattern(t *testing.T) {
	got := seqPattern(8, [2]int{2, 4}, [2]int{7, 8})
	if want := []byte{1, 2, 0, 0, 5, 6, 7, 0}; !bytes.Equal(got, want) {
		t.Fatalf("seqPattern = %v, want %v", got, want)
	}
}

func TestCodecHelpers(t *testing.T) {
	if err := exactLength("x", 4, make([]byte, 4)); err != nil {
		t.Errorf("exactLength(4, 4 bytes) = %v", err)
	}
	if err := exactLength("x", 4, make([]byte, 5)); err == nil {
		t.Errorf("exactLength(4, 5 bytes) = nil")
	}
	var s EvtchnSend
	s.Port = 0x01020304
	b := appendEncoded([]byte{9}, EvtchnSendSize, &s)
	if !bytes.Equal(b, []byte{9, 4, 3, 2, 1}) {
		t.Errorf("appendEncoded = %x", b)
	}
}
