// Package mqtt publishes a gateway's findings to the control room over MQTT
// (DESIGN.md, "MQTT"): the retained status (birth "online", last will
// "offline"), the state summary and one record per device, the events
// through a bounded on-disk outbox, the commands scan and ack, and Home
// Assistant discovery. It also decodes those messages for `nvrguard watch`.
//
// Topic levels come only from the configuration (checked) and from
// sanitised ids ([a-z0-9-]); strings that came from a device are payload
// only. Every wait on the broker is bounded, and no paho callback blocks.
package mqtt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/outbox"
)

// ErrNotStarted is returned by calls that need Start first.
var ErrNotStarted = errors.New("mqtt: client not started")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("mqtt: client closed")

// ErrEventHeld is wrapped by the error of Event when the outbox could not
// write the event (disk full or failing; the write error is wrapped too):
// the event is held in memory and written and published once writes
// succeed again, but it is lost if the process ends first.
var ErrEventHeld = outbox.ErrHeld

// ErrEventDropped is wrapped by the error of Event when the outbox is full
// of events of equal or higher priority: the event is dropped and counted.
var ErrEventDropped = outbox.ErrFull

// DropFaultFor is how long a drop from the outbox keeps the MQTT fault on
// (Health.OutboxFault).
const DropFaultFor = time.Hour

// retryEvery is how often the client retries the outbox's failed writes.
const retryEvery = 2 * time.Second

// Health is the client's view of the broker connection and the outbox,
// for the LED and the log.
type Health struct {
	Connected bool
	Since     time.Time // when the connection came up or went down
	LastError string    // why the last attempt or connection failed; "" when none
	Outbox    OutboxState
	// BadCommands counts command payloads refused; DroppedCommands those
	// lost because nobody read Commands().
	BadCommands, DroppedCommands uint64
}

// OutboxFault reports whether the outbox should show as the MQTT fault on
// the LED at now: a write is failing (Outbox.WriteError: disk full or
// failing; events are held in memory), or events were dropped because it
// was full within the last DropFaultFor.
func (h Health) OutboxFault(now time.Time) bool {
	o := h.Outbox
	return o.WriteError != "" || o.Held > 0 || (!o.LastDrop.IsZero() && now.Sub(o.LastDrop) < DropFaultFor)
}

type devEntry struct {
	verdict identity.Verdict
	payload []byte
}

// Client publishes one gateway's findings. Create it with New, run it with
// Start, stop it with Close. Its methods are safe for concurrent use.
//
// The client keeps the last record of every device and the last State: on
// every (re)connect it republishes the whole retained state (status,
// state, every device record, Home Assistant discovery) and clears the
// retained record of every device the broker still holds but the client
// no longer knows (once Replace has given it a full snapshot).
type Client struct {
	cfg Config
	log *slog.Logger
	t   topics
	url *url.URL

	cmds      chan Command
	wake      chan struct{}
	quit      chan struct{}
	done      chan struct{}
	retryDone chan struct{}
	warn      rateLimited // per message, 10 s
	connWarn  rateLimited // connection attempts, 1 min

	mu         sync.Mutex
	started    bool
	closing    bool
	closeCtx   context.Context
	box        *outbox.Outbox
	user, pass string
	devices    map[string]devEntry
	dirty      map[string]struct{}
	synced     bool
	onBroker   map[string]struct{}
	state      State
	stateDirty bool
	haDirty    bool
	holds      int                 // open Hold calls: the publishing loop waits
	haDevices  map[string]bool     // per-device discovery configs published (ha.go)
	haOnBroker map[string]struct{} // per-device discovery configs the broker retained at connect
	register   registerState       // retained register entries (register.go)
	health     Health
	idle       chan struct{}
}

// maxOnBroker bounds the ids remembered from the broker's retained records.
const maxOnBroker = 100000

// New checks cfg and returns a client. It does no I/O.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	if cfg.StateDir == "" {
		return nil, errors.New("mqtt: no state directory for the outbox")
	}
	u, err := brokerURL(cfg.URL())
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "mqtt")
	c := &Client{
		cfg:        cfg,
		log:        log,
		t:          newTopics(cfg.Prefix, cfg.GatewayID, cfg.HomeAssistant.Prefix),
		url:        u,
		cmds:       make(chan Command, 16),
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		retryDone:  make(chan struct{}),
		warn:       rateLimited{log: log, every: 10 * time.Second},
		connWarn:   rateLimited{log: log, every: time.Minute},
		devices:    map[string]devEntry{},
		dirty:      map[string]struct{}{},
		onBroker:   map[string]struct{}{},
		haDevices:  map[string]bool{},
		haOnBroker: map[string]struct{}{},
		idle:       make(chan struct{}),
	}
	return c, nil
}

// Config returns the client's configuration with its defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// Start reads the password and TLS files, opens the outbox in the state
// directory and starts connecting in the background: it does not wait for
// the broker. The client runs until Close or until ctx ends.
func (c *Client) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closing {
		return errors.New("mqtt: Start called twice")
	}
	user, pass, err := c.cfg.credentials()
	if err != nil {
		return err
	}
	if _, err := c.cfg.tlsConfig(c.url); err != nil {
		return err
	}
	box, err := outbox.Open(filepath.Join(c.cfg.StateDir, "mqtt-outbox"),
		outbox.Limits{MaxEvents: c.cfg.Outbox.MaxEvents, MaxBytes: c.cfg.Outbox.MaxBytes}, c.log)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	c.box, c.user, c.pass, c.started = box, user, pass, true
	c.health.Since = time.Now()
	c.health.Outbox = outboxState(box.Stats())
	c.log.Info("mqtt starting", "broker", c.url.Redacted(), "base", c.t.base, "queued_events", c.health.Outbox.Queued,
		"last_seq", box.Stats().LastSeq)
	go c.run(ctx)
	go c.retryLoop(ctx)
	return nil
}

// retryLoop retries the outbox's failed writes every retryEvery (events
// held in memory, counters not written) and keeps the outbox part of the
// health and the state summary current.
func (c *Client) retryLoop(ctx context.Context) {
	defer close(c.retryDone)
	t := time.NewTicker(retryEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.quit:
			return
		case <-ctx.Done():
			return
		}
		if _, err := c.box.Retry(); errors.Is(err, outbox.ErrClosed) {
			return
		}
		c.mu.Lock()
		if c.refreshOutboxLocked() {
			c.changedLocked()
		}
		c.mu.Unlock()
	}
}

// refreshOutboxLocked reads the outbox's counters; when they changed the
// state summary is marked for publishing and it returns true (a caller
// outside the publishing loop then wakes it). c.mu is held.
func (c *Client) refreshOutboxLocked() bool {
	st := outboxState(c.box.Stats())
	if st == c.health.Outbox {
		return false
	}
	c.health.Outbox = st
	c.stateDirty = true
	return true
}

// WriteHeld writes the events held in memory after failed outbox writes
// now, rather than at the next retry. It returns nil when no event is
// held any more, or the write error: a caller that records what it has
// reported (the inventory) can wait for nil before it does.
func (c *Client) WriteHeld(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	box, ok := c.box, c.started && !c.closing
	c.mu.Unlock()
	if !ok {
		return ErrNotStarted
	}
	_, err := box.Retry()
	c.mu.Lock()
	if c.refreshOutboxLocked() {
		c.changedLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mqtt: write held events: %w", err)
	}
	return nil
}

// deviceEntry encodes a device record under its topic-safe id.
func (c *Client) deviceEntry(d identity.Device) (string, devEntry, error) {
	id := SafeID(d.ID)
	if id != d.ID {
		c.warn.Warn("device id is not topic-safe; published under a sanitised id", "id", d.ID, "topic_id", id)
		d.ID = id
	}
	p, err := marshal(d)
	if err != nil {
		return "", devEntry{}, fmt.Errorf("mqtt: encode device %s: %w", id, err)
	}
	return id, devEntry{verdict: d.Verdict, payload: p}, nil
}

// PublishDevice sets the retained record of a device. It returns at once;
// the record is published when connected and again on every reconnect.
func (c *Client) PublishDevice(ctx context.Context, d identity.Device) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, e, err := c.deviceEntry(d)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	if old, ok := c.devices[id]; ok && bytes.Equal(old.payload, e.payload) {
		return nil
	}
	c.devices[id] = e
	delete(c.onBroker, id)
	c.dirty[id] = struct{}{}
	c.stateDirty = true
	c.changedLocked()
	return nil
}

// RemoveDevice clears the retained record of a device (an empty retained
// payload), so that a subscriber connecting later does not see it.
func (c *Client) RemoveDevice(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id = SafeID(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	delete(c.devices, id)
	c.dirty[id] = struct{}{}
	c.stateDirty = true
	c.changedLocked()
	return nil
}

// Replace sets the whole device set: records that changed are published,
// devices not in devs are removed, and from now on the retained record of
// any device the broker holds but devs lacks is cleared, also after a
// restart of the gateway.
func (c *Client) Replace(ctx context.Context, devs []identity.Device) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	next := make(map[string]devEntry, len(devs))
	for _, d := range devs {
		id, e, err := c.deviceEntry(d)
		if err != nil {
			return err
		}
		next[id] = e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	for id, old := range c.devices {
		if e, ok := next[id]; !ok || !bytes.Equal(old.payload, e.payload) {
			c.dirty[id] = struct{}{}
		}
	}
	for id := range next {
		if _, ok := c.devices[id]; !ok {
			c.dirty[id] = struct{}{}
		}
		delete(c.onBroker, id)
	}
	c.devices, c.synced, c.stateDirty = next, true, true
	c.changedLocked()
	return nil
}

// Hold makes the publishing loop wait until the returned release is
// called (once; later calls do nothing), so that the changes made in
// between (events, records, removals, the state) go out together, in one
// pass: one state message, after the records, each record once. The
// daemon holds the client across the handling of one observation. While
// held, Flush waits. Nothing is lost: the changes stay marked.
func (c *Client) Hold() (release func()) {
	c.mu.Lock()
	c.holds++
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.holds--
			c.changedLocked()
			c.mu.Unlock()
		})
	}
}

// PublishState sets the daemon's part of the state summary.
func (c *Client) PublishState(ctx context.Context, st State) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	if !st.equal(c.state) {
		c.state, c.stateDirty = st, true
		c.changedLocked()
	}
	return nil
}

// Event writes an event to the outbox (durably, before it returns) and
// returns its sequence number; it is published with QoS 1 when the broker
// is reachable and removed from the outbox after its PUBACK. Events are
// delivered in order, after a broker outage and after a restart.
//
// An event's priority follows its device's verdict (restricted, then
// suspect, then the rest; device_lost below the other two types of the
// same verdict): when the outbox is full, the lowest goes first and, among
// equals, the newest. The error wraps ErrEventDropped when it was this
// event, and ErrEventHeld when the outbox could not write it (it is
// written and published once writes succeed again); both show in Health
// and the state summary.
func (c *Client) Event(ctx context.Context, typ EventType, d identity.Device) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if !validEvent(typ) {
		return 0, fmt.Errorf("mqtt: unknown event type %q", typ)
	}
	d.ID = SafeID(d.ID)
	c.mu.Lock()
	box, ok := c.box, c.started && !c.closing
	c.mu.Unlock()
	if !ok {
		return 0, ErrNotStarted
	}
	now := time.Now().UTC()
	seq, err := box.Append(eventPriority(typ, d.Verdict), func(seq uint64) ([]byte, error) {
		return marshal(EventMessage{Seq: seq, Type: typ, Time: now, Device: d})
	})
	c.mu.Lock()
	if c.refreshOutboxLocked() || err == nil {
		c.changedLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("mqtt: event: %w", err)
	}
	return seq, nil
}

// Event priorities in the outbox, by the device's verdict and the type.
const (
	prioOtherLost outbox.Priority = 1 + iota
	prioOther
	prioSuspectLost
	prioSuspect
	prioRestrictedLost
	prioRestricted
)

// eventPriority ranks an event for the outbox: a flood of devices that are
// clear or unknown never pushes out a suspect or restricted finding.
func eventPriority(typ EventType, v identity.Verdict) outbox.Priority {
	p := prioOther
	switch v {
	case identity.Restricted:
		p = prioRestricted
	case identity.Suspect:
		p = prioSuspect
	}
	if typ == DeviceLost {
		p--
	}
	return p
}

// Commands delivers the commands received (scan, ack). A command that
// arrives while 16 are waiting is dropped and counted.
func (c *Client) Commands() <-chan Command { return c.cmds }

// Health returns the state of the connection and the outbox.
func (c *Client) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started && c.refreshOutboxLocked() {
		c.changedLocked()
	}
	return c.health
}

// Flush waits until the client is connected and has published everything
// it holds: every changed record and every queued event.
func (c *Client) Flush(ctx context.Context) error {
	for {
		c.mu.Lock()
		idle, done := c.idle, c.done
		c.mu.Unlock()
		select {
		case <-idle:
			c.mu.Lock()
			same := idle == c.idle
			c.mu.Unlock()
			if same {
				return nil
			}
		case <-done:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close publishes "offline" on the status topic (when connected),
// disconnects and closes the outbox; whatever is still queued stays there
// for the next start. ctx bounds the whole.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if !c.started {
		c.closing = true
		c.mu.Unlock()
		return nil
	}
	if !c.closing {
		c.closing, c.closeCtx = true, ctx
		close(c.quit)
	}
	c.mu.Unlock()
	for _, done := range []chan struct{}{c.done, c.retryDone} {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("mqtt: close: %w", ctx.Err())
		}
	}
	return c.box.Close()
}

// changedLocked wakes the publishing loop; c.mu is held.
func (c *Client) changedLocked() {
	select {
	case <-c.idle:
		c.idle = make(chan struct{})
	default:
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func outboxState(s outbox.Stats) OutboxState {
	st := OutboxState{
		Queued: s.Queued, Held: s.Held,
		Dropped: s.Dropped, DroppedRestricted: s.DroppedBy[prioRestricted] + s.DroppedBy[prioRestrictedLost],
		DiskFull: s.DiskFull, WriteErrors: s.WriteErrors, Damaged: s.Damaged,
	}
	if !s.LastDrop.IsZero() {
		st.LastDrop = s.LastDrop.UTC().Truncate(time.Second)
	}
	if s.WriteErr != nil {
		st.WriteError = s.WriteErr.Error()
		st.WriteErrorSince = s.WriteErrSince.UTC().Truncate(time.Second)
	}
	return st
}

// summaryLocked builds the state summary; c.mu is held.
func (c *Client) summaryLocked() Summary {
	s := Summary{
		Gateway:       c.cfg.GatewayID,
		Devices:       len(c.devices),
		PolicyVersion: c.state.PolicyVersion,
		LED:           c.state.LED,
		Acknowledged:  c.state.Acknowledged,
		Outbox:        outboxState(c.box.Stats()),
		Sources:       c.state.Sources,
		Time:          time.Now().UTC(),
	}
	if s.Sources == nil {
		s.Sources = map[string]SourceHealth{}
	}
	if !c.state.LastScan.IsZero() {
		ls := c.state.LastScan.UTC()
		s.LastScan = &ls
	}
	for _, d := range c.devices {
		s.Counts.add(d.verdict, 1)
	}
	return s
}

// rateLimited logs each warning message at most once per period,
// counting the ones it holds back.
type rateLimited struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	seen  map[string]*rateState
}

type rateState struct {
	last       time.Time
	suppressed int
}

// Warn logs msg unless the same msg was logged less than the period ago.
// msg is a constant: the variable parts go in args.
func (r *rateLimited) Warn(msg string, args ...any) {
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[string]*rateState{}
	}
	st := r.seen[msg]
	if st == nil {
		st = &rateState{}
		r.seen[msg] = st
	}
	now := time.Now()
	if !st.last.IsZero() && now.Sub(st.last) < r.every {
		st.suppressed++
		r.mu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed_before", n)
	}
	r.log.Warn(msg, args...)
}
