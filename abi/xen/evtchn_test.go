package xen

import (
	"testing"
	"unsafe"
)

// event_channel_op numbers, structures and the FIFO ABI from
// xen/include/public/event_channel.h.

func TestEvtchnConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"EVTCHNOP_bind_interdomain", EvtchnOpBindInterdomain, 0},
		{"EVTCHNOP_bind_virq", EvtchnOpBindVirq, 1},
		{"EVTCHNOP_bind_pirq", EvtchnOpBindPirq, 2},
		{"EVTCHNOP_close", EvtchnOpClose, 3},
		{"EVTCHNOP_send", EvtchnOpSend, 4},
		{"EVTCHNOP_status", EvtchnOpStatus, 5},
		{"EVTCHNOP_alloc_unbound", EvtchnOpAllocUnbound, 6},
		{"EVTCHNOP_bind_ipi", EvtchnOpBindIPI, 7},
		{"EVTCHNOP_bind_vcpu", EvtchnOpBindVCPU, 8},
		{"EVTCHNOP_unmask", EvtchnOpUnmask, 9},
		{"EVTCHNOP_reset", EvtchnOpReset, 10},
		{"EVTCHNOP_init_control", EvtchnOpInitControl, 11},
		{"EVTCHNOP_expand_array", EvtchnOpExpandArray, 12},
		{"EVTCHNOP_set_priority", EvtchnOpSetPriority, 13},
		{"~EVTCHNOP_reset_cont (__XEN__ only)", EvtchnOpResetCont, 14},
		{"EVTCHNSTAT_closed", EvtchnStatClosed, 0},
		{"EVTCHNSTAT_unbound", EvtchnStatUnbound, 1},
		{"EVTCHNSTAT_interdomain", EvtchnStatInterdomain, 2},
		{"EVTCHNSTAT_pirq", EvtchnStatPirq, 3},
		{"EVTCHNSTAT_virq", EvtchnStatVirq, 4},
		{"EVTCHNSTAT_ipi", EvtchnStatIPI, 5},
		{"BIND_PIRQ__WILL_SHARE", BindPirqWillShare, 1},
		{"EVTCHN_FIFO_PRIORITY_MAX", EvtchnFIFOPriorityMax, 0},
		{"EVTCHN_FIFO_PRIORITY_DEFAULT", EvtchnFIFOPriorityDefault, 7},
		{"EVTCHN_FIFO_PRIORITY_MIN", EvtchnFIFOPriorityMin, 15},
		{"EVTCHN_FIFO_MAX_QUEUES", EvtchnFIFOMaxQueues, 16},
		{"EVTCHN_FIFO_PENDING", EvtchnFIFOPending, 31},
		{"EVTCHN_FIFO_MASKED", EvtchnFIFOMasked, 30},
		{"EVTCHN_FIFO_LINKED", EvtchnFIFOLinked, 29},
		{"EVTCHN_FIFO_BUSY", EvtchnFIFOBusy, 28},
		{"EVTCHN_FIFO_LINK_BITS", EvtchnFIFOLinkBits, 17},
		{"EVTCHN_FIFO_LINK_MASK", EvtchnFIFOLinkMask, 0x1ffff},
		{"EVTCHN_FIFO_NR_CHANNELS", EvtchnFIFONrChannels, 131072},
		{"~EVTCHN_FIFO_EVENT_WORDS_PER_PAGE (xen/common/event_fifo.c)", EvtchnFIFOEventWordsPerPage, 1024},
		{"offsetof(struct evtchn_fifo_control_block, ready)", EvtchnFIFOControlBlockReadyOffset, 0},
		{"offsetof(struct evtchn_fifo_control_block, head)", EvtchnFIFOControlBlockHeadOffset, 8},
		{"sizeof(((struct evtchn_status *)0)->u)", evtchnStatusUnionSize, 8},
		{"sizeof(((struct evtchn_op *)0)->u)", evtchnOpUnionSize, 24},
		{"sizeof(((struct evtchn_init_control *)0)->_pad)", evtchnInitControlPadSize, 7},
	})
	if EvtchnFIFOEventWordsPerPage*4 != 4096 {
		t.Errorf("event words per page %d do not fill 4 KiB", EvtchnFIFOEventWordsPerPage)
	}
}

func TestEvtchnStatusUnion(t *testing.T) {
	var s EvtchnStatus
	s.SetInterdomain(0x0102, 0x0a0b0c0d)
	if s.Status != EvtchnStatInterdomain || s.U != [8]byte{2, 1, 0, 0, 0x0d, 0x0c, 0x0b, 0x0a} {
		t.Errorf("SetInterdomain: status %d u %x", s.Status, s.U)
	}
	if s.InterdomainDom() != 0x0102 || s.InterdomainPort() != 0x0a0b0c0d {
		t.Errorf("interdomain = %#x, %#x", s.InterdomainDom(), s.InterdomainPort())
	}
	s.SetUnbound(7)
	if s.Status != EvtchnStatUnbound || s.UnboundDom() != 7 || s.U != [8]byte{7} {
		t.Errorf("SetUnbound: status %d u %x", s.Status, s.U)
	}
	s.SetVirq(VIRQTimer + 1)
	if s.Status != EvtchnStatVirq || s.Virq() != 1 || s.U != [8]byte{1} {
		t.Errorf("SetVirq: status %d u %x", s.Status, s.U)
	}
	s.SetPirq(0x11223344)
	if s.Status != EvtchnStatPirq || s.Pirq() != 0x11223344 || s.U != [8]byte{0x44, 0x33, 0x22, 0x11} {
		t.Errorf("SetPirq: status %d u %x", s.Status, s.U)
	}
}

// struct evtchn_alloc_unbound, from xen/include/public/event_channel.h.
func TestEvtchnAllocUnboundLayout(t *testing.T) {
	var v EvtchnAllocUnbound
	checkLayout(t, "evtchn_alloc_unbound", unsafe.Sizeof(v), 8, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
		{"remote_dom", unsafe.Offsetof(v.RemoteDom), 2},
		{"port", unsafe.Offsetof(v.Port), 4},
	})
	if EvtchnAllocUnboundSize != 8 {
		t.Errorf("EvtchnAllocUnboundSize = %d, want 8", EvtchnAllocUnboundSize)
	}
}

func TestEvtchnAllocUnboundEncoding(t *testing.T) {
	v := EvtchnAllocUnbound{Dom: 0x0201, RemoteDom: 0x0403, Port: 0x08070605}
	checkEncoding(t, &v, &EvtchnAllocUnbound{}, seqPattern(8))
}

// struct evtchn_bind_interdomain, from xen/include/public/event_channel.h.
func TestEvtchnBindInterdomainLayout(t *testing.T) {
	var v EvtchnBindInterdomain
	checkLayout(t, "evtchn_bind_interdomain", unsafe.Sizeof(v), 12, []fieldOff{
		{"remote_dom", unsafe.Offsetof(v.RemoteDom), 0},
		{"remote_port", unsafe.Offsetof(v.RemotePort), 4},
		{"local_port", unsafe.Offsetof(v.LocalPort), 8},
	})
	if EvtchnBindInterdomainSize != 12 {
		t.Errorf("EvtchnBindInterdomainSize = %d, want 12", EvtchnBindInterdomainSize)
	}
}

func TestEvtchnBindInterdomainEncoding(t *testing.T) {
	v := EvtchnBindInterdomain{RemoteDom: 0x0201, RemotePort: 0x08070605, LocalPort: 0x0c0b0a09}
	checkEncoding(t, &v, &EvtchnBindInterdomain{}, seqPattern(12, [2]int{2, 4}))
}

// struct evtchn_bind_virq, from xen/include/public/event_channel.h.
func TestEvtchnBindVirqLayout(t *testing.T) {
	var v EvtchnBindVirq
	checkLayout(t, "evtchn_bind_virq", unsafe.Sizeof(v), 12, []fieldOff{
		{"virq", unsafe.Offsetof(v.Virq), 0},
		{"vcpu", unsafe.Offsetof(v.VCPU), 4},
		{"port", unsafe.Offsetof(v.Port), 8},
	})
	if EvtchnBindVirqSize != 12 {
		t.Errorf("EvtchnBindVirqSize = %d, want 12", EvtchnBindVirqSize)
	}
}

func TestEvtchnBindVirqEncoding(t *testing.T) {
	v := EvtchnBindVirq{Virq: 0x04030201, VCPU: 0x08070605, Port: 0x0c0b0a09}
	checkEncoding(t, &v, &EvtchnBindVirq{}, seqPattern(12))
}

// struct evtchn_bind_pirq, from xen/include/public/event_channel.h.
func TestEvtchnBindPirqLayout(t *testing.T) {
	var v EvtchnBindPirq
	checkLayout(t, "evtchn_bind_pirq", unsafe.Sizeof(v), 12, []fieldOff{
		{"pirq", unsafe.Offsetof(v.Pirq), 0},
		{"flags", unsafe.Offsetof(v.Flags), 4},
		{"port", unsafe.Offsetof(v.Port), 8},
	})
	if EvtchnBindPirqSize != 12 {
		t.Errorf("EvtchnBindPirqSize = %d, want 12", EvtchnBindPirqSize)
	}
}

func TestEvtchnBindPirqEncoding(t *testing.T) {
	v := EvtchnBindPirq{Pirq: 0x04030201, Flags: 0x08070605, Port: 0x0c0b0a09}
	checkEncoding(t, &v, &EvtchnBindPirq{}, seqPattern(12))
}

// struct evtchn_bind_ipi, from xen/include/public/event_channel.h.
func TestEvtchnBindIPILayout(t *testing.T) {
	var v EvtchnBindIPI
	checkLayout(t, "evtchn_bind_ipi", unsafe.Sizeof(v), 8, []fieldOff{
		{"vcpu", unsafe.Offsetof(v.VCPU), 0},
		{"port", unsafe.Offsetof(v.Port), 4},
	})
	if EvtchnBindIPISize != 8 {
		t.Errorf("EvtchnBindIPISize = %d, want 8", EvtchnBindIPISize)
	}
}

func TestEvtchnBindIPIEncoding(t *testing.T) {
	v := EvtchnBindIPI{VCPU: 0x04030201, Port: 0x08070605}
	checkEncoding(t, &v, &EvtchnBindIPI{}, seqPattern(8))
}

// struct evtchn_close, from xen/include/public/event_channel.h.
func TestEvtchnCloseLayout(t *testing.T) {
	var v EvtchnClose
	checkLayout(t, "evtchn_close", unsafe.Sizeof(v), 4, []fieldOff{
		{"port", unsafe.Offsetof(v.Port), 0},
	})
	if EvtchnCloseSize != 4 {
		t.Errorf("EvtchnCloseSize = %d, want 4", EvtchnCloseSize)
	}
}

func TestEvtchnCloseEncoding(t *testing.T) {
	v := EvtchnClose{Port: 0x04030201}
	checkEncoding(t, &v, &EvtchnClose{}, seqPattern(4))
}

// struct evtchn_send, from xen/include/public/event_channel.h.
func TestEvtchnSendLayout(t *testing.T) {
	var v EvtchnSend
	checkLayout(t, "evtchn_send", unsafe.Sizeof(v), 4, []fieldOff{
		{"port", unsafe.Offsetof(v.Port), 0},
	})
	if EvtchnSendSize != 4 {
		t.Errorf("EvtchnSendSize = %d, want 4", EvtchnSendSize)
	}
}

func TestEvtchnSendEncoding(t *testing.T) {
	v := EvtchnSend{Port: 0x04030201}
	checkEncoding(t, &v, &EvtchnSend{}, seqPattern(4))
}

// struct evtchn_status, from xen/include/public/event_channel.h.
func TestEvtchnStatusLayout(t *testing.T) {
	var v EvtchnStatus
	checkLayout(t, "evtchn_status", unsafe.Sizeof(v), 24, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
		{"port", unsafe.Offsetof(v.Port), 4},
		{"status", unsafe.Offsetof(v.Status), 8},
		{"vcpu", unsafe.Offsetof(v.VCPU), 12},
		{"u", unsafe.Offsetof(v.U), 16},
	})
	if EvtchnStatusSize != 24 {
		t.Errorf("EvtchnStatusSize = %d, want 24", EvtchnStatusSize)
	}
}

func TestEvtchnStatusEncoding(t *testing.T) {
	v := EvtchnStatus{Dom: 0x0201, Port: 0x08070605, Status: 0x0c0b0a09, VCPU: 0x100f0e0d, U: [8]byte{17, 18, 19, 20, 21, 22, 23, 24}}
	checkEncoding(t, &v, &EvtchnStatus{}, seqPattern(24, [2]int{2, 4}))
}

// struct evtchn_bind_vcpu, from xen/include/public/event_channel.h.
func TestEvtchnBindVCPULayout(t *testing.T) {
	var v EvtchnBindVCPU
	checkLayout(t, "evtchn_bind_vcpu", unsafe.Sizeof(v), 8, []fieldOff{
		{"port", unsafe.Offsetof(v.Port), 0},
		{"vcpu", unsafe.Offsetof(v.VCPU), 4},
	})
	if EvtchnBindVCPUSize != 8 {
		t.Errorf("EvtchnBindVCPUSize = %d, want 8", EvtchnBindVCPUSize)
	}
}

func TestEvtchnBindVCPUEncoding(t *testing.T) {
	v := EvtchnBindVCPU{Port: 0x04030201, VCPU: 0x08070605}
	checkEncoding(t, &v, &EvtchnBindVCPU{}, seqPattern(8))
}

// struct evtchn_unmask, from xen/include/public/event_channel.h.
func TestEvtchnUnmaskLayout(t *testing.T) {
	var v EvtchnUnmask
	checkLayout(t, "evtchn_unmask", unsafe.Sizeof(v), 4, []fieldOff{
		{"port", unsafe.Offsetof(v.Port), 0},
	})
	if EvtchnUnmaskSize != 4 {
		t.Errorf("EvtchnUnmaskSize = %d, want 4", EvtchnUnmaskSize)
	}
}

func TestEvtchnUnmaskEncoding(t *testing.T) {
	v := EvtchnUnmask{Port: 0x04030201}
	checkEncoding(t, &v, &EvtchnUnmask{}, seqPattern(4))
}

// struct evtchn_reset, from xen/include/public/event_channel.h.
func TestEvtchnResetLayout(t *testing.T) {
	var v EvtchnReset
	checkLayout(t, "evtchn_reset", unsafe.Sizeof(v), 2, []fieldOff{
		{"dom", unsafe.Offsetof(v.Dom), 0},
	})
	if EvtchnResetSize != 2 {
		t.Errorf("EvtchnResetSize = %d, want 2", EvtchnResetSize)
	}
}

func TestEvtchnResetEncoding(t *testing.T) {
	v := EvtchnReset{Dom: 0x0201}
	checkEncoding(t, &v, &EvtchnReset{}, seqPattern(2))
}

// struct evtchn_init_control, from xen/include/public/event_channel.h.
func TestEvtchnInitControlLayout(t *testing.T) {
	var v EvtchnInitControl
	checkLayout(t, "evtchn_init_control", unsafe.Sizeof(v), 24, []fieldOff{
		{"control_gfn", unsafe.Offsetof(v.ControlGFN), 0},
		{"offset", unsafe.Offsetof(v.Offset), 8},
		{"vcpu", unsafe.Offsetof(v.VCPU), 12},
		{"link_bits", unsafe.Offsetof(v.LinkBits), 16},
		{"_pad", unsafe.Offsetof(v.Pad), 17},
	})
	if EvtchnInitControlSize != 24 {
		t.Errorf("EvtchnInitControlSize = %d, want 24", EvtchnInitControlSize)
	}
}

func TestEvtchnInitControlEncoding(t *testing.T) {
	v := EvtchnInitControl{ControlGFN: 0x0807060504030201, Offset: 0x0c0b0a09, VCPU: 0x100f0e0d, LinkBits: 0x11, Pad: [7]uint8{0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}}
	checkEncoding(t, &v, &EvtchnInitControl{}, seqPattern(24))
}

// struct evtchn_expand_array, from xen/include/public/event_channel.h.
func TestEvtchnExpandArrayLayout(t *testing.T) {
	var v EvtchnExpandArray
	checkLayout(t, "evtchn_expand_array", unsafe.Sizeof(v), 8, []fieldOff{
		{"array_gfn", unsafe.Offsetof(v.ArrayGFN), 0},
	})
	if EvtchnExpandArraySize != 8 {
		t.Errorf("EvtchnExpandArraySize = %d, want 8", EvtchnExpandArraySize)
	}
}

func TestEvtchnExpandArrayEncoding(t *testing.T) {
	v := EvtchnExpandArray{ArrayGFN: 0x0807060504030201}
	checkEncoding(t, &v, &EvtchnExpandArray{}, seqPattern(8))
}

// struct evtchn_set_priority, from xen/include/public/event_channel.h.
func TestEvtchnSetPriorityLayout(t *testing.T) {
	var v EvtchnSetPriority
	checkLayout(t, "evtchn_set_priority", unsafe.Sizeof(v), 8, []fieldOff{
		{"port", unsafe.Offsetof(v.Port), 0},
		{"priority", unsafe.Offsetof(v.Priority), 4},
	})
	if EvtchnSetPrioritySize != 8 {
		t.Errorf("EvtchnSetPrioritySize = %d, want 8", EvtchnSetPrioritySize)
	}
}

func TestEvtchnSetPriorityEncoding(t *testing.T) {
	v := EvtchnSetPriority{Port: 0x04030201, Priority: 0x08070605}
	checkEncoding(t, &v, &EvtchnSetPriority{}, seqPattern(8))
}

// struct evtchn_op, from xen/include/public/event_channel.h.
func TestEvtchnOpLayout(t *testing.T) {
	var v EvtchnOp
	checkLayout(t, "evtchn_op", unsafe.Sizeof(v), 28, []fieldOff{
		{"cmd", unsafe.Offsetof(v.Cmd), 0},
		{"u", unsafe.Offsetof(v.U), 4},
	})
	if EvtchnOpSize != 28 {
		t.Errorf("EvtchnOpSize = %d, want 28", EvtchnOpSize)
	}
}

func TestEvtchnOpEncoding(t *testing.T) {
	v := EvtchnOp{Cmd: 0x04030201, U: [24]byte{5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28}}
	checkEncoding(t, &v, &EvtchnOp{}, seqPattern(28))
}

// struct evtchn_fifo_control_block, from xen/include/public/event_channel.h.
func TestEvtchnFIFOControlBlockLayout(t *testing.T) {
	var v EvtchnFIFOControlBlock
	checkLayout(t, "evtchn_fifo_control_block", unsafe.Sizeof(v), 72, []fieldOff{
		{"ready", unsafe.Offsetof(v.Ready), 0},
		{"_rsvd", unsafe.Offsetof(v.Rsvd), 4},
		{"head", unsafe.Offsetof(v.Head), 8},
	})
	if EvtchnFIFOControlBlockSize != 72 {
		t.Errorf("EvtchnFIFOControlBlockSize = %d, want 72", EvtchnFIFOControlBlockSize)
	}
}

func TestEvtchnFIFOControlBlockEncoding(t *testing.T) {
	v := EvtchnFIFOControlBlock{Ready: 0x04030201, Rsvd: 0x08070605, Head: [16]uint32{0x0c0b0a09, 0x100f0e0d, 0x14131211, 0x18171615, 0x1c1b1a19, 0x201f1e1d, 0x24232221, 0x28272625, 0x2c2b2a29, 0x302f2e2d, 0x34333231, 0x38373635, 0x3c3b3a39, 0x403f3e3d, 0x44434241, 0x48474645}}
	checkEncoding(t, &v, &EvtchnFIFOControlBlock{}, seqPattern(72))
}
