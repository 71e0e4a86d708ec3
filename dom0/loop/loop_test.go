package loop

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The uapi layouts (include/uapi/linux/loop.h): struct loop_info64 is 232
// bytes, struct loop_config 304 (fd, block_size, info, __reserved[8]).
func TestLayouts(t *testing.T) {
	if s := unsafe.Sizeof(unix.LoopInfo64{}); s != 232 {
		t.Errorf("loop_info64 is %d bytes, want 232", s)
	}
	if s := unsafe.Sizeof(unix.LoopConfig{}); s != 304 {
		t.Errorf("loop_config is %d bytes, want 304", s)
	}
	if o := unsafe.Offsetof(unix.LoopConfig{}.Info); o != 8 {
		t.Errorf("loop_config.info at %d, want 8", o)
	}
}

func TestIsLoop(t *testing.T) {
	for p, want := range map[string]bool{"/dev/loop0": true, "/dev/loop12": true, "/dev/loop": false,
		"/dev/loop-control": false, "/dev/vda": false, "/dev/loop1p1": false} {
		if IsLoop(p) != want {
			t.Errorf("IsLoop(%q) = %v", p, !want)
		}
	}
	if err := Detach("/dev/sda"); err == nil {
		t.Error("Detach of a non-loop device succeeded")
	}
}

// TestAttachDetach needs root and loop devices (skipped otherwise): a
// file attached read-write reads back through the device and takes a
// write; attached read-only it refuses writes; after Detach the device is
// free.
func TestAttachDetach(t *testing.T) {
	if _, err := os.Stat(Control); err != nil || os.Getuid() != 0 {
		t.Skip("needs root and " + Control)
	}
	file := filepath.Join(t.TempDir(), "disk.img")
	data := bytes.Repeat([]byte("gozen-loop-"), 4096*4/11+1)[:4096*4]
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Attach(file, false)
	if err != nil {
		t.Skipf("no usable loop device here: %v", err)
	}
	defer Detach(d.Path)
	if d.Major != 7 || !IsLoop(d.Path) {
		t.Errorf("attached to %s (%d:%d), want a /dev/loopN of major 7", d.Path, d.Major, d.Minor)
	}
	if bf, err := BackingFile(d.Path); err != nil || bf != file {
		t.Errorf("BackingFile = %q, %v; want %q", bf, err, file)
	}
	f, err := os.OpenFile(d.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("reading through %s: %v, same data %v", d.Path, err, bytes.Equal(got, data))
	}
	if _, err := f.WriteAt([]byte("WRITTEN"), 4096); err != nil {
		t.Fatal(err)
	}
	unix.Fsync(int(f.Fd()))
	f.Close()
	if err := Detach(d.Path); err != nil {
		t.Fatal(err)
	}
	if bf, err := BackingFile(d.Path); err != nil || bf != "" {
		t.Errorf("after Detach: BackingFile = %q, %v", bf, err)
	}
	back, _ := os.ReadFile(file)
	if !bytes.Equal(back[4096:4103], []byte("WRITTEN")) {
		t.Errorf("the write through the loop device is not in the file: %q", back[4096:4103])
	}

	ro, err := Attach(file, true)
	if err != nil {
		t.Fatal(err)
	}
	defer Detach(ro.Path)
	if f, err := os.OpenFile(ro.Path, os.O_RDWR, 0); err == nil {
		_, werr := f.WriteAt([]byte("x"), 0)
		f.Close()
		if werr == nil {
			t.Error("a read-only loop device took a write")
		}
	}
}
