package xen

// The xenstore wire protocol and shared ring page
// (xen/include/public/io/xs_wire.h), and the xenbus device states
// (xen/include/public/io/xenbus.h).
//
// A message is an XsdSockmsg header followed by Len bytes of payload,
// usually NUL-terminated strings. Requests go through Req from ReqProd,
// replies and watch events come back through Rsp; indexes are free-running
// uint32 counters masked with MaskXenstoreIdx.

// Message types (enum xsd_sockmsg_type in xs_wire.h), XsdSockmsg.Type.
const (
	// XSControl is XS_CONTROL (alias XS_DEBUG): xenstored control commands.
	XSControl = 0
	// XSDebug is XS_DEBUG, the old name of XS_CONTROL.
	XSDebug = XSControl
	// XSDirectory is XS_DIRECTORY: list a node's children.
	XSDirectory = 1
	// XSRead is XS_READ: read a node's value.
	XSRead = 2
	// XSGetPerms is XS_GET_PERMS.
	XSGetPerms = 3
	// XSWatch is XS_WATCH: path and token; events arrive as XS_WATCH_EVENT.
	XSWatch = 4
	// XSUnwatch is XS_UNWATCH.
	XSUnwatch = 5
	// XSTransactionStart is XS_TRANSACTION_START: replies with the id.
	XSTransactionStart = 6
	// XSTransactionEnd is XS_TRANSACTION_END: payload "T" commits, "F" aborts.
	XSTransactionEnd = 7
	// XSIntroduce is XS_INTRODUCE (dom0): tell xenstored about a domain.
	XSIntroduce = 8
	// XSRelease is XS_RELEASE (dom0).
	XSRelease = 9
	// XSGetDomainPath is XS_GET_DOMAIN_PATH: "/local/domain/<id>".
	XSGetDomainPath = 10
	// XSWrite is XS_WRITE: path NUL value (the value is not NUL-terminated).
	XSWrite = 11
	// XSMkdir is XS_MKDIR.
	XSMkdir = 12
	// XSRm is XS_RM.
	XSRm = 13
	// XSSetPerms is XS_SET_PERMS.
	XSSetPerms = 14
	// XSWatchEvent is XS_WATCH_EVENT: an unsolicited path NUL token.
	XSWatchEvent = 15
	// XSError is XS_ERROR: the reply to a failed request; the payload is an
	// error name from the XsdErrors table, NUL-terminated.
	XSError = 16
	// XSIsDomainIntroduced is XS_IS_DOMAIN_INTRODUCED.
	XSIsDomainIntroduced = 17
	// XSResume is XS_RESUME.
	XSResume = 18
	// XSSetTarget is XS_SET_TARGET.
	XSSetTarget = 19
	// XSRestrict was XS_RESTRICT, removed from xs_wire.h; 20 stays unused.
	XSRestrict = 20
	// XSResetWatches is XS_RESET_WATCHES (XS_SET_TARGET + 2).
	XSResetWatches = 21
	// XSDirectoryPart is XS_DIRECTORY_PART: a directory listing in parts.
	XSDirectoryPart = 22
	// XSGetFeature is XS_GET_FEATURE.
	XSGetFeature = 23
	// XSSetFeature is XS_SET_FEATURE.
	XSSetFeature = 24
	// XSGetQuota is XS_GET_QUOTA.
	XSGetQuota = 25
	// XSSetQuota is XS_SET_QUOTA.
	XSSetQuota = 26
	// XSTypeCount is XS_TYPE_COUNT: message types are below this.
	XSTypeCount = 27
	// XSInvalid is XS_INVALID: guaranteed never to be a valid type.
	XSInvalid = 0xffff
)

// xsTypeNames holds the name after XS_ of each message type.
var xsTypeNames = [XSTypeCount]string{
	"CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH",
	"TRANSACTION_START", "TRANSACTION_END", "INTRODUCE", "RELEASE",
	"GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS", "WATCH_EVENT",
	"ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "",
	"RESET_WATCHES", "DIRECTORY_PART", "GET_FEATURE", "SET_FEATURE",
	"GET_QUOTA", "SET_QUOTA",
}

// XSTypeName returns the name of a message type without its XS_ prefix
// ("READ", "WATCH_EVENT", ...), or "" for a number xs_wire.h does not
// assign.
func XSTypeName(t uint32) string {
	if t >= XSTypeCount {
		return ""
	}
	return xsTypeNames[t]
}

// Parts of an XS_WATCH_EVENT payload (enum xs_watch_type in xs_wire.h).
const (
	// XSWatchPath is XS_WATCH_PATH: the first string is the path.
	XSWatchPath = 0
	// XSWatchToken is XS_WATCH_TOKEN: the second string is the token.
	XSWatchToken = 1
)

// XsdError is one entry of xs_wire.h's xsd_errors table: an errno and the
// name xenstored puts in an XS_ERROR payload for it.
type XsdError struct {
	Errno Errno  // the error number (Linux's values, the same as Xen's)
	Name  string // the string on the wire, such as "ENOENT"
}

// XsdErrors is the xsd_errors table of xs_wire.h, in its order: the error
// names a XS_ERROR reply may carry. New errors are only ever appended.
var XsdErrors = [...]XsdError{
	{EINVAL, "EINVAL"},
	{EACCES, "EACCES"},
	{EEXIST, "EEXIST"},
	{EISDIR, "EISDIR"},
	{ENOENT, "ENOENT"},
	{ENOMEM, "ENOMEM"},
	{ENOSPC, "ENOSPC"},
	{EIO, "EIO"},
	{ENOTEMPTY, "ENOTEMPTY"},
	{ENOSYS, "ENOSYS"},
	{EROFS, "EROFS"},
	{EBUSY, "EBUSY"},
	{EAGAIN, "EAGAIN"},
	{EISCONN, "EISCONN"},
	{E2BIG, "E2BIG"},
	{EPERM, "EPERM"},
}

// XsdErrorName returns the XS_ERROR payload name for e. An errno the table
// lacks maps to "EINVAL", as in xenstored (tools/xenstored/core.c).
func XsdErrorName(e Errno) string {
	for _, x := range XsdErrors {
		if x.Errno == e {
			return x.Name
		}
	}
	return "EINVAL"
}

// XsdErrorErrno returns the errno for an XS_ERROR payload name (without
// its NUL), and false if the table does not list it.
func XsdErrorErrno(name string) (Errno, bool) {
	for _, x := range XsdErrors {
		if x.Name == name {
			return x.Errno, true
		}
	}
	return 0, false
}

// Limits and ring geometry (xs_wire.h).
const (
	// XenstoreRingSize is XENSTORE_RING_SIZE: bytes in each of Req and Rsp.
	XenstoreRingSize = 1024
	// XenstorePayloadMax is XENSTORE_PAYLOAD_MAX: the largest Len.
	XenstorePayloadMax = 4096
	// XenstoreAbsPathMax is XENSTORE_ABS_PATH_MAX.
	XenstoreAbsPathMax = 3072
	// XenstoreRelPathMax is XENSTORE_REL_PATH_MAX.
	XenstoreRelPathMax = 2048
)

// MaskXenstoreIdx is MASK_XENSTORE_IDX: ring index idx as a byte offset in
// Req or Rsp.
func MaskXenstoreIdx(idx uint32) uint32 { return idx & (XenstoreRingSize - 1) }

// Feature bits of XenstoreDomainInterface.ServerFeatures
// (XENSTORE_SERVER_FEATURE_* in xs_wire.h).
const (
	// XenstoreServerFeatureReconnection is
	// XENSTORE_SERVER_FEATURE_RECONNECTION: the ring can be reconnected.
	XenstoreServerFeatureReconnection = 1
	// XenstoreServerFeatureError is XENSTORE_SERVER_FEATURE_ERROR: the
	// Error field is used.
	XenstoreServerFeatureError = 2
	// XenstoreServerFeatureWatchdepth is XENSTORE_SERVER_FEATURE_WATCHDEPTH:
	// XS_WATCH takes a depth.
	XenstoreServerFeatureWatchdepth = 4
	// XenstoreServerFeatureDomidAny is XENSTORE_SERVER_FEATURE_DOMID_ANY:
	// DOMID_ANY may appear in node permissions.
	XenstoreServerFeatureDomidAny = 8
)

// Values of XenstoreDomainInterface.Connection and Error (xs_wire.h).
const (
	// XenstoreConnected is XENSTORE_CONNECTED: the steady state (and the
	// value of a zeroed page).
	XenstoreConnected = 0
	// XenstoreReconnect is XENSTORE_RECONNECT: reconnection in progress.
	XenstoreReconnect = 1

	// XenstoreErrorNone is XENSTORE_ERROR_NONE.
	XenstoreErrorNone = 0
	// XenstoreErrorComm is XENSTORE_ERROR_COMM: communication problem.
	XenstoreErrorComm = 1
	// XenstoreErrorRingidx is XENSTORE_ERROR_RINGIDX: invalid ring index.
	XenstoreErrorRingidx = 2
	// XenstoreErrorProto is XENSTORE_ERROR_PROTO: protocol violation
	// (payload too long).
	XenstoreErrorProto = 3
)

// Xenbus device states (enum xenbus_state in io/xenbus.h), the values of a
// frontend's or backend's "state" node.
const (
	// XenbusStateUnknown is XenbusStateUnknown.
	XenbusStateUnknown = 0
	// XenbusStateInitialising is XenbusStateInitialising.
	XenbusStateInitialising = 1
	// XenbusStateInitWait is XenbusStateInitWait: early setup done, waiting
	// for the peer or hotplug scripts.
	XenbusStateInitWait = 2
	// XenbusStateInitialised is XenbusStateInitialised: waiting for the
	// peer to connect.
	XenbusStateInitialised = 3
	// XenbusStateConnected is XenbusStateConnected.
	XenbusStateConnected = 4
	// XenbusStateClosing is XenbusStateClosing: closing because of an error
	// or an unplug.
	XenbusStateClosing = 5
	// XenbusStateClosed is XenbusStateClosed.
	XenbusStateClosed = 6
	// XenbusStateReconfiguring is XenbusStateReconfiguring.
	XenbusStateReconfiguring = 7
	// XenbusStateReconfigured is XenbusStateReconfigured.
	XenbusStateReconfigured = 8
)

// Encoded sizes and offsets of the xenstore structures.
const (
	XsdSockmsgSize               = 16   // struct xsd_sockmsg
	XenstoreDomainInterfaceSize  = 2080 // struct xenstore_domain_interface
	XenstoreReqOffset            = 0    // offsetof(xenstore_domain_interface, req)
	XenstoreRspOffset            = 1024 // offsetof(xenstore_domain_interface, rsp)
	XenstoreReqConsOffset        = 2048 // offsetof(xenstore_domain_interface, req_cons)
	XenstoreReqProdOffset        = 2052 // offsetof(xenstore_domain_interface, req_prod)
	XenstoreRspConsOffset        = 2056 // offsetof(xenstore_domain_interface, rsp_cons)
	XenstoreRspProdOffset        = 2060 // offsetof(xenstore_domain_interface, rsp_prod)
	XenstoreServerFeaturesOffset = 2064 // offsetof(xenstore_domain_interface, server_features)
	XenstoreConnectionOffset     = 2068 // offsetof(xenstore_domain_interface, connection)
	XenstoreErrorOffset          = 2072 // offsetof(xenstore_domain_interface, error)
	XenstoreEvtchnPortOffset     = 2076 // offsetof(xenstore_domain_interface, evtchn_port)
)

// XsdSockmsg is struct xsd_sockmsg (16 bytes), the header of every
// xenstore message.
type XsdSockmsg struct {
	Type  uint32 // XS_*
	ReqID uint32 // request id, echoed in the reply
	TxID  uint32 // transaction id, 0 outside a transaction
	Len   uint32 // payload bytes that follow, at most XenstorePayloadMax
}

// Encode writes m into b[:XsdSockmsgSize]. It panics if b is shorter.
func (m *XsdSockmsg) Encode(b []byte) {
	_ = b[XsdSockmsgSize-1]
	le.PutUint32(b[0:], m.Type)
	le.PutUint32(b[4:], m.ReqID)
	le.PutUint32(b[8:], m.TxID)
	le.PutUint32(b[12:], m.Len)
}

// Decode reads m from the first XsdSockmsgSize bytes of b, or returns an
// error if b is shorter.
func (m *XsdSockmsg) Decode(b []byte) error {
	if len(b) < XsdSockmsgSize {
		return shortError("xsd_sockmsg", XsdSockmsgSize, len(b))
	}
	m.Type = le.Uint32(b[0:])
	m.ReqID = le.Uint32(b[4:])
	m.TxID = le.Uint32(b[8:])
	m.Len = le.Uint32(b[12:])
	return nil
}

// AppendBinary appends the encoding of m to b (encoding.BinaryAppender).
func (m *XsdSockmsg) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XsdSockmsgSize, m), nil
}

// MarshalBinary returns the XsdSockmsgSize-byte encoding of m.
func (m *XsdSockmsg) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes m from b, which must be exactly XsdSockmsgSize
// bytes long.
func (m *XsdSockmsg) UnmarshalBinary(b []byte) error {
	if err := exactLength("xsd_sockmsg", XsdSockmsgSize, b); err != nil {
		return err
	}
	return m.Decode(b)
}

// XenstoreDomainInterface is struct xenstore_domain_interface (2080
// bytes), at the start of the page HVM_PARAM_STORE_PFN names.
type XenstoreDomainInterface struct {
	Req            [XenstoreRingSize]byte // requests to xenstored
	Rsp            [XenstoreRingSize]byte // replies and watch events
	ReqCons        uint32                 // advanced by xenstored
	ReqProd        uint32                 // advanced by the guest
	RspCons        uint32                 // advanced by the guest
	RspProd        uint32                 // advanced by xenstored
	ServerFeatures uint32                 // XENSTORE_SERVER_FEATURE_* bits
	Connection     uint32                 // XENSTORE_CONNECTED or XENSTORE_RECONNECT
	Error          uint32                 // XENSTORE_ERROR_*
	EvtchnPort     uint32                 // the guest's port for xenstored, if non-zero (newer Xen)
}

// Encode writes x into b[:XenstoreDomainInterfaceSize]. It panics if b is
// shorter.
func (x *XenstoreDomainInterface) Encode(b []byte) {
	_ = b[XenstoreDomainInterfaceSize-1]
	copy(b[0:1024], x.Req[:])
	copy(b[1024:2048], x.Rsp[:])
	le.PutUint32(b[2048:], x.ReqCons)
	le.PutUint32(b[2052:], x.ReqProd)
	le.PutUint32(b[2056:], x.RspCons)
	le.PutUint32(b[2060:], x.RspProd)
	le.PutUint32(b[2064:], x.ServerFeatures)
	le.PutUint32(b[2068:], x.Connection)
	le.PutUint32(b[2072:], x.Error)
	le.PutUint32(b[2076:], x.EvtchnPort)
}

// Decode reads x from the first XenstoreDomainInterfaceSize bytes of b, or
// returns an error if b is shorter.
func (x *XenstoreDomainInterface) Decode(b []byte) error {
	if len(b) < XenstoreDomainInterfaceSize {
		return shortError("xenstore_domain_interface", XenstoreDomainInterfaceSize, len(b))
	}
	copy(x.Req[:], b[0:1024])
	copy(x.Rsp[:], b[1024:2048])
	x.ReqCons = le.Uint32(b[2048:])
	x.ReqProd = le.Uint32(b[2052:])
	x.RspCons = le.Uint32(b[2056:])
	x.RspProd = le.Uint32(b[2060:])
	x.ServerFeatures = le.Uint32(b[2064:])
	x.Connection = le.Uint32(b[2068:])
	x.Error = le.Uint32(b[2072:])
	x.EvtchnPort = le.Uint32(b[2076:])
	return nil
}

// AppendBinary appends the encoding of x to b (encoding.BinaryAppender).
func (x *XenstoreDomainInterface) AppendBinary(b []byte) ([]byte, error) {
	return appendEncoded(b, XenstoreDomainInterfaceSize, x), nil
}

// MarshalBinary returns the XenstoreDomainInterfaceSize-byte encoding of x.
func (x *XenstoreDomainInterface) MarshalBinary() ([]byte, error) { return x.AppendBinary(nil) }

// UnmarshalBinary decodes x from b, which must be exactly
// XenstoreDomainInterfaceSize bytes long.
func (x *XenstoreDomainInterface) UnmarshalBinary(b []byte) error {
	if err := exactLength("xenstore_domain_interface", XenstoreDomainInterfaceSize, b); err != nil {
		return err
	}
	return x.Decode(b)
}
