package mqtttest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/nvrguard/nvrguard/mqtt/broker"
)

// Mochi is the embedded broker (package broker) run in-process by a test.
type Mochi struct {
	t    testing.TB
	cfg  broker.Config
	b    *broker.Broker
	addr string
}

// StartMochi starts the embedded broker on a free loopback port; it is
// closed when the test ends. cfg.Listen is ignored.
func StartMochi(t testing.TB, cfg broker.Config) *Mochi {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	m := &Mochi{t: t, cfg: cfg}
	m.run()
	m.addr = m.b.Addr()
	m.cfg.Listen = m.addr
	t.Cleanup(m.Stop)
	return m
}

func (m *Mochi) run() {
	b, err := broker.Start(context.Background(), m.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		m.t.Fatal(err)
	}
	m.b = b
}

// URL is the broker's tcp:// URL.
func (m *Mochi) URL() string { return "tcp://" + m.addr }

// Stop closes the broker (its retained messages and sessions are lost).
func (m *Mochi) Stop() {
	if m.b != nil {
		m.b.Close()
		m.b = nil
	}
}

// Start starts the broker again on the same address.
func (m *Mochi) Start() {
	m.t.Helper()
	if m.b == nil {
		m.run()
	}
}

// Broker is a broker a test can stop and start again.
type Broker interface {
	URL() string
	Stop()
	Start()
}

// Kinds are the brokers every integration test runs against.
var Kinds = []string{"mosquitto", "mochi"}

// Start starts a broker of a kind from Kinds with default options.
func Start(t testing.TB, kind string) Broker {
	t.Helper()
	if kind == "mochi" {
		return StartMochi(t, broker.Config{})
	}
	return StartMosquitto(t, MosquittoOptions{})
}
