package banner

import (
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// magicBoxFields maps the keys of Dahua magicBox.cgi answers
// (getSystemInfo, getVendor, getDeviceType, getSoftwareVersion) to fact
// fields.
var magicBoxFields = map[string]string{
	"deviceType":      identity.FieldModel,
	"type":            identity.FieldModel,
	"serialNumber":    identity.FieldSerial,
	"vendor":          identity.FieldVendor,
	"version":         identity.FieldFirmware,
	"updateSerial":    FieldUpdateSerial,
	"processor":       identity.FieldSoC,
	"hardwareVersion": FieldHardwareVersion,
}

// magicBoxLines splits t into key=value pairs when it is a magicBox answer:
// every non-blank line is key=value, and there are at least two known keys
// or one of vendor= and deviceType=.
func magicBoxLines(t []byte) ([]header, bool) {
	if !utf8.Valid(t) {
		return nil, false
	}
	var kv []header
	known, strong := 0, false
	for _, line := range strings.Split(string(t), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !isKeyValue(line) || strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, false
		}
		k, v, _ := strings.Cut(line, "=")
		kv = append(kv, header{name: k, value: v})
		if _, ok := magicBoxFields[k]; ok {
			known++
			strong = strong || k == "vendor" || k == "deviceType"
		}
	}
	return kv, known >= 2 || strong
}

// addMagicBox records magicBox key=value pairs in the order given.
func addMagicBox(id *identity.Identity, kv []header) {
	id.Add(identity.FieldProtocol, TellDahuaMagicBox)
	for _, h := range kv {
		if f, ok := magicBoxFields[h.name]; ok {
			id.Add(f, h.value)
		}
	}
}
