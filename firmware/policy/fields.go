package policy

import (
	"slices"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// knownFields are the fact fields that the sources record: the
// identity.Field* names and the ones drivers add of their own (banner,
// ssdp, wsd, sadp, usb, pelco, nvr). A rule on any other field could never
// fire, so a policy naming one is refused. TestKnownFieldsCoverDrivers
// keeps this list in step with the drivers' constants.
var knownFields = []string{
	identity.FieldManufacturer, identity.FieldVendor, identity.FieldBrand, identity.FieldName,
	identity.FieldModel, identity.FieldSerial, identity.FieldFirmware, identity.FieldMAC,
	identity.FieldProtocol, identity.FieldServer, identity.FieldRealm, identity.FieldTitle,
	identity.FieldXMLNS, identity.FieldXMLStyle, identity.FieldScope, identity.FieldSDP,
	identity.FieldTLSSubject, identity.FieldTLSIssuer, identity.FieldTLSOrg, identity.FieldTLSCN,
	identity.FieldUSBVendorID, identity.FieldUSBProductID, identity.FieldText, identity.FieldSoC,
	identity.FieldDeviceClass, identity.FieldUUID, identity.FieldURL,
	// drivers/banner
	"auth-scheme", "http-style", "generator", "oem-code", "hardware-version", "update-serial",
	"system-contact", "tls-san", "tls-issuer-org",
	// drivers/ssdp, drivers/wsd
	"st", "usn", "user-agent", "uuid-mac", "model-number", "model-description", "device-type",
	"types", "metadata-version",
	// drivers/usb
	"usb-serial", "v4l-name", "usb-driver",
	// drivers/pelco
	"ptz-address", "ptz-role", "ptz-frame",
	// drivers/nvr
	"channel-name", "channel-state", "host",
}

// KnownFields returns the fact fields a rule may name, sorted.
func KnownFields() []string {
	out := slices.Clone(knownFields)
	slices.Sort(out)
	return slices.Compact(out)
}

// knownField reports whether a source records facts under this field.
func knownField(f string) bool { return slices.Contains(knownFields, f) }

// nearField returns ` (did you mean "x"?)` for the known field closest to
// f when it is a likely typo (at most two edits away), else "".
func nearField(f string) string {
	best := Nearest(f, KnownFields())
	if best == "" {
		return ""
	}
	return ` (did you mean "` + best + `"?)`
}

// Nearest returns the candidate closest to s when it is a likely typo (at
// most two edits away), else "": the "did you mean" of policy fields and of
// the command line.
func Nearest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
