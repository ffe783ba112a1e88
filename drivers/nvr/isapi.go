package nvr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nvrguard/nvrguard/drivers/banner"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// ParseISAPIChannels reads a Hikvision InputProxyChannelList (GET
// /ISAPI/ContentMgmt/InputProxy/channels) as XML, as xmltodict-style JSON,
// or as the Python repr of that JSON a Home Assistant debug log prints
// (possibly cut off: the complete channels are kept). Elements are matched
// by local name whatever the namespace; channels are counted by iterating
// them, never from the size attribute. An empty list is not an error.
func ParseISAPIChannels(b []byte) ([]Channel, error) {
	root, _, err := parseDocument(b)
	if err != nil {
		return nil, fmt.Errorf("nvr: ISAPI channel list: %w", err)
	}
	return isapiChannels(root)
}

func isapiChannels(root *node) ([]Channel, error) {
	var elems []*node
	lists := root.find("InputProxyChannelList")
	for _, l := range lists {
		elems = append(elems, l.all("InputProxyChannel")...)
	}
	if len(lists) == 0 {
		elems = root.find("InputProxyChannel")
		if len(elems) == 0 && root.local == "" {
			// A bare list of channels (xmltodict's InputProxyChannel value).
			for _, k := range root.kids {
				if k.child("sourceInputPortDescriptor") != nil {
					elems = append(elems, k)
				}
			}
		}
		if len(elems) == 0 {
			return nil, errors.New("nvr: ISAPI channel list: no InputProxyChannelList in this answer")
		}
	}
	out := make([]Channel, 0, len(elems))
	for _, e := range elems {
		out = append(out, isapiChannel(e))
	}
	return out, nil
}

func isapiChannel(e *node) Channel {
	n, _ := strconv.Atoi(e.value("id"))
	if n < 0 {
		n = 0
	}
	d := e.child("sourceInputPortDescriptor")
	proto := d.value("proxyProtocol")
	if proto == "" {
		proto = d.value("adminProtocol")
	}
	b := newChannel(n, proto)
	if strings.EqualFold(proto, "HIKVISION") {
		b.add(identity.FieldProtocol, TellHikvisionSDKChannel)
	}
	switch {
	case d.value("ipAddress") != "":
		b.address(d.value("ipAddress"))
	case d.value("hostName") != "":
		b.address(d.value("hostName"))
	case d.value("ipv6Address") != "":
		b.address(d.value("ipv6Address"))
	}
	b.add(identity.FieldManufacturer, d.value("manufacturer"))
	b.model(d.value("model"))
	b.serial(d.value("serialNumber"))
	b.add(identity.FieldFirmware, d.value("firmwareVersion"))
	b.mac(d.value("macAddress"))
	b.add(FieldDeviceType, d.value("deviceTypeName"))
	b.add(FieldChannelName, e.value("name"))
	return b.done()
}

// ParseISAPIChannelStatus reads an InputProxyChannelStatusList (GET
// .../channels/status) or one InputProxyChannelStatus, in XML, JSON or
// Python repr. online=true/false is taken as said; without it,
// chanDetectResult "connect" is online, the failure words of the ISAPI
// guide are offline, and anything else is unknown.
func ParseISAPIChannelStatus(b []byte) ([]ChannelStatus, error) {
	root, _, err := parseDocument(b)
	if err != nil {
		return nil, fmt.Errorf("nvr: ISAPI channel status: %w", err)
	}
	elems := root.find("InputProxyChannelStatus")
	if len(elems) == 0 && len(root.find("InputProxyChannelStatusList")) == 0 {
		return nil, errors.New("nvr: ISAPI channel status: no InputProxyChannelStatus in this answer")
	}
	out := make([]ChannelStatus, 0, len(elems))
	for _, e := range elems {
		n, err := strconv.Atoi(e.value("id"))
		if err != nil || n <= 0 {
			continue
		}
		s := ChannelStatus{Number: n, State: identity.Clean(e.value("chanDetectResult"))}
		switch strings.ToLower(e.value("online")) {
		case "true":
			s.Online = LiveOnline
		case "false":
			s.Online = LiveOffline
		default:
			s.Online = detectLiveness(s.State)
		}
		out = append(out, s)
	}
	return out, nil
}

// offlineResults are the chanDetectResult words of the ISAPI guide that
// say the channel is not streaming (NVR.md 1.3).
var offlineResults = map[string]bool{
	"overSysBandwidth": true, "domainError": true, "ipcStreamFail": true, "cipAddrConflictWithDev": true,
	"ipAddrConflicWithIpc": true, "errorUserNameOrPasswd": true, "netUnreachable": true, "unknownError": true,
	"notExist": true, "ipcStreamTypeNotSupport": true, "ipcResolutionNotSupport": true,
}

func detectLiveness(result string) Liveness {
	switch {
	case result == "connect" || result == "chacnNoError":
		return LiveOnline
	case offlineResults[result]:
		return LiveOffline
	}
	return LiveUnknown
}

// ParseISAPIDeviceInfo reads an ISAPI DeviceInfo (GET
// /ISAPI/System/deviceInfo) in XML, JSON or Python repr into the
// recorder's (or a camera's) identity, with the protocol tell package
// banner records for the same document: "hikvision-isapi-deviceinfo" in a
// Hikvision namespace, "deviceinfo-xml" otherwise.
func ParseISAPIDeviceInfo(b []byte) (identity.Identity, error) {
	root, _, err := parseDocument(b)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("nvr: ISAPI deviceInfo: %w", err)
	}
	di := root.find("DeviceInfo")
	var d *node
	switch {
	case len(di) > 0:
		d = di[0]
	case root.local == "" && (root.child("model") != nil || root.child("serialNumber") != nil) && root.child("deviceType") != nil:
		d = root // the DeviceInfo's content printed without its element
	default:
		return identity.Identity{}, errors.New("nvr: ISAPI deviceInfo: no DeviceInfo in this answer")
	}
	id := identity.Identity{Source: identity.SourceNVR}
	addDeviceInfo(&id, d)
	return id, nil
}

// addDeviceInfo records a DeviceInfo element the way package banner does.
func addDeviceInfo(id *identity.Identity, d *node) {
	ns := d.ns()
	tell := banner.TellDeviceInfoXML
	if isISAPINamespace(ns) {
		tell = banner.TellISAPIDeviceInfo
	}
	id.Add(identity.FieldProtocol, tell)
	id.Add(identity.FieldXMLNS, ns)
	id.Add(identity.FieldManufacturer, d.value("manufacturer"))
	id.Add(identity.FieldModel, d.value("model"))
	id.Add(identity.FieldSerial, d.value("serialNumber"))
	if m := identity.NormalizeMAC(d.value("macAddress")); m != "" {
		id.MAC = m
		id.Add(identity.FieldMAC, m)
	}
	fw := d.value("firmwareVersion")
	if date := d.value("firmwareReleasedDate"); fw != "" && date != "" {
		fw += " " + date
	}
	id.Add(identity.FieldFirmware, fw)
	id.Add(identity.FieldName, d.value("deviceName"))
	id.Add(identity.FieldDeviceClass, d.value("deviceType"))
	id.Add(banner.FieldOEMCode, d.value("OEMCode"))
	id.Add(identity.FieldUUID, d.value("deviceID"))
	id.Add(banner.FieldHardwareVersion, d.value("hardwareVersion"))
	id.Add(banner.FieldSystemContact, d.value("systemContact"))
}

// isISAPINamespace reports the Hikvision ISAPI schema namespaces (the same
// test as package banner's).
func isISAPINamespace(ns string) bool {
	s := strings.ToLower(ns)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	return strings.HasPrefix(s, "www.hikvision.com/ver") || strings.HasPrefix(s, "www.isapi.org/ver")
}

// Lock is the lock state a recorder reports with a refusal: Hikvision's
// 401 userCheck body (lockStatus, unlockTime, retryLoginTime) or Dahua's
// RPC error params (remainLockSecond, remainLoginTimes).
type Lock struct {
	Locked      bool          // the account or address is locked now
	UnlockIn    time.Duration // time left until the recorder unlocks (0: not said)
	RetriesLeft int           // attempts left before a lock; -1 when not said
}

// maxUnlock caps a reported unlock time: a hostile or broken recorder
// cannot park the gateway for years.
const maxUnlock = 7 * 24 * time.Hour

// ParseISAPILock reads the body of an ISAPI 401 (<userCheck> with
// statusValue/statusString, and on locking firmware lockStatus, unlockTime
// in seconds and retryLoginTime). ok is false when the body is not a
// userCheck document.
func ParseISAPILock(b []byte) (l Lock, ok bool) {
	l.RetriesLeft = -1
	root, err := decodeXML(trimBody(b))
	if err != nil || (root.local != "userCheck" && root.local != "ResponseStatus") {
		return l, false
	}
	if strings.EqualFold(root.value("lockStatus"), "lock") {
		l.Locked = true
	}
	if s, err := strconv.ParseInt(root.value("unlockTime"), 10, 64); err == nil && s > 0 {
		l.UnlockIn = seconds(s)
	}
	if n, err := strconv.Atoi(root.value("retryLoginTime")); err == nil && n >= 0 {
		l.RetriesLeft = n
	}
	if l.UnlockIn > 0 && root.value("lockStatus") == "" {
		l.Locked = true // an unlock time only comes with a lock
	}
	return l, true
}

// seconds turns a device-reported count of seconds into a duration, capped
// at maxUnlock.
func seconds(s int64) time.Duration {
	if s <= 0 {
		return 0
	}
	if s > int64(maxUnlock/time.Second) {
		return maxUnlock
	}
	return time.Duration(s) * time.Second
}

func trimBody(b []byte) []byte {
	if len(b) > MaxBody {
		return b[:0]
	}
	return b
}
