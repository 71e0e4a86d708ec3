package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cpioRecord encodes one newc record.
func cpioRecord(name string, mode uint32, data string) string {
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	s := h + name + "\x00"
	for len(s)%4 != 0 {
		s += "\x00"
	}
	s += data
	for len(s)%4 != 0 {
		s += "\x00"
	}
	return s
}

// goodArchive returns a cpio archive with what checkInitramfs wants.
func goodArchive(skip string) []byte {
	recs := []struct {
		name string
		mode uint32
		data string
	}{
		{"bbin", sIFDIR | 0o755, ""},
		{"bbin/bb", sIFREG | 0o755, "\x7fELF..."},
		{"bin/defaultsh", sIFLNK | 0o777, "../bbin/gosh"},
		{"bin/uinit", sIFLNK | 0o777, "../bbin/gosh"},
		{"dev/console", sIFCHR | 0o600, ""},
		{"init", sIFLNK | 0o777, "bbin/init"},
	}
	var s strings.Builder
	for _, r := range recs {
		if r.name != skip {
			s.WriteString(cpioRecord(r.name, r.mode, r.data))
		}
	}
	for _, c := range commands {
		if "bbin/"+c != skip {
			s.WriteString(cpioRecord("bbin/"+c, sIFLNK|0o777, "bb"))
		}
	}
	for _, c := range gozenCommands {
		name := c.pkg[strings.LastIndexByte(c.pkg, '/')+1:]
		if "bin/"+name != skip {
			s.WriteString(cpioRecord("bin/"+name, sIFREG|0o755, "\x7fELF..."))
		}
		for _, n := range c.names {
			if "bin/"+n != skip {
				s.WriteString(cpioRecord("bin/"+n, sIFLNK|0o777, name))
			}
		}
	}
	for _, l := range links {
		if l[0] != skip {
			s.WriteString(cpioRecord(l[0], sIFLNK|0o777, l[1]))
		}
	}
	s.WriteString(cpioRecord("TRAILER!!!", 0, ""))
	return []byte(s.String())
}

func TestReadCpio(t *testing.T) {
	b := goodArchive("")
	entries, err := readCpio(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6+len(commands)+len(links)+1+len(gozenCommands[0].names) {
		t.Fatalf("%d entries", len(entries))
	}
	e := entries[1]
	if e.Name != "bbin/bb" || e.Mode != sIFREG|0o755 || string(e.Data) != "\x7fELF..." {
		t.Errorf("entry 1 = %+v", e)
	}
	if got := entries[2].String(); got != "lrwxrwxrwx        12 bin/defaultsh -> ../bbin/gosh" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range [][]byte{
		nil,
		b[:100],
		b[:len(b)-120], // no trailer
		append([]byte("070707"), b[6:]...),
		[]byte(strings.Replace(string(b), "070701", "0707010000000Z", 1)[:len(b)]),
	} {
		if _, err := readCpio(bad); err == nil {
			t.Errorf("no error for a %d-byte bad archive", len(bad))
		}
	}
}

func TestCheckInitramfs(t *testing.T) {
	if err := checkInitramfs(goodArchive("")); err != nil {
		t.Fatal(err)
	}
	for _, missing := range []string{"init", "bbin/bb", "bin/uinit", "bbin/gosh", "bbin/poweroff", "dev/console", "bin/xenstore", "bin/xenstore-read", "sbin/poweroff"} {
		err := checkInitramfs(goodArchive(missing))
		if err == nil || !strings.Contains(err.Error(), "no "+missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}

func TestUrootArgs(t *testing.T) {
	args := strings.Join(urootArgs(), " ")
	for _, want := range []string{
		"-build=bb", "-go-build-tags=goshsmall", "-defaultsh=gosh",
		"-uinitcmd=gosh -c 'echo GOZEN-USERSPACE-UP;",
		"github.com/u-root/u-root/cmds/core/init", "github.com/u-root/u-root/cmds/core/gosh",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("u-root arguments %q lack %q", args, want)
		}
	}
	for _, c := range []string{"init", "gosh", "ls", "cat", "echo", "uname", "dmesg", "date", "poweroff", "shutdown", "mount"} {
		if !strings.Contains(args, "/cmds/core/"+c+" ") && !strings.HasSuffix(args, "/cmds/core/"+c) {
			t.Errorf("no %s command", c)
		}
	}
}

func TestInitramfsKey(t *testing.T) {
	m := &module{Path: urootModule, Version: "v0.16.0", Sum: "h1:x"}
	k := initramfsKey("go1.26.0", m, "")
	if k != initramfsKey("go1.26.0", m, "") {
		t.Fatal("key not deterministic")
	}
	if k == initramfsKey("go1.26.1", m, "") {
		t.Error("key ignores the Go version")
	}
	m2 := *m
	m2.Sum = "h1:y"
	if k == initramfsKey("go1.26.0", &m2, "") {
		t.Error("key ignores the module checksum")
	}
	if k == initramfsKey("go1.26.0", m, "xenstore") {
		t.Error("key ignores GoZen's own commands")
	}
}

func TestStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.stamp")
	if readStamp(path) != nil {
		t.Fatal("stamp from nowhere")
	}
	if err := writeStamp(path, [][2]string{{"key", "abc"}, {"u-root", "v0.16.0 h1:x="}}); err != nil {
		t.Fatal(err)
	}
	st := readStamp(path)
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
