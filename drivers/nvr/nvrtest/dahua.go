package nvrtest

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NewDahua starts a simulated Dahua NVR (the NVR2X-4KS3 of
// dahua-cgi-getsysteminfo-001 with the eight RemoteDevice slots of
// dahua-remotedevice-001). The CGI (/cgi-bin/…) wants HTTP Digest with
// realm "Login to <serial>"; /RPC2_Login runs the two-step global.login
// (the Default hash is checked against the password) and /RPC2 answers
// configManager.getConfig RemoteDevice (dahua-rpc-remotedevice-001),
// magicBox.getSystemInfo and LogicDeviceManager.getCameraState
// (dahua-rpc-getcamerastate-001). Failures of either count towards one
// lock (LockLoginTimes / LoginFailLockTime): the RPC reports it with
// error 268632085 and params remainLoginTimes/remainLockSecond, then
// 268632081; the CGI answers 401 with the body "Error: User is locked"
// (an assumption: no capture of it was found). A CGI action other than a
// get*, or an RPC that is not a read, is logged as a write attempt.
func NewDahua(t testing.TB, opts Options) *Recorder {
	t.Helper()
	r := newRecorder(t, opts, "Login to 4F07335PAZEEA9B", "", 5, 1800*time.Second, func(r *Recorder) http.Handler {
		return http.HandlerFunc(r.serveDahua)
	})
	return r
}

// dahuaReadRPCs are the read methods the double knows.
var dahuaReadRPCs = map[string]bool{
	"global.login": true, "global.logout": true, "global.keepAlive": true, "configManager.getConfig": true,
	"LogicDeviceManager.getCameraState": true, "LogicDeviceManager.getCameraAll": true, "magicBox.getSystemInfo": true,
	"magicBox.getDeviceType": true, "magicBox.getSoftwareVersion": true, "magicBox.getSerialNo": true, "magicBox.getVendor": true,
}

func (r *Recorder) serveDahua(w http.ResponseWriter, req *http.Request) {
	r.record(req)
	if r.opts.Server != "" {
		w.Header().Set("Server", r.opts.Server)
	}
	switch {
	case req.URL.Path == "/RPC2_Login" || req.URL.Path == "/RPC2":
		if r.opts.NoRPC {
			http.NotFound(w, req)
			return
		}
		r.serveRPC(w, req)
		return
	case strings.HasPrefix(req.URL.Path, "/cgi-bin/"):
		if r.opts.NoCGI {
			http.NotFound(w, req)
			return
		}
		r.serveCGI(w, req)
		return
	}
	if req.Method != http.MethodGet {
		r.write(req.Method + " " + req.URL.RequestURI())
	}
	http.NotFound(w, req)
}

func (r *Recorder) serveCGI(w http.ResponseWriter, req *http.Request) {
	action := req.URL.Query().Get("action")
	if req.Method != http.MethodGet || !strings.HasPrefix(action, "get") {
		r.write(req.Method + " " + req.URL.RequestURI())
	}
	r.mu.Lock()
	locked, _ := r.isLocked()
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
		r.dahua401(w, false, "Error: User is locked\r\n")
		r.mu.Unlock()
		return
	case res == authNone:
		r.c.Challenges++
		r.dahua401(w, false, "")
		r.mu.Unlock()
		return
	case res == authStale:
		r.c.StaleNonces++
		r.dahua401(w, true, "")
		r.mu.Unlock()
		return
	case res == authBad:
		r.failed()
		r.dahua401(w, false, "")
		r.mu.Unlock()
		return
	}
	r.succeeded()
	r.mu.Unlock()
	if r.forbidden(req.URL.Path) {
		http.Error(w, "Error\r\nNo Authority", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	var body []byte
	switch req.URL.Path + "?" + action {
	case "/cgi-bin/magicBox.cgi?getSystemInfo":
		body = r.body("getSystemInfo", magicBoxPart("getSystemInfo"))
	case "/cgi-bin/magicBox.cgi?getSoftwareVersion":
		body = r.body("getSoftwareVersion", magicBoxPart("getSoftwareVersion"))
	case "/cgi-bin/magicBox.cgi?getVendor":
		body = r.body("getVendor", magicBoxPart("getVendor"))
	case "/cgi-bin/magicBox.cgi?getMachineName":
		body = r.body("getMachineName", magicBoxPart("getMachineName"))
	case "/cgi-bin/configManager.cgi?getConfig":
		if req.URL.Query().Get("name") != "RemoteDevice" {
			http.Error(w, "Error\r\nBad Request!", http.StatusBadRequest)
			return
		}
		body = r.body("RemoteDevice", mustSample("dahua-remotedevice-001.txt"))
		if r.opts.Canary != "" {
			body = passwordLine.ReplaceAll(body, []byte("${1}"+r.opts.Canary))
		}
	case "/cgi-bin/LogicDeviceManager.cgi?getCameraState":
		body = r.body("getCameraState", mustSample("derived-dahua-cgi-getcamerastate-001.txt"))
	default:
		http.Error(w, "Error\r\nBad Request!", http.StatusBadRequest)
		return
	}
	_, _ = w.Write(body)
}

var passwordLine = regexp.MustCompile(`(?m)(\.Password=)[^\r\n]*`)

// magicBoxPart returns one action's answer from the getSystemInfo corpus
// file (its '# GET …?action=X' headers separate them), CRLF-terminated.
func magicBoxPart(action string) []byte {
	var out []string
	in := false
	for _, line := range strings.Split(string(mustSample("dahua-cgi-getsysteminfo-001.txt")), "\n") {
		if strings.HasPrefix(line, "# GET ") {
			in = strings.HasSuffix(line, "action="+action)
			continue
		}
		if in && line != "" {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\r\n") + "\r\n")
}

func (r *Recorder) dahua401(w http.ResponseWriter, stale bool, body string) {
	for _, c := range r.challenges(stale) {
		w.Header().Add("WWW-Authenticate", c)
	}
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = io.WriteString(w, body)
}

// rpcSession is one RPC session of the double.
type rpcSession struct {
	random   string
	loggedIn bool
}

type rpcReq struct {
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	ID      int             `json:"id"`
	Session json.RawMessage `json:"session"`
}

func (r *Recorder) serveRPC(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	var q rpcReq
	if req.Method != http.MethodPost || json.Unmarshal(b, &q) != nil {
		r.write(req.Method + " " + req.URL.RequestURI())
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if !dahuaReadRPCs[q.Method] || (req.URL.Path == "/RPC2_Login") != (q.Method == "global.login") {
		r.write("RPC " + q.Method)
	}
	if q.Method == "configManager.getConfig" {
		var p struct{ Name string }
		_ = json.Unmarshal(q.Params, &p)
		if p.Name != "RemoteDevice" {
			r.write("RPC configManager.getConfig " + p.Name)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if req.URL.Path == "/RPC2_Login" {
		r.rpcLogin(w, q)
		return
	}
	sess := strings.Trim(string(q.Session), `"`)
	r.mu.Lock()
	s := r.sessions()[sess]
	ok := s != nil && s.loggedIn
	r.mu.Unlock()
	if !ok {
		writeJSON(w, map[string]any{"id": q.ID, "result": false, "error": map[string]any{"code": 287637505, "message": "Invalid session in request data!"}, "session": q.Session})
		return
	}
	var params any
	switch q.Method {
	case "configManager.getConfig":
		params = r.rpcParams("configManager.getConfig", "dahua-rpc-remotedevice-001.json")
	case "magicBox.getSystemInfo":
		params = r.rpcParams("magicBox.getSystemInfo", "derived-dahua-rpc-getsysteminfo-001.json")
	case "LogicDeviceManager.getCameraState":
		params = r.rpcParams("LogicDeviceManager.getCameraState", "dahua-rpc-getcamerastate-001.json")
	case "global.logout":
		r.mu.Lock()
		delete(r.sessions(), sess)
		r.mu.Unlock()
		writeJSON(w, map[string]any{"id": q.ID, "result": true, "params": nil, "session": q.Session})
		return
	default:
		writeJSON(w, map[string]any{"id": q.ID, "result": false, "error": map[string]any{"code": 268894210, "message": "Method not found!"}, "session": q.Session})
		return
	}
	writeJSON(w, map[string]any{"id": q.ID, "result": true, "params": params, "session": q.Session})
}

// rpcParams returns the params of a corpus RPC reply (unwrapping the
// {"data": …} envelope), with the canary in every "Password".
func (r *Recorder) rpcParams(key, sample string) any {
	b := r.body(key, mustSample(sample))
	var env map[string]json.RawMessage
	_ = json.Unmarshal(b, &env)
	if d, ok := env["data"]; ok {
		_ = json.Unmarshal(d, &env)
	}
	var params any
	_ = json.Unmarshal(env["params"], &params)
	if r.opts.Canary != "" {
		setPasswords(params, r.opts.Canary)
	}
	return params
}

func setPasswords(v any, canary string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "Password" {
				t[k] = canary
				continue
			}
			setPasswords(x, canary)
		}
	case []any:
		for _, x := range t {
			setPasswords(x, canary)
		}
	}
}

func (r *Recorder) sessions() map[string]*rpcSession {
	if r.rpc == nil {
		r.rpc = map[string]*rpcSession{}
	}
	return r.rpc
}

func (r *Recorder) rpcLogin(w http.ResponseWriter, q rpcReq) {
	var p struct {
		UserName, Password, AuthorityType string
	}
	_ = json.Unmarshal(q.Params, &p)
	r.mu.Lock()
	defer r.mu.Unlock()
	locked, left := r.isLocked()
	sess := strings.Trim(string(q.Session), `"`)
	if p.Password != "" {
		r.c.Credentialed++
	}
	if locked {
		r.c.LockedRefusals++
		if p.Password != "" {
			r.c.AttemptsWhileLocked++
		}
		writeJSON(w, map[string]any{"id": q.ID, "result": false, "error": map[string]any{"code": 268632081, "message": "Component error: User has been locked!"},
			"params": map[string]any{"remainLockSecond": left, "remainLoginTimes": 0}, "session": r.sessionValue(sess)})
		return
	}
	s := r.sessions()[sess]
	if p.Password == "" || s == nil {
		// Step 1: a new session and a challenge.
		r.c.Challenges++
		sess = newSessionID(r.opts.NumericSession)
		s = &rpcSession{random: randomDigits()}
		r.sessions()[sess] = s
		writeJSON(w, map[string]any{"id": q.ID, "result": false,
			"error":   map[string]any{"code": 268632079, "message": "Component error: login challenge!"},
			"params":  map[string]any{"authorization": "80668fc41b6204dfac1597f0b2bbe681a7acd337", "encryption": "Default", "mac": "38AF29BBBCAB", "random": s.random, "realm": r.opts.Realm},
			"session": r.sessionValue(sess)})
		return
	}
	h1 := md5.Sum([]byte(r.opts.Username + ":" + r.opts.Realm + ":" + r.opts.Password))
	h2 := md5.Sum([]byte(r.opts.Username + ":" + s.random + ":" + strings.ToUpper(hex.EncodeToString(h1[:]))))
	if p.UserName == r.opts.Username && p.Password == strings.ToUpper(hex.EncodeToString(h2[:])) {
		r.succeeded()
		s.loggedIn = true
		writeJSON(w, map[string]any{"id": q.ID, "params": map[string]any{"keepAliveInterval": 60}, "result": true, "session": r.sessionValue(sess)})
		return
	}
	r.failed()
	delete(r.sessions(), sess)
	lockSecs := 0
	if l, left := r.isLocked(); l {
		lockSecs = left
	}
	writeJSON(w, map[string]any{"id": q.ID, "result": false, "error": map[string]any{"code": 268632085, "message": "Component error: User or password not valid!"},
		"params": map[string]any{"remainLockSecond": lockSecs, "remainLoginTimes": max(r.retriesLeft(), 0)}, "session": r.sessionValue(sess)})
}

func (r *Recorder) sessionValue(s string) any {
	if r.opts.NumericSession {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return s
}

func newSessionID(numeric bool) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	if numeric {
		return strconv.FormatUint(uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]), 10)
	}
	return hex.EncodeToString(b)
}

func randomDigits() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strconv.FormatUint(uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]), 10)
}

func writeJSON(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b.Bytes())
}
