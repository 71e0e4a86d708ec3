package cfg

import (
	"reflect"
	"strings"
	"testing"
)

const debianCfg = `# A Debian PVH guest
name = "debian"
type = "pvh"
kernel = "/boot/vmlinuz"   # the bzImage
ramdisk = '/boot/initrd.img'
extra = "console=hvc0"
root = "/dev/xvda1"
memory = 256
maxmem = 0x200
vcpus = 2; on_crash = "preserve"
on_reboot = "rename-restart"
disk = [ 'phy:/dev/vg/debian,xvda,w',
         'format=raw, vdev=xvdb, access=ro, target=/srv/a,b.img',
       ]
vif = [ "mac=00:16:3E:01:02:03, bridge=xenbr0" ]
`

func TestDecodeDebian(t *testing.T) {
	f, err := Parse("debian.cfg", []byte(debianCfg))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Name: "debian", Type: "pvh", Kernel: "/boot/vmlinuz", Ramdisk: "/boot/initrd.img",
		Cmdline: "root=/dev/xvda1 console=hvc0", MemoryMiB: 256, MaxMemMiB: 512, VCPUs: 2,
		OnPoweroff: Destroy, OnReboot: RenameRestart, OnCrash: Preserve,
		Disks: []Disk{
			{Target: "/dev/vg/debian", Format: "raw", Vdev: "xvda", Access: "rw", DevType: "disk"},
			{Target: "/srv/a,b.img", Format: "raw", Vdev: "xvdb", Access: "ro", DevType: "disk"},
		},
		Vifs: []Vif{{MAC: "00:16:3e:01:02:03", Bridge: "xenbr0"}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
}

func TestDefaultsAndCmdline(t *testing.T) {
	f, err := Parse("a.cfg", []byte(`name="a"
type="pvh"
kernel="k"
cmdline="console=hvc0"
extra="ignored"
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cmdline != "console=hvc0" || c.MemoryMiB != DefaultMemoryMiB || c.MaxMemMiB != DefaultMemoryMiB ||
		c.VCPUs != 1 || c.OnPoweroff != Destroy || c.OnReboot != Restart || c.OnCrash != Destroy {
		t.Fatalf("%+v", c)
	}
}

func TestOverrides(t *testing.T) {
	f, err := Parse("a.cfg", []byte("name=\"a\"\ntype=\"pvh\"\nkernel=\"k\"\nmemory=64\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ParseOverrides([]string{`memory=128`, `name="b"`, `vcpus=4`, `extra="x y"`}); err != nil {
		t.Fatal(err)
	}
	c, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "b" || c.MemoryMiB != 128 || c.VCPUs != 4 || c.Cmdline != "x y" {
		t.Fatalf("%+v", c)
	}
	// An override with a bad value names the command line and the key.
	if err := f.ParseOverrides([]string{"vcpus=4", "memory=lots"}); err == nil ||
		!strings.HasPrefix(err.Error(), "command line:2: unexpected 'l'") {
		t.Fatalf("unquoted word: %v", err)
	}
	if err := f.ParseOverrides([]string{"vcpus=4", `memory="lots"`}); err != nil {
		t.Fatal(err)
	}
	_, err = Decode(f)
	if err == nil || err.Error() != `command line:2: memory: want a number, got "lots"` {
		t.Fatalf("err = %v", err)
	}
	if err := f.ParseOverrides([]string{"justaword"}); err == nil || !strings.Contains(err.Error(), "not KEY=VALUE") {
		t.Fatalf("err = %v", err)
	}
}

func TestAppendAndEscapes(t *testing.T) {
	f, err := Parse("x", []byte(`disk=['a,,xvda']
disk += ['b,,xvdb']
extra = "a\tb\x41\101\"q\\"
extra += ' tail'
`))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := f.Get("disk")
	if len(d.List) != 2 || d.List[1].Text != "b,,xvdb" {
		t.Fatalf("disk = %+v", d)
	}
	e, _ := f.Get("extra")
	if e.Text != "a\tbAA\"q\\ tail" {
		t.Fatalf("extra = %q", e.Text)
	}
}

func TestErrors(t *testing.T) {
	base := "name=\"a\"\ntype=\"pvh\"\nkernel=\"k\"\n"
	for _, tc := range []struct{ text, want string }{
		{base + "bogus = 1\n", "f.cfg:4: bogus: unknown setting"},
		{base + "memory = \"lots\"\n", `f.cfg:4: memory: want a number, got "lots"`},
		{base + "memory = 0\n", "f.cfg:4: memory: 0 is out of range"},
		{base + "vcpus = 129\n", "f.cfg:4: vcpus: 129 is out of range"},
		{base + "memory = [1]\n", "f.cfg:4: memory: want a number, got a list"},
		{base + "kernel = 5\n", "f.cfg:4: kernel: want a quoted string, got a number"},
		{base + "on_crash = \"explode\"\n", `f.cfg:4: on_crash: unknown action "explode"`},
		{base + "on_crash = \"coredump-destroy\"\n", `does not support`},
		{base + "memory=64\nmaxmem=32\n", "f.cfg:5: maxmem: 32 MiB is less than memory=64 MiB"},
		{base + "disk = ['/x']\n", `f.cfg:4: disk: entry 0 "/x": no vdev`},
		{base + "disk = '/x,,xvda'\n", "f.cfg:4: disk: want a list of strings"},
		{base + "vif = ['colour=red']\n", `unknown vif parameter "colour"`},
		{base + "vif = ['mac=zz']\n", `bad mac`},
		{"name=\"a\"\ntype=\"hvm\"\n", `f.cfg:2: type: type "hvm" is not supported`},
		{"name=\"12\"\n", `all digits`},
		{"type=\"pvh\"\nkernel=\"k\"\n", "f.cfg: name: a domain name must be given"},
		{"name=\"a\"\nkernel=\"k\"\n", `set type="pvh"`},
		{"name=\"a\"\ntype=\"pvh\"\n", "kernel: a PVH domain needs a kernel"},
		{"name = \"a\n", "f.cfg:1: unterminated string"},
		{"\n\nname \"a\"\n", "f.cfg:3: name: want '='"},
		{"name = \"a\" kernel = \"k\"\n", "f.cfg:1: unexpected 'k' after the value of name"},
		{"disk = [ 'a',\n 'b'\n", "f.cfg:3: unterminated list"},
		{"x = [1 2]\n", `f.cfg:1: unexpected '2' in a list`},
		{"x = \"\\q\"\n", `unknown escape \q`},
		{"x = \"\\777\"\n", `over \377`},
		{"= 3\n", "f.cfg:1: unexpected '=': want a setting name"},
		{"x = " + strings.Repeat("[", MaxNesting+1), "nested more than"},
		{"x = \n", "f.cfg:1: unexpected '\\n'"},
	} {
		f, err := Parse("f.cfg", []byte(tc.text))
		if err == nil {
			_, err = Decode(f)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestDiskSpecs(t *testing.T) {
	same := map[string][]string{
		"/dev/vg/guest-volume|raw|hda|rw|disk": {
			"/dev/vg/guest-volume,,hda",
			"/dev/vg/guest-volume,raw,hda,rw",
			"format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
			"raw:/dev/vg/guest-volume,hda,w",
		},
		"/root/image.iso|raw|hdc|ro|cdrom": {
			"/root/image.iso,,hdc,cdrom",
			"/root/image.iso,,hdc,,cdrom",
			"/root/image.iso,raw,hdc,devtype=cdrom",
			"format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
			"raw:/root/image.iso,hdc:cdrom,ro",
		},
		"/img|qcow2|xvda|rw|disk": {"vdev=xvda,/img,qcow2", "qcow2:/img,xvda,w"},
	}
	for want, specs := range same {
		for _, s := range specs {
			d, err := ParseDisk(s)
			if err != nil {
				t.Errorf("%q: %v", s, err)
				continue
			}
			got := strings.Join([]string{d.Target, d.Format, d.Vdev, d.Access, d.DevType}, "|")
			if got != want {
				t.Errorf("%q: %s, want %s", s, got, want)
			}
		}
	}
	for _, bad := range []string{"a,raw,xvda,rw,extra", "vdev=a,vdev=b,/x", "/x,zip,xvda", "/x,,xvda,rx", "nope=1,/x,,xvda"} {
		if _, err := ParseDisk(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestVdevNumber(t *testing.T) {
	for vdev, want := range map[string]int{
		"xvda": 51712, "xvdb": 51728, "xvda1": 51713, "xvdp15": 202<<8 | 15<<4 | 15,
		"xvdq": 1<<28 | 16<<8, "xvdaa": 1<<28 | 26<<8, "xvda16": 1<<28 | 16,
		"hda": 768, "hdb": 832, "hdc": 5632, "hdd1": 22<<8 | 64 | 1,
		"sda": 2048, "sdb2": 8<<8 | 16 | 2,
		"d0": 51712, "d1p2": 51730, "d20p1": 1<<28 | 20<<8 | 1,
	} {
		got, err := VdevNumber(vdev)
		if err != nil || got != want {
			t.Errorf("VdevNumber(%q) = %d, %v; want %d", vdev, got, err, want)
		}
	}
	for _, bad := range []string{"", "xvd", "xvdA", "xvda0", "xvda01", "xvda-1", "hde", "hda64", "sdq", "vda",
		"d", "dxp1", "d1p", "d01", "xvda256", "xvdzzzzzzzzzzzz", "d99999999999"} {
		if n, err := VdevNumber(bad); err == nil {
			t.Errorf("VdevNumber(%q) = %d, no error", bad, n)
		}
	}
	if _, err := ParseDisk("/x,raw,vda"); err == nil || !strings.Contains(err.Error(), `vdev "vda"`) {
		t.Errorf("ParseDisk with vdev vda: %v", err)
	}
}
