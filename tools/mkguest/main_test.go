package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const guestSrc = "../../guests"

// buildTestGuest builds testguest into a fresh directory, or skips without binutils.
func buildTestGuest(t *testing.T) string {
	t.Helper()
	tc, err := findToolchain()
	if err != nil {
		t.Skip(err)
	}
	path, err := tc.build(filepath.Join(guestSrc, "testguest"), t.TempDir(), "testguest")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGuestDirs(t *testing.T) {
	names, err := guestDirs(guestSrc)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "testguest" {
		t.Errorf("guestDirs = %q, want [testguest]", names)
	}
}

// TestTestGuestImage checks what hv's PVH loader relies on: the Xen note (type 18)
// in a PT_NOTE, its entry = e_entry = pvh_start32, and the image at 1 MiB.
func TestTestGuestImage(t *testing.T) {
	path := buildTestGuest(t)
	info, err := checkGuest(path, LoadAddr)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name] = s.Value
	}
	if info.Entry != LoadAddr || uint64(info.Entry) != addr["pvh_start32"] {
		t.Errorf("entry %#x, want pvh_start32 (%#x) at %#x", info.Entry, addr["pvh_start32"], LoadAddr)
	}
	for _, m := range []string{"hello", "count", "triple", "touch", "outside", "mmio", "hostile", "long", "bench", "balloon", "unknown"} {
		if _, ok := addr["mode_"+m]; !ok {
			t.Errorf("no symbol mode_%s", m)
		}
	}
	if addr["stack_top"]-addr["stack"] != 16<<10 {
		t.Errorf("stack is %#x bytes, want 16 KiB", addr["stack_top"]-addr["stack"])
	}
	if n := (addr["excl_count"] - addr["bench_samples"]) / 4; n < 200000 {
		t.Errorf("bench array holds %d samples, want 200000", n)
	}

	var note *elf.Prog
	loads := 0
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_NOTE:
			note = p
		case elf.PT_LOAD:
			loads++
			if p.Paddr != p.Vaddr {
				t.Errorf("PT_LOAD paddr %#x != vaddr %#x", p.Paddr, p.Vaddr)
			}
		}
	}
	if loads != 2 {
		t.Errorf("%d PT_LOADs, want 2 (text, data+bss)", loads)
	}
	if note == nil {
		t.Fatal("no PT_NOTE")
	}
	if note.Align != 4 || note.Filesz != 20 {
		t.Errorf("PT_NOTE align %d size %d, want 4 and 20 (one note)", note.Align, note.Filesz)
	}
	// QEMU's PVH loader reads 8 bytes of payload from an ELF64: the 4 after the
	// note must be zero.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := note.Off + note.Filesz
	if got := binary.LittleEndian.Uint32(raw[end:]); got != 0 {
		t.Errorf("the 4 bytes after the note are %#x, want 0", got)
	}
}

// TestDeterministic builds twice into different directories and compares.
func TestDeterministic(t *testing.T) {
	a, err := os.ReadFile(buildTestGuest(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(buildTestGuest(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two builds differ")
	}
}

func TestXenEntryNotes(t *testing.T) {
	le := binary.LittleEndian
	note := func(name string, typ uint32, desc []byte) []byte {
		var b []byte
		b = le.AppendUint32(b, uint32(len(name)))
		b = le.AppendUint32(b, uint32(len(desc)))
		b = le.AppendUint32(b, typ)
		b = append(b, name...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		b = append(b, desc...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	entry := le.AppendUint32(nil, 0x100000)
	tests := []struct {
		name    string
		data    []byte
		want    []uint32
		wantErr bool
	}{
		{"one", note("Xen\x00", 18, entry), []uint32{0x100000}, false},
		{"among others", append(note("GNU\x00", 3, []byte{1, 2, 3}), note("Xen\x00", 18, entry)...), []uint32{0x100000}, false},
		{"other type", note("Xen\x00", 6, []byte("linux\x00")), nil, false},
		{"other owner", note("Xe\x00", 18, entry), nil, false},
		{"8-byte payload", note("Xen\x00", 18, le.AppendUint64(nil, 0x100000)), nil, true},
		{"trailing bytes", append(note("Xen\x00", 18, entry), 0, 0, 0, 0), nil, true},
		{"overrun", note("Xen\x00", 18, entry)[:18], nil, true},
	}
	for _, tt := range tests {
		got, err := xenEntryNotes(tt.data, le)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
			continue
		}
		if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
			t.Errorf("%s: entries %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// TestQEMUDirectBoot boots the guest straight in QEMU, which honours the PVH note,
// and checks the port 0xE9 output of the parts that run without a hypervisor.
// There VMMCALL raises #UD: the guest reports it, its shutdown hypercall faults
// too, and it triple-faults, which ends QEMU under -no-reboot.
func TestQEMUDirectBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	path := buildTestGuest(t)
	cases := []struct {
		cmdline string
		want    []string // regexps, each matching a line, in order
		notWant string   // regexp no line may match
	}{
		{"hello", []string{`^testguest: start_info 0x[0-9a-f]{8} version 1, cmdline "hello"$`,
			`^hello from the test guest$`, `^testguest: unexpected exception 6 `}, ""},
		{"count 3 abcdefghijk", []string{`^abcdefgh 1$`, `^abcdefgh 2$`, `^abcdefgh 3$`,
			`^testguest: unexpected exception 6 `}, `abcdefgh 4`},
		{"  count", []string{`^count 10$`}, ""},
		{"touch", []string{`^touch: RAM 0x0000000000100000 `, `^touched [0-9]+ pages OK$`}, `FAIL`},
		{"triple", []string{`^about to triple fault$`}, `still alive|exception`},
		{"hostile 3", []string{`^hostile: gp=[0-9]+ in_ones=[0-9]+ cpuid_zero=[0-9]+$`}, `unexpected exception [^6]`},
		{"xyzzy", []string{`^unknown mode$`}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Fields(c.cmdline)[0], func(t *testing.T) {
			t.Parallel()
			log := filepath.Join(t.TempDir(), "e9.log")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, qemu, "-accel", "tcg", "-m", "16M",
				"-kernel", path, "-append", c.cmdline, "-debugcon", "file:"+log,
				"-display", "none", "-serial", "none", "-monitor", "none", "-no-reboot")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("qemu: %v\n%s", err, out)
			}
			out, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out), "\n")
			i := 0
			for _, w := range c.want {
				re := regexp.MustCompile(w)
				for i < len(lines) && !re.MatchString(lines[i]) {
					i++
				}
				if i == len(lines) {
					t.Fatalf("no line matching %q (in order) in:\n%s", w, out)
				}
				i++
			}
			if c.notWant != "" {
				re := regexp.MustCompile(c.notWant)
				for _, l := range lines {
					if re.MatchString(l) {
						t.Errorf("unexpected line %q in:\n%s", l, out)
					}
				}
			}
		})
	}
}

// Every hypercall instruction of the test guest is a recorded site
// (guests/testguest/defs.inc): .hcall_sites lists one address per `vmmcall`
// line of the sources, each holding 0f 01 d9, which patch_hypercalls turns
// into VMCALL on Intel. A site the list missed would raise #UD under VT-x.
func TestHypercallSites(t *testing.T) {
	path := buildTestGuest(t)
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		addr[s.Name] = s.Value
	}
	start, end := addr["__hcall_sites"], addr["__hcall_sites_end"]
	if start == 0 || end <= start || (end-start)%4 != 0 {
		t.Fatalf("__hcall_sites %#x .. %#x", start, end)
	}
	read := func(a, n uint64) []byte {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && a >= p.Vaddr && a+n <= p.Vaddr+p.Filesz {
				b := make([]byte, n)
				if _, err := p.ReadAt(b, int64(a-p.Vaddr)); err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
		t.Fatalf("%#x not in the image", a)
		return nil
	}
	table := read(start, end-start)
	for i := 0; i < len(table); i += 4 {
		site := uint64(binary.LittleEndian.Uint32(table[i:]))
		if b := read(site, 3); !bytes.Equal(b, []byte{0x0f, 0x01, 0xd9}) {
			t.Errorf("site %d at %#x holds % x, not VMMCALL", i/4, site, b)
		}
	}
	// One site per vmmcall instruction in the sources (comments aside).
	files, _ := filepath.Glob(filepath.Join(guestSrc, "testguest", "*.S"))
	re := regexp.MustCompile(`^\s*(\w+:\s*)?vmmcall\s*$`)
	want := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			if re.MatchString(line) {
				want++
			}
		}
	}
	if got := len(table) / 4; got != want || want == 0 {
		t.Errorf("%d hypercall sites recorded, %d vmmcall lines in the sources", got, want)
	}
}
