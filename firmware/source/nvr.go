package source

import (
	"context"
	"errors"
	"time"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/drivers/nvr"
	"github.com/nvrguard/nvrguard/firmware/config"
)

// SlotNVR is the evidence slot of one recorder's channel list.
func SlotNVR(url string) string { return "nvr:" + url }

// nvrSources reads the channel list of each configured recorder (nvr:, or
// scan --nvr): the cameras on its own PoE ports, which never answer on the
// LAN, and the recorder itself. A recorder that cannot be read is fault 5.
func nvrSources(env Env) ([]Instance, error) {
	cfg := env.Config()
	g := env.Guard
	if g == nil && len(cfg.NVR) > 0 {
		g = nvr.NewGuard(0)
	}
	var out []Instance
	for _, n := range cfg.NVR {
		if err := config.ValidateNVR(n); err != nil {
			return nil, err
		}
		url := n.URL
		out = append(out, Instance{
			Name: SlotNVR(url), Slot: SlotNVR(url), Kind: Poll, Fault: led.FaultNVR, Scan: true, Run: true,
			Interval: func(c config.Config) time.Duration { return c.Scan.Interval },
			Source: Func(func(ctx context.Context, emit Emit) error {
				return readNVR(ctx, env, g, url, emit)
			}),
		})
	}
	return out, nil
}

// readNVR reads one recorder with the account in force (a new one after
// SIGHUP is tried at once; the Guard keeps a refused one back).
func readNVR(ctx context.Context, env Env, g *nvr.Guard, url string, emit Emit) error {
	var n config.NVR
	found := false
	for _, c := range env.Config().NVR {
		if c.URL == url {
			n, found = c, true
		}
	}
	if !found {
		return errors.New("no longer configured")
	}
	at := time.Now()
	r := &nvr.Reader{
		Config: nvr.Config{URL: n.URL, Username: n.Username, Password: n.Password.Reveal(), Vendor: n.Vendor,
			TLSFingerprint: n.TLSFingerprint, RetryAfter: n.RetryAfter},
		Guard: g,
		Log:   env.log().With("component", "nvr"),
	}
	res, err := r.Read(ctx)
	if err != nil {
		var e *nvr.Error
		if errors.As(err, &e) && !e.Until.IsZero() {
			return &Held{Err: err, Until: e.Until}
		}
		return err
	}
	emit(Reading{IDs: res.Identities(), Complete: true, At: at})
	return nil
}
