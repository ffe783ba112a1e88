package report

import (
	"fmt"
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// sourceWords say, for a facilities manager, where a piece of evidence
// came from.
var sourceWords = map[string]string{
	identity.SourceSADP:    "Hikvision's discovery protocol (SADP)",
	identity.SourceDHIP:    "Dahua's discovery protocol (DHIP)",
	identity.SourceWSD:     "its ONVIF network announcement",
	identity.SourceSSDP:    "its UPnP network announcement",
	identity.SourceUPnP:    "its UPnP device description",
	identity.SourceONVIF:   "its ONVIF device information",
	identity.SourceHTTP:    "its web interface",
	identity.SourceRTSP:    "its video stream server (RTSP)",
	identity.SourceTLS:     "its security certificate",
	identity.SourceARP:     "the network's address table",
	identity.SourceOUI:     "the maker code in its network address",
	identity.SourceConsole: "its serial console",
	identity.SourcePelco:   "its camera-control (Pelco) reply",
	identity.SourceUSB:     "its USB identity",
	identity.SourceNVR:     "the video recorder's camera list",
	identity.SourceMAC:     "a network address entered by hand",
}

// fieldWords name a field of a device's identity in plain words.
var fieldWords = map[string]string{
	identity.FieldManufacturer: "maker",
	identity.FieldVendor:       "vendor",
	identity.FieldBrand:        "brand",
	identity.FieldName:         "device name",
	identity.FieldModel:        "model number",
	identity.FieldSerial:       "serial number",
	identity.FieldFirmware:     "firmware",
	identity.FieldMAC:          "network (MAC) address",
	identity.FieldProtocol:     "protocol signature",
	identity.FieldServer:       "server name",
	identity.FieldRealm:        "login prompt",
	identity.FieldTitle:        "page title",
	identity.FieldXMLNS:        "XML namespace",
	identity.FieldXMLStyle:     "XML style",
	identity.FieldScope:        "announced scope",
	identity.FieldSDP:          "stream description",
	identity.FieldTLSSubject:   "certificate subject",
	identity.FieldTLSIssuer:    "certificate issuer",
	identity.FieldTLSOrg:       "certificate organisation",
	identity.FieldTLSCN:        "certificate name",
	identity.FieldUSBVendorID:  "USB vendor id",
	identity.FieldUSBProductID: "USB product id",
	identity.FieldText:         "console text",
	identity.FieldSoC:          "chip",
	identity.FieldDeviceClass:  "device class",
	identity.FieldUUID:         "unique id",
	identity.FieldURL:          "advertised address",
}

// maxValue bounds a quoted value in the report.
const maxValue = 120

// Explain says one reason in words: where it came from, what it said and
// which policy rule it matched. The value is quoted as it came (cleaned
// of control characters and bounded); the HTML escapes it.
func Explain(r identity.Reason, entity string) string {
	src := sourceWords[r.Source]
	if src == "" {
		src = "the " + identity.Clean(r.Source) + " reading"
	}
	field := fieldWords[r.Field]
	if field == "" {
		field = identity.Clean(r.Field)
	}
	v := identity.Clean(r.Value)
	if len([]rune(v)) > maxValue {
		v = string([]rune(v)[:maxValue]) + "…"
	}
	rule := identity.Clean(r.Rule)
	var why string
	switch kind, rest, _ := strings.Cut(rule, "/"); kind {
	case "oui":
		why = "a network-address block registered to " + orThe(entity, "a restricted maker")
	case "maker":
		why = "a maker name on the restricted list"
	case "usb":
		why = "a USB vendor id (" + rest + ") on the restricted list"
	default:
		why = "the policy rule " + rule
		if entity != "" {
			why += ", which points to " + entity
		}
	}
	if rule == "" {
		why = "no named rule"
	}
	return fmt.Sprintf("%s gave the %s “%s”: %s.", capitalise(src), field, v, why)
}

// Evidence is every reason of a device in words.
func Evidence(d identity.Device) []string {
	out := make([]string, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		out = append(out, Explain(r, identity.Clean(d.Entity)))
	}
	return out
}

func orThe(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
