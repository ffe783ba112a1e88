package banner

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity/identitytest"
)

var hikSubject = pkix.Name{
	Country: []string{"CN"}, Province: []string{"ZheJiang"}, Locality: []string{"HangZhou"},
	Organization: []string{"HIKVISION"}, OrganizationalUnit: []string{"DVRNVR"}, CommonName: "www.hikvision.com",
}

// makeCert returns a DER certificate for subject, signed by a fresh key
// under issuer (self-signed when issuer is the subject).
func makeCert(t testing.TB, subject, issuer pkix.Name, dns []string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: subject, DNSNames: dns,
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
	}
	parent := &x509.Certificate{Subject: issuer}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// negativeSerial rewrites the serial number of der as -5, which
// crypto/x509 refuses to parse; the signature is left stale.
func negativeSerial(t testing.TB, der []byte) []byte {
	t.Helper()
	var cert []asn1.RawValue
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		t.Fatal(err)
	}
	var tbs []asn1.RawValue
	if _, err := asn1.Unmarshal(cert[0].FullBytes, &tbs); err != nil {
		t.Fatal(err)
	}
	serial, err := asn1.Marshal(big.NewInt(-5))
	if err != nil {
		t.Fatal(err)
	}
	tbs[1] = asn1.RawValue{FullBytes: serial}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		t.Fatal(err)
	}
	cert[0] = asn1.RawValue{FullBytes: tbsDER}
	out, err := asn1.Marshal(cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(out); err == nil {
		t.Fatal("crypto/x509 parsed a negative serial number: the fallback is not exercised")
	}
	return out
}

func TestParseTLS(t *testing.T) {
	hikSubj := "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"
	ca := pkix.Name{Organization: []string{"Hangzhou Hikvision Digital Technology Co., Ltd."}, CommonName: "Device CA"}
	leaf := makeCert(t, hikSubject, ca, []string{"cam.local"})
	self := makeCert(t, hikSubject, hikSubject, nil)
	certFacts := func(subject string, issuer string, issuerOrg string, san ...string) []string {
		out := []string{"protocol", "tls-certificate", "tls-subject", subject, "tls-org", "HIKVISION", "tls-cn", "www.hikvision.com", "tls-issuer", issuer, "tls-issuer-org", issuerOrg}
		for _, s := range san {
			out = append(out, "tls-san", s)
		}
		return out
	}
	// crypto/x509 encodes C, ST, L, O, OU, CN: the recog order once reversed.
	x509Subj := hikSubj
	runGood(t, ParseTLS, "tls", []goodCase{
		{
			name:  "PEM chain, leaf first, after s_client text",
			in:    "depth=0 C = CN\n---\nCertificate chain\n" + pemCert(leaf) + pemCert(self),
			facts: f(certFacts(x509Subj, `CN=Device CA,O=Hangzhou Hikvision Digital Technology Co.\, Ltd.`, "Hangzhou Hikvision Digital Technology Co., Ltd.", "cam.local")...),
		},
		{
			name:  "certificate crypto/x509 refuses (negative serial)",
			in:    pemCert(negativeSerial(t, self)),
			facts: f(certFacts(x509Subj, x509Subj, "HIKVISION")...),
		},
		{
			name: "openssl 1.0 style",
			in:   "subject= /C=CN/ST=ZheJiang/L=HangZhou/O=HIKVISION/OU=DVRNVR/CN=www.hikvision.com\nissuer= /C=CN/ST=ZheJiang/L=HangZhou/O=HIKVISION/OU=DVRNVR/CN=www.hikvision.com\n",
			facts: f("protocol", "tls-subject-text", "tls-subject", hikSubj, "tls-org", "HIKVISION", "tls-cn", "www.hikvision.com",
				"tls-issuer", hikSubj, "tls-issuer-org", "HIKVISION"),
		},
		{
			name: "openssl 1.1+ style with a quoted value",
			in:   "subject=C = CN, ST = ZheJiang, O = \"HIKVISION, Inc.\", CN = www.hikvision.com\nissuer=C = US, O = Let's Encrypt, CN = R3\nnotAfter=Jan  1 00:00:00 2030 GMT\n",
			facts: f("protocol", "tls-subject-text", "tls-subject", `CN=www.hikvision.com,O=HIKVISION\, Inc.,ST=ZheJiang,C=CN`, "tls-org", "HIKVISION, Inc.", "tls-cn", "www.hikvision.com",
				"tls-issuer", "CN=R3,O=Let's Encrypt,C=US", "tls-issuer-org", "Let's Encrypt"),
		},
		{
			name:  "bare RFC 2253 DN with an escaped comma and a multi-valued RDN",
			in:    `CN=axis-accc8e012345+serialNumber=ACCC8E012345,O=Axis Communications\, AB,C=SE` + "\n",
			facts: f("protocol", "tls-subject-text", "tls-subject", `CN=axis-accc8e012345+SERIALNUMBER=ACCC8E012345,O=Axis Communications\, AB,C=SE`, "tls-org", "Axis Communications, AB", "tls-cn", "axis-accc8e012345"),
		},
		{
			name:  "subject= in RFC 2253 order",
			in:    "subject=CN=camera.ubnt.dev,O=Ubiquiti Inc.\n",
			facts: f("protocol", "tls-subject-text", "tls-subject", "CN=camera.ubnt.dev,O=Ubiquiti Inc.", "tls-org", "Ubiquiti Inc.", "tls-cn", "camera.ubnt.dev"),
		},
		{
			name:  "hex escapes",
			in:    `O=\E6\B5\B7\E5\BA\B7,CN=x`,
			facts: f("protocol", "tls-subject-text", "tls-subject", "O=海康,CN=x", "tls-org", "海康", "tls-cn", "x"),
		},
	})
}

func TestParseTLSBad(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	good := pemCert(makeCert(t, hikSubject, hikSubject, nil))
	runBad(t, ParseTLS, append(commonBad(), []badCase{
		{"PEM private key", keyPEM, "no CERTIFICATE block"},
		{"truncated PEM", good[:len(good)/2], "truncated"},
		{"garbage in a CERTIFICATE block", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "truncated or malformed"},
		{"HTTP response", string(identitytest.ReadFile(t, "http-hik-401-001.txt")), "not a certificate or distinguished name"},
		{"free text", "hello world", "not a certificate or distinguished name"},
		{"unknown attribute names only", "FOO=bar,BAZ=qux", "not a certificate"},
		{"unterminated quote", `subject=C = CN, O = "HIKVISION`, "malformed distinguished name"},
		{"two bare DNs", "CN=a,O=b\nCN=c,O=d\n", "more than one"},
		{"non-UTF-8 DN", "CN=\xff\xfe,O=x", "not UTF-8"},
		{"subject label without a DN", "subject=\n", "malformed distinguished name"},
	}...))
	if strings.Contains(keyPEM, "CERTIFICATE") {
		t.Fatal("test key PEM unexpectedly mentions a certificate")
	}
}
