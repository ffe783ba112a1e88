package mqtt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// window is how many publishes may await their acknowledgement at once.
const window = 64

var (
	errQuit = errors.New("mqtt: closing")
	errLost = errors.New("mqtt: connection lost")
)

// session is one broker connection. Each connection gets a fresh paho
// client, so that paho's own store never resends a stale retained record
// or completes a token for a message it did not deliver: the outbox and
// the retained state are the only memory across connections.
type session struct {
	cl   paho.Client
	lost chan struct{}
	once sync.Once
	mu   sync.Mutex
	err  error
}

// fail marks the session lost. It never blocks: paho calls it.
func (s *session) fail(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.lost)
	})
}

func (s *session) cause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return errLost
	}
	return fmt.Errorf("%w: %v", errLost, s.err)
}

// run connects, serves and reconnects with capped, jittered exponential
// backoff until Close or ctx.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	for attempt := 0; ; attempt++ {
		s, err := c.dial(ctx)
		if err == nil {
			attempt = 0
			err = c.serve(ctx, s)
			if errors.Is(err, errQuit) || ctx.Err() != nil {
				c.shutdown(s)
				c.setDown(nil)
				return
			}
			s.fail(err)
			go s.cl.Disconnect(0) // bounded by paho: quiesce 0
		}
		if errors.Is(err, errQuit) || ctx.Err() != nil {
			c.setDown(nil)
			return
		}
		c.setDown(err)
		t := time.NewTimer(backoff(attempt, c.cfg.ReconnectMin, c.cfg.ReconnectMax))
		select {
		case <-t.C:
		case <-c.quit:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// backoff is the wait before attempt n+1: min·2ⁿ capped at max, then a
// random point in its upper half, so that many gateways do not reconnect
// in step after a broker restart.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// dial opens a connection and waits, bounded, for the CONNACK.
func (c *Client) dial(ctx context.Context) (*session, error) {
	tlsCfg, err := c.cfg.tlsConfig(c.url)
	if err != nil {
		return nil, err
	}
	s := &session{lost: make(chan struct{})}
	qos := *c.cfg.QoS
	o := paho.NewClientOptions().
		AddBroker(c.url.String()).
		SetClientID("nvrguard-"+c.cfg.GatewayID).
		SetCleanSession(false).
		SetOrderMatters(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(c.cfg.KeepAlive).
		SetPingTimeout(min(c.cfg.KeepAlive, 10*time.Second)).
		SetConnectTimeout(c.cfg.ConnectTimeout).
		SetWriteTimeout(c.cfg.PublishTimeout).
		SetDialer(&net.Dialer{Timeout: c.cfg.ConnectTimeout}).
		SetBinaryWill(c.t.status, []byte("offline"), qos, true).
		SetDefaultPublishHandler(c.onMessage).
		SetConnectionLostHandler(func(_ paho.Client, err error) { s.fail(err) })
	o.SetProtocolVersion(4)
	if tlsCfg != nil {
		o.SetTLSConfig(tlsCfg)
	}
	c.mu.Lock()
	if c.user != "" {
		o.SetUsername(c.user)
		o.SetPassword(c.pass)
	}
	c.mu.Unlock()
	s.cl = paho.NewClient(o)
	tok := s.cl.Connect()
	if err := c.wait(ctx, nil, tok, c.cfg.ConnectTimeout+2*time.Second); err != nil {
		go func() {
			// paho's connection attempt ends within its connect timeout.
			select {
			case <-tok.Done():
			case <-time.After(c.cfg.ConnectTimeout + 5*time.Second):
			}
			s.cl.Disconnect(0)
		}()
		return nil, fmt.Errorf("connect to %s: %w", c.url.Redacted(), err)
	}
	return s, nil
}

// wait waits for a paho token, bounded by d, the session's loss, Close
// and ctx (paho issue 613: a token may otherwise never complete).
func (c *Client) wait(ctx context.Context, s *session, tok paho.Token, d time.Duration) error {
	var lost chan struct{}
	if s != nil {
		lost = s.lost
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-lost:
		return s.cause()
	case <-c.quit:
		return errQuit
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %v", d)
	}
}

// serve subscribes, republishes everything and then publishes changes and
// events as they come, until the connection is lost, Close or ctx.
func (c *Client) serve(ctx context.Context, s *session) error {
	subs := map[string]byte{c.t.cmdScan: 1, c.t.cmdAck: 1}
	if c.cfg.HomeAssistant.Enabled {
		subs[c.t.haStatus] = 1
	}
	tok := s.cl.SubscribeMultiple(subs, nil)
	if err := c.wait(ctx, s, tok, c.cfg.PublishTimeout); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for topic, q := range st.Result() {
			if q == 0x80 {
				c.log.Warn("the broker refused a subscription: commands on it will not arrive", "topic", topic)
			}
		}
	}
	// Learn which device records the broker retains: a subscription
	// delivers them with the retain flag set. They are cleared in flush
	// unless the device is known. QoS 0, and unsubscribed at once: the
	// retained records come before the UNSUBACK.
	tok = s.cl.Subscribe(c.t.devices+"+", 0, nil)
	if err := c.wait(ctx, s, tok, c.cfg.PublishTimeout); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	tok = s.cl.Unsubscribe(c.t.devices + "+")
	if err := c.wait(ctx, s, tok, c.cfg.PublishTimeout); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if c.cfg.HomeAssistant.Enabled {
		// Likewise the per-device discovery configs: those of devices no
		// longer restricted (or all, with per_device off) are cleared.
		filter := c.t.haConfigPrefix("binary_sensor") + "+/config"
		tok = s.cl.Subscribe(filter, 0, nil)
		if err := c.wait(ctx, s, tok, c.cfg.PublishTimeout); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		tok = s.cl.Unsubscribe(filter)
		if err := c.wait(ctx, s, tok, c.cfg.PublishTimeout); err != nil {
			return fmt.Errorf("unsubscribe: %w", err)
		}
	}
	tok = s.cl.Publish(c.t.status, *c.cfg.QoS, true, []byte("online"))
	if err := c.wait(ctx, s, tok, c.cfg.PublishTimeout); err != nil {
		return fmt.Errorf("publish status: %w", err)
	}
	c.mu.Lock()
	for id := range c.devices {
		c.dirty[id] = struct{}{}
	}
	c.register.markAll()
	c.haDirty = c.cfg.HomeAssistant.Enabled
	c.stateDirty = true
	c.health.Connected, c.health.Since, c.health.LastError = true, time.Now(), ""
	c.mu.Unlock()
	c.log.Info("mqtt connected", "broker", c.url.Redacted())

	for {
		if err := c.flush(ctx, s); err != nil {
			return err
		}
		select {
		case <-c.wake:
		case <-s.lost:
			return s.cause()
		case <-c.quit:
			return errQuit
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// message is one retained publish, with what to mark dirty again should
// it not be acknowledged.
type message struct {
	topic   string
	payload []byte
	kind    msgKind
	id      string // the device id of a device record
}

type msgKind int

const (
	msgHA msgKind = iota
	msgDevice
	msgState
	msgHADevice // a per-device discovery config or its removal (ha.go)
)

// flush publishes what changed, then the queued events, then the state
// summary (once per pass: the outbox counters change with every event).
func (c *Client) flush(ctx context.Context, s *session) error {
	c.mu.Lock()
	held := c.holds > 0
	c.mu.Unlock()
	if held {
		return nil // the release wakes the loop again
	}
	msgs, through, err := c.takeRetained()
	if err != nil {
		return err
	}
	if err := c.publishRetained(ctx, s, msgs); err != nil {
		return err
	}
	if err := c.drainOutbox(ctx, s, through); err != nil {
		return err
	}
	st, err := c.takeState()
	if err != nil {
		return err
	}
	if err := c.publishRetained(ctx, s, st); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refreshOutboxLocked() {
		c.changedLocked() // the new counters go out in another pass
	}
	if len(c.dirty) == 0 && c.register.idle() && !c.haDirty && !c.stateDirty && c.health.Outbox.Queued == 0 && c.health.Outbox.Held == 0 && len(c.wake) == 0 {
		select {
		case <-c.idle:
		default:
			close(c.idle)
		}
	}
	return nil
}

// takeRetained collects the retained messages to publish (discovery,
// device records, clearings) and clears their dirty marks. It also returns
// the last event sequence number issued so far: events up to it may go
// out after these records, later ones wait for the next pass, so that a
// caller that updates a device's record before its event has them
// published in that order.
func (c *Client) takeRetained() ([]message, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	through := c.box.Stats().LastSeq
	var msgs []message
	haAll := c.haDirty
	if c.haDirty {
		ha, err := haDiscovery(c.t, c.cfg.GatewayID, c.cfg.Gateway)
		if err != nil {
			return nil, 0, err
		}
		msgs = append(msgs, ha...)
		c.haDirty = false
		c.stateDirty = true // Home Assistant reads the state once it knows the entities
	}
	// Per-device entities before the records: a device's entity is
	// removed before its record is cleared.
	msgs, err := c.takeHADevicesLocked(msgs, haAll)
	if err != nil {
		return nil, 0, err
	}
	for id := range c.dirty {
		var p []byte // an empty retained payload clears the record
		if d, ok := c.devices[id]; ok {
			p = d.payload
		}
		msgs = append(msgs, message{c.t.device(id), p, msgDevice, id})
	}
	clear(c.dirty)
	msgs = c.register.take(c.t, msgs)
	if c.synced {
		for id := range c.onBroker {
			if _, ok := c.devices[id]; !ok {
				msgs = append(msgs, message{c.t.device(id), nil, msgDevice, id})
			}
		}
		clear(c.onBroker)
	}
	return msgs, through, nil
}

// takeState returns the state summary when it changed.
func (c *Client) takeState() ([]message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stateDirty {
		return nil, nil
	}
	p, err := marshal(c.summaryLocked())
	if err != nil {
		return nil, err
	}
	c.stateDirty = false
	return []message{{c.t.state, p, msgState, ""}}, nil
}

// publishRetained publishes msgs with up to window of them awaiting their
// acknowledgement. When one fails, every message not acknowledged is
// marked dirty again, so that the next connection publishes it: a cleared
// record must not be forgotten.
func (c *Client) publishRetained(ctx context.Context, s *session, msgs []message) error {
	qos := *c.cfg.QoS
	type pending struct {
		m   message
		tok paho.Token
	}
	fly := make([]pending, 0, window)
	for len(msgs) > 0 || len(fly) > 0 {
		for len(msgs) > 0 && len(fly) < window {
			fly = append(fly, pending{msgs[0], s.cl.Publish(msgs[0].topic, qos, true, msgs[0].payload)})
			msgs = msgs[1:]
		}
		if err := c.wait(ctx, s, fly[0].tok, c.cfg.PublishTimeout); err != nil {
			left := msgs
			for _, p := range fly {
				left = append(left, p.m)
			}
			c.remark(left)
			return fmt.Errorf("publish: %w", err)
		}
		fly = fly[1:]
	}
	return nil
}

// remark marks the subjects of msgs dirty again.
func (c *Client) remark(msgs []message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		switch m.kind {
		case msgDevice:
			c.dirty[m.id] = struct{}{}
		case msgHA:
			c.haDirty = c.cfg.HomeAssistant.Enabled
		case msgHADevice:
			if m.payload == nil {
				c.haDevices[m.id] = true // removal not acknowledged: remove again
			} else {
				delete(c.haDevices, m.id) // config not acknowledged: publish again
			}
		case msgState:
			c.stateDirty = true
		case msgRegister:
			c.register.mark(m.id)
		}
	}
}

// drainOutbox publishes the queued events up to sequence number through in
// order, QoS 1 at least, with up to window of them in flight, and
// acknowledges them in the outbox as their PUBACKs arrive (in batches: one
// fsync per batch).
func (c *Client) drainOutbox(ctx context.Context, s *session, through uint64) error {
	qos := max(*c.cfg.QoS, 1)
	type inflight struct {
		seq uint64
		tok paho.Token
	}
	var fly []inflight
	var last, acked uint64
	pending := 0
	ack := func() error {
		if pending == 0 {
			return nil
		}
		pending = 0
		// Ack fails only after Close; a failed write is in the outbox's
		// counters (and Health).
		if err := c.box.Ack(acked); err != nil {
			return err
		}
		c.mu.Lock()
		c.refreshOutboxLocked()
		c.mu.Unlock()
		return nil
	}
	for {
		if len(fly) < window && last < through {
			msgs, err := c.box.Next(last, window-len(fly))
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.Seq > through {
					break
				}
				fly = append(fly, inflight{m.Seq, s.cl.Publish(c.t.events, qos, false, m.Payload)})
				last = m.Seq
			}
		}
		if len(fly) == 0 {
			return ack()
		}
		if err := c.wait(ctx, s, fly[0].tok, c.cfg.PublishTimeout); err != nil {
			return errors.Join(fmt.Errorf("publish event %d: %w", fly[0].seq, err), ack())
		}
		acked = fly[0].seq
		fly = fly[1:]
		pending++
		if pending >= window || len(fly) == 0 {
			if err := ack(); err != nil {
				return err
			}
		}
	}
}

// shutdown publishes "offline" and disconnects cleanly, bounded by the
// Close context (or two seconds when ctx ended instead).
func (c *Client) shutdown(s *session) {
	c.mu.Lock()
	ctx := c.closeCtx
	c.mu.Unlock()
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
	}
	tok := s.cl.Publish(c.t.status, *c.cfg.QoS, true, []byte("offline"))
	t := time.NewTimer(c.cfg.PublishTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			c.log.Warn("mqtt: could not publish offline", "err", err)
		}
	case <-s.lost:
	case <-ctx.Done():
	case <-t.C:
	}
	s.cl.Disconnect(250)
}

// setDown records a lost connection or a failed attempt.
func (c *Client) setDown(err error) {
	c.mu.Lock()
	was := c.health.Connected
	c.health.Connected = false
	if was {
		c.health.Since = time.Now()
	}
	msg := ""
	if err != nil {
		msg = err.Error()
		c.health.LastError = msg
	}
	c.mu.Unlock()
	switch {
	case err == nil:
	case was:
		c.log.Warn("mqtt connection lost; events go to the outbox until it is back", "err", msg)
	default:
		c.connWarn.Warn("mqtt broker unreachable", "broker", c.url.Redacted(), "err", msg)
	}
}

// onMessage handles every message received. paho calls it; it never
// blocks: commands go to a buffered channel or are dropped and counted.
func (c *Client) onMessage(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	switch {
	case topic == c.t.cmdScan || topic == c.t.cmdAck:
		name := CmdScan
		if topic == c.t.cmdAck {
			name = CmdAck
		}
		c.log.Debug("mqtt command received", "command", string(name), "retained", m.Retained(), "duplicate", m.Duplicate(), "bytes", len(m.Payload()))
		if m.Retained() {
			c.warn.Warn("mqtt: ignoring a retained command: commands must not be retained", "command", string(name))
			return
		}
		cmd, err := ParseCommand(name, m.Payload())
		if err != nil {
			c.mu.Lock()
			c.health.BadCommands++
			c.mu.Unlock()
			c.warn.Warn("mqtt: refused a command", "err", err)
			return
		}
		cmd.Received = time.Now()
		select {
		case c.cmds <- cmd:
		default:
			c.mu.Lock()
			c.health.DroppedCommands++
			c.mu.Unlock()
			c.warn.Warn("mqtt: dropped a command: nobody is reading commands", "command", string(name))
		}
	case topic == c.t.haStatus:
		if strings.TrimSpace(string(m.Payload())) == "online" {
			c.mu.Lock()
			c.haDirty = c.cfg.HomeAssistant.Enabled
			c.changedLocked()
			c.mu.Unlock()
		}
	case c.t.haDeviceID(topic) != "":
		if !m.Retained() || len(m.Payload()) == 0 {
			return
		}
		c.mu.Lock()
		if id := c.t.haDeviceID(topic); !c.haDevices[id] && len(c.haOnBroker) < maxOnBroker {
			c.haOnBroker[id] = struct{}{}
			c.changedLocked()
		}
		c.mu.Unlock()
	case strings.HasPrefix(topic, c.t.devices):
		id := topic[len(c.t.devices):]
		if !m.Retained() || len(m.Payload()) == 0 || !ValidID(id) {
			return
		}
		c.mu.Lock()
		if _, known := c.devices[id]; !known && len(c.onBroker) < maxOnBroker {
			c.onBroker[id] = struct{}{}
			c.changedLocked()
		}
		c.mu.Unlock()
	}
}
