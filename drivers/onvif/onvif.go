// Package onvif parses ONVIF device-service SOAP responses
// (GetDeviceInformation, GetCapabilities) into identities, builds the
// unauthenticated request bodies, and owns the hardened SOAP envelope reader
// and envelope fingerprint that drivers/wsd shares.
//
// Parse records facts only; the policy classifies. Facts (source "onvif"):
// manufacturer, model, firmware, serial, "hardware-id" (GetDeviceInformation);
// url for every XAddr (GetCapabilities); xmlns for every namespace URI
// declared in the envelope; xml-style for the envelope fingerprint.
//
// Protocol tells (field "protocol"): "onvif-deviceinfo", "onvif-capabilities".
//
// Envelope fingerprints (field "xml-style", see Envelope.Style):
// "standalone-yes" (the XML declaration has standalone="yes"),
// "soap-encoding-sc" (prefix sc bound to the SOAP 1.2 encoding namespace),
// "envelope-prefix:<p>" (the Envelope element's prefix, e.g. "s", "env",
// "SOAP-ENV") or "envelope-no-prefix".
package onvif

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"net/url"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// FieldHardwareID is the fact field of GetDeviceInformation's HardwareId.
const FieldHardwareID = "hardware-id"

// FaultError is the error Parse returns for a SOAP Fault: typically
// ter:NotAuthorized when a request needs credentials.
type FaultError struct {
	// Code is the fault code with its subcodes ("env:Sender/ter:NotAuthorized"),
	// cleaned and cut to 80 bytes.
	Code string
}

// Error implements error.
func (e *FaultError) Error() string {
	if e.Code == "" {
		return "onvif: SOAP fault: (no code)"
	}
	return "onvif: SOAP fault: " + e.Code
}

// Parse turns a GetDeviceInformationResponse or GetCapabilitiesResponse
// envelope into one identity. A SOAP Fault gives a *FaultError; anything else
// is an error.
func Parse(b []byte) ([]identity.Identity, error) {
	env, err := ParseEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("onvif: %w", err)
	}
	resp := env.Body.First()
	if resp == nil {
		return nil, errors.New("onvif: empty SOAP Body")
	}
	id := identity.Identity{Source: identity.SourceONVIF}
	switch resp.Local {
	case "Fault":
		return nil, fault(resp)
	case "GetDeviceInformationResponse":
		id.Add(identity.FieldProtocol, "onvif-deviceinfo")
		id.Add(identity.FieldManufacturer, resp.Child("Manufacturer").Value())
		id.Add(identity.FieldModel, resp.Child("Model").Value())
		id.Add(identity.FieldFirmware, resp.Child("FirmwareVersion").Value())
		id.Add(identity.FieldSerial, resp.Child("SerialNumber").Value())
		id.Add(FieldHardwareID, resp.Child("HardwareId").Value())
	case "GetCapabilitiesResponse":
		caps := resp.Child("Capabilities")
		if caps == nil {
			return nil, errors.New("onvif: GetCapabilitiesResponse without Capabilities")
		}
		id.Add(identity.FieldProtocol, "onvif-capabilities")
		caps.Walk(func(e *Element) {
			if e.Local == "XAddr" {
				id.Add(identity.FieldURL, e.Text)
			}
		})
		if a := hostAddr(caps.Path("Device", "XAddr").Value()); a.IsValid() && !a.IsUnspecified() {
			id.Addr = a
		}
	default:
		return nil, errors.New("onvif: not a GetDeviceInformation or GetCapabilities response")
	}
	env.AddFacts(&id)
	return []identity.Identity{id}, nil
}

// fault builds the error of a SOAP 1.2 Fault (Code/Value, Subcode/Value...)
// or a SOAP 1.1 one (faultcode).
func fault(f *Element) error {
	code := f.Child("faultcode").Value()
	for c := f.Child("Code"); c != nil; c = c.Child("Subcode") {
		v := c.Child("Value").Value()
		if v == "" {
			break
		}
		if code != "" {
			code += "/"
		}
		code += v
	}
	return &FaultError{Code: cut(identity.Clean(code), 80)}
}

// hostAddr returns the IP address a URL's host names, or the zero Addr
// when the host is a name or the URL does not parse.
func hostAddr(raw string) netip.Addr {
	u, err := url.Parse(raw)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// The body elements of the requests nvrguard sends.
const (
	getDeviceInformation = `<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>`
	getCapabilities      = `<GetCapabilities xmlns="http://www.onvif.org/ver10/device/wsdl"><Category>All</Category></GetCapabilities>`
	getSystemDateAndTime = `<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>`
)

// request is a SOAP 1.2 envelope with an optional header and one body element.
func request(header []byte, body string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">`)
	b.Write(header)
	b.WriteString(`<s:Body>` + body + `</s:Body></s:Envelope>`)
	return b.Bytes()
}

// GetDeviceInformationRequest returns the SOAP 1.2 body of an
// unauthenticated GetDeviceInformation request (no WS-Security header).
func GetDeviceInformationRequest() []byte { return request(nil, getDeviceInformation) }

// GetCapabilitiesRequest returns the SOAP 1.2 body of an unauthenticated
// GetCapabilities request for all categories (a PRE_AUTH call in ONVIF Core).
func GetCapabilitiesRequest() []byte { return request(nil, getCapabilities) }

// GetSystemDateAndTimeRequest returns the body of GetSystemDateAndTime, a
// PRE_AUTH call in ONVIF Core: every camera answers it without an account.
func GetSystemDateAndTimeRequest() []byte { return request(nil, getSystemDateAndTime) }
