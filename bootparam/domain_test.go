package bootparam

import (
	"strings"
	"testing"
)

func TestParseDomains(t *testing.T) {
	p, err := Parse("domain=a,mem=16M,module=0 domain=b-2,module=1,mem=0x2000000,vcpus=2,weight=512,cap=25,p2mpool=2M,xenstore=dom0")
	if err != nil {
		t.Fatal(err)
	}
	want := []DomainSpec{{"a", 16 << 20, 0, 1, -1, 0, 0, 0, false, false}, {"b-2", 32 << 20, 1, 2, -1, 512, 25, 2 << 20, true, false}}
	if len(p.Domains) != 2 || p.Domains[0] != want[0] || p.Domains[1] != want[1] {
		t.Errorf("got %+v", p.Domains)
	}
}

func TestParseDomainErrors(t *testing.T) {
	for in, msg := range map[string]string{
		"domain=a,mem=16M":                                  "module= is required",
		"domain=a,module=0":                                 "mem= is required",
		"domain=a,mem=512K,module=0":                        "at least 1M",
		"domain=a,mem=16M,module=x":                         "not a module index",
		"domain=a,mem=16M,module=0,cpu=1":                   `unknown setting "cpu"`,
		"domain=a,mem=16M,module=0,vcpus=0":                 "vcpus",
		"domain=,mem=16M,module=0":                          "1-16 characters",
		"domain=a/b,mem=16M,module=0":                       "may only contain",
		"domain=a,mem=16M,mem=8M,module=0":                  "mem given twice",
		"domain=a,mem":                                      "not key=value",
		"domain=a,mem=16M,module=0,p2mpool=8K":              "p2mpool",
		"domain=a,mem=16M,module=0,p2mpool=5G":              "p2mpool",
		"domain=a,mem=16M,module=0,p2mpool=lots":            "p2mpool",
		"domain=a,mem=1M,module=0 domain=a,mem=1M,module=1": `name "a" used twice`,
		"domain=a,mem=16M,module=0,xenstore=xen":            "want hv or dom0",
		"dom0=mem=512M,module=0,xenstore=dom0":              "for domUs",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want it to mention %q", in, err, msg)
		}
	}
}

func TestDom0Option(t *testing.T) {
	p, err := Parse("domain=a,mem=16M,module=2 dom0=mem=512M,module=0,ramdisk=1,vcpus=2")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Domains) != 2 {
		t.Fatalf("domains = %+v", p.Domains)
	}
	d := p.Domains[0]
	if !d.Dom0 || d.Name != Dom0Name || d.Mem != 512<<20 || d.Module != 0 || d.Ramdisk != 1 || d.VCPUs != 2 {
		t.Errorf("dom0 = %+v", d)
	}
	if p.Domains[1].Dom0 || p.Domains[1].Name != "a" {
		t.Errorf("domU = %+v", p.Domains[1])
	}
}

func TestDom0Bad(t *testing.T) {
	for _, c := range []struct{ cmd, want string }{
		{"dom0=mem=512M,module=0 dom0=mem=256M,module=1", "at most one domain can be dom0"},
		{"dom0=module=0", "mem= is required"},
		{"dom0=mem=64M", "module= is required"},
		{"dom0=mem=64M,module=0,bogus=1", "unknown setting"},
		{"domain=dom0,mem=16M,module=1 dom0=mem=64M,module=0", "used twice"},
		{"dom0=", "requires a value"},
	} {
		if _, err := Parse(c.cmd); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", c.cmd, err, c.want)
		}
	}
}

func TestDom0Mem(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want uint64
		ok   bool
	}{
		{"dom0=mem=512M,module=0", 512 << 20, true},
		{"hvmem=64M dom0=module=0,vcpus=2,mem=1G", 1 << 30, true},
		{"dom0=module=0", 0, false},
		{"dom0=mem=12", 0, false},
		{"dom0=mem=", 0, false},
		{"domain=a,mem=64M,module=0", 0, false},
		{"dom0=mem=64M dom0=mem=128M", 128 << 20, true},
	} {
		n, ok := Dom0Mem([]byte(c.cmd))
		if n != c.want || ok != c.ok {
			t.Errorf("Dom0Mem(%q) = %d, %v; want %d, %v", c.cmd, n, ok, c.want, c.ok)
		}
	}
}
