package mqtt

import (
	"log/slog"
	"net"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
)

// allowAll lets every client in; the websocket test's broker needs no auth.
type allowAll struct{ mochi.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestIntegrationWebSocket publishes over ws:// to a mochi broker with a
// websocket listener, and reads the record back over TCP.
func TestIntegrationWebSocket(t *testing.T) {
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: false})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	wsAddr, tcpAddr := freeAddr(t), freeAddr(t)
	if err := srv.AddListener(listeners.NewWebsocket(listeners.Config{ID: "ws", Address: wsAddr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: tcpAddr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for i := 0; ; i++ { // the websocket listener binds in the background
		c, err := net.Dial("tcp", wsAddr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec := mqtttest.Subscribe(t, "tcp://"+tcpAddr, mqtttest.RecorderOptions{}, "nvrguard/gw1/devices/+")
	c, _ := newClient(t, "ws://"+wsAddr+"/mqtt", Config{})
	d := testDevice(1, identity.Restricted)
	c.PublishDevice(t.Context(), d)
	flush(t, c)
	rec.WaitFor(10*time.Second, "the record", func(ms []mqtttest.Msg) bool { return len(ms) == 1 })
}
