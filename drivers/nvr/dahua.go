package nvr

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/banner"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// maxLines bounds the key=value lines of one answer.
const maxLines = 1 << 16

// kvLine is one key=value line of a Dahua CGI answer.
type kvLine struct{ key, value string }

// splitKV splits a Dahua CGI answer into key=value lines (CRLF or LF; the
// last line may lack its end). Blank lines and '#' comment lines are
// skipped; a credential line (Password=, UserName=) is dropped here, so it
// never reaches a caller. An "Error" answer, or a line without '=', is an
// error that does not quote the input.
func splitKV(b []byte) ([]kvLine, error) {
	if len(b) > MaxBody {
		return nil, errTooLarge
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	var out []kvLine
	n := 0
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if n++; n > maxLines {
			return nil, fmt.Errorf("more than %d lines", maxLines)
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok || len(bytes.TrimSpace(k)) == 0 {
			if len(out) == 0 && bytes.HasPrefix(bytes.ToLower(line), []byte("error")) {
				return nil, errors.New("the recorder answered Error")
			}
			return nil, fmt.Errorf("line %d is not key=value", n)
		}
		key := string(bytes.TrimSpace(k))
		if isSecret(key) {
			continue
		}
		val := string(v)
		if !utf8.ValidString(val) {
			val = strings.ToValidUTF8(val, "\uFFFD")
		}
		out = append(out, kvLine{key: strings.ToValidUTF8(key, "\uFFFD"), value: strings.TrimSpace(val)})
	}
	if len(out) == 0 {
		return nil, errors.New("no key=value lines")
	}
	return out, nil
}

// slot is one numbered record of a table (RemoteDevice slot, camera[i],
// states[i]): its index and its keys, relative to the record.
type slot struct {
	index int
	order int
	kv    map[string]string
}

// slots groups lines by record. prefixes are the record prefixes tried in
// order; each is followed by the record id, then '.' and the key. The id
// is "[n]" or a token ending in digits ("uuid:System_CONFIG_NETCAMERA_INFO_3");
// an id without digits is numbered by first appearance.
func slots(lines []kvLine, prefixes ...string) []*slot {
	by := map[string]*slot{}
	var out []*slot
	for _, l := range lines {
		var rest string
		found := false
		for _, p := range prefixes {
			if r, ok := strings.CutPrefix(l.key, p); ok {
				rest, found = r, true
				break
			}
		}
		if !found {
			continue
		}
		var id, key string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 || end+1 >= len(rest) || rest[end+1] != '.' {
				continue
			}
			id, key = rest[1:end], rest[end+2:]
		} else {
			rest = strings.TrimPrefix(rest, ".")
			var ok bool
			id, key, ok = strings.Cut(rest, ".")
			if !ok {
				continue
			}
		}
		if id == "" || key == "" {
			continue
		}
		s := by[id]
		if s == nil {
			s = &slot{index: trailingNumber(id), order: len(out), kv: map[string]string{}}
			by[id] = s
			out = append(out, s)
		}
		if _, dup := s.kv[key]; !dup && len(s.kv) < 512 {
			s.kv[key] = l.value
		}
	}
	return out
}

// trailingNumber returns the number at the end of s, or -1.
func trailingNumber(s string) int {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || len(s)-i > 6 {
		return -1
	}
	n, _ := strconv.Atoi(s[i:])
	return n
}

// ParseDahuaChannels reads a Dahua recorder's channel table: the CGI
// answer of configManager.cgi?action=getConfig&name=RemoteDevice
// (table.RemoteDevice.<slot>.<Key>=<value>, or the bracket form
// table.RemoteDevice[<n>].<Key>), the CGI getCameraAll answer
// (camera[<i>].DeviceInfo.<Key>), or the JSON-RPC reply of
// configManager.getConfig RemoteDevice (params.table) or
// LogicDeviceManager.getCameraAll (params.camera), bare or inside a
// {"data": …} envelope. Disabled slots and the 192.168.0.0 placeholders of
// empty slots are skipped; slot n is channel n+1. Passwords and user names
// are dropped while reading.
func ParseDahuaChannels(b []byte) ([]Channel, error) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] == '{' {
		r, err := ParseRPCReply(t)
		if err != nil {
			return nil, err
		}
		if r.Code != 0 && !r.Result {
			return nil, fmt.Errorf("nvr: Dahua RPC error %d", r.Code)
		}
		return rpcChannels(r.params)
	}
	lines, err := splitKV(t)
	if err != nil {
		return nil, fmt.Errorf("nvr: Dahua channel table: %w", err)
	}
	if ss := slots(lines, "table.RemoteDevice", "RemoteDevice"); len(ss) > 0 {
		return dahuaChannels(ss, false), nil
	}
	if ss := slots(lines, "camera"); len(ss) > 0 {
		return dahuaChannels(ss, true), nil
	}
	return nil, errors.New("nvr: Dahua channel table: no RemoteDevice or camera[] lines in this answer")
}

// rpcChannels reads params.table (RemoteDevice) or params.camera
// (getCameraAll) of an RPC reply.
func rpcChannels(params *lit) ([]Channel, error) {
	if params == nil || params.kind != litDict {
		return nil, errors.New("nvr: Dahua RPC reply without params")
	}
	if t := params.get("table"); t != nil {
		var ss []*slot
		switch t.kind {
		case litDict:
			for i, k := range t.keys {
				ss = append(ss, &slot{index: trailingNumber(k), order: i, kv: flatten(t.items[i])})
			}
		case litList:
			for i, v := range t.items {
				ss = append(ss, &slot{index: i, order: i, kv: flatten(v)})
			}
		default:
			return nil, errors.New("nvr: Dahua RPC RemoteDevice table is not an object")
		}
		return dahuaChannels(ss, false), nil
	}
	if c := params.get("camera"); c != nil && c.kind == litList {
		var ss []*slot
		for i, v := range c.items {
			ss = append(ss, &slot{index: i, order: i, kv: flatten(v)})
		}
		return dahuaChannels(ss, true), nil
	}
	return nil, errors.New("nvr: Dahua RPC reply has no RemoteDevice table or camera list")
}

// get returns the value of key in a dict literal, or nil.
func (v *lit) get(key string) *lit {
	if v == nil || v.kind != litDict {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.items[i]
		}
	}
	return nil
}

// flatten turns an RPC object into the dotted keys of the CGI form
// ("VideoInputs[0].Name").
func flatten(v *lit) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v *lit, depth int)
	walk = func(prefix string, v *lit, depth int) {
		if v == nil || depth > maxDepth || len(out) >= 512 {
			return // a reply without params ({"result":true}) flattens to nothing
		}
		switch v.kind {
		case litDict:
			for i, k := range v.keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, v.items[i], depth+1)
			}
		case litList:
			for i, e := range v.items {
				walk(prefix+"["+strconv.Itoa(i)+"]", e, depth+1)
			}
		case litString, litScalar:
			if prefix != "" {
				out[prefix] = v.s
			}
		}
	}
	walk("", v, 0)
	return out
}

// dahuaChannels turns table records into channels, in slot order.
// camera says the records are getCameraAll entries (DeviceInfo.* keys,
// UniqueChannel).
func dahuaChannels(ss []*slot, camera bool) []Channel {
	slices.SortStableFunc(ss, func(a, b *slot) int {
		if a.index >= 0 && b.index >= 0 {
			return cmp.Compare(a.index, b.index)
		}
		return cmp.Compare(a.order, b.order)
	})
	out := []Channel{}
	for _, s := range ss {
		kv := s.kv
		if camera {
			if strings.EqualFold(kv["Enable"], "false") {
				continue
			}
			m := map[string]string{}
			for k, v := range kv {
				if r, ok := strings.CutPrefix(k, "DeviceInfo."); ok {
					m[r] = v
				}
			}
			if _, ok := m["Enable"]; !ok {
				m["Enable"] = kv["Enable"]
			}
			m["UniqueChannel"] = kv["UniqueChannel"]
			kv = m
		}
		n := s.index + 1
		if s.index < 0 {
			n = s.order + 1
		}
		if uc, err := strconv.Atoi(kv["UniqueChannel"]); err == nil && uc >= 0 && uc < 1<<16 {
			n = uc + 1
		}
		if c, ok := dahuaChannel(n, kv); ok {
			out = append(out, c)
		}
	}
	return out
}

// privateProtocols are the ProtocolType/Vendor words for the Dahua private
// protocol (NVR.md 2.1).
var privateProtocols = map[string]bool{"private": true, "dahua": true, "dahua2": true, "dahua3": true}

// protocolWords are Vendor values that name a protocol, not a maker.
var protocolWords = map[string]bool{"private": true, "dahua2": true, "dahua3": true, "onvif": true, "general": true, "custom": true, "rtsp": true}

// dahuaChannel builds one channel from a slot's keys; ok is false for a
// disabled or empty slot.
func dahuaChannel(n int, kv map[string]string) (Channel, bool) {
	if strings.EqualFold(kv["Enable"], "false") {
		return Channel{}, false
	}
	addr := strings.TrimSpace(kv["Address"])
	if addr == "192.168.0.0" || addr == "0.0.0.0" {
		return Channel{}, false
	}
	if addr == "" && kv["DeviceType"] == "" && kv["SerialNo"] == "" && kv["Mac"] == "" {
		return Channel{}, false
	}
	proto := kv["ProtocolType"]
	if proto == "" {
		proto = kv["Protocol"]
	}
	if proto == "" {
		proto = kv["Vendor"]
	}
	b := newChannel(n, proto)
	if privateProtocols[strings.ToLower(proto)] || (kv["ProtocolType"] == "" && privateProtocols[strings.ToLower(kv["Vendor"])]) {
		b.add(identity.FieldProtocol, TellDahuaPrivateChannel)
	}
	b.address(addr)
	if v := kv["Vendor"]; v != "" && !protocolWords[strings.ToLower(v)] {
		b.add(identity.FieldVendor, v)
	}
	b.model(kv["DeviceType"])
	b.serial(kv["SerialNo"])
	b.add(identity.FieldFirmware, kv["Version"])
	b.mac(kv["Mac"])
	b.add(FieldChannelName, kv["Name"])
	b.add(FieldChannelName, kv["VideoInputs[0].Name"])
	return b.done(), true
}

// ParseDahuaCameraState reads the liveness of a Dahua recorder's channels:
// the CGI answer of LogicDeviceManager.cgi?action=getCameraState
// (states[<i>].channel, states[<i>].connectionState) or the RPC reply of
// LogicDeviceManager.getCameraState (params.states). channel is 0-based;
// it is returned as the channel number (channel+1). "Connected" is
// online, "Disconnected"/"Unconnect" offline, anything else or nothing
// unknown.
func ParseDahuaCameraState(b []byte) ([]ChannelStatus, error) {
	t := bytes.TrimSpace(b)
	var recs []map[string]string
	if len(t) > 0 && t[0] == '{' {
		r, err := ParseRPCReply(t)
		if err != nil {
			return nil, err
		}
		st := r.params.get("states")
		if st == nil || st.kind != litList {
			return nil, errors.New("nvr: Dahua getCameraState: no states in this reply")
		}
		for _, v := range st.items {
			recs = append(recs, flatten(v))
		}
	} else {
		lines, err := splitKV(t)
		if err != nil {
			return nil, fmt.Errorf("nvr: Dahua getCameraState: %w", err)
		}
		ss := slots(lines, "states")
		if len(ss) == 0 {
			return nil, errors.New("nvr: Dahua getCameraState: no states[] lines in this answer")
		}
		for _, s := range ss {
			recs = append(recs, s.kv)
		}
	}
	return statesOf(recs), nil
}

// statesOf reads getCameraState records (channel, connectionState).
func statesOf(recs []map[string]string) []ChannelStatus {
	var out []ChannelStatus
	for _, kv := range recs {
		c, err := strconv.Atoi(kv["channel"])
		if err != nil || c < 0 || c >= 1<<16 {
			continue
		}
		s := ChannelStatus{Number: c + 1, State: identity.Clean(kv["connectionState"])}
		switch strings.ToLower(s.State) {
		case "connected":
			s.Online = LiveOnline
		case "disconnected", "unconnect", "unconnected", "offline":
			s.Online = LiveOffline
		}
		out = append(out, s)
	}
	return out
}

// ParseMagicBox reads Dahua magicBox.cgi answers (getSystemInfo,
// getDeviceType, getSerialNo, getSoftwareVersion, getVendor; several may be
// concatenated), or the RPC reply of magicBox.getSystemInfo, into the recorder's identity, with the "dahua-magicbox"
// tell of package banner. On NVRs deviceType is a number (31) and the real
// model is updateSerial, which is then recorded as the model.
func ParseMagicBox(b []byte) (identity.Identity, error) {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		// The RPC form: magicBox.getSystemInfo's params.
		r, err := ParseRPCReply(t)
		if err != nil {
			return identity.Identity{}, err
		}
		id := identity.Identity{Source: identity.SourceNVR}
		if !addMagicBox(&id, flatten(r.params)) {
			return identity.Identity{}, errors.New("nvr: magicBox: no magicBox keys in this reply")
		}
		return id, nil
	}
	lines, err := splitKV(b)
	if err != nil {
		return identity.Identity{}, fmt.Errorf("nvr: magicBox: %w", err)
	}
	id := identity.Identity{Source: identity.SourceNVR}
	kv := map[string]string{}
	for _, l := range lines {
		if _, ok := kv[l.key]; !ok {
			kv[l.key] = l.value
		}
	}
	if !addMagicBox(&id, kv) {
		return identity.Identity{}, errors.New("nvr: magicBox: no magicBox keys in this answer")
	}
	return id, nil
}

// addMagicBox records magicBox keys; it reports whether any was known.
func addMagicBox(id *identity.Identity, kv map[string]string) bool {
	known := 0
	for _, k := range []string{"deviceType", "type", "serialNumber", "sn", "updateSerial", "version", "vendor", "processor", "hardwareVersion"} {
		if kv[k] != "" {
			known++
		}
	}
	if known == 0 {
		return false
	}
	id.Add(identity.FieldProtocol, banner.TellDahuaMagicBox)
	model := kv["deviceType"]
	if model == "" {
		model = kv["type"]
	}
	if isModelToken(model) {
		id.Add(FieldDeviceType, model)
		model = kv["updateSerial"]
	}
	if !isModelToken(model) {
		id.Add(identity.FieldModel, model)
	}
	sn := kv["serialNumber"]
	if sn == "" {
		sn = kv["sn"]
	}
	id.Add(identity.FieldSerial, sn)
	id.Add(identity.FieldFirmware, kv["version"])
	id.Add(identity.FieldVendor, kv["vendor"])
	id.Add(identity.FieldSoC, kv["processor"])
	id.Add(banner.FieldUpdateSerial, kv["updateSerial"])
	id.Add(banner.FieldHardwareVersion, kv["hardwareVersion"])
	return true
}

// RPC error codes of the Dahua JSON-RPC interface (NVR.md 2.2).
const (
	RPCLoginChallenge = 268632079 // "login challenge": step 1 of global.login
	RPCBadPassword    = 268632085 // "user or password not valid"
	RPCLocked         = 268632081 // "has been locked"
	RPCNoSession      = 287637504
	RPCBadSession     = 287637505
	RPCNoMethod       = 268894210
	RPCNoInterface    = 268632064
)

// RPCReply is a Dahua JSON-RPC reply: result, error code and message,
// session (a string or a number, as text), and what a login step carries
// (realm, random, encryption, lock state). Secrets are never kept.
type RPCReply struct {
	ID         int64
	Result     bool
	Code       int64
	Message    string
	Session    string
	Realm      string
	Random     string
	Encryption string
	Lock       Lock
	params     *lit
	sessionNum bool
}

// ParseRPCReply reads one Dahua JSON-RPC reply (the first JSON object of
// b; a {"success":…,"data":{…}} envelope is unwrapped).
func ParseRPCReply(b []byte) (RPCReply, error) {
	r := RPCReply{Lock: Lock{RetriesLeft: -1}}
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return r, errors.New("nvr: Dahua RPC reply is not a JSON object")
	}
	p := &litParser{s: t}
	v, err := p.value(0)
	if err != nil {
		if errors.Is(err, errLitEOF) {
			return r, errors.New("nvr: Dahua RPC reply ends early")
		}
		return r, fmt.Errorf("nvr: Dahua RPC reply: %w", err)
	}
	if v.kind != litDict {
		return r, errors.New("nvr: Dahua RPC reply is not a JSON object")
	}
	if d := v.get("data"); d != nil && d.kind == litDict && v.get("result") == nil && (d.get("result") != nil || d.get("params") != nil) {
		v = d
	}
	if v.get("result") == nil && v.get("params") == nil && v.get("error") == nil {
		return r, errors.New("nvr: not a Dahua RPC reply")
	}
	r.ID, _ = strconv.ParseInt(v.get("id").scalar(), 10, 64)
	r.Result = v.get("result").scalar() == "true"
	if e := v.get("error"); e != nil && e.kind == litDict {
		r.Code, _ = strconv.ParseInt(e.get("code").scalar(), 10, 64)
		r.Message = identity.Clean(e.get("message").scalar())
	}
	if s := v.get("session"); s != nil {
		r.Session = identity.Clean(s.s)
		r.sessionNum = s.kind == litScalar
	}
	r.params = v.get("params")
	if ps := r.params; ps != nil && ps.kind == litDict {
		r.Realm = ps.get("realm").scalar()
		r.Random = ps.get("random").scalar()
		r.Encryption = identity.Clean(ps.get("encryption").scalar())
		if s, err := strconv.ParseInt(ps.get("remainLockSecond").scalar(), 10, 64); err == nil && s > 0 {
			r.Lock.Locked = true
			r.Lock.UnlockIn = seconds(s)
		}
		if n, err := strconv.Atoi(ps.get("remainLoginTimes").scalar()); err == nil && n >= 0 {
			r.Lock.RetriesLeft = n
		}
	}
	if r.Code == RPCLocked {
		r.Lock.Locked = true
	}
	return r, nil
}

// scalar returns a string or scalar literal's text, else "".
func (v *lit) scalar() string {
	if v == nil || (v.kind != litString && v.kind != litScalar) {
		return ""
	}
	return v.s
}

// dahuaLoginHash is the "Default" RPC2 login hash:
// UPPER(MD5(user:random:UPPER(MD5(user:realm:password)))).
func dahuaLoginHash(user, password, realm, random string) string {
	h1 := md5.Sum([]byte(user + ":" + realm + ":" + password))
	h2 := md5.Sum([]byte(user + ":" + random + ":" + strings.ToUpper(hex.EncodeToString(h1[:]))))
	return strings.ToUpper(hex.EncodeToString(h2[:]))
}
