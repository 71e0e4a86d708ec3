package cfg

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the parser and the decoder: they must
// return a value or an error naming a line inside the input, never panic.
func FuzzParse(f *testing.F) {
	f.Add(debianCfg)
	f.Add("name='a'; type='pvh'; kernel='k'\nmemory=0x10\nvif=['mac=00:16:3e:00:00:01']\n")
	f.Add("disk=['raw:/x,hdc:cdrom,ro', 'target=a,b']\ndisk+=[]\n")
	f.Add("x = \"\\x4\\0\\12\\\"\"\n# c\n;;\n")
	f.Fuzz(func(t *testing.T, text string) {
		file, err := Parse("f", []byte(text))
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if lines := strings.Count(text, "\n") + 1; e.Line < 1 || e.Line > lines {
				t.Fatalf("error at line %d of a %d-line input: %v", e.Line, lines, err)
			}
			return
		}
		c, err := Decode(file)
		if err == nil && (c.Name == "" || c.Kernel == "" || c.VCPUs < 1 || c.MemoryMiB > c.MaxMemMiB) {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
	})
}

// FuzzDiskSpec feeds arbitrary disk specs to ParseDisk: an accepted one has
// a vdev with a device number in the protocol's ranges, a known access and
// device type.
func FuzzDiskSpec(f *testing.F) {
	for _, s := range []string{"format=raw, vdev=xvda, access=rw, target=/x", "/x,,xvdq1,ro", "phy:/dev/sdb,hdc:cdrom,r",
		"vdev=d3p7,target=a,b", "/x,raw,xvdaaa255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		d, err := ParseDisk(spec)
		if err != nil {
			return
		}
		n, err := VdevNumber(d.Vdev)
		if err != nil || n <= 0 || (n >= 1<<16 && n&(1<<28) == 0) || n >= 1<<29 {
			t.Fatalf("%q: vdev %q numbered %d, %v", spec, d.Vdev, n, err)
		}
		if (d.Access != "rw" && d.Access != "ro") || (d.DevType != "disk" && d.DevType != "cdrom") {
			t.Fatalf("%q: %+v", spec, d)
		}
	})
}
