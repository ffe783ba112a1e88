package broker

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	b, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// connect connects a paho client and returns it or the connect error.
func connect(t *testing.T, url, user, pass string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID("t-" + user + pass).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	if user != "" {
		o.SetUsername(user)
		o.SetPassword(pass)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect: no answer")
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func TestOpenBrokerPublishSubscribe(t *testing.T) {
	b := start(t, Config{})
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || strings.HasSuffix(b.URL(), ":0") {
		t.Fatalf("URL %s", b.URL())
	}
	sub, err := connect(t, b.URL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	if tok := sub.Subscribe("nvrguard/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub, err := connect(t, b.URL(), "", "x")
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Publish("nvrguard/gw/status", 1, true, "online"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case p := <-got:
		if p != "online" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
}

func TestPasswordRequired(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("hunter2\n"), 0o600)
	b := start(t, Config{Username: "tech", PasswordFile: pw})
	if _, err := connect(t, b.URL(), "tech", "hunter2"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, up := range [][2]string{{"tech", "hunter"}, {"", ""}, {"tech2", "hunter2"}, {"tech", "hunter2\n"}} {
		if _, err := connect(t, b.URL(), up[0], up[1]); err == nil {
			t.Errorf("%q/%q accepted", up[0], up[1])
		}
	}
}

func TestACLWithoutPassword(t *testing.T) {
	a := &auth{}
	for remote, write := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "10.0.0.5:5000": false, "garbage": false} {
		cl := &mochi.Client{Net: mochi.ClientConnection{Remote: remote}}
		if got := a.OnACLCheck(cl, "nvrguard/gw/cmd/ack", true); got != write {
			t.Errorf("write from %s: %v, want %v", remote, got, write)
		}
		if !a.OnACLCheck(cl, "nvrguard/#", false) {
			t.Errorf("read from %s refused", remote)
		}
	}
	if !a.OnConnectAuthenticate(&mochi.Client{}, packets.Packet{}) {
		t.Error("anonymous refused without a configured user")
	}
	withUser := &auth{user: "u", pass: "p"}
	if !withUser.OnACLCheck(&mochi.Client{Net: mochi.ClientConnection{Remote: "10.0.0.5:1"}}, "x", true) {
		t.Error("an authenticated remote client may publish")
	}
}

func TestStartErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(context.Background(), Config{Listen: l.Addr().String()}, nil)
	if err == nil || !strings.Contains(err.Error(), "listen on") || strings.Contains(err.Error(), "\n") {
		t.Errorf("busy port: %v", err)
	}
	for _, cfg := range []Config{{Listen: "nohost"}, {Listen: "example.com:1883"}, {Username: "u"}, {Listen: "127.0.0.1:0", Username: "u", PasswordFile: "/nonexistent"}} {
		if _, err := Start(context.Background(), cfg, nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	c, err := Config{}.Normalize()
	if err != nil || c.Listen != DefaultListen {
		t.Errorf("default %+v, %v", c, err)
	}
}
