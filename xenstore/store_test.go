package xenstore

import (
	"strings"
	"testing"

	"gozen/abi/xen"
)

func TestPathValidation(t *testing.T) {
	long := strings.Repeat("a", xen.XenstoreAbsPathMax)
	cases := []struct {
		in   string
		want string // canonical, or "" for EINVAL
	}{
		{"/", "/"},
		{"/local/domain/1", "/local/domain/1"},
		{"x/y", "/local/domain/7/x/y"},
		{"a-b_c@d", "/local/domain/7/a-b_c@d"},
		{"", ""},
		{"/a/", ""},
		{"/a//b", ""},
		{"a/", ""},
		{"/a b", ""},
		{"/a.b", ""},
		{"/a\x01", ""},
		{"@releaseDomain", ""}, // special names are not nodes
		{"/" + long[:xen.XenstoreAbsPathMax-1], "/" + long[:xen.XenstoreAbsPathMax-1]},
		{"/" + long, ""},
		{long[:xen.XenstoreRelPathMax], "/local/domain/7/" + long[:xen.XenstoreRelPathMax]},
		{long[:xen.XenstoreRelPathMax+1], ""},
	}
	for _, c := range cases {
		got, e := canonical(7, c.in)
		if (e != 0) != (c.want == "") || got != c.want {
			t.Errorf("canonical(%.40q) = %.60q, %v; want %.60q", c.in, got, e, c.want)
		}
	}
	for _, c := range []struct {
		child, parent string
		want          bool
	}{
		{"/a", "/a", true}, {"/a/b", "/a", true}, {"/ab", "/a", false}, {"/a", "/", true}, {"/", "/a", false},
	} {
		if isChild(c.child, c.parent) != c.want {
			t.Errorf("isChild(%q, %q) != %v", c.child, c.parent, c.want)
		}
	}
}

func TestOperations(t *testing.T) {
	s, d0 := newTestServer(t)
	d1 := newClient(t, s, 1, false)
	d2 := newClient(t, s, 2, false)
	setupDomain(t, d0, "1")
	setupDomain(t, d0, "2")
	d0.expect(d0.write("/local/domain/2/data/secret", "s"), "OK\x00")
	d0.expect(d0.setPerms("/local/domain/2/data/secret", "n2"), "OK\x00")

	steps := []struct {
		name string
		got  func() string
		want string
	}{
		// dom0 can do everything.
		{"dom0 read", func() string { return d0.read("/local/domain/2/data/secret") }, "s"},
		{"dom0 write anywhere", func() string { return d0.write("/tool/x", "1") }, "OK\x00"},
		{"dom0 relative", func() string { return d0.write("mine", "0") }, "OK\x00"},
		{"dom0 relative read", func() string { return d0.read("/local/domain/0/mine") }, "0"},
		// a domU in its own home.
		{"domU write own", func() string { return d1.write("data/x", "hello") }, "OK\x00"},
		{"domU read own abs", func() string { return d1.read("/local/domain/1/data/x") }, "hello"},
		{"domU read own rel", func() string { return d1.read("data/x") }, "hello"},
		{"domU new node owned by it", func() string { return d1.getPerms("data/x") }, "n1,"},
		{"domU read home (r1)", func() string { return d1.read("/local/domain/1/name") }, "guest1"},
		{"domU cannot write r-only home", func() string { return d1.write("/local/domain/1/name", "x") }, "!EACCES"},
		{"domU cannot create in r-only home", func() string { return d1.write("newdir/x", "x") }, "!EACCES"},
		{"domU creates parents in writable dir", func() string { return d1.write("data/a/b/c", "v") }, "OK\x00"},
		{"parents exist", func() string { return d1.dir("data/a") }, "b,"},
		{"parents empty", func() string { return d1.read("data/a/b") }, ""},
		// one domU against another.
		{"read other", func() string { return d1.read("/local/domain/2/data/secret") }, "!EACCES"},
		{"read other missing", func() string { return d1.read("/local/domain/2/data/nothing") }, "!EACCES"},
		{"dir other", func() string { return d1.dir("/local/domain/2") }, "!EACCES"},
		{"write other", func() string { return d1.write("/local/domain/2/data/x", "x") }, "!EACCES"},
		{"rm other", func() string { return d1.rm("/local/domain/2/data/secret") }, "!EACCES"},
		{"perms other", func() string { return d1.getPerms("/local/domain/2/data/secret") }, "!EACCES"},
		{"write tool", func() string { return d1.write("/tool/y", "x") }, "!EACCES"},
		{"read root", func() string { return d1.dir("/") }, "!EACCES"},
		{"missing own", func() string { return d1.read("data/none") }, "!ENOENT"},
		// ACLs.
		{"grant read", func() string { return d2.setPerms("/local/domain/2/data/secret", "n2", "r1") }, "OK\x00"},
		{"granted read", func() string { return d1.read("/local/domain/2/data/secret") }, "s"},
		{"granted is not write", func() string { return d1.write("/local/domain/2/data/secret", "x") }, "!EACCES"},
		{"non-owner set perms", func() string { return d1.setPerms("/local/domain/2/data/secret", "b1") }, "!EACCES"},
		{"owner cannot give away", func() string { return d2.setPerms("/local/domain/2/data/secret", "n1") }, "!EPERM"},
		{"get perms", func() string { return d0.getPerms("/local/domain/2/data/secret") }, "n2,r1,"},
		{"bad perm letter", func() string { return d2.setPerms("/local/domain/2/data/secret", "x2") }, "!EINVAL"},
		{"bad perm domid", func() string { return d2.setPerms("/local/domain/2/data/secret", "n") }, "!EINVAL"},
		{"too many perms", func() string {
			return d2.setPerms("/local/domain/2/data/secret", "n2", "r1", "r3", "r4", "r5", "r6")
		}, "!ENOSPC"},
		{"dom0 gives away", func() string { return d0.setPerms("/local/domain/2/data/secret", "b1") }, "OK\x00"},
		{"new owner writes", func() string { return d1.write("/local/domain/2/data/secret", "t") }, "OK\x00"},
		// mkdir, rm, directory.
		{"mkdir keeps value", func() string { return d1.mkdir("data/x") }, "OK\x00"},
		{"value kept", func() string { return d1.read("data/x") }, "hello"},
		{"rm recursive", func() string { return d1.rm("data/a") }, "OK\x00"},
		{"gone", func() string { return d1.read("data/a/b/c") }, "!ENOENT"},
		{"dir after rm", func() string { return d1.dir("data") }, "x,"},
		{"rm absent, parent there", func() string { return d1.rm("data/zzz") }, "OK\x00"},
		{"rm absent, no parent", func() string { return d1.rm("data/zzz/yyy") }, "!ENOENT"},
		{"rm root", func() string { return d0.rm("/") }, "!EINVAL"},
		{"empty value", func() string { return d1.write("data/e", "") }, "OK\x00"},
		{"binary value", func() string { return d1.write("data/bin", "a\x00b") }, "OK\x00"},
		{"binary read", func() string { return d1.read("data/bin") }, "a\x00b"},
		// validation.
		{"trailing slash", func() string { return d1.write("data/", "x") }, "!EINVAL"},
		{"double slash", func() string { return d1.read("/local//domain") }, "!EINVAL"},
		{"bad char", func() string { return d1.write("data/a b", "x") }, "!EINVAL"},
		{"special read", func() string { return d1.read("@releaseDomain") }, "!EINVAL"},
		{"write without NUL", func() string { return d1.res(xen.XSWrite, 0, "data/x") }, "!EINVAL"},
		{"read two args", func() string { return d1.res(xen.XSRead, 0, "data/x\x00y\x00") }, "!EINVAL"},
		{"read unterminated", func() string { return d1.res(xen.XSRead, 0, "data/x") }, "!EINVAL"},
		// domain queries.
		{"domain path", func() string { return d1.res(xen.XSGetDomainPath, 0, "5\x00") }, "/local/domain/5\x00"},
		{"domain path bad", func() string { return d1.res(xen.XSGetDomainPath, 0, "x\x00") }, "!EINVAL"},
		{"introduced", func() string { return d1.res(xen.XSIsDomainIntroduced, 0, "2\x00") }, "T\x00"},
		{"not introduced", func() string { return d1.res(xen.XSIsDomainIntroduced, 0, "9\x00") }, "F\x00"},
		{"introduce unpriv", func() string { return d1.res(xen.XSIntroduce, 0, "3\x00100\x005\x00") }, "!EACCES"},
		{"release unpriv", func() string { return d1.res(xen.XSRelease, 0, "2\x00") }, "!EACCES"},
		{"control unpriv", func() string { return d1.res(xen.XSControl, 0, "print\x00x\x00") }, "!EACCES"},
		{"introduce no hooks", func() string { return d0.res(xen.XSIntroduce, 0, "3\x00100\x005\x00") }, "!ENOSYS"},
		{"unknown type", func() string { return d1.res(99, 0, "") }, "!EINVAL"},
		{"restrict type", func() string { return d1.res(xen.XSRestrict, 0, "1\x00") }, "!EINVAL"},
		{"client sends event", func() string { return d1.res(xen.XSWatchEvent, 0, "a\x00b\x00") }, "!EINVAL"},
		{"unknown transaction", func() string { return d1.res(xen.XSRead, 77, "data/x\x00") }, "!ENOENT"},
	}
	for _, st := range steps {
		if got := st.got(); got != st.want {
			t.Errorf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
}

func TestDirectoryPart(t *testing.T) {
	s, d0 := newTestServer(t)
	_ = s
	var names []string
	for i := 0; i < 300; i++ {
		n := strings.Repeat("n", 20) + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + "-" + itoa(i)
		names = append(names, n)
		d0.expect(d0.mkdir("/big/"+n), "OK\x00")
	}
	// The full listing is over 4096 bytes: DIRECTORY says E2BIG.
	d0.expect(d0.res(xen.XSDirectory, 0, "/big\x00"), "!E2BIG")
	var got []string
	off := 0
	var gen string
	for parts := 0; ; parts++ {
		if parts > 10 {
			t.Fatal("DIRECTORY_PART does not end")
		}
		p := d0.res(xen.XSDirectoryPart, 0, "/big\x00"+itoa(off)+"\x00")
		if strings.HasPrefix(p, "!") {
			t.Fatalf("DIRECTORY_PART: %s", p)
		}
		if len(p) > xen.XenstorePayloadMax {
			t.Fatalf("part of %d bytes", len(p))
		}
		i := strings.IndexByte(p, 0)
		if gen == "" {
			gen = p[:i]
		} else if gen != p[:i] {
			t.Fatalf("generation changed %s -> %s", gen, p[:i])
		}
		body := p[i+1:]
		end := strings.HasSuffix(body, "\x00\x00") || body == "\x00"
		body = strings.TrimSuffix(body, "\x00")
		if end && body != "" {
			body = strings.TrimSuffix(body, "\x00")
		}
		if body != "" {
			for _, n := range strings.Split(body, "\x00") {
				got = append(got, n)
				off += len(n) + 1
			}
		}
		if end {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("DIRECTORY_PART gave %d names, want %d", len(got), len(names))
	}
	// After a change the generation differs.
	d0.expect(d0.mkdir("/big/new"), "OK\x00")
	p := d0.res(xen.XSDirectoryPart, 0, "/big\x00"+"0\x00")
	if p[:strings.IndexByte(p, 0)] == gen {
		t.Fatal("generation unchanged after adding a child")
	}
	d0.expect(d0.res(xen.XSDirectoryPart, 0, "/big\x00"+"3\x00"), "!EINVAL") // not on a name
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
