package mqtttest

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Msg is one message a Recorder received.
type Msg struct {
	Topic    string
	Payload  []byte
	Retained bool
	QoS      byte
}

// RecorderOptions configure a Recorder. The zero value is a clean session
// with a fresh client id.
type RecorderOptions struct {
	// ClientID with Persistent keeps the subscription and queued QoS 1
	// messages on the broker while the recorder is away.
	ClientID   string
	Persistent bool
	TLS        *tls.Config
	Username   string
	Password   string
}

// Recorder is a subscriber that records every message, reconnecting by
// itself when the broker goes away.
type Recorder struct {
	t        testing.TB
	cl       paho.Client
	connects atomic.Int32

	mu     sync.Mutex
	msgs   []Msg
	notify chan struct{}
}

var recorderSeq struct {
	sync.Mutex
	n int
}

// Subscribe connects a recorder to url and subscribes (QoS 1) to filters.
// It is disconnected when the test ends.
func Subscribe(t testing.TB, url string, opt RecorderOptions, filters ...string) *Recorder {
	t.Helper()
	if opt.ClientID == "" {
		recorderSeq.Lock()
		recorderSeq.n++
		opt.ClientID = fmt.Sprintf("recorder-%d-%d", time.Now().UnixNano()%1e6, recorderSeq.n)
		recorderSeq.Unlock()
	}
	r := &Recorder{t: t, notify: make(chan struct{})}
	subs := map[string]byte{}
	for _, f := range filters {
		subs[f] = 1
	}
	o := paho.NewClientOptions().
		AddBroker(url).
		SetClientID(opt.ClientID).
		SetCleanSession(!opt.Persistent).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetKeepAlive(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetOrderMatters(true).
		SetDefaultPublishHandler(r.record).
		SetOnConnectHandler(func(c paho.Client) {
			if r.connects.Add(1) == 1 {
				return // the first subscription is made below
			}
			// paho runs this in a goroutine of its own; the wait is bounded.
			c.SubscribeMultiple(subs, nil).WaitTimeout(5 * time.Second)
		})
	o.SetProtocolVersion(4)
	if opt.TLS != nil {
		o.SetTLSConfig(opt.TLS)
	}
	if opt.Username != "" {
		o.SetUsername(opt.Username)
		o.SetPassword(opt.Password)
	}
	r.cl = paho.NewClient(o)
	tok := r.cl.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("recorder: connect to %s: %v", url, tok.Error())
	}
	// Subscribe once here too, so that the subscription is in place when
	// Subscribe returns (the OnConnect one may still be on its way).
	st := r.cl.SubscribeMultiple(subs, nil)
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		t.Fatalf("recorder: subscribe: %v", st.Error())
	}
	t.Cleanup(r.Close)
	return r
}

func (r *Recorder) record(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, Msg{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained(), QoS: m.Qos()})
	close(r.notify)
	r.notify = make(chan struct{})
}

// Close disconnects the recorder.
func (r *Recorder) Close() { r.cl.Disconnect(100) }

// Messages returns a copy of what was received so far.
func (r *Recorder) Messages() []Msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Msg(nil), r.msgs...)
}

// On returns the messages received on topic.
func (r *Recorder) On(topic string) []Msg {
	var out []Msg
	for _, m := range r.Messages() {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// Last returns the last message on topic and whether there was one.
func (r *Recorder) Last(topic string) (Msg, bool) {
	ms := r.On(topic)
	if len(ms) == 0 {
		return Msg{}, false
	}
	return ms[len(ms)-1], true
}

// WaitFor waits until cond holds for the messages received, failing the
// test after timeout with what.
func (r *Recorder) WaitFor(timeout time.Duration, what string, cond func([]Msg) bool) {
	r.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		msgs := append([]Msg(nil), r.msgs...)
		ch := r.notify
		r.mu.Unlock()
		n := len(msgs)
		if cond(msgs) {
			return
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline.C:
			r.t.Fatalf("after %v, still waiting for %s; %d message(s):\n%s", timeout, what, n, r.dump())
		}
	}
}

// WaitLast waits until the last message on topic has payload.
func (r *Recorder) WaitLast(timeout time.Duration, topic, payload string) {
	r.t.Helper()
	r.WaitFor(timeout, fmt.Sprintf("%s = %q", topic, payload), func(ms []Msg) bool {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].Topic == topic {
				return string(ms[i].Payload) == payload
			}
		}
		return false
	})
}

func (r *Recorder) dump() string {
	var b strings.Builder
	for i, m := range r.Messages() {
		if i >= 40 {
			fmt.Fprintf(&b, "  …\n")
			break
		}
		p := string(m.Payload)
		if len(p) > 120 {
			p = p[:120] + "…"
		}
		fmt.Fprintf(&b, "  %s retained=%v %q\n", m.Topic, m.Retained, p)
	}
	return b.String()
}

// Publish publishes one QoS 1 message from the recorder's connection.
func (r *Recorder) Publish(t testing.TB, topic string, retained bool, payload string) {
	t.Helper()
	tok := r.cl.Publish(topic, 1, retained, []byte(payload))
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}
