package broker

import (
	"bytes"
	"crypto/subtle"
	"net"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// auth is the embedded broker's only hook: with a username configured,
// every client must present it and the password; without one, clients
// from loopback may do anything and others may only subscribe.
type auth struct {
	mochi.HookBase
	user, pass string
}

// ID implements mochi.Hook.
func (a *auth) ID() string { return "nvrguard-auth" }

// Provides implements mochi.Hook.
func (a *auth) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate implements mochi.Hook.
func (a *auth) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	if a.user == "" {
		return true
	}
	u := subtle.ConstantTimeCompare(pk.Connect.Username, []byte(a.user))
	p := subtle.ConstantTimeCompare(pk.Connect.Password, []byte(a.pass))
	return u&p == 1
}

// OnACLCheck implements mochi.Hook.
func (a *auth) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if !write || a.user != "" || cl.Net.Inline {
		return true
	}
	host, _, err := net.SplitHostPort(cl.Net.Remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
