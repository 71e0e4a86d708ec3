package uroot

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestWriteReadArchive(t *testing.T) {
	in := []Record{
		File("lib/modules/6.1/kernel/a.ko", 0o644, []byte("\x7fELFa")),
		Symlink("bin/uinit", "dom0init"),
		File("bin/dom0init", 0o755, []byte("odd length")),
		CharDev("dev/console", 0o600, 5, 1),
		File("empty", 0o644, nil),
	}
	b, err := WriteArchive(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out {
		got = append(got, r.String())
	}
	want := []string{
		"drwxr-xr-x         0 lib",
		"drwxr-xr-x         0 lib/modules",
		"drwxr-xr-x         0 lib/modules/6.1",
		"drwxr-xr-x         0 lib/modules/6.1/kernel",
		"-rw-r--r--         5 lib/modules/6.1/kernel/a.ko",
		"drwxr-xr-x         0 bin",
		"lrwxrwxrwx         8 bin/uinit -> dom0init",
		"-rwxr-xr-x        10 bin/dom0init",
		"drwxr-xr-x         0 dev",
		"crw-------         0 dev/console",
		"-rw-r--r--         0 empty",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if string(out[7].Data) != "odd length" || out[9].Rmajor != 5 || out[9].Rminor != 1 {
		t.Errorf("contents: %q, console %d:%d", out[7].Data, out[9].Rmajor, out[9].Rminor)
	}
	// Reproducible: the same records give the same bytes.
	b2, _ := WriteArchive(in)
	if !bytes.Equal(b, b2) {
		t.Error("two writes differ")
	}
	if _, err := WriteArchive(append(in, Symlink("bin/uinit", "x"))); err == nil {
		t.Error("no error for a duplicate name")
	}
	// A record named like a directory the writer would add is a duplicate
	// only if it comes after.
	if _, err := WriteArchive([]Record{Dir("bin", 0o755), File("bin/x", 0o755, nil)}); err != nil {
		t.Errorf("explicit parent first: %v", err)
	}
}

func TestReadArchiveBad(t *testing.T) {
	b, err := WriteArchive([]Record{File("a", 0o644, []byte("0123456789abcdef0123456789abcdef"))})
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"empty":         nil,
		"short header":  b[:100],
		"no trailer":    b[:len(b)-124],
		"cut contents":  b[:110+4+10],
		"bad magic":     append([]byte("070707"), b[6:]...),
		"bad hex":       append([]byte("0707010000000Z"), b[14:]...),
		"zero name len": append(append([]byte{}, b[:94]...), append([]byte("00000000"), b[102:]...)...),
	} {
		if _, err := ReadArchive(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCheck(t *testing.T) {
	recs := []Record{Symlink("init", "bbin/init"), File("bbin/bb", 0o755, []byte("x"))}
	if err := Check(recs, []Want{{"init", cpio.S_IFLNK, "bbin/init"}, {"bbin/bb", cpio.S_IFREG, ""}}); err != nil {
		t.Fatal(err)
	}
	err := Check(recs, []Want{{"init", cpio.S_IFLNK, "bin/x"}, {"bbin/bb", cpio.S_IFLNK, ""}, {"gone", cpio.S_IFREG, ""}})
	for _, want := range []string{`init is "bbin/init", want "bin/x"`, "bbin/bb has mode 0100755", "no gone"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.stamp")
	if ReadStamp(path) != nil {
		t.Fatal("stamp from nowhere")
	}
	if err := WriteStamp(path, [][2]string{{"key", "abc"}, {"u-root", "v0.16.0 h1:x="}}); err != nil {
		t.Fatal(err)
	}
	st := ReadStamp(path)
	if st["key"] != "abc" || st["u-root"] != "v0.16.0 h1:x=" {
		t.Fatalf("read back %v", st)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v, %v", fi, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
