package xen

import "testing"

// The compat layouts, checked two ways. The offsets below are the i386 C
// layout: computed by hand from the rules in compat.go and confirmed with
// gcc -m32 on C declarations of the structures (offsetof and sizeof, read
// from the generated assembly). TestCompatOffsets sets one field at a time
// to all ones and checks which bytes Encode writes; the Encoding tests fill
// every field with the bytes of its own offsets (seqPattern) and round-trip.

type compatField struct {
	name      string
	off, size int
	set       func(v any) // sets the field of *CompatX v to all ones
}

type compatLayout struct {
	name   string
	size   int
	fresh  func() binaryCodec
	fields []compatField
}

var compatLayouts = []compatLayout{
	{"compat_sched_poll", 16, func() binaryCodec { return new(CompatSchedPoll) }, []compatField{
		{"Ports", 0, 4, func(v any) { ones(&v.(*CompatSchedPoll).Ports) }},
		{"NrPorts", 4, 4, func(v any) { ones(&v.(*CompatSchedPoll).NrPorts) }},
		{"Timeout", 8, 8, func(v any) { ones(&v.(*CompatSchedPoll).Timeout) }},
	}},
	{"compat_xen_memory_reservation", 20, func() binaryCodec { return new(CompatXenMemoryReservation) }, []compatField{
		{"ExtentStart", 0, 4, func(v any) { ones(&v.(*CompatXenMemoryReservation).ExtentStart) }},
		{"NrExtents", 4, 4, func(v any) { ones(&v.(*CompatXenMemoryReservation).NrExtents) }},
		{"ExtentOrder", 8, 4, func(v any) { ones(&v.(*CompatXenMemoryReservation).ExtentOrder) }},
		{"MemFlags", 12, 4, func(v any) { ones(&v.(*CompatXenMemoryReservation).MemFlags) }},
		{"DomID", 16, 2, func(v any) { ones(&v.(*CompatXenMemoryReservation).DomID) }},
	}},
	{"compat_xen_add_to_physmap", 16, func() binaryCodec { return new(CompatXenAddToPhysmap) }, []compatField{
		{"DomID", 0, 2, func(v any) { ones(&v.(*CompatXenAddToPhysmap).DomID) }},
		{"Size", 2, 2, func(v any) { ones(&v.(*CompatXenAddToPhysmap).Size) }},
		{"Space", 4, 4, func(v any) { ones(&v.(*CompatXenAddToPhysmap).Space) }},
		{"Idx", 8, 4, func(v any) { ones(&v.(*CompatXenAddToPhysmap).Idx) }},
		{"GPFN", 12, 4, func(v any) { ones(&v.(*CompatXenAddToPhysmap).GPFN) }},
	}},
	{"compat_xen_memory_map", 8, func() binaryCodec { return new(CompatXenMemoryMap) }, []compatField{
		{"NrEntries", 0, 4, func(v any) { ones(&v.(*CompatXenMemoryMap).NrEntries) }},
		{"Buffer", 4, 4, func(v any) { ones(&v.(*CompatXenMemoryMap).Buffer) }},
	}},
	{"compat_vcpu_runstate_info", 44, func() binaryCodec { return new(CompatVCPURunstateInfo) }, []compatField{
		{"State", 0, 4, func(v any) { ones(&v.(*CompatVCPURunstateInfo).State) }},
		{"StateEntryTime", 4, 8, func(v any) { ones(&v.(*CompatVCPURunstateInfo).StateEntryTime) }},
		{"Time[0]", 12, 8, func(v any) { ones(&v.(*CompatVCPURunstateInfo).Time[0]) }},
		{"Time[1]", 20, 8, func(v any) { ones(&v.(*CompatVCPURunstateInfo).Time[1]) }},
		{"Time[2]", 28, 8, func(v any) { ones(&v.(*CompatVCPURunstateInfo).Time[2]) }},
		{"Time[3]", 36, 8, func(v any) { ones(&v.(*CompatVCPURunstateInfo).Time[3]) }},
	}},
	{"compat_vcpu_set_singleshot_timer", 12, func() binaryCodec { return new(CompatVCPUSetSingleshotTimer) }, []compatField{
		{"TimeoutAbsNs", 0, 8, func(v any) { ones(&v.(*CompatVCPUSetSingleshotTimer).TimeoutAbsNs) }},
		{"Flags", 8, 4, func(v any) { ones(&v.(*CompatVCPUSetSingleshotTimer).Flags) }},
	}},
	{"compat_gnttab_setup_table", 16, func() binaryCodec { return new(CompatGnttabSetupTable) }, []compatField{
		{"Dom", 0, 2, func(v any) { ones(&v.(*CompatGnttabSetupTable).Dom) }},
		{"NrFrames", 4, 4, func(v any) { ones(&v.(*CompatGnttabSetupTable).NrFrames) }},
		{"Status", 8, 2, func(v any) { ones(&v.(*CompatGnttabSetupTable).Status) }},
		{"FrameList", 12, 4, func(v any) { ones(&v.(*CompatGnttabSetupTable).FrameList) }},
	}},
	{"compat_gnttab_copy", 24, func() binaryCodec { return new(CompatGnttabCopy) }, []compatField{
		{"Source.U", 0, 4, func(v any) { ones(&v.(*CompatGnttabCopy).Source.U) }},
		{"Source.DomID", 4, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Source.DomID) }},
		{"Source.Offset", 6, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Source.Offset) }},
		{"Dest.U", 8, 4, func(v any) { ones(&v.(*CompatGnttabCopy).Dest.U) }},
		{"Dest.DomID", 12, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Dest.DomID) }},
		{"Dest.Offset", 14, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Dest.Offset) }},
		{"Len", 16, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Len) }},
		{"Flags", 18, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Flags) }},
		{"Status", 20, 2, func(v any) { ones(&v.(*CompatGnttabCopy).Status) }},
	}},
	{"compat_xen_platform_parameters", 4, func() binaryCodec { return new(CompatXenPlatformParameters) }, []compatField{
		{"VirtStart", 0, 4, func(v any) { ones(&v.(*CompatXenPlatformParameters).VirtStart) }},
	}},
}

func TestCompatOffsets(t *testing.T) {
	for _, l := range compatLayouts {
		for _, f := range l.fields {
			v := l.fresh()
			f.set(v)
			b := make([]byte, l.size+4)
			v.Encode(b)
			for i, c := range b {
				inField := i >= f.off && i < f.off+f.size
				if inField && c != 0xff || !inField && c != 0 {
					t.Errorf("%s.%s: byte %d = %#02x; the field should be bytes [%d, %d)", l.name, f.name, i, c, f.off, f.off+f.size)
					break
				}
			}
		}
		if got := len(mustMarshal(t, l.fresh())); got != l.size {
			t.Errorf("sizeof(%s) = %d, want %d", l.name, got, l.size)
		}
	}
}

// ones sets *p to all one bits.
func ones[T ~uint16 | ~uint32 | ~uint64 | ~int16 | ~int32](p *T) { *p = ^T(0) }

func mustMarshal(t *testing.T, v binaryCodec) []byte {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCompatNativeDiffers pins why each compat type exists: its layout is
// not the native one.
func TestCompatNativeDiffers(t *testing.T) {
	pairs := []struct {
		name           string
		compat, native int
	}{
		{"sched_poll", CompatSchedPollSize, SchedPollSize},
		{"xen_memory_reservation", CompatXenMemoryReservationSize, XenMemoryReservationSize},
		{"xen_add_to_physmap", CompatXenAddToPhysmapSize, XenAddToPhysmapSize},
		{"xen_memory_map", CompatXenMemoryMapSize, XenMemoryMapSize},
		{"vcpu_runstate_info", CompatVCPURunstateInfoSize, VCPURunstateInfoSize},
		{"vcpu_set_singleshot_timer", CompatVCPUSetSingleshotTimerSize, VCPUSetSingleshotTimerSize},
		{"gnttab_setup_table", CompatGnttabSetupTableSize, GnttabSetupTableSize},
		{"gnttab_copy", CompatGnttabCopySize, GnttabCopySize},
		{"xen_platform_parameters", CompatXenPlatformParametersSize, XenPlatformParametersSize},
	}
	for _, p := range pairs {
		if p.compat >= p.native {
			t.Errorf("%s: compat %d bytes, native %d", p.name, p.compat, p.native)
		}
	}
}

func TestCompatSchedPollEncoding(t *testing.T) {
	var v CompatSchedPoll
	v.Ports = 0x4030201
	v.NrPorts = 0x8070605
	v.Timeout = 0x100f0e0d0c0b0a09
	checkEncoding(t, &v, &CompatSchedPoll{}, seqPattern(16))
}

func TestCompatXenMemoryReservationEncoding(t *testing.T) {
	var v CompatXenMemoryReservation
	v.ExtentStart = 0x4030201
	v.NrExtents = 0x8070605
	v.ExtentOrder = 0xc0b0a09
	v.MemFlags = 0x100f0e0d
	v.DomID = 0x1211
	checkEncoding(t, &v, &CompatXenMemoryReservation{}, seqPattern(20, [2]int{18, 20}))
}

func TestCompatXenAddToPhysmapEncoding(t *testing.T) {
	var v CompatXenAddToPhysmap
	v.DomID = 0x201
	v.Size = 0x403
	v.Space = 0x8070605
	v.Idx = 0xc0b0a09
	v.GPFN = 0x100f0e0d
	checkEncoding(t, &v, &CompatXenAddToPhysmap{}, seqPattern(16))
}

func TestCompatXenMemoryMapEncoding(t *testing.T) {
	var v CompatXenMemoryMap
	v.NrEntries = 0x4030201
	v.Buffer = 0x8070605
	checkEncoding(t, &v, &CompatXenMemoryMap{}, seqPattern(8))
}

func TestCompatVCPURunstateInfoEncoding(t *testing.T) {
	var v CompatVCPURunstateInfo
	v.State = 0x4030201
	v.StateEntryTime = 0xc0b0a0908070605
	v.Time[0] = 0x14131211100f0e0d
	v.Time[1] = 0x1c1b1a1918171615
	v.Time[2] = 0x24232221201f1e1d
	v.Time[3] = 0x2c2b2a2928272625
	checkEncoding(t, &v, &CompatVCPURunstateInfo{}, seqPattern(44))
}

func TestCompatVCPUSetSingleshotTimerEncoding(t *testing.T) {
	var v CompatVCPUSetSingleshotTimer
	v.TimeoutAbsNs = 0x807060504030201
	v.Flags = 0xc0b0a09
	checkEncoding(t, &v, &CompatVCPUSetSingleshotTimer{}, seqPattern(12))
}

func TestCompatGnttabSetupTableEncoding(t *testing.T) {
	var v CompatGnttabSetupTable
	v.Dom = 0x201
	v.NrFrames = 0x8070605
	v.Status = 0xa09
	v.FrameList = 0x100f0e0d
	checkEncoding(t, &v, &CompatGnttabSetupTable{}, seqPattern(16, [2]int{2, 4}, [2]int{10, 12}))
}

func TestCompatGnttabCopyEncoding(t *testing.T) {
	var v CompatGnttabCopy
	v.Source.U = 0x4030201
	v.Source.DomID = 0x605
	v.Source.Offset = 0x807
	v.Dest.U = 0xc0b0a09
	v.Dest.DomID = 0xe0d
	v.Dest.Offset = 0x100f
	v.Len = 0x1211
	v.Flags = 0x1413
	v.Status = 0x1615
	checkEncoding(t, &v, &CompatGnttabCopy{}, seqPattern(24, [2]int{22, 24}))
}

func TestCompatXenPlatformParametersEncoding(t *testing.T) {
	var v CompatXenPlatformParameters
	v.VirtStart = 0x4030201
	checkEncoding(t, &v, &CompatXenPlatformParameters{}, seqPattern(4))
}
