// Package nvr reads the channel list of a network video recorder with an
// account the operator configured (DESIGN.md, "NVR channel list"): the
// cameras on the recorder's own PoE ports sit on its internal switch and
// never answer on the LAN, so the recorder is asked which cameras it has.
//
// A Reader logs in to one recorder (Hikvision ISAPI with HTTP Digest, or
// Dahua CGI with HTTP Digest and the JSON-RPC /RPC2 interface as fallback),
// reads the recorder's own identity and its list of IP channels, and
// returns one identity.Identity per channel with Via set to the recorder
// and the channel number.
//
// Safety rules the package enforces in code, not by convention:
//
//   - Read-only. Every request goes through one http.RoundTripper
//     (allowRequest) that refuses anything but the GETs and read RPCs this
//     package is written to send; anything else is a bug and an error.
//   - Lockout-safe. A Guard, kept by the daemon across sweeps and persisted
//     in its state directory, allows at most one failed login per recorder
//     and account per retry window (DefaultRetryAfter), never before the
//     unlock time the recorder itself reported, and not at all while the
//     recorder says the account is locked. A 401 is never retried inside a
//     read: the first 401 of a read, to a request without credentials, is
//     the Digest challenge; a 401 to a request with credentials is a failed
//     login. A 403 means "not available to this account", not a failure.
//   - Secrets stay out. Passwords and user names in answers (Dahua
//     Password=/UserName=, RPC "Password", Hikvision <password>/<userName>)
//     are dropped while parsing and are never in a returned value, an error
//     or a log line. Errors never quote an answer's body.
//   - TLS. https is verified by the system roots, or by a pinned SHA-256
//     fingerprint of the leaf certificate; an unverified certificate is an
//     error, never accepted silently.
//
// Fact fields recorded on channel identities: protocol, model, serial,
// firmware, mac, vendor, manufacturer, channel-name, device-type and
// channel-state. The channel name is the operator's title on the recorder,
// not something the camera says, so it goes under FieldChannelName rather
// than identity.FieldName (which the policy matches against maker names).
// A Dahua DeviceType that is a token rather than a model ("8004", "IPC",
// "IPCamera") goes under FieldDeviceType, never under model.
//
// Protocol tells (field "protocol") recorded:
//
//   - "hikvision-sdk-channel" (TellHikvisionSDKChannel): a Hikvision
//     recorder reaches this camera with proxyProtocol HIKVISION, the
//     private Hikvision SDK protocol that only Hikvision-platform cameras
//     speak.
//   - "dahua-private-channel" (TellDahuaPrivateChannel): a Dahua recorder
//     reaches this camera with the Dahua private protocol (ProtocolType or
//     Vendor "Private", "Dahua", "Dahua2", "Dahua3").
//   - On the recorder's own identity, the tells of package banner:
//     "hikvision-isapi-deviceinfo" for an ISAPI DeviceInfo in the Hikvision
//     namespaces (banner.TellISAPIDeviceInfo), "deviceinfo-xml" in any other
//     namespace, "dahua-magicbox" for magicBox answers.
//
// The parsers (ParseISAPIChannels, ParseISAPIChannelStatus,
// ParseISAPIDeviceInfo, ParseISAPILock, ParseDahuaChannels,
// ParseDahuaCameraState, ParseMagicBox, ParseRPCReply, ParseChallenges)
// are exported for `nvrguard classify` and for tests; they bound their
// input and never panic.
package nvr
