package ssdp

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// nsDevice is the namespace of a UPnP device description's root element.
const nsDevice = "urn:schemas-upnp-org:device-1-0"

// Limits on the shape of a description: real ones nest about eight deep.
const (
	maxDepth    = 32
	maxElements = 4096
)

// rootFields maps the root device's elements to fact fields.
var rootFields = map[string]string{
	"deviceType":       FieldDeviceType,
	"friendlyName":     identity.FieldName,
	"manufacturer":     identity.FieldManufacturer,
	"manufacturerURL":  identity.FieldURL,
	"modelDescription": FieldModelDescription,
	"modelName":        identity.FieldModel,
	"modelNumber":      FieldModelNumber,
	"modelURL":         identity.FieldURL,
	"serialNumber":     identity.FieldSerial,
	"UDN":              identity.FieldUUID,
	"presentationURL":  identity.FieldURL,
}

// ParseDescription turns a UPnP device description (root element "root" in
// urn:schemas-upnp-org:device-1-0, any prefix) into one identity: the root
// device, with the manufacturers of its embedded devices as extra
// manufacturer facts. It refuses DTDs (so entities never expand), more than
// MaxSize bytes, 32 levels or 4096 elements.
func ParseDescription(b []byte) ([]identity.Identity, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("ssdp: input too large (%d bytes, limit %d)", len(b), MaxSize)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	b = bytes.Trim(b, "\x00 \t\r\n")
	switch {
	case len(b) == 0:
		return nil, errors.New("ssdp: empty input")
	case !utf8.Valid(b):
		return nil, errors.New("ssdp: not UTF-8")
	case b[0] != '<':
		return nil, errors.New("ssdp: not XML")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = discovery.ASCIICharset
	id := identity.Identity{Source: identity.SourceUPnP}
	id.Add(identity.FieldProtocol, "upnp-description")
	var (
		path            []string
		text            strings.Builder
		count           int
		done, hasDevice bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("ssdp: DTD or <! directive not allowed")
		case xml.CharData:
			if len(path) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("ssdp: not XML: text outside the root element")
			}
			text.Write(t)
		case xml.StartElement:
			switch {
			case done:
				return nil, errors.New("ssdp: malformed XML: content after the root element")
			case len(path) == 0 && (t.Name.Local != "root" || t.Name.Space != nsDevice):
				return nil, errors.New("ssdp: not a UPnP device description")
			case len(path) >= maxDepth:
				return nil, fmt.Errorf("ssdp: XML nested too deep (limit %d)", maxDepth)
			}
			if count++; count > maxElements {
				return nil, fmt.Errorf("ssdp: too many XML elements (limit %d)", maxElements)
			}
			path = append(path, t.Name.Local)
			hasDevice = hasDevice || (len(path) == 2 && t.Name.Local == "device")
			text.Reset()
		case xml.EndElement:
			record(&id, path, text.String())
			text.Reset()
			path = path[:len(path)-1]
			done = len(path) == 0
		}
	}
	switch {
	case !done:
		return nil, errors.New("ssdp: not XML: no root element")
	case !hasDevice:
		return nil, errors.New("ssdp: UPnP description without a device")
	}
	return []identity.Identity{id}, nil
}

// record adds the fact, if any, of the element at path whose text is v.
func record(id *identity.Identity, path []string, v string) {
	n := len(path)
	switch {
	case n == 2 && path[1] == "URLBase":
		id.Add(identity.FieldURL, v)
	case n == 3 && path[1] == "device":
		if field, ok := rootFields[path[2]]; ok {
			id.Add(field, v)
			if field == identity.FieldUUID {
				id.Add(FieldUUIDMAC, uuidMAC(strings.TrimSpace(v)))
			}
		}
	case n >= 5 && path[1] == "device" && path[n-1] == "manufacturer" && path[n-2] == "device" && path[n-3] == "deviceList":
		id.Add(identity.FieldManufacturer, v)
	}
}

// FetchDescription GETs the description at location and parses it. It only
// fetches http:// URLs whose host is the IP address from, the sender of the
// SSDP answer (a LOCATION pointing elsewhere is refused: SSRF guard). It
// sends no credentials and keeps no cookies, follows no redirect, reads at
// most MaxSize bytes and stops when ctx ends. A nil client means a plain
// http.Client. The identities get Addr from and the answer's Server header
// as a server fact.
func FetchDescription(ctx context.Context, client *http.Client, location string, from netip.Addr) ([]identity.Identity, error) {
	u, err := discovery.AdvertisedURL(location, from)
	if err != nil {
		return nil, fmt.Errorf("ssdp: LOCATION %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ssdp: description request: %w", err)
	}
	resp, err := discovery.FollowClient(client, http.Client{}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("ssdp: fetch description: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ssdp: description answer is HTTP %d, not 200", resp.StatusCode)
	}
	body, err := discovery.ReadBody(resp, MaxSize)
	if err != nil {
		return nil, fmt.Errorf("ssdp: description %w", err)
	}
	ids, err := ParseDescription(body)
	if err != nil {
		return nil, err
	}
	for i := range ids {
		ids[i].Addr = from.Unmap()
		ids[i].Add(identity.FieldServer, resp.Header.Get("Server"))
	}
	return ids, nil
}

// xmlError turns a decoder error into a short message; the decoder's own
// text may quote the input, so it is cleaned and cut.
func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if se.Msg == "unexpected EOF" {
			return errors.New("ssdp: truncated XML")
		}
		err = fmt.Errorf("line %d: %s", se.Line, se.Msg)
	}
	msg := identity.Clean(err.Error())
	if len(msg) > 80 {
		msg = strings.ToValidUTF8(msg[:80], "")
	}
	return fmt.Errorf("ssdp: malformed XML: %s", msg)
}
