package rt

import (
	"gozen/arch/amd64"
	"gozen/dev/uart"
)

// The serial console. Trap-context code prints through the helpers below,
// which write straight to the UART; Go code's writes to fds 1 and 2 arrive
// here through the write system call.
var (
	com1       uart.UART
	consoleOff bool // console=none
)

func consoleInit() {
	com1.Base = uart.COM1
	com1.IO = amd64.PortIO{}
	com1.Init(115200)
}

func kwrite(b []byte) {
	if consoleOff {
		return
	}
	com1.Write(b)
}

func kprint(s string) {
	if consoleOff {
		return
	}
	com1.WriteString(s)
}

// kprintHex prints v as 0x-prefixed hex.
func kprintHex(v uint64) {
	var buf [18]byte
	i := len(buf)
	for {
		i--
		buf[i] = "0123456789abcdef"[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	i--
	buf[i] = 'x'
	i--
	buf[i] = '0'
	kwrite(buf[i:])
}

// kprintDec prints v in decimal.
func kprintDec(v int64) {
	var buf [21]byte
	i := len(buf)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	kwrite(buf[i:])
}

// kprintMiB prints a byte count in MiB.
func kprintMiB(v uint64) {
	kprintDec(int64(v >> 20))
	kprint(" MiB")
}

// Log levels for trap-context messages, as in bootparam.
const (
	logError = iota
	logWarn
	logInfo
	logDebug
)

var logLevel = logInfo

// Exit codes written to the isa-debug-exit port (QEMU exits with 2*code+1).
const (
	ExitSuccess   = 0
	ExitFailure   = 1
	ExitBadBoot   = 2
	ExitFatal     = 3
	debugExitPort = DebugExitPort
)

// stop ends the machine: it tells QEMU's isa-debug-exit device the code (on
// real hardware the port write goes nowhere), then halts with interrupts off.
func stop(code uint8) {
	kprint("hv: stopped (code ")
	kprintDec(int64(code))
	kprint("); reset the machine to restart\n")
	amd64.DisableInterrupts()
	amd64.Outb(debugExitPort, code)
	for {
		amd64.DisableInterrupts()
		amd64.Halt()
	}
}

// bootError reports bad boot input and stops.
func bootError(msg string) {
	kprint("hv: boot error: ")
	kprint(msg)
	kprint("\n")
	stop(ExitBadBoot)
}
