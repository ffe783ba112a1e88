// Package banner reads the identity an address already found gives away on
// its HTTP, RTSP and TLS ports: Server headers, WWW-Authenticate realms,
// HTML titles, vendor identity documents (Hikvision ISAPI deviceInfo, Dahua
// magicBox, Reolink API), RTSP SDP attributes and the TLS certificate subject.
//
// The parsers (ParseHTTP, ParseRTSP, ParseTLS) turn bytes into
// identity.Identity values that carry facts: what the device said, in which
// field. They never classify; the policy package maps facts to verdicts. The
// Prober fetches the same bytes from a live address, without ever logging
// in, and hands them to the same parsers.
//
// Fact fields recorded: server, realm, auth-scheme, title, generator, url,
// http-style, xmlns, manufacturer, vendor, model, serial, firmware, mac,
// name, device-class, uuid, soc, oem-code, hardware-version, update-serial,
// system-contact, sdp, tls-subject, tls-issuer, tls-org, tls-issuer-org,
// tls-cn, tls-san and protocol.
//
// Protocol tells (field "protocol") recorded:
//
//   - "http-response": an HTTP status line was read.
//   - "http-fragment": a bare one-line value (as fingerprint databases list
//     Server headers and titles) was recorded as both server and title.
//   - "hikvision-isapi-deviceinfo": a <DeviceInfo> document in the Hikvision
//     ISAPI namespace (hikvision.com or isapi.org XMLSchema), as XML or as
//     xmltodict-style JSON.
//   - "deviceinfo-xml": a <DeviceInfo> document in any other namespace (or
//     none); its facts are recorded, but it is not claimed to be ISAPI.
//   - "dahua-magicbox": Dahua magicBox.cgi key=value lines.
//   - "reolink-api": a Reolink /cgi-bin/api.cgi JSON answer.
//   - "rtsp-response": an RTSP status line was read.
//   - "rtsp-fragment": a bare one-line RTSP Server value.
//   - "tls-certificate": facts read from an X.509 certificate.
//   - "tls-subject-text": facts read from a distinguished name written as
//     text (openssl output or an RFC 2253 line).
//
// The "http-style" field holds "uppercase-headers+bom" when upper-case
// header names (CONNECTION:, CONTENT-LENGTH:) come with a UTF-8 byte order
// mark at the start of the body (a Dahua web server tell from nmap), and
// "uppercase-headers" when only the header style holds.
package banner
