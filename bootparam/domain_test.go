package bootparam

import (
	"strings"
	"testing"
)

func TestParseDomains(t *testing.T) {
	p, err := Parse("domain=a,mem=16M,module=0 domain=b-2,module=1,mem=0x2000000,vcpus=2,weight=512,cap=25,p2mpool=2M")
	if err != nil {
		t.Fatal(err)
	}
	want := []DomainSpec{{"a", 16 << 20, 0, 1, -1, 0, 0, 0}, {"b-2", 32 << 20, 1, 2, -1, 512, 25, 2 << 20}}
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
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want it to mention %q", in, err, msg)
		}
	}
}
