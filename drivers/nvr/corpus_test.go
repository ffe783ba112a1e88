package nvr

import (
	"bufio"
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/nvr/nvrtest"
)

// chanWant is what a test expects of one channel.
type chanWant struct {
	n            int
	addr, mac    string
	model        string // "" : no model fact
	serial       string
	firmware     string
	deviceType   string
	proto        string // Via.Protocol
	tell         string // protocol fact, "" none
	channelNames []string
}

func checkChannel(t *testing.T, file string, c Channel, w chanWant) {
	t.Helper()
	id := c.Identity
	if c.Number != w.n || id.Via == nil || id.Via.Channel != w.n {
		t.Errorf("%s: channel %d (via %+v), want %d", file, c.Number, id.Via, w.n)
	}
	if id.Source != identity.SourceNVR {
		t.Errorf("%s ch%d: source %q", file, w.n, id.Source)
	}
	wantAddr := netip.Addr{}
	if w.addr != "" {
		wantAddr = netip.MustParseAddr(w.addr)
	}
	if id.Addr != wantAddr {
		t.Errorf("%s ch%d: addr %v, want %v", file, w.n, id.Addr, wantAddr)
	}
	if id.MAC != w.mac {
		t.Errorf("%s ch%d: mac %q, want %q", file, w.n, id.MAC, w.mac)
	}
	for _, f := range []struct{ field, want string }{
		{identity.FieldModel, w.model}, {identity.FieldSerial, w.serial}, {identity.FieldFirmware, w.firmware},
		{FieldDeviceType, w.deviceType}, {identity.FieldProtocol, w.tell},
	} {
		if got := id.Get(f.field); got != f.want {
			t.Errorf("%s ch%d: %s %q, want %q", file, w.n, f.field, got, f.want)
		}
	}
	if c.Protocol != w.proto || id.Via.Protocol != w.proto {
		t.Errorf("%s ch%d: protocol %q / via %q, want %q", file, w.n, c.Protocol, id.Via.Protocol, w.proto)
	}
	var names []string
	for _, f := range id.Facts {
		if f.Field == FieldChannelName {
			names = append(names, f.Value)
		}
		if f.Field == identity.FieldName {
			t.Errorf("%s ch%d: a channel title must not be a name fact (the policy matches names against makers)", file, w.n)
		}
	}
	if !reflect.DeepEqual(names, w.channelNames) {
		t.Errorf("%s ch%d: channel names %q, want %q", file, w.n, names, w.channelNames)
	}
}

const hik = TellHikvisionSDKChannel

var isapi001 = []chanWant{
	{n: 1, addr: "1.0.0.236", model: "DS-2CD2386G2-IU", serial: "DS-2CD2386G2-IU00000000AAWRK00000001", firmware: "V5.7.15 build 240201", proto: "HIKVISION", tell: hik, channelNames: []string{"garden"}},
	{n: 2, addr: "1.0.0.50", model: "DS-2CD2386G2-IU", serial: "DS-2CD2386G2-IU00000000AAWRK00000002", firmware: "V5.7.15 build 240201", proto: "HIKVISION", tell: hik, channelNames: []string{"home"}},
	// "IPC" is a token, not a model.
	{n: 3, addr: "1.0.0.80", deviceType: "IPC", serial: "0000000000000-0C0F000000DD", firmware: "V6.26 build 150513", proto: "HIKVISION", tell: hik, channelNames: []string{"road"}},
	// No model, serial or firmware: an honest, nearly empty channel.
	{n: 4, addr: "1.0.0.238", proto: "HIKVISION", tell: hik, channelNames: []string{"gate"}},
}

var isapi002 = []chanWant{
	{n: 1, addr: "1.0.0.208", model: "DS-2CD2387G2-LSU/SL", serial: "DS-2CD2387G2-LSU/SL00000000AAWRJ00000000", firmware: "V5.7.14 build 231028", proto: "HIKVISION", tell: hik, channelNames: []string{"tagahoov"}},
	{n: 2, addr: "1.0.0.253", model: "HWI-T220H", serial: "HWI-T000H00000000AAWRC00000000", firmware: "V5.5.82 build 181022", proto: "HIKVISION", tell: hik, channelNames: []string{"garaazh"}},
	{n: 3, addr: "1.0.0.137", model: "DS-2CD2387G2-LSU/SL", serial: "DS-2CD2387G2-LSU/SL00000000AAWRAD0000000", firmware: "V5.7.14 build 231028", proto: "HIKVISION", tell: hik, channelNames: []string{"eeshoov"}},
	// Channels 4 and 5 share one (anonymised) serial: the channel number keeps them apart.
	{n: 4, addr: "1.0.0.227", model: "DS-2CD2387G2H-LISU/SL", serial: "DS-2CD2387G2H-LISU/SL00000000AAWRAW0000000", firmware: "V5.7.15 build 240201", proto: "HIKVISION", tell: hik, channelNames: []string{"sauna uks"}},
	{n: 5, addr: "1.0.0.129", model: "DS-2CD2387G2H-LISU/SL", serial: "DS-2CD2387G2H-LISU/SL00000000AAWRAW0000000", firmware: "V5.7.15 build 240201", proto: "HIKVISION", tell: hik, channelNames: []string{"terrass"}},
	{n: 6, addr: "1.0.0.46", model: "DS-KV6113-WPE1(C)", serial: "DS-KV6113-WPE0(C)0000000000RRAH0000000", firmware: "V2.2.65 build 230703", proto: "HIKVISION", tell: hik, channelNames: []string{"uksekell"}},
}

func isapi003() []chanWant {
	var out []chanWant
	names := []string{"Garage", "Driveway", "Side Yard", "Front Door", "Front Walkway", "Gate", "Lower Patio", "Back Yard", "Back Path"}
	addrs := []string{"1.0.0.49", "1.0.0.73", "1.0.0.123", "1.0.0.66", "1.0.0.92", "1.0.0.30", "1.0.0.238", "1.0.0.50", "1.0.0.149"}
	for i := range names {
		out = append(out, chanWant{n: i + 1, addr: addrs[i], proto: "HIKVISION", tell: hik, channelNames: []string{names[i]}})
	}
	return out
}

// TestCorpus checks every sample of the corpus: each file of INDEX.tsv
// must have a case here, so a sample added without a test fails.
func TestCorpus(t *testing.T) {
	isapiChans := map[string][]chanWant{
		"isapi-inputproxy-channels-001.json":        isapi001,
		"derived-isapi-inputproxy-channels-001.xml": isapi001,
		"isapi-inputproxy-channels-002.json":        isapi002,
		"derived-isapi-inputproxy-channels-002.xml": isapi002,
		"isapi-inputproxy-channels-003.json":        isapi003(),
		"isapi-inputproxy-channels-005.json":        {}, // size="2", no channel
		"isapi-inputproxy-channels-006.json":        {},
		"isapi-inputproxy-channels-007.xml": {{n: 1, addr: "192.168.35.45", model: "DS-2CD3141G0-I", serial: "DS-2CD3141G0-I20210929AAWRG64697573",
			firmware: "V5.5.122 build 210708", proto: "HIKVISION", tell: hik, channelNames: []string{"1F_EXAMHALL_CAM03"}}},
		// size="0" with one channel; a CJK name.
		"isapi-inputproxy-channels-008.xml": {{n: 1, addr: "10.18.176.10", proto: "HIKVISION", tell: hik, channelNames: []string{"摄像机12"}}},
		// A Python repr in a log line, cut off in channel 3: the complete part is kept.
		"isapi-inputproxy-channels-009.txt": {
			{n: 1, addr: "192.168.254.2", proto: "HIKVISION", tell: hik, channelNames: []string{"Garage"}},
			{n: 2, addr: "192.168.254.6", proto: "HIKVISION", tell: hik, channelNames: []string{"Entry"}},
			{n: 3, addr: "192.168.254.4", proto: "HIKVISION", tell: hik, channelNames: []string{"Stairs Deck"}},
		},
	}
	dahuaChans := map[string][]chanWant{
		// Slots 3..7 are disabled 192.168.0.0 ghosts; "8004" is a token, not a model.
		"dahua-remotedevice-001.txt": {
			{n: 1, addr: "10.196.230.149", model: "ZNNCMP-R202", proto: "Onvif"},
			{n: 2, addr: "10.196.230.134", deviceType: "8004", proto: "Onvif"},
			{n: 3, addr: "10.196.230.150", model: "IPC-KW100W-CE", proto: "Onvif", channelNames: []string{"PZC4DW868W00649"}},
		},
		// Slot 1 is disabled but keeps a stale DeviceType: skipped.
		"dahua-remotedevice-002.txt": {
			{n: 1, addr: "192.168.2.13", mac: "08:ed:ed:28:8f:97", model: "IPC-HDW1025C", serial: "<序列号1>", proto: "Dahua2", tell: TellDahuaPrivateChannel, channelNames: []string{"<摄像头1>"}},
		},
		"dahua-remotedevice-004.txt": {
			{n: 1, addr: "192.168.252.25", model: "DS-2CD1143G0-I", serial: "DS-2CD1143G0-I20211208AAWRJ21084244", firmware: "V5.7.1 build 211102", proto: "Onvif"},
			{n: 2, addr: "192.168.252.26", model: "DS-2CD1143G0-I", serial: "DS-2CD1143G0-I20211208AAWRJ21084253"},
		},
		"dahua-cgi-getcameraall-001.txt": {
			{n: 1, addr: "192.168.24.5", channelNames: []string{"3F01306PAA00053", "JO-Sala Espera x Ingreso"}},
		},
		"dahua-rpc-remotedevice-001.json": {
			{n: 1, addr: "192.168.1.221", model: "IPC-F22-D", serial: "7H07AB1RAZ64978", firmware: "2.800.0000000.3.R,2021-10-26", proto: "Dahua2", tell: TellDahuaPrivateChannel, channelNames: []string{"7H07AB1RAZ64978"}},
		},
	}
	done := map[string]bool{}
	for file, want := range isapiChans {
		done[file] = true
		got, err := ParseISAPIChannels(nvrtest.Sample(t, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d channels, want %d", file, len(got), len(want))
			continue
		}
		for i := range want {
			checkChannel(t, file, got[i], want[i])
		}
	}
	for file, want := range dahuaChans {
		done[file] = true
		b := nvrtest.Sample(t, file)
		got, err := ParseDahuaChannels(b)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d channels, want %d", file, len(got), len(want))
			continue
		}
		for i := range want {
			checkChannel(t, file, got[i], want[i])
		}
		// The corpus has clear-text camera passwords (12345, admin) and
		// "******": none may come out.
		for _, c := range got {
			for _, f := range c.Identity.Facts {
				if f.Value == "12345" || f.Value == "******" || strings.EqualFold(f.Value, "admin") {
					t.Errorf("%s: a credential came out as %s=%q", file, f.Field, f.Value)
				}
			}
		}
	}

	// Status lists.
	for file, want := range map[string][]ChannelStatus{
		"isapi-inputproxy-status-001.xml": {{Number: 1, Online: LiveOnline, State: "connect"}},
		"derived-isapi-inputproxy-status-001.xml": {
			{Number: 1, Online: LiveOnline, State: "connect"}, {Number: 2, Online: LiveOffline, State: "netUnreachable"},
			{Number: 3, Online: LiveUnknown, State: "someFutureValue"}, {Number: 4, Online: LiveOffline, State: "ipcStreamFail"},
		},
	} {
		done[file] = true
		got, err := ParseISAPIChannelStatus(nvrtest.Sample(t, file))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v, want %+v", file, got, err, want)
		}
	}
	dahuaStates := func(online ...Liveness) []ChannelStatus {
		var out []ChannelStatus
		for i, o := range online {
			s := ChannelStatus{Number: i + 1, Online: o}
			switch o {
			case LiveOnline:
				s.State = "Connected"
			case LiveOffline:
				s.State = "Disconnected"
			}
			out = append(out, s)
		}
		return out
	}
	on, off, unk := LiveOnline, LiveOffline, LiveUnknown
	for file, want := range map[string][]ChannelStatus{
		"dahua-rpc-getcamerastate-001.json":        dahuaStates(on, on, on, on, unk, unk, unk, unk),
		"derived-dahua-cgi-getcamerastate-001.txt": dahuaStates(on, on, off, unk, unk, unk, unk, unk),
	} {
		done[file] = true
		got, err := ParseDahuaCameraState(nvrtest.Sample(t, file))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v, want %+v", file, got, err, want)
		}
	}

	// The recorder's own identity.
	deviceInfo := map[string][]identity.Fact{
		"isapi-deviceinfo-nvr-001.json": nvrDeviceInfo, "derived-isapi-deviceinfo-nvr-001.xml": nvrDeviceInfo,
		"isapi-virtualhost-deviceinfo-001.txt": {
			{Field: "protocol", Value: "hikvision-isapi-deviceinfo"}, {Field: "xmlns", Value: "http://www.hikvision.com/ver20/XMLSchema"},
			{Field: "manufacturer", Value: "hikvision"}, {Field: "model", Value: "DS-2CD2366G2-ISU/SL"},
			{Field: "serial", Value: "DS-2CD2366G2-ISU/SL20210712AAWRG35256984"}, {Field: "mac", Value: "24:28:fd:e4:53:56"},
			{Field: "firmware", Value: "V5.7.13 build 230504"}, {Field: "name", Value: "Garage"}, {Field: "device-class", Value: "IPCamera"},
			{Field: "oem-code", Value: "1"}, {Field: "uuid", Value: "099f4000-4d50-11b4-82c8-2428fde45356"},
			{Field: "hardware-version", Value: "0x0"}, {Field: "system-contact", Value: "Hikvision.China"},
		},
	}
	for file, want := range deviceInfo {
		done[file] = true
		id, err := ParseISAPIDeviceInfo(nvrtest.Sample(t, file))
		if err != nil || !reflect.DeepEqual(id.Facts, want) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", file, err, id.Facts, want)
		}
	}
	for file, want := range map[string][]identity.Fact{
		"dahua-cgi-getsysteminfo-001.txt": {
			{Field: "protocol", Value: "dahua-magicbox"}, {Field: "device-type", Value: "31"}, {Field: "model", Value: "NVR2X-4KS3"},
			{Field: "serial", Value: "4F07335PAZEEA9B"}, {Field: "firmware", Value: "4.001.0000005.0,build:2020-11-17"},
			{Field: "vendor", Value: "Dahua"}, {Field: "soc", Value: "ST7108"}, {Field: "update-serial", Value: "NVR2X-4KS3"},
		},
		"derived-dahua-rpc-getsysteminfo-001.json": {
			{Field: "protocol", Value: "dahua-magicbox"}, {Field: "device-type", Value: "31"}, {Field: "model", Value: "NVR2X-4KS3"},
			{Field: "serial", Value: "4F07335PAZEEA9B"}, {Field: "soc", Value: "ST7108"}, {Field: "update-serial", Value: "NVR2X-4KS3"},
		},
	} {
		done[file] = true
		id, err := ParseMagicBox(nvrtest.Sample(t, file))
		if err != nil || !reflect.DeepEqual(id.Facts, want) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", file, err, id.Facts, want)
		}
	}

	// 401 bodies: the lock state.
	for file, want := range map[string]Lock{
		"isapi-401-locked-001.txt":    {Locked: true, UnlockIn: 210 * time.Second, RetriesLeft: 0},
		"isapi-401-usercheck-001.txt": {RetriesLeft: -1},
	} {
		done[file] = true
		b := nvrtest.Sample(t, file)
		_, body, _ := bytes.Cut(b, []byte("\n\n"))
		got, ok := ParseISAPILock(body)
		if !ok || got != want {
			t.Errorf("%s: %+v ok=%v, want %+v", file, got, ok, want)
		}
		// And the challenge of the same capture.
		var values []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "WWW-Authenticate: "); ok {
				values = append(values, v)
			}
		}
		cs, err := ParseChallenges(values)
		if err != nil || pickDigest(cs) == nil || pickDigest(cs).Param("qop") != "auth" || cs[0].Param("stale") != "FALSE" {
			t.Errorf("%s: challenges %+v %v", file, cs, err)
		}
	}

	// RPC login replies.
	type loginWant struct {
		code          int64
		session       string
		numeric       bool
		realm, random string
		retries       int
	}
	for file, want := range map[string]loginWant{
		"dahua-rpc-login-challenge-001.txt": {code: RPCLoginChallenge, session: "be7dcfc7d3fb33e74f028ce4498b60de", realm: "Login to 4H01D66PAJ2FA64", random: "1753753988", retries: -1},
		"dahua-rpc-login-challenge-002.txt": {code: RPCLoginChallenge, session: "1005027323", numeric: true, realm: "Login to AMC000N49SSV0M2U46", random: "3734299", retries: -1},
		"dahua-rpc-login-fail-001.txt":      {code: RPCBadPassword, session: "2147483643", numeric: true, retries: 2},
		"dahua-rpc-login-fail-002.json":     {code: RPCBadPassword, session: "76594003", numeric: true, retries: 3},
	} {
		done[file] = true
		r, err := ParseRPCReply(nvrtest.Sample(t, file))
		if err != nil || r.Code != want.code || r.Session != want.session || r.sessionNum != want.numeric || r.Realm != want.realm ||
			r.Random != want.random || r.Lock.RetriesLeft != want.retries || r.Lock.Locked || r.Result {
			t.Errorf("%s: %+v %v, want %+v", file, r, err, want)
		}
	}
	// The capture's step 2 carries the Default hash for SecretPassword.
	if h := dahuaLoginHash("admin", "SecretPassword", "Login to 4H01D66PAJ2FA64", "1753753988"); h != "71596D591679A707721AD797437DE105" {
		t.Errorf("login hash %s", h)
	}

	// Not a channel list, and said so.
	done["isapi-capabilities-racmcap-001.json"] = true
	if _, err := ParseISAPIChannels(nvrtest.Sample(t, "isapi-capabilities-racmcap-001.json")); err == nil {
		t.Error("capabilities taken for a channel list")
	}

	index := string(nvrtest.Sample(t, "INDEX.tsv"))
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(index), "\n")[1:] {
		file, _, _ := strings.Cut(line, "\t")
		n++
		if !done[file] {
			t.Errorf("%s: in INDEX.tsv but not checked", file)
		}
	}
	if n < 30 {
		t.Errorf("INDEX.tsv lists %d files", n)
	}
}

var nvrDeviceInfo = []identity.Fact{
	{Field: "protocol", Value: "hikvision-isapi-deviceinfo"}, {Field: "xmlns", Value: "http://www.isapi.org/ver20/XMLSchema"},
	{Field: "model", Value: "DS-7608NXI-I2/8P/S"}, {Field: "serial", Value: "DS-7608NXI-I0/0P/S0000000000CCRRJ00000000WCVU"},
	{Field: "mac", Value: "e0:44:cf:0b:a7:98"}, {Field: "firmware", Value: "V4.62.210 build 230619"}, {Field: "name", Value: "nvr"},
	{Field: "device-class", Value: "NVR"}, {Field: "uuid", Value: "484a3831-3130-0000-0000-000c0000f00e"},
	{Field: "hardware-version", Value: "0100000092010000"},
}

func TestDahuaLoginHashVector(t *testing.T) {
	// ipcmanview's test vector (NVR.md 2.2).
	if h := dahuaLoginHash("admin", "123", "Login to a0c50bcd05b2f03d067e530d9bf069af", "1172275829"); h != "2E9AD6D2DB08E0882F376A622BC76B9A" {
		t.Errorf("hash %s", h)
	}
}

// TestSecretsDroppedWhileParsing: credentials are gone from the parsed
// form itself, not only from what is copied out, and errors about a bad
// answer never quote it.
func TestSecretsDroppedWhileParsing(t *testing.T) {
	const canary = "CANARY-pw-91c2"
	hasCanary := func(n *node) bool {
		found := false
		var walk func(*node)
		walk = func(n *node) {
			found = found || strings.Contains(n.text, canary) || strings.Contains(n.local, canary)
			for _, a := range n.attrs {
				found = found || strings.Contains(a.value, canary)
			}
			for _, k := range n.kids {
				walk(k)
			}
		}
		walk(n)
		return found
	}
	xmlIn := bytes.ReplaceAll(nvrtest.Sample(t, "isapi-inputproxy-channels-007.xml"), []byte("<userName>admin</userName>"),
		[]byte("<userName>"+canary+"</userName><password>"+canary+"</password><Password>"+canary+"</Password>"))
	root, err := decodeXML(xmlIn)
	if err != nil || hasCanary(root) {
		t.Errorf("XML: canary kept (%v)", err)
	}
	jsonIn := bytes.ReplaceAll(nvrtest.Sample(t, "isapi-inputproxy-channels-001.json"), []byte(`"userName": "admin"`), []byte(`"password": "`+canary+`"`))
	root, _, err = parseDocument(jsonIn)
	if err != nil || hasCanary(root) {
		t.Errorf("JSON: canary kept (%v)", err)
	}
	kv := bytes.ReplaceAll(nvrtest.Sample(t, "dahua-remotedevice-001.txt"), []byte("Password=12345"), []byte("Password="+canary))
	lines, err := splitKV(kv)
	for _, l := range lines {
		if strings.Contains(l.key+l.value, canary) || strings.HasSuffix(l.key, ".Password") || strings.HasSuffix(l.key, ".UserName") {
			t.Errorf("key=value: %s kept", l.key)
		}
	}
	if err != nil || len(lines) == 0 {
		t.Errorf("key=value: %v", err)
	}
	rpc := bytes.ReplaceAll(nvrtest.Sample(t, "dahua-rpc-remotedevice-001.json"), []byte(`"******"`), []byte(`"`+canary+`"`))
	r, err := ParseRPCReply(rpc)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range flatten(r.params) {
		if strings.Contains(k+v, canary) || strings.HasSuffix(k, "Password") || strings.HasSuffix(k, "UserName") {
			t.Errorf("RPC: %s kept", k)
		}
	}
	// Malformed answers with the canary around the fault.
	for name, in := range map[string][]byte{
		"xml":  []byte("<a><b>" + canary + "</c></a>"),
		"xml2": []byte("<a " + canary + "=1>"),
		"ent":  []byte("<a>&" + canary + ";</a>"),
		"json": []byte(`{"a": ` + canary + `}`),
		"repr": []byte(`[{'a': '` + canary + `' 'b'}]`),
		"kv":   []byte(canary + "\nx"),
	} {
		for _, err := range []error{
			func() error { _, err := ParseISAPIChannels(in); return err }(),
			func() error { _, err := ParseDahuaChannels(in); return err }(),
			func() error { _, err := ParseRPCReply(in); return err }(),
			func() error { _, err := ParseISAPIDeviceInfo(in); return err }(),
			func() error { _, err := ParseMagicBox(in); return err }(),
		} {
			if err == nil {
				t.Errorf("%s: malformed input accepted", name)
			} else if strings.Contains(err.Error(), canary) {
				t.Errorf("%s: error quotes the input: %v", name, err)
			}
		}
	}
}
