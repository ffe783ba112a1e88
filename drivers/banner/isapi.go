package banner

import (
	"strings"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// isISAPINamespace reports whether ns is a Hikvision ISAPI schema namespace
// (http://www.hikvision.com/ver20/XMLSchema, http://www.isapi.org/ver20/XMLSchema).
func isISAPINamespace(ns string) bool {
	s := strings.ToLower(ns)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	return strings.HasPrefix(s, "www.hikvision.com/ver") || strings.HasPrefix(s, "www.isapi.org/ver")
}

// deviceInfoFields maps <DeviceInfo> children to fact fields, in the order
// the facts are recorded. firmwareVersion and macAddress are handled apart.
var deviceInfoFields = []struct{ elem, field string }{
	{"manufacturer", identity.FieldManufacturer},
	{"model", identity.FieldModel},
	{"serialNumber", identity.FieldSerial},
	{"macAddress", identity.FieldMAC},
	{"firmwareVersion", identity.FieldFirmware},
	{"deviceName", identity.FieldName},
	{"deviceType", identity.FieldDeviceClass},
	{"OEMCode", FieldOEMCode},
	{"deviceID", identity.FieldUUID},
	{"hardwareVersion", FieldHardwareVersion},
	{"systemContact", FieldSystemContact},
}

// addDeviceInfo records an ISAPI <DeviceInfo> document read as XML or JSON:
// ns is its namespace and get returns the text of a child element.
func addDeviceInfo(id *identity.Identity, ns string, get func(string) string) {
	tell := TellDeviceInfoXML
	if isISAPINamespace(ns) {
		tell = TellISAPIDeviceInfo
	}
	id.Add(identity.FieldProtocol, tell)
	id.Add(identity.FieldXMLNS, ns)
	for _, f := range deviceInfoFields {
		v := get(f.elem)
		switch f.elem {
		case "macAddress":
			v = identity.NormalizeMAC(v)
			if v != "" && id.MAC == "" {
				id.MAC = v
			}
		case "firmwareVersion":
			if date := strings.TrimSpace(get("firmwareReleasedDate")); v != "" && date != "" {
				v = strings.TrimSpace(v) + " " + date
			}
		}
		id.Add(f.field, v)
	}
}
