package console

import (
	"regexp"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Caps on what one console contributes: lines of note kept as text facts,
// and how many lines one kind of note may contribute, so that a console
// printing one kind of line in a loop cannot crowd out the others.
const (
	maxTextFacts = 96
	maxPerKind   = 8
)

// notable lists the kinds of console lines worth keeping as evidence
// (FieldText): boot banners, prompts and the strings vendors' boot loaders,
// kernels and init scripts print. The parser keeps them; the policy decides
// what they mean. Each kind has lower-case keywords, one of which a line
// must contain before its (case-insensitive) pattern is tried: most lines
// contain none, and a regular expression per line would be the cost of
// reading a console.
var notable = []kind{
	{`\b(u-boot|dh-boot|ubl version|x-loader|bootloader|bootrom|boot version)\b`, []string{"boot", "x-loader", "ubl version"}},
	{`^linux version\b|^booting linux\b|\bmachine( model)?\s*:|^hardware\s*:|\bboard\s*(info|name|model)\b`, []string{"linux", "machine", "hardware", "board"}},
	{`\bautoboot\b|\bhit .{0,12}key\b|\bpress .{0,20}(to stop|to abort|to upgrade|key to)`, []string{"autoboot", "hit ", "press "}},
	{`^[a-z][\w.-]{0,23} ?[#$>](\s|$)|^<[\w-]{1,32}>|\blogin:\s*$|^password:`, []string{"#", "$", ">", "<", "login:", "password:"}},
	// Recovery and upgrade prompts of a damaged Hikvision firmware, and
	// the module-tagged log of its boot loader's TFTP upgrade, before the
	// generic upgrade lines so that a long transfer cannot crowd them out.
	{`please upgrade by tftp|^please input ip address of (device|upgrade server)\b|upgrade packet mismatch|correct packet for upgrade|^\[upg\]\[|upgrade_from_digicap|/dav(_sec)? failed|update fail`,
		[]string{"upgrade", "ip address of", "packet", "[upg]", "digicap", "/dav", "update fail"}},
	{`^\[ ?(info|error)\]\[min\]`, []string{"[min]"}},
	{`\bdevice_class\b|\boemcode\b|\bupgrade\b|\btftp\b|\bfilename\b|\.dav\b|\bdigicap\b`, []string{"device_class", "oemcode", "upgrade", "tftp", "filename", ".dav", "digicap"}},
	{`(^|[\s'":=])/(dav|devinfo|home|bin/psh)(\s|/|$)|\bpsh\b`, []string{"/dav", "/devinfo", "/home", "psh"}},
	{`\b192\.0\.0\.(64|128)\b|\b192\.168\.(1\.108|254\.254)\b`, []string{"192.0.0.", "192.168."}},
	{`\b(cfgrestore|erasepart|flwrite|gbootlogptr|dh_keyboard|appauto|autolip|autosip|sonia|magicstring)\b|^partition file version|\bupgrade_info_`,
		[]string{"cfgrestore", "erasepart", "flwrite", "gbootlogptr", "dh_keyboard", "appauto", "autolip", "autosip", "sonia", "magicstring", "partition file version", "upgrade_info_"}},
	{`hisilicon|\bhi3[0-9]{3}|\bhi_(sfc|fmc)\b|\bhifmc\b|\bhiusb\b|\bhc&c\b`, []string{"hisilicon", "hi3", "hi_sfc", "hi_fmc", "hifmc", "hiusb", "hc&c"}},
	{`liteos|huawei|\bzte\b|\bzxr10\b|\bzxhn\b|\bhytera\b`, []string{"liteos", "huawei", "zte", "zxr10", "zxhn", "hytera"}},
	{`hikvision|hikrobot|ezviz|hiwatch|hilook|\bhkvs\b|\bhik\b|dahua|\bimou\b|lechange`, []string{"hik", "ezviz", "hiwatch", "hilook", "hkvs", "dahua", "imou", "lechange"}},
	{`xiongmai|xmspinor|\bxm_|raspberry pi|\brpi: `, []string{"xiongmai", "xmspinor", "xm_", "raspberry pi", "rpi: "}},
	{`\bds-[0-9][0-9a-z]{3}|\bdhi?-[a-z]{2,4}|\bipc-h[a-z]{1,4}[0-9]{4}`, []string{"ds-", "dh-", "dhi-", "ipc-h"}},
	{`\br2 watchdog|^machine:\s*r2$|r2_isp_config|cpl-frt-bsp|\bdavinci\b`, []string{"r2 watchdog", "machine: r2", "r2_isp_config", "cpl-frt-bsp", "davinci"}},
	{`^(device |product |camera )?(model|serial|firmware|software|manufacturer|vendor|oem)\b.{0,24}[:=]`, []string{"model", "serial", "firmware", "software", "manufacturer", "vendor", "oem"}},
	{`\bkernel command line\b|\bconsole=`, []string{"kernel command line", "console="}},
	{`\b(goke|gk7[0-9]{3}|ingenic|sigmastar|mstar|fullhan|fh8[0-9]{3}|anyka|ak3[0-9]{3}|ssc[0-9]{3}|novatek|ambarella|grain-media|chipup|xs73[0-9]{2})\b`,
		[]string{"goke", "gk7", "ingenic", "sigmastar", "mstar", "fullhan", "fh8", "anyka", "ak3", "ssc", "novatek", "ambarella", "grain-media", "chipup", "xs73"}},
	// Boot ROM and first-stage loaders that print no U-Boot banner: the
	// image-signature, DDR-training and SPI-NAND image-scan lines of the
	// Chipup XS73xx MiniBoot (on newer Dahua cameras and others), the
	// "ROM:" lines of Fullhan parts.
	{`^(key hash pass!?|imgsign pass|\$?tch spinand|preimgheaderbase\b|spinand : scan uimg\b|smc_init\b|chip id is 0x)|^rom:\s`,
		[]string{"key hash", "imgsign", "tch spinand", "preimgheaderbase", "spinand :", "smc_init", "chip id is", "rom:"}},
	{`^(ddr32bit done|mac io keep)|^info: (write leveling|dqs gating|(bypass )?read train|write train) (start|done)$`,
		[]string{"ddr32bit", "mac io keep", "info: "}},
}

// kind is one kind of notable line.
type kind struct {
	pattern string
	keys    []string // lower-case; one must occur in the line
}

// compiled notable patterns, in the order of notable.
var notableRe = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(notable))
	for i, k := range notable {
		out[i] = regexp.MustCompile(`(?i)` + k.pattern)
	}
	return out
}()

// Keywords before the structured patterns.
var (
	socKeys    = []string{"hi3", "gk7", "ssc", "ssd2", "fh8", "ak3", "bcm2", "rk3", "nt9"}
	macKeys    = []string{"mac", "ethaddr", "hwaddr"}
	keyedLines = []string{"model", "serial", "sn", "firmware", "software", "sw", "fw", "system", "manufactur", "vendor", "oem", "brand"}
)

// containsAny reports whether s contains one of keys.
func containsAny(s string, keys []string) bool {
	for _, k := range keys {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

var (
	socRe     = regexp.MustCompile(`(?i)\b(hi3[0-9]{3}[a-z]{0,3}(v[0-9]{3})?|gk7[0-9]{3}[a-z]{0,3}(v[0-9]{3})?|ssc[0-9]{3}[a-z]{0,3}|ssd2[0-9]{2}[a-z]?|fh8[0-9]{3}[a-z0-9]{0,4}|ak3[0-9]{3}[a-z0-9]{0,3}|bcm2[0-9]{3}|rk3[0-9]{3}|nt9[0-9]{4})\b`)
	ingenicRe = regexp.MustCompile(`(?i)\bingenic\s+(t[0-9]{2}[a-z]{0,2})\b`)
	macRe     = regexp.MustCompile(`(?i)\b(mac|ethaddr|hwaddr)(\s+addr(ess)?)?\s*[:=]?\s*(([0-9a-f]{2}[:-]){5}[0-9a-f]{2})\b`)
	// key: value lines that name the device (not the board or the SoC).
	modelRe  = regexp.MustCompile(`(?i)^(device |product |camera |dev)?(model|model ?name|model ?number|model ?no\.?)\s*[:=]\s*(.+)$`)
	serialRe = regexp.MustCompile(`(?i)^(device |board |product )?(serial|sn|serial ?no\.?|serial ?num(ber)?|serialno)\s*[:=]\s*([0-9a-z][0-9a-z/()_.-]{3,63})\b`)
	firmRe   = regexp.MustCompile(`(?i)^(firmware|software|sw|fw|system|firmware version|software version)( ?version| ?ver\.?)?\s*[:=]\s*(.+)$`)
	makerRe  = regexp.MustCompile(`(?i)^(manufacturer|manufacture|vendor|oem|brand)\s*[:=]\s*(.+)$`)
	// Firmware version schemes printed in free text.
	schemeRe = regexp.MustCompile(`\b(V[0-9]+\.[0-9]+\.[0-9]+ ?build [0-9]{6}|V?[0-9]\.[0-9]{3}\.[0-9A-Za-z]{4,}\.[0-9]+\.R)\b`)
)

// extractor gathers the identity facts of a stream of console lines.
type extractor struct {
	lines    int      // lines seen
	readable int      // lines with a word of three letters or more
	text     []string // lines of note, in order, without repeats
	perKind  [32]int  // indexed like notable
	seen     map[string]bool
	facts    []identity.Fact // structured facts, in order, without repeats
}

// line takes one raw line.
func (e *extractor) line(raw string) {
	s := normalize(raw)
	if s == "" {
		return
	}
	e.lines++
	if hasWord(s) {
		e.readable++
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	if len(s) > identity.MaxValueLen {
		s = identity.Clean(s)
	}
	if e.seen[s] {
		return
	}
	e.seen[s] = true
	if len(e.seen) > 4*identity.MaxFacts*maxPerKind {
		// A flood of distinct lines: forget the repeats, keep the facts.
		e.seen = map[string]bool{s: true}
	}
	lower := strings.ToLower(s)
	e.structured(s, lower)
	if len(e.text) >= maxTextFacts {
		return
	}
	for k, re := range notableRe {
		if e.perKind[k] < maxPerKind && containsAny(lower, notable[k].keys) && re.MatchString(s) {
			e.perKind[k]++
			e.text = append(e.text, s)
			return
		}
	}
}

// structured records the SoC, MAC, model, serial, firmware and maker a
// line states.
func (e *extractor) structured(s, lower string) {
	if containsAny(lower, socKeys) {
		for _, m := range socRe.FindAllString(s, 2) {
			e.add(identity.FieldSoC, strings.ToLower(m))
		}
	}
	if strings.Contains(lower, "ingenic") {
		if m := ingenicRe.FindStringSubmatch(s); m != nil {
			e.add(identity.FieldSoC, strings.ToLower(m[1]))
		}
	}
	if containsAny(lower, macKeys) {
		if m := macRe.FindStringSubmatch(s); m != nil {
			if mac := identity.NormalizeMAC(m[4]); mac != "" {
				e.add(identity.FieldMAC, mac)
			}
		}
	}
	if strings.Contains(lower, "build") || strings.Contains(s, ".R") {
		if m := schemeRe.FindString(s); m != "" {
			e.add(identity.FieldFirmware, m)
		}
	}
	if !containsAny(lower, keyedLines) {
		return
	}
	if m := modelRe.FindStringSubmatch(s); m != nil {
		e.add(identity.FieldModel, firstField(m[3]))
	}
	if m := serialRe.FindStringSubmatch(s); m != nil && strings.Trim(m[4], "0") != "" {
		e.add(identity.FieldSerial, m[4])
	}
	if m := firmRe.FindStringSubmatch(s); m != nil {
		e.add(identity.FieldFirmware, m[3])
	}
	if m := makerRe.FindStringSubmatch(s); m != nil {
		e.add(identity.FieldManufacturer, m[2])
	}
}

func (e *extractor) add(field, value string) {
	v := identity.Clean(value)
	if v == "" || len(e.facts) >= identity.MaxFacts/4 {
		return
	}
	for _, f := range e.facts {
		if f.Field == field && f.Value == v {
			return
		}
	}
	e.facts = append(e.facts, identity.Fact{Field: field, Value: v})
}

// identity returns what was gathered: structured facts first, then the
// lines of note.
func (e *extractor) identity(port string) identity.Identity {
	id := identity.Identity{Source: identity.SourceConsole, Port: port}
	for _, f := range e.facts {
		id.Add(f.Field, f.Value)
	}
	for _, t := range e.text {
		id.Add(identity.FieldText, t)
	}
	return id
}

// firstField is the first word of a value, unless the value is short.
func firstField(v string) string {
	v = strings.TrimSpace(v)
	if len(v) <= 40 || !strings.ContainsRune(v, ' ') {
		return v
	}
	f, _, _ := strings.Cut(v, " ")
	return f
}

// hasWord reports whether s holds a run of three letters.
func hasWord(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c >= 'a' && c <= 'z' {
			run++
			if run >= 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
