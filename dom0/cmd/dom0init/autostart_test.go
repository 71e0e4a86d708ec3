package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCreateConfigs(t *testing.T) {
	for _, c := range []struct {
		cmdline string
		want    []string
	}{
		{"console=hvc0 pci=nomsi", nil},
		{"console=hvc0 gozen.create=/etc/xen/debian.cfg\n", []string{"/etc/xen/debian.cfg"}},
		{"gozen.create=/a.cfg,,/b.cfg x gozen.create=/c.cfg", []string{"/a.cfg", "/b.cfg", "/c.cfg"}},
		{"gozen.create= xgozen.create=/no.cfg gozen.createx=/no.cfg", nil},
	} {
		if got := createConfigs(c.cmdline); !reflect.DeepEqual(got, c.want) {
			t.Errorf("createConfigs(%q) = %q, want %q", c.cmdline, got, c.want)
		}
	}
}

func TestConfigName(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.cfg")
	os.WriteFile(good, []byte("name = \"debian\"\ntype = \"pvh\"\nkernel = \"/k\"\nmemory = 256\n"), 0o644)
	if n, err := configName(good); err != nil || n != "debian" {
		t.Errorf("configName(good) = %q, %v; want debian", n, err)
	}
	bad := filepath.Join(dir, "bad.cfg")
	os.WriteFile(bad, []byte("name = \"x\"\nbogus = 1\n"), 0o644)
	if _, err := configName(bad); err == nil {
		t.Error("configName accepted an unknown key")
	}
	if _, err := configName(filepath.Join(dir, "missing.cfg")); err == nil {
		t.Error("configName of a missing file succeeded")
	}
}
