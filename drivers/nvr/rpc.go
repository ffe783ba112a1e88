package nvr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rpcClient speaks Dahua's JSON-RPC (/RPC2_Login, /RPC2) over a session.
type rpcClient struct {
	s       *session
	id      int
	session json.RawMessage // as the recorder sent it: a string or a number
}

type rpcRequest struct {
	Method  string          `json:"method"`
	Params  any             `json:"params"`
	ID      int             `json:"id"`
	Session json.RawMessage `json:"session,omitempty"`
}

// call posts one RPC and parses its reply.
func (c *rpcClient) call(ctx context.Context, path, method string, params any) (RPCReply, error) {
	c.id++
	b, err := json.Marshal(rpcRequest{Method: method, Params: params, ID: c.id, Session: c.session})
	if err != nil {
		return RPCReply{}, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	resp, err := c.s.post(ctx, path, b)
	if err != nil {
		return RPCReply{}, err
	}
	switch {
	case resp.status == http.StatusNotFound || resp.status == http.StatusNotImplemented:
		return RPCReply{}, fmt.Errorf("%w: %s answers HTTP %d", ErrNotRecorder, path, resp.status)
	case resp.status == http.StatusForbidden:
		if le := lockOf(resp, c.s.sentAuth); le != nil {
			return RPCReply{}, le
		}
		return RPCReply{}, fmt.Errorf("%w: %s answers HTTP 403", ErrForbidden, path)
	case resp.status/100 != 2:
		return RPCReply{}, fmt.Errorf("%w: %s answers HTTP %d", ErrProtocol, path, resp.status)
	}
	r, err := ParseRPCReply(resp.body)
	if err != nil {
		return RPCReply{}, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return r, nil
}

// setSession keeps the recorder's session id in the form it was sent.
func (c *rpcClient) setSession(r RPCReply) {
	if r.Session == "" {
		return
	}
	if r.sessionNum {
		if _, err := strconv.ParseInt(r.Session, 10, 64); err == nil {
			c.session = json.RawMessage(r.Session)
			return
		}
	}
	c.session, _ = json.Marshal(r.Session)
}

// login runs the two-step global.login. Step 1 sends the user name only
// and reads the challenge (a lock reported there stops before the password
// hash is sent). Step 2 sends the "Default" hash (or, for "Basic", base64
// of user:password, only over https or with AllowBasic).
func (c *rpcClient) login(ctx context.Context) error {
	u, p := c.s.user, c.s.pass
	r, err := c.call(ctx, "/RPC2_Login", "global.login", map[string]any{
		"userName": u, "password": "", "clientType": "Web3.0", "loginType": "Direct",
	})
	if err != nil {
		return err
	}
	c.setSession(r)
	if r.Lock.Locked || r.Code == RPCLocked {
		return &loginError{credentials: false, lock: r.Lock, what: "RPC " + strconv.FormatInt(r.Code, 10)}
	}
	if r.Result {
		return nil
	}
	if r.Code != RPCLoginChallenge || r.Random == "" {
		return fmt.Errorf("%w: global.login step 1 gave no challenge (error %d)", ErrProtocol, r.Code)
	}
	var hash string
	switch strings.ToLower(r.Encryption) {
	case "default", "":
		hash = dahuaLoginHash(u, p, r.Realm, r.Random)
	case "basic":
		if !c.s.https() && !c.s.allowBasic {
			return fmt.Errorf("%w: the recorder asks for a Basic RPC login over plain http (use https, or allow_basic)", ErrAuthScheme)
		}
		hash = base64.StdEncoding.EncodeToString([]byte(u + ":" + p))
	default:
		return fmt.Errorf("%w: RPC login encryption %q is not supported", ErrAuthScheme, r.Encryption)
	}
	c.s.sentAuth = true
	r2, err := c.call(ctx, "/RPC2_Login", "global.login", map[string]any{
		"userName": u, "password": hash, "clientType": "Web3.0", "loginType": "Direct", "authorityType": "Default",
	})
	if err != nil {
		return err
	}
	if !r2.Result {
		return &loginError{credentials: true, lock: r2.Lock, what: "RPC " + strconv.FormatInt(r2.Code, 10)}
	}
	c.s.okAuth = true
	c.setSession(r2)
	return nil
}

// read calls one read RPC on /RPC2; an RPC error is returned as errRPC.
func (c *rpcClient) read(ctx context.Context, method string, params any) (RPCReply, error) {
	r, err := c.call(ctx, "/RPC2", method, params)
	if err != nil {
		return r, err
	}
	if !r.Result {
		return r, &rpcError{code: r.Code}
	}
	return r, nil
}

// logout ends the session, best effort, with its own short deadline.
func (c *rpcClient) logout(ctx context.Context) {
	if c.session == nil || !c.s.okAuth {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = c.call(ctx, "/RPC2", "global.logout", nil)
}

// rpcError is an RPC call's error code.
type rpcError struct{ code int64 }

func (e *rpcError) Error() string { return "RPC error " + strconv.FormatInt(e.code, 10) }

// isMissing says whether an RPC error means the method does not exist on
// this firmware.
func isMissing(err error) bool {
	var re *rpcError
	return errors.As(err, &re) && (re.code == RPCNoMethod || re.code == RPCNoInterface)
}
