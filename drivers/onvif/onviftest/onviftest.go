// Package onviftest simulates a camera's ONVIF device service for tests:
// GetSystemDateAndTime (PRE_AUTH) from the camera's clock, and
// GetDeviceInformation answered with a captured response, behind a
// WS-UsernameToken check when the camera has an account set, as real
// cameras do (ter:NotAuthorized otherwise).
package onviftest

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/onvif"
)

// Device is one camera's device service. It is an http.Handler; Respond
// serves raw servers (the camera simulator's shared port 80).
type Device struct {
	// Info is the GetDeviceInformationResponse envelope answered.
	Info []byte
	// Username and Password, when Username is set, are the one account
	// GetDeviceInformation accepts.
	Username, Password string
	// Clock is the camera's clock; time.Now when nil.
	Clock func() time.Time
	// MaxSkew is how far a token's Created may be from Clock (5 s when 0,
	// a common camera setting).
	MaxSkew time.Duration

	mu      sync.Mutex
	actions []string
}

// Actions returns the requests answered so far ("GetDeviceInformation",
// "GetSystemDateAndTime", or "refused: <why>"), in order.
func (d *Device) Actions() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.actions...)
}

func (d *Device) log(a string) {
	d.mu.Lock()
	d.actions = append(d.actions, a)
	d.mu.Unlock()
}

// ServeHTTP answers POSTed SOAP requests.
func (d *Device) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, onvif.MaxSize))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	status, resp := d.Respond(body)
	w.Header().Set("Content-Type", "application/soap+xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

// Respond answers one request body with an HTTP status and a SOAP envelope.
func (d *Device) Respond(body []byte) (int, []byte) {
	env, err := onvif.ParseEnvelope(body)
	if err != nil {
		d.log("refused: not SOAP")
		return http.StatusBadRequest, Fault("env:Sender", "ter:WellFormed")
	}
	req := env.Body.First()
	switch {
	case req == nil:
		d.log("refused: empty Body")
		return http.StatusBadRequest, Fault("env:Sender", "ter:InvalidArgVal")
	case req.Local == "GetSystemDateAndTime":
		d.log("GetSystemDateAndTime")
		return http.StatusOK, SystemDateAndTime(d.now())
	case req.Local == "GetDeviceInformation":
		if why := d.authorize(env); why != "" {
			d.log("refused: " + why)
			return http.StatusBadRequest, Fault("env:Sender", "ter:NotAuthorized")
		}
		d.log("GetDeviceInformation")
		return http.StatusOK, d.Info
	default:
		d.log("refused: " + req.Local)
		return http.StatusBadRequest, Fault("env:Sender", "ter:ActionNotSupported")
	}
}

func (d *Device) now() time.Time {
	if d.Clock != nil {
		return d.Clock()
	}
	return time.Now()
}

// authorize checks the UsernameToken as a camera does: the user, the
// digest, and Created within MaxSkew of the camera's clock.
func (d *Device) authorize(env *onvif.Envelope) string {
	if d.Username == "" {
		return ""
	}
	tok := env.Header.Path("Security", "UsernameToken")
	if tok == nil {
		return "no UsernameToken"
	}
	if tok.Child("Username").Value() != d.Username {
		return "unknown user"
	}
	nonce, err := base64.StdEncoding.DecodeString(tok.Child("Nonce").Value())
	if err != nil || len(nonce) == 0 {
		return "bad nonce"
	}
	created := tok.Child("Created").Value()
	if onvif.Digest(nonce, created, d.Password) != tok.Child("Password").Value() {
		return "wrong digest"
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return "bad Created"
	}
	skew := d.MaxSkew
	if skew == 0 {
		skew = 5 * time.Second
	}
	if diff := t.Sub(d.now()); diff > skew || diff < -skew {
		return fmt.Sprintf("Created %v from the camera's clock", diff.Round(time.Second))
	}
	return ""
}

// Fault is a SOAP 1.2 fault envelope with a code and a subcode.
func Fault(code, subcode string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error">` +
		`<env:Body><env:Fault><env:Code><env:Value>` + code + `</env:Value><env:Subcode><env:Value>` + subcode + `</env:Value></env:Subcode></env:Code>` +
		`<env:Reason><env:Text xml:lang="en">refused</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`)
}

// SystemDateAndTime is a GetSystemDateAndTimeResponse for t, in the shape
// ONVIF Core gives.
func SystemDateAndTime(t time.Time) []byte {
	t = t.UTC()
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">`+
		`<s:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>`+
		`<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time><tt:Hour>%d</tt:Hour><tt:Minute>%d</tt:Minute><tt:Second>%d</tt:Second></tt:Time>`+
		`<tt:Date><tt:Year>%d</tt:Year><tt:Month>%d</tt:Month><tt:Day>%d</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>`,
		t.Hour(), t.Minute(), t.Second(), t.Year(), int(t.Month()), t.Day())
}
