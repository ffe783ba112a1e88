package app

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/boards"
	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/onvif"
	"github.com/nvrguard/nvrguard/firmware/config"
	"github.com/nvrguard/nvrguard/firmware/inventory"
	"github.com/nvrguard/nvrguard/firmware/policy"
	"github.com/nvrguard/nvrguard/firmware/register"
	"github.com/nvrguard/nvrguard/firmware/source"
	"github.com/nvrguard/nvrguard/mqtt"
)

// publisher is what the daemon publishes to the control room (the MQTT
// client; tests give a recorder).
type publisher interface {
	Event(ctx context.Context, typ mqtt.EventType, d identity.Device) (uint64, error)
	PublishDevice(ctx context.Context, d identity.Device) error
	RemoveDevice(ctx context.Context, id string) error
	Replace(ctx context.Context, devs []identity.Device) error
	PublishState(ctx context.Context, st mqtt.State) error
	Health() mqtt.Health
	Commands() <-chan mqtt.Command
	WriteHeld(ctx context.Context) error
	PublishRegister(ctx context.Context, e mqtt.RegisterEntry) error
	RemoveRegister(ctx context.Context, id string) error
	// Hold keeps the publishing loop waiting until release, so that the
	// changes of one reading go out in one pass (one state message).
	Hold() (release func())
}

// indicator is what shows the technician the gateway's state (the LED).
type indicator interface {
	Set(led.State)
}

// update is one reading of a source, on its way to the loop.
type update struct {
	in *source.Instance
	source.Reading
}

// daemon is the state of a running gateway. Fields below "owned by loop"
// are touched only by the loop goroutine.
type daemon struct {
	o     Options
	log   *slog.Logger
	light indicator // nil: no LED
	board boards.Profile
	mq    publisher
	store *inventory.Store
	reg   *register.Register
	sup   *source.Supervisor
	// scanNow brings the next network sweep forward.
	scanNow func()

	client    *mqtt.Client // the publisher, for what only the real client does (connect, close)
	cancelMQ  context.CancelFunc
	brokerURL string
	ledSpec   string
	stopLED   func()

	updates  chan update
	healthCh chan struct{} // a source's health changed
	faults   faultSet

	cfgMu    sync.Mutex
	cfg      config.Config   // replaced on SIGHUP
	refusals *onvif.Refusals // cameras that refused the ONVIF account; new with a new account

	// owned by loop
	pol         *policy.Policy
	inv         *inventory.Inventory
	swept       bool // the first network sweep has completed
	lastScan    time.Time
	heardRescan time.Time   // when an announcement last brought a sweep forward
	acked       bool        // the current alarm was acknowledged
	restored    bool        // the inventory was read (or there was none): the register may be mended from it
	unsaved     bool        // events are held in memory: the inventory is not saved until they are written
	ackCh       chan string // who acknowledged
}

// config returns the configuration in force.
func (d *daemon) config() config.Config {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	return d.cfg
}

// onvifRefusals returns the refusals of the ONVIF account in force.
func (d *daemon) onvifRefusals() *onvif.Refusals {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	return d.refusals
}

// faultSet is the set of fault codes active now (LED fault N). Each source
// raises and clears its own fault (the USB poll never clears a serial port's
// fault 3, nor one port another's): a code is active while any source holds it.
type faultSet struct {
	mu     sync.Mutex
	active map[int]map[string]bool // code -> sources holding it
}

func (f *faultSet) set(code int, source string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active == nil {
		f.active = map[int]map[string]bool{}
	}
	if !on {
		delete(f.active[code], source)
		return
	}
	if f.active[code] == nil {
		f.active[code] = map[string]bool{}
	}
	f.active[code][source] = true
}

func (f *faultSet) states() []led.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []led.State
	for _, code := range slices.Sorted(maps.Keys(f.active)) {
		if len(f.active[code]) > 0 {
			out = append(out, led.Fault(code))
		}
	}
	return out
}

func (d *daemon) loadPolicy() error {
	p, err := policy.Load(d.config().Profile)
	if err != nil {
		return err
	}
	d.pol = p
	return nil
}

// loop owns the inventory: it applies every observation, acknowledges,
// reloads, and keeps the LED and MQTT state in step until ctx ends.
func (d *daemon) loop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if d.ackCh == nil {
		d.ackCh = make(chan string, 1)
	}
	d.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-d.updates:
			d.apply(ctx, u)
		case by := <-d.ackCh:
			d.acknowledge(ctx, by)
			d.refresh(ctx)
		case <-d.o.Reload:
			d.reload(ctx)
		case <-d.healthCh:
			d.refresh(ctx)
		case <-tick.C:
			// Faults come and go (MQTT reconnects, a full disk): keep the
			// LED current.
			now := time.Now()
			h := d.mq.Health()
			d.faults.set(led.FaultMQTT, "mqtt", (!h.Connected && now.Sub(h.Since) > 10*time.Second) || h.OutboxFault(now))
			if d.unsaved {
				d.save(ctx)
			}
			d.showLED()
		}
	}
}

// apply records one reading and turns the change into events.
func (d *daemon) apply(ctx context.Context, u update) {
	now := time.Now().UTC()
	slot := u.in.Slot
	d.log.Debug("observation", "source", u.in.Name, "slot", slot, "identities", len(u.IDs), "complete", u.Complete)
	if u.Heard {
		// An announcement says that a device is there, not what it is
		// (no MAC: it would become a second record of the same camera):
		// it only brings the sweep forward, which asks the device itself.
		d.heardNew(u.IDs, now)
		return
	}
	if slot == source.SlotNetwork && !u.Complete && !d.swept {
		// The first sweep reads the neighbour table itself, after its
		// probes, with every answer beside it: a read before it would
		// make a camera known by its OUI alone, a verdict the sweep then
		// changes.
		d.log.Debug("neighbour table read before the first sweep: ignored")
		return
	}
	if slot == source.SlotNetwork && u.Complete {
		d.swept = true
		d.lastScan = now
	}
	at := u.At
	if at.IsZero() {
		at = now
	}
	d.publish(ctx, d.inv.Apply(inventory.Observation{Slot: slot, IDs: u.IDs, Complete: u.Complete, At: at}, d.pol, now))
}

// heardRescanGap is the least time between two sweeps brought forward by
// announcements: a device that floods Hellos cannot keep the gateway
// sweeping.
const heardRescanGap = 30 * time.Second

// heardNew brings the next sweep forward when an announcement came from an
// address the inventory does not hold, once the first sweep is done (the
// first sweep hears every answer sent to the groups too).
func (d *daemon) heardNew(ids []identity.Identity, now time.Time) {
	if !d.swept || now.Sub(d.heardRescan) < heardRescanGap {
		return
	}
	known := map[string]bool{}
	for _, dev := range d.inv.Devices() {
		known[dev.IP] = true
	}
	for _, id := range ids {
		if id.Addr.IsValid() && !known[id.Addr.String()] {
			d.heardRescan = now
			d.log.Info("a new device announced itself; sweeping now", "addr", id.Addr.String(), "source", id.Source)
			d.requestScan()
			return
		}
	}
}

// publish sends the inventory's events and its records over MQTT and
// persists the inventory.
func (d *daemon) publish(ctx context.Context, events []inventory.Event) {
	release := d.mq.Hold()
	defer release()
	for _, e := range events {
		d.log.Info("inventory change", "event", string(e.Type), "id", e.Device.ID, "verdict", string(e.Device.Verdict),
			"ip", e.Device.IP, "manufacturer", e.Device.Manufacturer, "model", e.Device.Model)
		if _, err := d.mq.Event(ctx, e.Type, e.Device); err != nil {
			d.log.Error("mqtt event not queued", "event", string(e.Type), "id", e.Device.ID, "err", err)
			if errors.Is(err, mqtt.ErrEventHeld) {
				d.unsaved = true
			}
		}
	}
	// The events are in the on-disk outbox; the state follows at once, before
	// anything else is published, so that a kill -9 between the two can
	// repeat an event (subscribers dedupe by seq) but never lose one, and a
	// restart never finds again what was already found.
	d.save(ctx)
	d.observeRegister(ctx, events)
	for _, e := range events {
		if e.Type == inventory.DeviceLost {
			if err := d.mq.RemoveDevice(ctx, e.Device.ID); err != nil {
				d.log.Warn("mqtt remove device", "id", e.Device.ID, "err", err)
			}
		}
	}
	// Every held record is (re)published: last_seen moves, and the client
	// only sends what changed.
	for _, dev := range d.inv.Devices() {
		if err := d.mq.PublishDevice(ctx, dev); err != nil {
			d.log.Warn("mqtt publish device", "id", dev.ID, "err", err)
		}
	}
	d.refresh(ctx)
}

// observeRegister keeps the removal register in step with the inventory
// (after the inventory is saved): what was found, what was removed. The
// register also decides whether the alarm stays acknowledged: a new,
// returning or upgraded restricted device clears it.
func (d *daemon) observeRegister(ctx context.Context, events []inventory.Event) {
	var lost []identity.Device
	for _, e := range events {
		if e.Type == inventory.DeviceLost {
			lost = append(lost, e.Device)
		}
	}
	ch, err := d.reg.Observe(time.Now().UTC(), d.inv.Devices(), lost)
	if err != nil {
		d.log.Error("saving the register", "err", err)
	}
	d.publishRegister(ctx, ch.Entries)
	for _, id := range ch.Dropped {
		if err := d.mq.RemoveRegister(ctx, id); err != nil {
			d.log.Warn("mqtt remove register entry", "id", id, "err", err)
		}
	}
	_, _, d.acked = d.reg.Acked()
}

func (d *daemon) publishRegister(ctx context.Context, es []register.Entry) {
	for _, e := range es {
		if err := d.mq.PublishRegister(ctx, e); err != nil {
			d.log.Warn("mqtt register entry", "id", e.ID, "err", err)
		}
	}
}

// acknowledge acknowledges the alarm of the restricted devices present
// (cmd/ack, the button), in the register when there is one: the
// acknowledgement then survives restarts.
func (d *daemon) acknowledge(ctx context.Context, by string) {
	if d.inv.Counts()[identity.Restricted] == 0 {
		return
	}
	es, err := d.reg.Ack(time.Now().UTC(), by)
	if err != nil {
		d.log.Error("saving the register", "err", err)
	}
	d.publishRegister(ctx, es)
	_, _, d.acked = d.reg.Acked()
	d.log.Info("alarm acknowledged", "by", by)
}

// save persists the inventory, unless events it reports are held in memory
// (the outbox could not be written: a full disk). Saved then, a restart
// would lose them; unsaved, it finds the devices again and repeats them.
func (d *daemon) save(ctx context.Context) {
	if d.unsaved {
		if err := d.mq.WriteHeld(ctx); err != nil {
			d.log.Debug("events still held; the inventory waits", "err", err)
			return
		}
		d.unsaved = false
	}
	if _, err := d.store.Save(d.inv.Entries()); err != nil {
		d.log.Error("saving the inventory", "err", err)
	}
}

// ledState is what the LED shows now.
func (d *daemon) ledState() led.State {
	base := led.Running
	restricted := d.inv.Counts()[identity.Restricted] > 0
	switch {
	case restricted && d.acked:
		base = led.Acked
	case restricted:
		base = led.Alarm
	case d.swept:
		base = led.Clear
	}
	return led.Pick(append(d.faults.states(), base)...)
}

func (d *daemon) showLED() led.State {
	s := d.ledState()
	if d.light != nil {
		d.light.Set(s)
	}
	return s
}

// refresh updates the LED and the MQTT state summary.
func (d *daemon) refresh(ctx context.Context) {
	s := d.showLED()
	st := mqtt.State{LastScan: d.lastScan, PolicyVersion: d.pol.Version(), LED: s.String(), Acknowledged: d.acked,
		Sources: d.sourcesHealth()}
	if err := d.mq.PublishState(ctx, st); err != nil {
		d.log.Warn("mqtt state", "err", err)
	}
}

// reload re-reads the config file and the policy (SIGHUP). What cannot
// change without a restart (MQTT connection, LED, serial ports) is logged.
func (d *daemon) reload(ctx context.Context) {
	d.log.Info("reloading the configuration and the policy")
	if d.o.ConfigPath != "" {
		c, err := config.Load(d.o.ConfigPath)
		if err != nil {
			d.log.Error("config reload failed; keeping the running configuration", "err", err)
			return
		}
		old := d.config()
		c.StateDir = old.StateDir // a flag override stays
		if c.MQTT.Broker != old.MQTT.Broker || c.LED != old.LED || !slices.EqualFunc(c.Serial.Ports, old.Serial.Ports, equalPort) {
			d.log.Warn("MQTT, LED and serial settings take effect at the next restart")
		}
		d.cfgMu.Lock()
		if c.Scan.ONVIF != old.Scan.ONVIF {
			d.refusals = &onvif.Refusals{} // a new account may be let in
		}
		d.cfg.Scan, d.cfg.USB, d.cfg.Profile = c.Scan, c.USB, c.Profile
		d.cfgMu.Unlock()
		d.inv.LostAfter = max(c.Scan.LostAfter, 1)
	}
	if err := d.loadPolicy(); err != nil {
		d.log.Error("policy reload failed; keeping the running policy", "err", err)
		d.faults.set(led.FaultPolicy, "policy", true)
	} else {
		d.faults.set(led.FaultPolicy, "policy", false)
		d.log.Info("policy in force", "version", d.pol.Version(), "profile", d.pol.Profile().Name)
	}
	d.publish(ctx, d.inv.Reclassify(d.pol, time.Now().UTC()))
	d.requestScan()
}

func equalPort(a, b config.SerialPort) bool {
	return a.Path == b.Path && a.Baud == b.Baud && a.Kind == b.Kind && a.Probe == b.Probe &&
		slices.Equal(a.PelcoAddresses, b.PelcoAddresses) && a.Query == b.Query
}

// send hands a reading to the loop unless ctx ended.
func (d *daemon) send(ctx context.Context, in *source.Instance, r source.Reading) {
	select {
	case d.updates <- update{in: in, Reading: r}:
	case <-ctx.Done():
	}
}

// healthChanged notes a source's new health: its LED fault, and the state
// summary (refreshed by the loop).
func (d *daemon) healthChanged(in *source.Instance, h source.Health) {
	if in.Fault > 0 {
		d.faults.set(in.Fault, in.Name, h.Failing())
	}
	select {
	case d.healthCh <- struct{}{}:
	default:
	}
}

// sourcesHealth is the state summary's "sources".
func (d *daemon) sourcesHealth() map[string]mqtt.SourceHealth {
	if d.sup == nil {
		return nil
	}
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC().Truncate(time.Second)
		return &u
	}
	out := map[string]mqtt.SourceHealth{}
	for name, h := range d.sup.Health() {
		out[name] = mqtt.SourceHealth{Status: h.Status, Error: h.Error, LastRun: at(h.LastRun), LastOK: at(h.LastOK), RetryAt: at(h.RetryAt)}
	}
	return out
}

// ack asks the loop to acknowledge the alarm, for whom.
func (d *daemon) ack(by string) {
	select {
	case d.ackCh <- by:
	default:
	}
}

// requestScan asks the network source for a sweep now, and the recorders
// for their channel lists (their Guard still holds a refused account back).
func (d *daemon) requestScan() {
	if d.scanNow != nil {
		d.scanNow()
	}
}
