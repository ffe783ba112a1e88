package banner

// Fact fields this package records beyond the identity.Field* names.
const (
	FieldAuthScheme      = "auth-scheme"      // the scheme of a WWW-Authenticate challenge ("Digest", "Basic")
	FieldHTTPStyle       = "http-style"       // "uppercase-headers+bom" or "uppercase-headers"
	FieldGenerator       = "generator"        // <meta name="generator" content="...">
	FieldOEMCode         = "oem-code"         // ISAPI <OEMCode>
	FieldHardwareVersion = "hardware-version" // ISAPI hardwareVersion, magicBox hardwareVersion, Reolink hardVer
	FieldUpdateSerial    = "update-serial"    // magicBox updateSerial (the real model on Lorex NVRs)
	FieldSystemContact   = "system-contact"   // ISAPI <systemContact> ("Hikvision.China")
	FieldTLSSAN          = "tls-san"          // one DNS name of the certificate's subject alternative names
	FieldTLSIssuerOrg    = "tls-issuer-org"   // O= of the certificate issuer
)

// Protocol tells, recorded under identity.FieldProtocol. The package
// documentation says what each one means.
const (
	TellHTTPResponse    = "http-response"
	TellHTTPFragment    = "http-fragment"
	TellISAPIDeviceInfo = "hikvision-isapi-deviceinfo"
	TellDeviceInfoXML   = "deviceinfo-xml"
	TellDahuaMagicBox   = "dahua-magicbox"
	TellReolinkAPI      = "reolink-api"
	TellRTSPResponse    = "rtsp-response"
	TellRTSPFragment    = "rtsp-fragment"
	TellTLSCertificate  = "tls-certificate"
	TellTLSSubjectText  = "tls-subject-text"
)

// HTTP styles, recorded under FieldHTTPStyle.
const (
	StyleUppercaseBOM = "uppercase-headers+bom"
	StyleUppercase    = "uppercase-headers"
)
