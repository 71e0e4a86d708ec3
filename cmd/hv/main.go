// Command hv is the GoZen hypervisor image. Build it with
// `go run ./tools/mkimage`, which produces out/hv.bin for QEMU -kernel or GRUB.
package main

import (
	"fmt"
	"os"

	"gozen/rt"
)

func main() {
	fmt.Println("hv: Go main reached; cmdline:", rt.Cmdline())
	s := rt.ReadMemStats()
	fmt.Printf("hv: memory: %d MiB total, %d MiB usable\n", s.TotalRAM>>20, s.UsableRAM>>20)
	rt.Stop(rt.ExitSuccess)
	os.Exit(0)
}
