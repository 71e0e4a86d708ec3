package xen

import "fmt"

// Xen error numbers, from xen/include/public/errno.h (XEN_E* there). They
// are the x86 Linux values. A hypercall that fails returns the negated
// value in rax; Errno.Ret computes that register value.

// Errno is a Xen error number (enum xen_errno, the XEN_E* values of
// errno.h). The zero value means success. Errno implements error.
type Errno int

// Error numbers (XEN_E* in errno.h).
const (
	// EPERM is XEN_EPERM: operation not permitted.
	EPERM Errno = 1
	// ENOENT is XEN_ENOENT: no such file or directory.
	ENOENT Errno = 2
	// ESRCH is XEN_ESRCH: no such process (or domain).
	ESRCH Errno = 3
	// EINTR is XEN_EINTR: interrupted system call. errno.h defines it only
	// inside Xen (__XEN__); it must never reach a guest.
	EINTR Errno = 4
	// EIO is XEN_EIO: I/O error.
	EIO Errno = 5
	// ENXIO is XEN_ENXIO: no such device or address.
	ENXIO Errno = 6
	// E2BIG is XEN_E2BIG: argument list too long.
	E2BIG Errno = 7
	// ENOEXEC is XEN_ENOEXEC: exec format error.
	ENOEXEC Errno = 8
	// EBADF is XEN_EBADF: bad file number.
	EBADF Errno = 9
	// ECHILD is XEN_ECHILD: no child processes.
	ECHILD Errno = 10
	// EAGAIN is XEN_EAGAIN: try again.
	EAGAIN Errno = 11
	// EWOULDBLOCK is XEN_EWOULDBLOCK, an alias of EAGAIN.
	EWOULDBLOCK Errno = 11
	// ENOMEM is XEN_ENOMEM: out of memory.
	ENOMEM Errno = 12
	// EACCES is XEN_EACCES: permission denied.
	EACCES Errno = 13
	// EFAULT is XEN_EFAULT: bad address (a guest buffer could not be
	// accessed).
	EFAULT Errno = 14
	// EBUSY is XEN_EBUSY: device or resource busy.
	EBUSY Errno = 16
	// EEXIST is XEN_EEXIST: already exists.
	EEXIST Errno = 17
	// EXDEV is XEN_EXDEV: cross-device link.
	EXDEV Errno = 18
	// ENODEV is XEN_ENODEV: no such device.
	ENODEV Errno = 19
	// ENOTDIR is XEN_ENOTDIR: not a directory.
	ENOTDIR Errno = 20
	// EISDIR is XEN_EISDIR: is a directory.
	EISDIR Errno = 21
	// EINVAL is XEN_EINVAL: invalid argument.
	EINVAL Errno = 22
	// ENFILE is XEN_ENFILE: file table overflow.
	ENFILE Errno = 23
	// EMFILE is XEN_EMFILE: too many open files.
	EMFILE Errno = 24
	// ENOSPC is XEN_ENOSPC: no space left on device.
	ENOSPC Errno = 28
	// EROFS is XEN_EROFS: read-only file system.
	EROFS Errno = 30
	// EMLINK is XEN_EMLINK: too many links.
	EMLINK Errno = 31
	// EDOM is XEN_EDOM: math argument out of domain of function.
	EDOM Errno = 33
	// ERANGE is XEN_ERANGE: result not representable.
	ERANGE Errno = 34
	// EDEADLK is XEN_EDEADLK: resource deadlock would occur.
	EDEADLK Errno = 35
	// EDEADLOCK is XEN_EDEADLOCK, an alias of EDEADLK.
	EDEADLOCK Errno = 35
	// ENAMETOOLONG is XEN_ENAMETOOLONG: file name too long.
	ENAMETOOLONG Errno = 36
	// ENOLCK is XEN_ENOLCK: no record locks available.
	ENOLCK Errno = 37
	// ENOSYS is XEN_ENOSYS: function not implemented (unknown hypercall or
	// sub-command).
	ENOSYS Errno = 38
	// ENOTEMPTY is XEN_ENOTEMPTY: directory not empty.
	ENOTEMPTY Errno = 39
	// ENODATA is XEN_ENODATA: no data available.
	ENODATA Errno = 61
	// ETIME is XEN_ETIME: timer expired (VCPU_SSHOTTMR_future with a
	// deadline in the past).
	ETIME Errno = 62
	// EBADMSG is XEN_EBADMSG: not a data message.
	EBADMSG Errno = 74
	// EOVERFLOW is XEN_EOVERFLOW: value too large for defined data type.
	EOVERFLOW Errno = 75
	// EILSEQ is XEN_EILSEQ: illegal byte sequence.
	EILSEQ Errno = 84
	// ERESTART is XEN_ERESTART: the call should be restarted. errno.h
	// defines it only inside Xen (__XEN__); it must never reach a guest.
	ERESTART Errno = 85
	// ENOTSOCK is XEN_ENOTSOCK: socket operation on non-socket.
	ENOTSOCK Errno = 88
	// EMSGSIZE is XEN_EMSGSIZE: message too large.
	EMSGSIZE Errno = 90
	// EOPNOTSUPP is XEN_EOPNOTSUPP: operation not supported.
	EOPNOTSUPP Errno = 95
	// EADDRINUSE is XEN_EADDRINUSE: address already in use.
	EADDRINUSE Errno = 98
	// EADDRNOTAVAIL is XEN_EADDRNOTAVAIL: cannot assign requested address.
	EADDRNOTAVAIL Errno = 99
	// ENOBUFS is XEN_ENOBUFS: no buffer space available.
	ENOBUFS Errno = 105
	// EISCONN is XEN_EISCONN: already connected.
	EISCONN Errno = 106
	// ENOTCONN is XEN_ENOTCONN: not connected.
	ENOTCONN Errno = 107
	// ETIMEDOUT is XEN_ETIMEDOUT: connection timed out.
	ETIMEDOUT Errno = 110
	// ECONNREFUSED is XEN_ECONNREFUSED: connection refused.
	ECONNREFUSED Errno = 111
)

// errnoNames maps each error number to its errno.h name (the first one
// where two names share a number).
var errnoNames = map[Errno]string{
	EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR",
	EIO: "EIO", ENXIO: "ENXIO", E2BIG: "E2BIG", ENOEXEC: "ENOEXEC",
	EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
	EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST",
	EXDEV: "EXDEV", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
	EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC",
	EROFS: "EROFS", EMLINK: "EMLINK", EDOM: "EDOM", ERANGE: "ERANGE",
	EDEADLK: "EDEADLK", ENAMETOOLONG: "ENAMETOOLONG", ENOLCK: "ENOLCK",
	ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY", ENODATA: "ENODATA",
	ETIME: "ETIME", EBADMSG: "EBADMSG", EOVERFLOW: "EOVERFLOW",
	EILSEQ: "EILSEQ", ERESTART: "ERESTART", ENOTSOCK: "ENOTSOCK",
	EMSGSIZE: "EMSGSIZE", EOPNOTSUPP: "EOPNOTSUPP", EADDRINUSE: "EADDRINUSE",
	EADDRNOTAVAIL: "EADDRNOTAVAIL", ENOBUFS: "ENOBUFS", EISCONN: "EISCONN",
	ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT", ECONNREFUSED: "ECONNREFUSED",
}

// Name returns the errno.h name of e without the XEN_ prefix ("EINVAL"),
// or "" if errno.h does not define e.
func (e Errno) Name() string { return errnoNames[e] }

// Error returns the name of e, or "errno N" for a number errno.h does not
// define.
func (e Errno) Error() string {
	if s := errnoNames[e]; s != "" {
		return s
	}
	return fmt.Sprintf("errno %d", int(e))
}

// Ret returns the hypercall return register (rax) value that reports e:
// the two's complement of -e. For example EINVAL.Ret() is
// 0xffffffffffffffea. Errno 0 gives 0, success.
func (e Errno) Ret() uint64 { return uint64(-int64(e)) }

// Guest reports whether e may be returned to a guest: it is defined in
// errno.h outside __XEN__ (so not EINTR or ERESTART) and is not 0.
func (e Errno) Guest() bool {
	return e != EINTR && e != ERESTART && errnoNames[e] != ""
}

// ErrnoFromRet decodes a hypercall return register value: it returns the
// error it reports and true when rax holds a negative errno value (between
// -4095 and -1, as Linux's IS_ERR_VALUE), and 0 and false otherwise.
func ErrnoFromRet(rax uint64) (Errno, bool) {
	v := int64(rax)
	if v < 0 && v >= -4095 {
		return Errno(-v), true
	}
	return 0, false
}
