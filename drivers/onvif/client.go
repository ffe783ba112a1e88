package onvif

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/discovery"
	"github.com/nvrguard/nvrguard/drivers/identity"
)

// MaxResponse caps a device-service answer; a GetDeviceInformation response
// is under 2 KB.
const MaxResponse = 64 << 10

// Credentials are the operator's ONVIF account for WS-UsernameToken. The
// zero value asks anonymously: many cameras answer GetDeviceInformation
// only with an account (ter:NotAuthorized otherwise).
type Credentials struct {
	Username string
	Password string
}

// Client asks a camera's ONVIF device service for its identity. It sends
// only read requests (GetSystemDateAndTime, GetDeviceInformation) and never
// guesses a password: with no Credentials it asks anonymously.
type Client struct {
	// HTTP is the client used; nil means one with a 3 s timeout. Its
	// redirects and cookie jar are ignored: a camera cannot send the
	// gateway elsewhere.
	HTTP *http.Client
	// Credentials, when Username is set, sign each request with a
	// WS-UsernameToken password digest, dated by the camera's clock.
	Credentials Credentials
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time
}

// DeviceInformation asks the device service at xaddr (an XAddr from a
// WS-Discovery answer) for GetDeviceInformation and returns the identity
// Parse makes of it, with Addr set to from. The XAddr must be an http:// URL
// whose host is from, the address that answered discovery. A SOAP fault
// (ter:NotAuthorized without or with wrong credentials) is a *FaultError.
func (c *Client) DeviceInformation(ctx context.Context, xaddr string, from netip.Addr) ([]identity.Identity, error) {
	u, err := discovery.AdvertisedURL(xaddr, from)
	if err != nil {
		return nil, fmt.Errorf("onvif: XAddr %w", err)
	}
	var header []byte
	if c.Credentials.Username != "" {
		// The digest is dated; cameras refuse one too far from their own
		// clock (often 5 s), so ask the camera's time first (PRE_AUTH).
		offset := time.Duration(0)
		if b, err := c.post(ctx, u, "GetSystemDateAndTime", GetSystemDateAndTimeRequest()); err == nil {
			if t, err := ParseSystemDateAndTime(b); err == nil {
				offset = t.Sub(c.now())
			}
		}
		header, err = c.securityHeader(c.now().Add(offset))
		if err != nil {
			return nil, err
		}
	}
	b, err := c.post(ctx, u, "GetDeviceInformation", request(header, getDeviceInformation))
	if err != nil {
		return nil, err
	}
	ids, err := Parse(b)
	if err != nil {
		return nil, err
	}
	for i := range ids {
		if ids[i].Get(identity.FieldProtocol) != "onvif-deviceinfo" {
			return nil, errors.New("onvif: the device service did not answer GetDeviceInformation")
		}
		ids[i].Addr = from.Unmap()
		ids[i].Add(identity.FieldURL, u.String())
	}
	return ids, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// post sends one SOAP 1.2 request and returns the envelope of the answer:
// a 200, or a 400/500 that carries a SOAP fault.
func (c *Client) post(ctx context.Context, u *url.URL, action string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("onvif: %s request: %w", action, err)
	}
	req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/`+action+`"`)
	resp, err := discovery.FollowClient(c.HTTP, http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("onvif: %s: %w", action, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusBadRequest, http.StatusInternalServerError:
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("onvif: %s: HTTP 401 (the camera wants HTTP authentication)", action)
	default:
		return nil, fmt.Errorf("onvif: %s: HTTP %d", action, resp.StatusCode)
	}
	b, err := discovery.ReadBody(resp, MaxResponse)
	if err != nil {
		return nil, fmt.Errorf("onvif: %s: answer %w", action, err)
	}
	return b, nil
}

// WS-Security namespaces (OASIS UsernameToken Profile 1.0).
const (
	nsWSSE         = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU          = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	passwordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	base64Binary   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

// securityHeader builds a WS-Security header with a UsernameToken:
// Password = Base64(SHA-1(nonce + created + password)).
func (c *Client) securityHeader(created time.Time) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("onvif: nonce: %w", err)
	}
	ts := created.UTC().Format("2006-01-02T15:04:05.000Z")
	var b bytes.Buffer
	b.WriteString(`<s:Header><wsse:Security s:mustUnderstand="1" xmlns:wsse="` + nsWSSE + `" xmlns:wsu="` + nsWSU + `"><wsse:UsernameToken><wsse:Username>`)
	if err := xml.EscapeText(&b, []byte(c.Credentials.Username)); err != nil {
		return nil, fmt.Errorf("onvif: username: %w", err)
	}
	b.WriteString(`</wsse:Username><wsse:Password Type="` + passwordDigest + `">` + Digest(nonce, ts, c.Credentials.Password) + `</wsse:Password>`)
	b.WriteString(`<wsse:Nonce EncodingType="` + base64Binary + `">` + base64.StdEncoding.EncodeToString(nonce) + `</wsse:Nonce>`)
	b.WriteString(`<wsu:Created>` + ts + `</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>`)
	return b.Bytes(), nil
}

// Digest is the UsernameToken password digest: Base64(SHA-1(nonce +
// created + password)), nonce in raw bytes, created as sent.
func Digest(nonce []byte, created, password string) string {
	h := sha1.New()
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ParseSystemDateAndTime reads the UTC time of a
// GetSystemDateAndTimeResponse.
func ParseSystemDateAndTime(b []byte) (time.Time, error) {
	env, err := ParseEnvelope(b)
	if err != nil {
		return time.Time{}, fmt.Errorf("onvif: %w", err)
	}
	resp := env.Body.First()
	switch {
	case resp == nil:
		return time.Time{}, errors.New("onvif: empty SOAP Body")
	case resp.Local == "Fault":
		return time.Time{}, fault(resp)
	case resp.Local != "GetSystemDateAndTimeResponse":
		return time.Time{}, errors.New("onvif: not a GetSystemDateAndTime response")
	}
	utc := resp.Path("SystemDateAndTime", "UTCDateTime")
	if utc == nil {
		return time.Time{}, errors.New("onvif: GetSystemDateAndTime without UTCDateTime")
	}
	var v [6]int
	for i, p := range [][2]string{{"Date", "Year"}, {"Date", "Month"}, {"Date", "Day"}, {"Time", "Hour"}, {"Time", "Minute"}, {"Time", "Second"}} {
		n, err := strconv.Atoi(utc.Path(p[0], p[1]).Value())
		if err != nil {
			return time.Time{}, fmt.Errorf("onvif: UTCDateTime %s.%s is not a number", p[0], p[1])
		}
		v[i] = n
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, time.UTC)
	if t.Year() != v[0] || int(t.Month()) != v[1] || t.Day() != v[2] || t.Hour() != v[3] || t.Minute() != v[4] || t.Second() != v[5] {
		return time.Time{}, errors.New("onvif: UTCDateTime is not a valid date")
	}
	return t, nil
}

// Refusals remembers the cameras that refused the operator's account, so
// that a wrong or changed password is not tried on them again every sweep:
// cameras lock out an address after a few failed logins (Hikvision: 5 by
// default, for 30 minutes), and the gateway would lock itself out. Safe for
// concurrent use; the zero value holds refusals for DefaultHold.
type Refusals struct {
	// Hold is how long a refusal stands (DefaultHold when 0).
	Hold time.Duration

	mu    sync.Mutex
	until map[netip.Addr]time.Time
}

// DefaultHold is how long a camera that refused the account is left alone.
const DefaultHold = 6 * time.Hour

// Allowed says whether the account may be tried on a now.
func (r *Refusals) Allowed(a netip.Addr, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.until[a]
	if ok && !now.Before(t) {
		delete(r.until, a)
		return true
	}
	return !ok
}

// Refused records that a refused the account at now.
func (r *Refusals) Refused(a netip.Addr, now time.Time) {
	hold := r.Hold
	if hold <= 0 {
		hold = DefaultHold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until = map[netip.Addr]time.Time{}
	}
	r.until[a] = now.Add(hold)
}

// IsNotAuthorized says whether err is a SOAP fault refusing the request
// for want of (valid) credentials.
func IsNotAuthorized(err error) bool {
	var fe *FaultError
	return errors.As(err, &fe) && strings.Contains(fe.Code, "NotAuthorized")
}
