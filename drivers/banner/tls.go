package banner

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// ParseTLS reads a server certificate and returns it as one identity of
// source "tls". It accepts PEM (the first CERTIFICATE block is the leaf;
// text around the PEM, as openssl s_client prints it, is ignored), the
// lines `openssl x509 -noout -subject -issuer` prints in the old
// ("subject= /C=CN/O=HIKVISION/CN=...") or new ("subject=C = CN, O =
// HIKVISION, CN = ...") style, and a bare RFC 2253 DN line such as
// "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,C=CN", taken as the subject.
// Facts: tls-subject and tls-issuer (RFC 2253, most specific first),
// tls-org and tls-cn (subject O and CN), tls-issuer-org and tls-san.
func ParseTLS(b []byte) ([]identity.Identity, error) {
	return parseOne(b, identity.SourceTLS, parseTLSInto)
}

// parseTLSInto reads PEM data from its first BEGIN line, or else DN text.
func parseTLSInto(id *identity.Identity, t []byte) error {
	if i := bytes.Index(t, []byte("-----BEGIN ")); i >= 0 {
		return parsePEM(id, t[i:])
	}
	return parseDNText(id, t)
}

// parsePEM records the first CERTIFICATE block of PEM data.
func parsePEM(id *identity.Identity, b []byte) error {
	other := false
	for {
		blk, rest := pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" || blk.Type == "X509 CERTIFICATE" || blk.Type == "TRUSTED CERTIFICATE" {
			return addCertificate(id, blk.Bytes)
		}
		other = true
		b = rest
	}
	if other {
		return errors.New("banner: PEM data holds no CERTIFICATE block (a key or another PEM type)")
	}
	return errors.New("banner: PEM data is truncated or malformed")
}

// certNames holds the two names of a certificate. It is read with a
// minimal ASN.1 layout so that certificates crypto/x509 refuses (negative
// serial numbers and other camera firmware quirks) still yield their names.
type certNames struct {
	TBS struct {
		Version   int `asn1:"optional,explicit,default:0,tag:0"`
		Serial    asn1.RawValue
		Algorithm asn1.RawValue
		Issuer    pkix.RDNSequence
		Validity  asn1.RawValue
		Subject   pkix.RDNSequence
	}
}

// addCertificate records the names of a DER certificate.
func addCertificate(id *identity.Identity, der []byte) error {
	var c certNames
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		return errors.New("banner: certificate is truncated or malformed")
	}
	id.Add(identity.FieldProtocol, TellTLSCertificate)
	addRDNs(id, c.TBS.Subject, identity.FieldTLSSubject, identity.FieldTLSOrg, identity.FieldTLSCN)
	addRDNs(id, c.TBS.Issuer, identity.FieldTLSIssuer, FieldTLSIssuerOrg, "")
	if cert, err := x509.ParseCertificate(der); err == nil {
		for _, n := range cert.DNSNames {
			id.Add(FieldTLSSAN, n)
		}
	}
	return nil
}

var (
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// addRDNs records a name as text under full, and its O and CN values.
func addRDNs(id *identity.Identity, seq pkix.RDNSequence, full, org, cn string) {
	id.Add(full, seq.String())
	for _, want := range []struct {
		oid   asn1.ObjectIdentifier
		field string
	}{{oidOrganization, org}, {oidCommonName, cn}} {
		if want.field == "" {
			continue
		}
		for _, rdn := range seq {
			for _, a := range rdn {
				if s, ok := a.Value.(string); ok && a.Type.Equal(want.oid) {
					id.Add(want.field, s)
				}
			}
		}
	}
}

// addDN records a name read from text, as addRDNs does for a certificate.
func addDN(id *identity.Identity, d dn, full, org, cn string) {
	id.Add(full, d.String())
	for _, v := range d.values("O") {
		id.Add(org, v)
	}
	if cn != "" {
		for _, v := range d.values("CN") {
			id.Add(cn, v)
		}
	}
}

// opensslExtras are other lines `openssl x509 -noout` may print next to
// -subject and -issuer; they are skipped.
var opensslExtras = []string{"notbefore=", "notafter=", "serial=", "sha1 fingerprint=", "sha256 fingerprint=", "md5 fingerprint="}

// parseDNText reads subject=/issuer= lines or one bare DN line.
func parseDNText(id *identity.Identity, t []byte) error {
	if !utf8.Valid(t) {
		return errors.New("banner: not a certificate or distinguished name (input is not UTF-8 text)")
	}
	var subject, issuer dn
	bare := 0
	for _, line := range strings.Split(string(t), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return errors.New("banner: control bytes in distinguished name text")
		}
		lower := asciiLower(line)
		skip := false
		for _, x := range opensslExtras {
			skip = skip || strings.HasPrefix(lower, x)
		}
		if skip {
			continue
		}
		target, value, bareLine := &subject, line, false
		switch {
		case strings.HasPrefix(lower, "subject") && labelled(line[len("subject"):]):
			value = strings.TrimSpace(line[len("subject"):])[1:]
		case strings.HasPrefix(lower, "issuer") && labelled(line[len("issuer"):]):
			target, value = &issuer, strings.TrimSpace(line[len("issuer"):])[1:]
		default:
			if bare++; bare > 1 {
				return errors.New("banner: more than one bare distinguished name")
			}
			bareLine = true
		}
		d, err := parseDNValue(strings.TrimSpace(value))
		if err != nil && bareLine {
			return errors.New("banner: not a certificate or distinguished name")
		}
		if err != nil {
			return err
		}
		if !d.known() {
			return errors.New("banner: not a certificate or distinguished name")
		}
		*target = d
	}
	if subject == nil && issuer == nil {
		return errors.New("banner: not a certificate or distinguished name")
	}
	id.Add(identity.FieldProtocol, TellTLSSubjectText)
	if subject != nil {
		addDN(id, subject, identity.FieldTLSSubject, identity.FieldTLSOrg, identity.FieldTLSCN)
	}
	if issuer != nil {
		addDN(id, issuer, identity.FieldTLSIssuer, FieldTLSIssuerOrg, "")
	}
	return nil
}

// labelled reports whether rest (what follows "subject" or "issuer")
// starts with '=' or ':' after optional spaces.
func labelled(rest string) bool {
	rest = strings.TrimSpace(rest)
	return rest != "" && (rest[0] == '=' || rest[0] == ':')
}

// parseDNValue reads a DN in any of the three text styles and returns it in
// RFC 2253 order.
func parseDNValue(s string) (dn, error) {
	switch {
	case strings.HasPrefix(s, "/"):
		d, err := parseSlashDN(s)
		return d.reversed(), err
	case strings.Contains(s, " = "):
		d, err := parseDN(s)
		return d.reversed(), err
	}
	return parseDN(s)
}
