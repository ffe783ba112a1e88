package banner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// cipherSuites offers every suite crypto/tls implements, the insecure ones
// included: old camera firmware often speaks nothing better, and we only
// read the certificate.
func cipherSuites() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}

// probeTLS runs a TLS handshake and records the leaf certificate. It
// returns nil when no certificate came back.
func (p *Prober) probeTLS(ctx context.Context, ap netip.AddrPort) *identity.Identity {
	var leaf []byte
	err := p.exchange(ctx, ap, func(ctx context.Context, conn net.Conn) error {
		cfg := &tls.Config{
			// InsecureSkipVerify: we only read the certificate the device
			// presents, to record its names. Nothing is sent over this
			// connection and nothing it says is trusted, so there is
			// nothing to verify; self-signed camera certificates would fail
			// verification anyway.
			InsecureSkipVerify: true, //nolint:gosec // see above
			MinVersion:         tls.VersionTLS10,
			CipherSuites:       cipherSuites(),
			// Called with the raw chain even when verification is skipped,
			// before anything else in the handshake can fail.
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) > 0 {
					leaf = raw[0]
				}
				return nil
			},
		}
		return tls.Client(conn, cfg).HandshakeContext(ctx)
	})
	if leaf == nil {
		if err == nil {
			err = errors.New("banner: no certificate")
		}
		p.noAnswer("tls", ap, "", err)
		return nil
	}
	id := &identity.Identity{Source: identity.SourceTLS}
	if perr := addCertificate(id, leaf); perr != nil {
		p.noAnswer("tls", ap, "", perr)
		return nil
	}
	return id
}
