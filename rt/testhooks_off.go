//go:build !testhooks

package rt

// TestHooks reports whether this image was built with -tags testhooks.
const TestHooks = false

func testhookBeforeParse() {}
func testhookAfterParse()  {}

func testhookSyscall(nr uint64) bool { return false }
