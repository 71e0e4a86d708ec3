package xen

import (
	"testing"
	"unsafe"
)

// xenstore wire protocol from xen/include/public/io/xs_wire.h; xenbus
// states from xen/include/public/io/xenbus.h.

func TestXenstoreConstants(t *testing.T) {
	checkConsts(t, []constCase{
		{"XS_CONTROL", XSControl, 0},
		{"XS_DEBUG", XSDebug, 0},
		{"XS_DIRECTORY", XSDirectory, 1},
		{"XS_READ", XSRead, 2},
		{"XS_GET_PERMS", XSGetPerms, 3},
		{"XS_WATCH", XSWatch, 4},
		{"XS_UNWATCH", XSUnwatch, 5},
		{"XS_TRANSACTION_START", XSTransactionStart, 6},
		{"XS_TRANSACTION_END", XSTransactionEnd, 7},
		{"XS_INTRODUCE", XSIntroduce, 8},
		{"XS_RELEASE", XSRelease, 9},
		{"XS_GET_DOMAIN_PATH", XSGetDomainPath, 10},
		{"XS_WRITE", XSWrite, 11},
		{"XS_MKDIR", XSMkdir, 12},
		{"XS_RM", XSRm, 13},
		{"XS_SET_PERMS", XSSetPerms, 14},
		{"XS_WATCH_EVENT", XSWatchEvent, 15},
		{"XS_ERROR", XSError, 16},
		{"XS_IS_DOMAIN_INTRODUCED", XSIsDomainIntroduced, 17},
		{"XS_RESUME", XSResume, 18},
		{"XS_SET_TARGET", XSSetTarget, 19},
		{"~XS_RESTRICT (removed)", XSRestrict, 20},
		{"XS_RESET_WATCHES", XSResetWatches, 21},
		{"XS_DIRECTORY_PART", XSDirectoryPart, 22},
		{"XS_GET_FEATURE", XSGetFeature, 23},
		{"XS_SET_FEATURE", XSSetFeature, 24},
		{"XS_GET_QUOTA", XSGetQuota, 25},
		{"XS_SET_QUOTA", XSSetQuota, 26},
		{"XS_TYPE_COUNT", XSTypeCount, 27},
		{"XS_INVALID", XSInvalid, 0xffff},
		{"XS_WATCH_PATH", XSWatchPath, 0},
		{"XS_WATCH_TOKEN", XSWatchToken, 1},
		{"XENSTORE_RING_SIZE", XenstoreRingSize, 1024},
		{"XENSTORE_PAYLOAD_MAX", XenstorePayloadMax, 4096},
		{"XENSTORE_ABS_PATH_MAX", XenstoreAbsPathMax, 3072},
		{"XENSTORE_REL_PATH_MAX", XenstoreRelPathMax, 2048},
		{"XENSTORE_SERVER_FEATURE_RECONNECTION", XenstoreServerFeatureReconnection, 1},
		{"XENSTORE_SERVER_FEATURE_ERROR", XenstoreServerFeatureError, 2},
		{"XENSTORE_SERVER_FEATURE_WATCHDEPTH", XenstoreServerFeatureWatchdepth, 4},
		{"XENSTORE_SERVER_FEATURE_DOMID_ANY", XenstoreServerFeatureDomidAny, 8},
		{"XENSTORE_CONNECTED", XenstoreConnected, 0},
		{"XENSTORE_RECONNECT", XenstoreReconnect, 1},
		{"XENSTORE_ERROR_NONE", XenstoreErrorNone, 0},
		{"XENSTORE_ERROR_COMM", XenstoreErrorComm, 1},
		{"XENSTORE_ERROR_RINGIDX", XenstoreErrorRingidx, 2},
		{"XENSTORE_ERROR_PROTO", XenstoreErrorProto, 3},
		{"XenbusStateUnknown", XenbusStateUnknown, 0},
		{"XenbusStateInitialising", XenbusStateInitialising, 1},
		{"XenbusStateInitWait", XenbusStateInitWait, 2},
		{"XenbusStateInitialised", XenbusStateInitialised, 3},
		{"XenbusStateConnected", XenbusStateConnected, 4},
		{"XenbusStateClosing", XenbusStateClosing, 5},
		{"XenbusStateClosed", XenbusStateClosed, 6},
		{"XenbusStateReconfiguring", XenbusStateReconfiguring, 7},
		{"XenbusStateReconfigured", XenbusStateReconfigured, 8},
		{"offsetof(struct xenstore_domain_interface, req)", XenstoreReqOffset, 0},
		{"offsetof(struct xenstore_domain_interface, rsp)", XenstoreRspOffset, 1024},
		{"offsetof(struct xenstore_domain_interface, req_cons)", XenstoreReqConsOffset, 2048},
		{"offsetof(struct xenstore_domain_interface, req_prod)", XenstoreReqProdOffset, 2052},
		{"offsetof(struct xenstore_domain_interface, rsp_cons)", XenstoreRspConsOffset, 2056},
		{"offsetof(struct xenstore_domain_interface, rsp_prod)", XenstoreRspProdOffset, 2060},
		{"offsetof(struct xenstore_domain_interface, server_features)", XenstoreServerFeaturesOffset, 2064},
		{"offsetof(struct xenstore_domain_interface, connection)", XenstoreConnectionOffset, 2068},
		{"offsetof(struct xenstore_domain_interface, error)", XenstoreErrorOffset, 2072},
		{"offsetof(struct xenstore_domain_interface, evtchn_port)", XenstoreEvtchnPortOffset, 2076},
	})
}

func TestXSTypeName(t *testing.T) {
	for typ, want := range map[uint32]string{
		0: "CONTROL", 1: "DIRECTORY", 2: "READ", 4: "WATCH", 6: "TRANSACTION_START",
		11: "WRITE", 15: "WATCH_EVENT", 16: "ERROR", 19: "SET_TARGET", 20: "",
		21: "RESET_WATCHES", 22: "DIRECTORY_PART", 26: "SET_QUOTA", 27: "", 0xffff: "",
	} {
		if got := XSTypeName(typ); got != want {
			t.Errorf("XSTypeName(%d) = %q, want %q", typ, got, want)
		}
	}
}

// TestXsdErrors pins the table's order and errno values: xs_wire.h lists
// EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY,
// ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM.
func TestXsdErrors(t *testing.T) {
	want := []struct {
		name  string
		errno int
	}{
		{"EINVAL", 22}, {"EACCES", 13}, {"EEXIST", 17}, {"EISDIR", 21},
		{"ENOENT", 2}, {"ENOMEM", 12}, {"ENOSPC", 28}, {"EIO", 5},
		{"ENOTEMPTY", 39}, {"ENOSYS", 38}, {"EROFS", 30}, {"EBUSY", 16},
		{"EAGAIN", 11}, {"EISCONN", 106}, {"E2BIG", 7}, {"EPERM", 1},
	}
	if len(XsdErrors) != len(want) {
		t.Fatalf("%d xsd_errors, want %d", len(XsdErrors), len(want))
	}
	for i, w := range want {
		if XsdErrors[i].Name != w.name || int(XsdErrors[i].Errno) != w.errno || XsdErrors[i].Errno.Name() != w.name {
			t.Errorf("xsd_errors[%d] = %+v, want %s (%d)", i, XsdErrors[i], w.name, w.errno)
		}
	}
	if XsdErrorName(ENOENT) != "ENOENT" || XsdErrorName(ETIMEDOUT) != "EINVAL" {
		t.Errorf("XsdErrorName: %q %q", XsdErrorName(ENOENT), XsdErrorName(ETIMEDOUT))
	}
	if e, ok := XsdErrorErrno("EACCES"); !ok || e != EACCES {
		t.Errorf("XsdErrorErrno(EACCES) = %v, %v", e, ok)
	}
	if _, ok := XsdErrorErrno("ETIMEDOUT"); ok {
		t.Errorf("XsdErrorErrno(ETIMEDOUT) found")
	}
}

func TestMaskXenstoreIdx(t *testing.T) {
	for idx, want := range map[uint32]uint32{0: 0, 1023: 1023, 1024: 0, 1025: 1, 0xffffffff: 1023} {
		if got := MaskXenstoreIdx(idx); got != want {
			t.Errorf("MaskXenstoreIdx(%#x) = %d, want %d", idx, got, want)
		}
	}
}

func TestXenstoreDomainInterfaceEncoding(t *testing.T) {
	var x XenstoreDomainInterface
	x.Req[0], x.Req[1023] = 'q', 'Q'
	x.Rsp[0], x.Rsp[1023] = 'r', 'R'
	x.ReqCons, x.ReqProd, x.RspCons, x.RspProd = 0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10
	x.ServerFeatures = XenstoreServerFeatureReconnection | XenstoreServerFeatureError
	x.Connection, x.Error, x.EvtchnPort = XenstoreReconnect, XenstoreErrorProto, 0x11121314

	want := make([]byte, XenstoreDomainInterfaceSize)
	want[0], want[1023] = 'q', 'Q'
	want[1024], want[2047] = 'r', 'R'
	copy(want[2048:], []byte{
		4, 3, 2, 1, 8, 7, 6, 5, 0x0c, 0x0b, 0x0a, 9, 0x10, 0x0f, 0x0e, 0x0d,
		3, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0x14, 0x13, 0x12, 0x11,
	})
	checkEncoding(t, &x, &XenstoreDomainInterface{}, want)
}

// struct xsd_sockmsg, from xen/include/public/io/xs_wire.h.
func TestXsdSockmsgLayout(t *testing.T) {
	var v XsdSockmsg
	checkLayout(t, "xsd_sockmsg", unsafe.Sizeof(v), 16, []fieldOff{
		{"type", unsafe.Offsetof(v.Type), 0},
		{"req_id", unsafe.Offsetof(v.ReqID), 4},
		{"tx_id", unsafe.Offsetof(v.TxID), 8},
		{"len", unsafe.Offsetof(v.Len), 12},
	})
	if XsdSockmsgSize != 16 {
		t.Errorf("XsdSockmsgSize = %d, want 16", XsdSockmsgSize)
	}
}

func TestXsdSockmsgEncoding(t *testing.T) {
	v := XsdSockmsg{Type: 0x04030201, ReqID: 0x08070605, TxID: 0x0c0b0a09, Len: 0x100f0e0d}
	checkEncoding(t, &v, &XsdSockmsg{}, seqPattern(16))
}

// struct xenstore_domain_interface, from xen/include/public/io/xs_wire.h.
func TestXenstoreDomainInterfaceLayout(t *testing.T) {
	var v XenstoreDomainInterface
	checkLayout(t, "xenstore_domain_interface", unsafe.Sizeof(v), 2080, []fieldOff{
		{"req", unsafe.Offsetof(v.Req), 0},
		{"rsp", unsafe.Offsetof(v.Rsp), 1024},
		{"req_cons", unsafe.Offsetof(v.ReqCons), 2048},
		{"req_prod", unsafe.Offsetof(v.ReqProd), 2052},
		{"rsp_cons", unsafe.Offsetof(v.RspCons), 2056},
		{"rsp_prod", unsafe.Offsetof(v.RspProd), 2060},
		{"server_features", unsafe.Offsetof(v.ServerFeatures), 2064},
		{"connection", unsafe.Offsetof(v.Connection), 2068},
		{"error", unsafe.Offsetof(v.Error), 2072},
		{"evtchn_port", unsafe.Offsetof(v.EvtchnPort), 2076},
	})
	if XenstoreDomainInterfaceSize != 2080 {
		t.Errorf("XenstoreDomainInterfaceSize = %d, want 2080", XenstoreDomainInterfaceSize)
	}
}
