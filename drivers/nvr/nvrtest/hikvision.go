package nvrtest

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Hikvision paths served.
const (
	PathDeviceInfo    = "/ISAPI/System/deviceInfo"
	PathChannels      = "/ISAPI/ContentMgmt/InputProxy/channels"
	PathChannelStatus = "/ISAPI/ContentMgmt/InputProxy/channels/status"
	PathUserCheck     = "/ISAPI/Security/userCheck"
)

// NewHikvision starts a simulated Hikvision NVR (DS-7608NXI-I2/8P/S with
// four IP channels: derived-isapi-deviceinfo-nvr-001.xml,
// derived-isapi-inputproxy-channels-001.xml,
// derived-isapi-inputproxy-status-001.xml). Every ISAPI path wants HTTP
// Digest (or Basic when offered); a wrong answer is a failed login, and
// LockAfter of them lock the account: every request then gets a 401 whose
// userCheck body carries lockStatus=lock, unlockTime (seconds left) and
// retryLoginTime=0, as the real capture isapi-401-locked-001 shows.
// Anything but a GET is logged as a write attempt and refused with 403.
func NewHikvision(t testing.TB, opts Options) *Recorder {
	t.Helper()
	return newRecorder(t, opts, "c504892f438ee5f2114e9fdd", "DNVRS-Webs", 7, 30*time.Minute, func(r *Recorder) http.Handler {
		return http.HandlerFunc(r.serveHikvision)
	})
}

const userCheck401 = `<?xml version="1.0" encoding="UTF-8" ?>
<userCheck>
<statusValue>401</statusValue>
<statusString>Unauthorized</statusString>
%s</userCheck>
`

func (r *Recorder) serveHikvision(w http.ResponseWriter, req *http.Request) {
	r.record(req)
	w.Header().Set("Server", r.opts.Server)
	if req.Method != http.MethodGet {
		r.write(req.Method + " " + req.URL.RequestURI())
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	r.mu.Lock()
	locked, left := r.isLocked()
	res := authNone
	if !locked {
		res = r.checkAuth(req)
	}
	hasCreds := req.Header.Get("Authorization") != ""
	if hasCreds {
		r.c.Credentialed++
	}
	switch {
	case locked:
		r.c.LockedRefusals++
		if hasCreds {
			r.c.AttemptsWhileLocked++
		}
		r.unauthorized(w, false, fmt.Sprintf("<lockStatus>lock</lockStatus>\n<unlockTime>%d</unlockTime>\n<retryLoginTime>0</retryLoginTime>\n", left))
		r.mu.Unlock()
		return
	case res == authNone:
		r.c.Challenges++
		r.unauthorized(w, false, "")
		r.mu.Unlock()
		return
	case res == authStale:
		r.c.StaleNonces++
		r.unauthorized(w, true, "")
		r.mu.Unlock()
		return
	case res == authBad:
		r.failed()
		if l, left := r.isLocked(); l {
			r.unauthorized(w, false, fmt.Sprintf("<lockStatus>lock</lockStatus>\n<unlockTime>%d</unlockTime>\n<retryLoginTime>0</retryLoginTime>\n", left))
		} else {
			r.unauthorized(w, false, fmt.Sprintf("<lockStatus>unlock</lockStatus>\n<unlockTime>0</unlockTime>\n<retryLoginTime>%d</retryLoginTime>\n", r.retriesLeft()))
		}
		r.mu.Unlock()
		return
	}
	r.succeeded()
	r.mu.Unlock()
	if r.forbidden(req.URL.Path) {
		w.Header().Set("Content-Type", `application/xml; charset="UTF-8"`)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="1.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><statusCode>4</statusCode><statusString>Invalid Operation</statusString><subStatusCode>notSupport</subStatusCode></ResponseStatus>`)
		return
	}
	var body []byte
	switch req.URL.Path {
	case PathDeviceInfo:
		body = r.body(PathDeviceInfo, mustSample("derived-isapi-deviceinfo-nvr-001.xml"))
	case PathChannels:
		body = r.body(PathChannels, mustSample("derived-isapi-inputproxy-channels-001.xml"))
		if r.opts.Canary != "" {
			body = bytes.ReplaceAll(body, []byte("</userName>"), []byte("</userName>\n      <password>"+r.opts.Canary+"</password>"))
		}
	case PathChannelStatus:
		body = r.body(PathChannelStatus, mustSample("derived-isapi-inputproxy-status-001.xml"))
	case PathUserCheck:
		body = []byte(`<?xml version="1.0" encoding="UTF-8"?><userCheck><statusValue>200</statusValue><statusString>OK</statusString></userCheck>`)
	default:
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", `application/xml; charset="UTF-8"`)
	_, _ = w.Write(body)
}

// unauthorized writes a 401 with challenges and a userCheck body (under
// r.mu).
func (r *Recorder) unauthorized(w http.ResponseWriter, stale bool, extra string) {
	for _, c := range r.challenges(stale) {
		w.Header().Add("WWW-Authenticate", c)
	}
	w.Header().Set("Content-Type", `application/xml; charset="UTF-8"`)
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, userCheck401, extra)
}
