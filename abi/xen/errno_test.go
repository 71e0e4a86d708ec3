package xen

import (
	"errors"
	"testing"
)

// Error numbers from xen/include/public/errno.h (XEN_E*). EINTR and
// ERESTART exist there only under __XEN__.

func TestErrnoValues(t *testing.T) {
	for _, c := range []struct {
		name string
		got  Errno
		want int
	}{
		{"XEN_EPERM", EPERM, 1},
		{"XEN_ENOENT", ENOENT, 2},
		{"XEN_ESRCH", ESRCH, 3},
		{"~XEN_EINTR (__XEN__ only)", EINTR, 4},
		{"XEN_EIO", EIO, 5},
		{"XEN_ENXIO", ENXIO, 6},
		{"XEN_E2BIG", E2BIG, 7},
		{"XEN_ENOEXEC", ENOEXEC, 8},
		{"XEN_EBADF", EBADF, 9},
		{"XEN_ECHILD", ECHILD, 10},
		{"XEN_EAGAIN", EAGAIN, 11},
		{"XEN_EWOULDBLOCK", EWOULDBLOCK, 11},
		{"XEN_ENOMEM", ENOMEM, 12},
		{"XEN_EACCES", EACCES, 13},
		{"XEN_EFAULT", EFAULT, 14},
		{"XEN_EBUSY", EBUSY, 16},
		{"XEN_EEXIST", EEXIST, 17},
		{"XEN_EXDEV", EXDEV, 18},
		{"XEN_ENODEV", ENODEV, 19},
		{"XEN_ENOTDIR", ENOTDIR, 20},
		{"XEN_EISDIR", EISDIR, 21},
		{"XEN_EINVAL", EINVAL, 22},
		{"XEN_ENFILE", ENFILE, 23},
		{"XEN_EMFILE", EMFILE, 24},
		{"XEN_ENOSPC", ENOSPC, 28},
		{"XEN_EROFS", EROFS, 30},
		{"XEN_EMLINK", EMLINK, 31},
		{"XEN_EDOM", EDOM, 33},
		{"XEN_ERANGE", ERANGE, 34},
		{"XEN_EDEADLK", EDEADLK, 35},
		{"XEN_EDEADLOCK", EDEADLOCK, 35},
		{"XEN_ENAMETOOLONG", ENAMETOOLONG, 36},
		{"XEN_ENOLCK", ENOLCK, 37},
		{"XEN_ENOSYS", ENOSYS, 38},
		{"XEN_ENOTEMPTY", ENOTEMPTY, 39},
		{"XEN_ENODATA", ENODATA, 61},
		{"XEN_ETIME", ETIME, 62},
		{"XEN_EBADMSG", EBADMSG, 74},
		{"XEN_EOVERFLOW", EOVERFLOW, 75},
		{"XEN_EILSEQ", EILSEQ, 84},
		{"~XEN_ERESTART (__XEN__ only)", ERESTART, 85},
		{"XEN_ENOTSOCK", ENOTSOCK, 88},
		{"XEN_EMSGSIZE", EMSGSIZE, 90},
		{"XEN_EOPNOTSUPP", EOPNOTSUPP, 95},
		{"XEN_EADDRINUSE", EADDRINUSE, 98},
		{"XEN_EADDRNOTAVAIL", EADDRNOTAVAIL, 99},
		{"XEN_ENOBUFS", ENOBUFS, 105},
		{"XEN_EISCONN", EISCONN, 106},
		{"XEN_ENOTCONN", ENOTCONN, 107},
		{"XEN_ETIMEDOUT", ETIMEDOUT, 110},
		{"XEN_ECONNREFUSED", ECONNREFUSED, 111},
	} {
		if int(c.got) != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// Two aliases, so two fewer names than constants.
	if len(errnoNames) != 49 {
		t.Errorf("%d errno names, want 49", len(errnoNames))
	}
}

func TestErrnoMethods(t *testing.T) {
	if EINVAL.Error() != "EINVAL" || EINVAL.Name() != "EINVAL" {
		t.Errorf("EINVAL.Error() = %q, Name() = %q", EINVAL.Error(), EINVAL.Name())
	}
	if EWOULDBLOCK.Name() != "EAGAIN" || EDEADLOCK.Name() != "EDEADLK" {
		t.Errorf("aliases named %q, %q", EWOULDBLOCK.Name(), EDEADLOCK.Name())
	}
	if got := Errno(15).Error(); got != "errno 15" {
		t.Errorf("Errno(15).Error() = %q", got)
	}
	if Errno(15).Name() != "" {
		t.Errorf("Errno(15).Name() = %q", Errno(15).Name())
	}
	for e, want := range map[Errno]uint64{
		0:      0,
		EPERM:  0xffffffffffffffff,
		EINVAL: 0xffffffffffffffea,
		ENOSYS: 0xffffffffffffffda,
		EFAULT: 0xfffffffffffffff2,
	} {
		if got := e.Ret(); got != want {
			t.Errorf("%v.Ret() = %#x, want %#x", e, got, want)
		}
		if e == 0 {
			continue
		}
		if back, ok := ErrnoFromRet(want); !ok || back != e {
			t.Errorf("ErrnoFromRet(%#x) = %v, %v; want %v", want, back, ok, e)
		}
	}
	for _, rax := range []uint64{0, 1, 0x7fffffffffffffff, 0xfffffffffffff000} {
		if e, ok := ErrnoFromRet(rax); ok {
			t.Errorf("ErrnoFromRet(%#x) = %v, true; want not an error", rax, e)
		}
	}
	if e, ok := ErrnoFromRet(0xfffffffffffff001); !ok || e != 4095 {
		t.Errorf("ErrnoFromRet(-4095) = %v, %v", e, ok)
	}
	for e, want := range map[Errno]bool{EINVAL: true, ENOSYS: true, EINTR: false, ERESTART: false, 0: false, 15: false} {
		if got := e.Guest(); got != want {
			t.Errorf("%v.Guest() = %v, want %v", e, got, want)
		}
	}
	var err error = EFAULT
	if !errors.Is(err, EFAULT) {
		t.Errorf("errors.Is(EFAULT, EFAULT) = false")
	}
}
