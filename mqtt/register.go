package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// RegisterStatus says whether a register entry's device is on the
// network now.
type RegisterStatus string

// The statuses of a register entry.
const (
	Present RegisterStatus = "present"
	Removed RegisterStatus = "removed"
)

// Interval is one stretch of time a device was on the network. To is
// zero while it is still there.
type Interval struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitzero"`
}

// RegisterEntry is one entry of a gateway's removal register (DESIGN.md,
// "Register and report"), the payload of <base>/register/<id>: a device
// that was ever restricted or suspect, present or removed, with the
// record of its last sighting. Presence lists every interval it was on
// the network, oldest first; a device that returns gets a new one.
type RegisterEntry struct {
	ID        string         `json:"id"`
	Status    RegisterStatus `json:"status"`
	FirstSeen time.Time      `json:"first_seen"`
	LastSeen  time.Time      `json:"last_seen"`
	RemovedAt time.Time      `json:"removed_at,omitzero"`
	// AckedAt and AckedBy are the acknowledgement of the alarm the device
	// raised (cmd/ack, {"by": "name"}); zero and "" until then.
	AckedAt  time.Time  `json:"acked_at,omitzero"`
	AckedBy  string     `json:"acked_by,omitempty"`
	Presence []Interval `json:"presence"`
	// Device is the device record at its last sighting.
	Device identity.Device `json:"device"`
}

// msgRegister is the kind of a retained register entry in the publishing
// loop.
const msgRegister msgKind = 100

// registerState is the client's retained register entries: the payload
// of each by topic-safe id (nil clears the topic) and which wait to be
// published. Its methods are called with c.mu held.
type registerState struct {
	entries map[string][]byte
	dirty   map[string]struct{}
}

func (r *registerState) set(id string, payload []byte) bool {
	if r.entries == nil {
		r.entries, r.dirty = map[string][]byte{}, map[string]struct{}{}
	}
	if old, ok := r.entries[id]; ok && string(old) == string(payload) && payload != nil {
		return false
	}
	if payload == nil {
		delete(r.entries, id)
	} else {
		r.entries[id] = payload
	}
	r.dirty[id] = struct{}{}
	return true
}

// markAll marks every entry for publishing again (a new connection).
func (r *registerState) markAll() {
	for id := range r.entries {
		r.dirty[id] = struct{}{}
	}
}

// mark marks one entry for publishing again (a publish that failed).
func (r *registerState) mark(id string) {
	if r.dirty == nil {
		r.dirty = map[string]struct{}{}
	}
	r.dirty[id] = struct{}{}
}

// idle reports whether nothing waits to be published.
func (r *registerState) idle() bool { return len(r.dirty) == 0 }

// take appends the register messages to publish to msgs and clears their
// marks.
func (r *registerState) take(t topics, msgs []message) []message {
	for id := range r.dirty {
		msgs = append(msgs, message{t.register(id), r.entries[id], msgRegister, id})
	}
	clear(r.dirty)
	return msgs
}

// register is the retained topic of a register entry; id must be a
// SafeID.
func (t topics) register(id string) string { return t.base + "/register/" + id }

// PublishRegister sets the retained register entry of a device at
// <base>/register/<id>. Like PublishDevice it returns at once; the entry
// is published when connected and again on every reconnect. The entry's
// id (and its record's) is made topic-safe first.
func (c *Client) PublishRegister(ctx context.Context, e RegisterEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := SafeID(e.ID)
	if id != e.ID {
		c.warn.Warn("register id is not topic-safe; published under a sanitised id", "id", e.ID, "topic_id", id)
	}
	e.ID, e.Device.ID = id, SafeID(e.Device.ID)
	if e.Presence == nil {
		e.Presence = []Interval{}
	}
	p, err := marshal(e)
	if err != nil {
		return fmt.Errorf("mqtt: encode register entry %s: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	if c.register.set(id, p) {
		c.changedLocked()
	}
	return nil
}

// RemoveRegister clears the retained register entry of a device (an
// empty retained payload): for entries the register no longer keeps.
func (c *Client) RemoveRegister(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id = SafeID(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrClosed
	}
	c.register.set(id, nil)
	c.changedLocked()
	return nil
}

// maxRegisterPayload bounds a register entry's payload in the decoder.
const maxRegisterPayload = 1 << 20

// DecodeRegister decodes a message on <prefix>/<gateway>/register/<id>.
// ok is false for any other topic. An empty payload (a cleared entry) is
// gone = true with a zero entry. The entry's id must match the topic's.
func DecodeRegister(prefix, topic string, payload []byte) (gateway string, e RegisterEntry, gone, ok bool, err error) {
	rest, found := strings.CutPrefix(topic, prefix+"/")
	if !found {
		return "", e, false, false, nil
	}
	gw, rest, _ := strings.Cut(rest, "/")
	id, found := strings.CutPrefix(rest, "register/")
	if !found {
		return "", e, false, false, nil
	}
	if !ValidID(gw) {
		return "", e, false, true, fmt.Errorf("gateway level %q is not a topic-safe id", trunc(gw))
	}
	if !ValidID(id) {
		return gw, e, false, true, fmt.Errorf("%s: register level %q is not a topic-safe id", gw, trunc(id))
	}
	if len(payload) == 0 {
		return gw, RegisterEntry{ID: id}, true, true, nil
	}
	if len(payload) > maxRegisterPayload {
		return gw, e, false, true, fmt.Errorf("%s/register/%s: payload of %d bytes is too large", gw, id, len(payload))
	}
	if err := decodeJSON(payload, &e); err != nil {
		return gw, RegisterEntry{}, false, true, fmt.Errorf("%s/register/%s: %w", gw, id, err)
	}
	if e.ID != id {
		return gw, RegisterEntry{}, false, true, fmt.Errorf("%s/register/%s: entry has id %q", gw, id, trunc(e.ID))
	}
	if e.Status != Present && e.Status != Removed {
		return gw, RegisterEntry{}, false, true, fmt.Errorf("%s/register/%s: status %q is neither present nor removed", gw, id, trunc(string(e.Status)))
	}
	return gw, e, false, true, nil
}

// GatewaySnapshot is what a broker retains of one gateway: its status,
// state summary, device records and register entries, by id.
type GatewaySnapshot struct {
	ID       string
	Status   string
	State    *Summary
	Devices  map[string]identity.Device
	Register map[string]RegisterEntry
}

// SnapshotOptions tune Snapshot.
type SnapshotOptions struct {
	// Settle is how long the stream must be quiet before the snapshot is
	// taken (default 500ms); MaxWait bounds the whole (default 30s).
	Settle, MaxWait time.Duration
}

// Snapshot connects to the broker of cfg, subscribes to the retained
// findings of every gateway under cfg.Prefix (status, state, devices and
// register) and returns them once the stream has been quiet for Settle,
// by gateway id. Malformed messages are logged and skipped. It returns an
// error when the broker cannot be reached or MaxWait passes first.
func Snapshot(ctx context.Context, cfg Config, opt SnapshotOptions, log *slog.Logger) (map[string]*GatewaySnapshot, error) {
	cfg, err := cfg.Normalize()
	if err != nil {
		return nil, err
	}
	if opt.Settle <= 0 {
		opt.Settle = 500 * time.Millisecond
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	newOptions, where, err := cfg.readerOptions("nvrguard-report-")
	if err != nil {
		return nil, err
	}
	bad := rateLimited{log: log, every: 10 * time.Second}
	var mu sync.Mutex
	gws := map[string]*GatewaySnapshot{}
	gwOf := func(id string) *GatewaySnapshot {
		g := gws[id]
		if g == nil {
			g = &GatewaySnapshot{ID: id, Devices: map[string]identity.Device{}, Register: map[string]RegisterEntry{}}
			gws[id] = g
		}
		return g
	}
	heard := make(chan struct{}, 1)
	handle := func(_ paho.Client, m paho.Message) {
		if !m.Retained() {
			// Live traffic: the snapshot is of the retained state, and a
			// busy fleet must not keep it from settling.
			return
		}
		select {
		case heard <- struct{}{}:
		default:
		}
		gw, e, gone, ok, err := DecodeRegister(cfg.Prefix, m.Topic(), m.Payload())
		if ok {
			if err != nil {
				bad.Warn("report: skipped a malformed register entry", "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if gone {
				delete(gwOf(gw).Register, e.ID)
			} else {
				gwOf(gw).Register[e.ID] = e
			}
			return
		}
		upd, err := DecodeMessage(cfg.Prefix, m.Topic(), m.Payload(), true)
		if err != nil {
			if err != ErrNotFinding {
				bad.Warn("report: skipped a malformed message", "err", err)
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		g := gwOf(upd.Gateway)
		switch upd.Kind {
		case UpdateStatus:
			g.Status = upd.Status
		case UpdateState:
			g.State = upd.State
		case UpdateDevice:
			g.Devices[upd.DeviceID] = *upd.Device
		case UpdateDeviceGone:
			delete(g.Devices, upd.DeviceID)
		}
	}
	cl := paho.NewClient(newOptions().SetDefaultPublishHandler(handle))
	defer cl.Disconnect(100)
	if err := waitToken(ctx, cl.Connect(), cfg.ConnectTimeout+2*time.Second); err != nil {
		return nil, fmt.Errorf("report: %s: %w", where, err)
	}
	filters := map[string]byte{}
	for _, f := range []string{"/+/status", "/+/state", "/+/devices/+", "/+/register/+"} {
		filters[cfg.Prefix+f] = 1
	}
	if err := waitToken(ctx, cl.SubscribeMultiple(filters, nil), cfg.PublishTimeout); err != nil {
		return nil, fmt.Errorf("report: subscribe: %w", err)
	}
	quiet := time.NewTimer(opt.Settle)
	defer quiet.Stop()
	limit := time.NewTimer(opt.MaxWait)
	defer limit.Stop()
	for done := false; !done; {
		select {
		case <-heard:
			quiet.Reset(opt.Settle)
		case <-quiet.C:
			done = true
		case <-limit.C:
			return nil, fmt.Errorf("report: the retained messages did not settle within %v", opt.MaxWait)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cl.Disconnect(100)
	mu.Lock()
	defer mu.Unlock()
	out := gws
	gws = map[string]*GatewaySnapshot{} // a late callback writes elsewhere
	return out, nil
}
