package policy

import (
	"testing"

	"github.com/nvrguard/nvrguard/drivers/banner"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/nvr"
	"github.com/nvrguard/nvrguard/drivers/pelco"
	"github.com/nvrguard/nvrguard/drivers/sadp"
	"github.com/nvrguard/nvrguard/drivers/ssdp"
	"github.com/nvrguard/nvrguard/drivers/usb"
	"github.com/nvrguard/nvrguard/drivers/wsd"
)

// TestKnownFieldsCoverDrivers: every fact field a driver declares is one a
// rule may name (a field added to a driver and not here would make a rule
// on it refused).
func TestKnownFieldsCoverDrivers(t *testing.T) {
	for _, f := range []string{
		identity.FieldManufacturer, identity.FieldVendor, identity.FieldBrand, identity.FieldName, identity.FieldModel,
		identity.FieldSerial, identity.FieldFirmware, identity.FieldMAC, identity.FieldProtocol, identity.FieldServer,
		identity.FieldRealm, identity.FieldTitle, identity.FieldXMLNS, identity.FieldXMLStyle, identity.FieldScope,
		identity.FieldSDP, identity.FieldTLSSubject, identity.FieldTLSIssuer, identity.FieldTLSOrg, identity.FieldTLSCN,
		identity.FieldUSBVendorID, identity.FieldUSBProductID, identity.FieldText, identity.FieldSoC,
		identity.FieldDeviceClass, identity.FieldUUID, identity.FieldURL,
		banner.FieldAuthScheme, banner.FieldHTTPStyle, banner.FieldGenerator, banner.FieldOEMCode,
		banner.FieldHardwareVersion, banner.FieldUpdateSerial, banner.FieldSystemContact, banner.FieldTLSSAN,
		banner.FieldTLSIssuerOrg,
		ssdp.FieldST, ssdp.FieldUSN, ssdp.FieldUserAgent, ssdp.FieldUUIDMAC, ssdp.FieldModelNumber,
		ssdp.FieldModelDescription, ssdp.FieldDeviceType,
		wsd.FieldTypes, wsd.FieldUUIDMAC, wsd.FieldMetadataVersion,
		sadp.FieldDeviceType, sadp.FieldOEMCode,
		usb.FieldSerial, usb.FieldVideo, usb.FieldDriver,
		pelco.FieldAddress, pelco.FieldRole, pelco.FieldFrame,
		nvr.FieldChannelName, nvr.FieldDeviceType, nvr.FieldChannelState, nvr.FieldHost,
	} {
		if !knownField(f) {
			t.Errorf("field %q is declared by a driver but not in knownFields", f)
		}
	}
	// The embedded policy's rules all name known fields (it loads).
	if _, err := Load(""); err != nil {
		t.Fatal(err)
	}
}
