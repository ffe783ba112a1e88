package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// WatchOptions tune Watch.
type WatchOptions struct {
	// Settle is how long the stream must be quiet after subscribing before
	// UpdateSettled is delivered (default 500ms).
	Settle time.Duration
}

// rawMessage is a message copied out of a paho callback.
type rawMessage struct {
	topic    string
	payload  []byte
	retained bool
}

// readerOptions checks the broker URL, TLS and credentials once and
// returns a maker of the options of a read-only subscriber (watch, the
// report's snapshot): a client id of prefix and a random suffix, a clean
// session, no automatic reconnect (the caller decides), MQTT 3.1.1; and
// the broker URL for messages.
func (cfg Config) readerOptions(prefix string) (func() *paho.ClientOptions, string, error) {
	u, err := brokerURL(cfg.URL())
	if err != nil {
		return nil, "", err
	}
	tlsCfg, err := cfg.tlsConfig(u)
	if err != nil {
		return nil, "", err
	}
	user, pass, err := cfg.credentials()
	if err != nil {
		return nil, "", err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	clientID := prefix + hex.EncodeToString(rnd[:])
	return func() *paho.ClientOptions {
		o := paho.NewClientOptions().
			AddBroker(u.String()).
			SetClientID(clientID).
			SetCleanSession(true).
			SetAutoReconnect(false).
			SetKeepAlive(cfg.KeepAlive).
			SetConnectTimeout(cfg.ConnectTimeout).
			SetWriteTimeout(cfg.PublishTimeout).
			SetDialer(&net.Dialer{Timeout: cfg.ConnectTimeout})
		o.SetProtocolVersion(4)
		if tlsCfg != nil {
			o.SetTLSConfig(tlsCfg)
		}
		if user != "" {
			o.SetUsername(user)
			o.SetPassword(pass)
		}
		return o
	}, u.Redacted(), nil
}

// Watch subscribes to every gateway's findings under cfg.Prefix and calls
// handle, from the calling goroutine, for each decoded message, and with
// UpdateSettled once the retained messages have arrived after each
// (re)connect. Malformed messages are logged and skipped. Watch returns an
// error when the first connection fails, nil when ctx ends, and
// reconnects with backoff when a connection is lost.
func Watch(ctx context.Context, cfg Config, opt WatchOptions, log *slog.Logger, handle func(Update)) error {
	cfg, err := cfg.Normalize()
	if err != nil {
		return err
	}
	if opt.Settle <= 0 {
		opt.Settle = 500 * time.Millisecond
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	newOptions, where, err := cfg.readerOptions("nvrguard-watch-")
	if err != nil {
		return err
	}
	in := make(chan rawMessage, 4096)
	bad := rateLimited{log: log, every: 10 * time.Second}
	full := rateLimited{log: log, every: 10 * time.Second}
	filters := map[string]byte{}
	for _, f := range []string{"/+/status", "/+/state", "/+/events", "/+/devices/+"} {
		filters[cfg.Prefix+f] = 1
	}
	for attempt := 0; ; attempt++ {
		lost := make(chan struct{})
		var once sync.Once
		o := newOptions().
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
				select {
				case in <- rawMessage{m.Topic(), m.Payload(), m.Retained()}:
				default:
					full.Warn("watch: falling behind; dropped a message")
				}
			}).
			SetConnectionLostHandler(func(paho.Client, error) { once.Do(func() { close(lost) }) })
		cl := paho.NewClient(o)
		err := waitToken(ctx, cl.Connect(), cfg.ConnectTimeout+2*time.Second)
		if err == nil {
			err = waitToken(ctx, cl.SubscribeMultiple(filters, nil), cfg.PublishTimeout)
		}
		if err != nil {
			go cl.Disconnect(0)
			if ctx.Err() != nil {
				return nil
			}
			if attempt == 0 {
				return fmt.Errorf("watch: %s: %w", where, err)
			}
			log.Warn("watch: reconnect failed", "broker", where, "err", err)
		} else {
			attempt = 0
			err = pump(ctx, cfg.Prefix, in, lost, opt.Settle, &bad, handle)
			cl.Disconnect(100)
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("watch: connection lost; reconnecting", "broker", where, "err", err)
		}
		t := time.NewTimer(backoff(attempt, cfg.ReconnectMin, cfg.ReconnectMax))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// pump decodes messages and calls handle until the connection is lost or
// ctx ends.
func pump(ctx context.Context, prefix string, in <-chan rawMessage, lost <-chan struct{}, settle time.Duration, bad *rateLimited, handle func(Update)) error {
	quiet := time.NewTimer(settle)
	defer quiet.Stop()
	settled := false
	for {
		select {
		case m := <-in:
			if !settled {
				quiet.Reset(settle)
			}
			upd, err := DecodeMessage(prefix, m.topic, m.payload, m.retained)
			if errors.Is(err, ErrNotFinding) {
				continue
			}
			if err != nil {
				bad.Warn("watch: skipped a malformed message", "err", err)
				continue
			}
			handle(upd)
		case <-quiet.C:
			if !settled {
				settled = true
				handle(Update{Kind: UpdateSettled})
			}
		case <-lost:
			return errLost
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitToken waits for a paho token, bounded by d and ctx.
func waitToken(ctx context.Context, tok paho.Token, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %v", d)
	}
}
