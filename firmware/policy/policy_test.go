package policy

import (
	"strings"
	"testing"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

func mustLoad(t *testing.T, profile string) *Policy {
	t.Helper()
	p, err := Load(profile)
	if err != nil {
		t.Fatalf("Load(%q): %v", profile, err)
	}
	return p
}

func obs(source string, kv ...string) identity.Identity {
	id := identity.Identity{Source: source}
	for i := 0; i+1 < len(kv); i += 2 {
		id.Add(kv[i], kv[i+1])
	}
	return id
}

func TestEmbeddedPolicyLoads(t *testing.T) {
	for _, prof := range []string{"", "ndaa889", "uk-nil"} {
		p := mustLoad(t, prof)
		if !strings.Contains(p.Version(), "+oui.") {
			t.Errorf("Version() = %q, want the registry date in it", p.Version())
		}
	}
	if _, err := Load("nope"); err == nil || !strings.Contains(err.Error(), "unknown profile") {
		t.Errorf("Load(nope) error = %v", err)
	}
}

func TestLookupOUI(t *testing.T) {
	p := mustLoad(t, "")
	cases := []struct {
		mac, maker string
		bits       int
	}{
		{"58:50:ed:1f:e3:85", "Hikvision", 24},
		{"44:47:cc:37:ce:81", "Hikvision", 24},
		{"08:ed:ed:00:00:01", "Dahua", 24},
		{"ac:64:dd:50:00:01", "ZTE", 28},    // MA-M inside an umbrella block
		{"70:b3:d5:0a:e0:01", "Hytera", 36}, // MA-S (Norsat)
		{"ac:64:dd:40:00:01", "", 0},        // same /24, other MA-M: not ZTE
		{"5a:50:ed:1f:e3:85", "", 0},        // locally administered
		{"59:50:ed:1f:e3:85", "", 0},        // group bit
		{"00:40:8c:12:34:56", "Axis", 24},   // a maker the policy does not restrict
		{"00:1f:54:00:00:01", "Dahua", 24},  // Lorex: an OEM, found under its parent
		{"garbage", "", 0},
	}
	for _, c := range cases {
		b, ok := p.LookupOUI(c.mac)
		root := ""
		if ok {
			r, _ := p.root(b.Maker)
			root = r.Name
		}
		if root != c.maker || (ok && b.Bits != c.bits) {
			t.Errorf("LookupOUI(%s) = %+v, %v; want root %q bits %d", c.mac, b, ok, c.maker, c.bits)
		}
	}
}

func TestMatchAliasNeverInsideAName(t *testing.T) {
	p := mustLoad(t, "")
	cases := map[string]string{
		"HIKVISION": "Hikvision",
		"Hangzhou Hikvision Digital Technology Co.,Ltd.": "Hikvision",
		"HIKVISION DS-2CD2385G1-I":                       "Hikvision",
		"ZHEJIANG DAHUA TECHNOLOGYCO.,LTD":               "Dahua",
		"Zhejiang Dahua Technology Co., Ltd.":            "Dahua",
		"CP_PLUS":                                        "CP PLUS",
		"CPPlus":                                         "CP PLUS",
		"Shanghai Dahua Scale Factory":                   "",
		"Shenzhen Hikeen Technology":                     "",
		"Hikari Trading":                                 "",
		"Teltronic AG":                                   "",
		"Teltronics, Inc.":                               "",
		"ZTEC Instruments":                               "",
		"ZTEX GmbH":                                      "",
		"Aztech":                                         "",
		"Symantec Corporation":                           "",
		"JOREX LOREX INDIA":                              "",
		"Hangzhou Zhongxinghui":                          "",
		"Wuxi Zhongxing Optoelectronics":                 "",
		"Beijing Huafei":                                 "",
		"Private":                                        "",
		"General":                                        "",
	}
	for in, want := range cases {
		got := ""
		if m := p.matchAlias(in); m != nil {
			got = m.Name
		}
		if got != want {
			t.Errorf("matchAlias(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVerdicts(t *testing.T) {
	cases := []struct {
		name, profile string
		ids           []identity.Identity
		verdict       identity.Verdict
		entity, manu  string
		brand         string
	}{
		{"nothing", "", []identity.Identity{obs("http", identity.FieldServer, "nginx")}, identity.Unknown, "", "", ""},
		{"oui alone", "", []identity.Identity{{Source: "arp", MAC: "58:50:ed:1f:e3:85"}}, identity.Restricted, "Hikvision", "Hikvision", ""},
		{"ezviz oui alone names the brand", "", []identity.Identity{{Source: "arp", MAC: "0c:a6:4c:00:00:01"}}, identity.Restricted, "Hikvision", "Hikvision", "EZVIZ"},
		{"oui never outvotes a contrary maker", "", []identity.Identity{
			{Source: "arp", MAC: "58:50:ed:1f:e3:85"},
			obs("upnp", identity.FieldManufacturer, "AXIS"),
		}, identity.Suspect, "Hikvision", "Hikvision", ""},
		{"sadp is proof", "", []identity.Identity{obs("sadp", identity.FieldProtocol, "sadp-probematch", identity.FieldModel, "DS-2CD2320D-I")}, identity.Restricted, "Hikvision", "Hikvision", ""},
		{"hisilicon only is suspect at most", "", []identity.Identity{obs("console", identity.FieldSoC, "hi3516ev300", identity.FieldManufacturer, "HiSilicon")}, identity.Suspect, "Huawei", "Huawei", "HiSilicon"},
		{"lorex brand alone is suspect", "", []identity.Identity{obs("onvif", identity.FieldManufacturer, "LOREX")}, identity.Suspect, "Dahua", "Dahua", "Lorex"},
		{"lorex with dahua firmware is restricted", "", []identity.Identity{obs("onvif", identity.FieldManufacturer, "LOREX", identity.FieldFirmware, "2.460.0001.5.R, Build Date 2017-08-11")}, identity.Restricted, "Dahua", "Dahua", "Lorex"},
		{"lorex answering dhip is restricted", "", []identity.Identity{obs("dhip", identity.FieldProtocol, "dhip-notifydevinfo", identity.FieldVendor, "Lorex", identity.FieldManufacturer, "Private")}, identity.Restricted, "Dahua", "Dahua", "Lorex"},
		{"xiongmai clear under ndaa889", "ndaa889", []identity.Identity{obs("http", identity.FieldServer, "uc-httpd/1.0.0")}, identity.Clear, "", "Xiongmai", ""},
		{"xiongmai restricted under uk-nil", "uk-nil", []identity.Identity{obs("http", identity.FieldServer, "uc-httpd/1.0.0")}, identity.Restricted, "Xiongmai", "Xiongmai", ""},
		{"axis is clear", "", []identity.Identity{obs("wsd", identity.FieldName, "AXIS M2036-LE", identity.FieldModel, "M2036-LE")}, identity.Clear, "", "Axis", ""},
		{"uniview nvr is not dahua", "", []identity.Identity{obs("wsd", identity.FieldModel, "NVR301-08S3")}, identity.Clear, "", "Uniview", ""},
		{"dahua onvif envelope", "", []identity.Identity{obs("onvif", identity.FieldXMLStyle, "standalone-yes", identity.FieldXMLStyle, "soap-encoding-sc")}, identity.Restricted, "Dahua", "Dahua", ""},
		{"half the dahua envelope is nothing", "", []identity.Identity{obs("onvif", identity.FieldXMLStyle, "standalone-yes")}, identity.Unknown, "", "", ""},
		{"usb vid", "", []identity.Identity{obs("usb", identity.FieldUSBVendorID, "2bdf", identity.FieldModel, "HIK 2K Camera")}, identity.Restricted, "Hikvision", "Hikvision", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustLoad(t, c.profile)
			r := p.Classify(c.ids)
			if r.Verdict != c.verdict || r.Entity != c.entity || r.Manufacturer != c.manu || r.Brand != c.brand {
				t.Errorf("Classify = %s entity=%q manufacturer=%q brand=%q; want %s %q %q %q\nreasons: %+v",
					r.Verdict, r.Entity, r.Manufacturer, r.Brand, c.verdict, c.entity, c.manu, c.brand, r.Reasons)
			}
			if r.Verdict != identity.Unknown && len(r.Reasons) == 0 {
				t.Errorf("verdict %s without reasons", r.Verdict)
			}
		})
	}
}

func TestOverlayAndCheck(t *testing.T) {
	good := `{"version":"site-1","extends":"ndaa889","makers":[{"name":"Acme","aliases":["acme cams"]}],
	  "profiles":[{"name":"site","restricted":["Hikvision","Dahua","Huawei","ZTE","Hytera","Acme"]}],"profile":"site",
	  "rules":[{"id":"server/acme","field":"server","pattern":"^AcmeWeb/","maker":"Acme","weight":"strong"}]}`
	p, err := LoadOverlay(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Classify([]identity.Identity{obs("http", identity.FieldServer, "AcmeWeb/2.0")})
	if r.Verdict != identity.Restricted || r.Entity != "Acme" {
		t.Errorf("overlay rule: got %+v", r)
	}
	if !strings.HasSuffix(strings.Split(p.Version(), "+oui.")[0], "+site-1") {
		t.Errorf("overlay version = %q", p.Version())
	}
	bad := map[string]string{
		"unknown key":     `{"version":"x","bogus":1}`,
		"bad regexp":      `{"version":"x","rules":[{"id":"r","field":"server","pattern":"(","maker":"Axis","weight":"strong"}]}`,
		"unknown maker":   `{"version":"x","rules":[{"id":"r","field":"server","pattern":"a","maker":"Nobody","weight":"strong"}]}`,
		"bad weight":      `{"version":"x","rules":[{"id":"r","field":"server","pattern":"a","maker":"Axis","weight":"huge"}]}`,
		"cycle":           `{"version":"x","makers":[{"name":"A","parent":"B","relation":"brand"},{"name":"B","parent":"A","relation":"brand"}]}`,
		"unknown profile": `{"version":"x","profile":"mars"}`,
		"bad oui":         `{"version":"x","ouis":[{"prefix":"XYZ","bits":24,"maker":"Axis"}]}`,
		"not json":        `version: x`,
	}
	for name, in := range bad {
		if err := Check(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Check accepted %s", name, in)
		} else if strings.Contains(err.Error(), "\n") && name != "cycle" {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestCheckRefusesRulesThatCannotFire: a rule on a field no source records
// and a profile naming an unknown maker are errors, whichever profile is
// in force, each said once with what to fix.
func TestCheckRefusesRulesThatCannotFire(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"unknown field": {`{"version":"x","rules":[{"id":"r","field":"sever","pattern":"a","maker":"Axis","weight":"strong"}]}`,
			`policy: rule "r": unknown field "sever" (did you mean "server"?): no source records it, so the rule could never match`},
		"unknown field far from any": {`{"version":"x","rules":[{"id":"r","field":"colour","pattern":"a","maker":"Axis","weight":"strong"}]}`,
			`policy: rule "r": unknown field "colour": no source records it`},
		"unknown and field": {`{"version":"x","rules":[{"id":"r","field":"server","pattern":"a","and":{"field":"titel","pattern":"b"},"maker":"Axis","weight":"strong"}]}`,
			`policy: rule "r": and: unknown field "titel" (did you mean "title"?)`},
		"unknown maker in a profile not in force": {`{"version":"x","profiles":[{"name":"site","restricted":["Hikvision","Nobody"]}]}`,
			`policy: profile "site": unknown maker "Nobody"`},
		"unknown maker in the profile in force": {`{"version":"x","profile":"site","profiles":[{"name":"site","restricted":["Nobody"]}]}`,
			`policy: profile "site": unknown maker "Nobody"`},
		"brand in a profile": {`{"version":"x","profiles":[{"name":"site","restricted":["EZVIZ"]}]}`,
			`policy: profile "site": "EZVIZ" is not a top-level maker`},
		"profile without a name": {`{"version":"x","profiles":[{"restricted":["Hikvision"]}]}`,
			`policy: profile name "" is empty or used twice`},
	} {
		err := Check(strings.NewReader(tc.in))
		if err == nil {
			t.Errorf("%s: Check accepted %s", name, tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", name, err, tc.want)
		}
		if n := strings.Count(err.Error(), "\n"); n != 0 {
			t.Errorf("%s: %d errors, want one: %v", name, n+1, err)
		}
	}
	// Every field the embedded rules use, and every known field, passes.
	for _, f := range KnownFields() {
		in := `{"version":"x","rules":[{"id":"r","field":"` + f + `","pattern":"a","maker":"Axis","weight":"weak"}]}`
		if err := Check(strings.NewReader(in)); err != nil {
			t.Errorf("field %q: %v", f, err)
		}
	}
}
