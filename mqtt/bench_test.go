package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
	"github.com/nvrguard/nvrguard/mqtt/mqtttest"
	"github.com/nvrguard/nvrguard/mqtt/outbox"
)

func benchClient(b *testing.B, url, state string) *Client {
	b.Helper()
	c, err := New(Config{Broker: url, GatewayID: "bench", StateDir: state, ReconnectMin: 50 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

func closeClient(b *testing.B, c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPublishDevices1000 measures publishing 1,000 changed device
// records to mosquitto, each acknowledged (QoS 1, retained).
func BenchmarkPublishDevices1000(b *testing.B) {
	m := mqtttest.StartMosquitto(b, mqtttest.MosquittoOptions{})
	c := benchClient(b, m.URL(), b.TempDir())
	defer closeClient(b, c)
	ctx := context.Background()
	devs := make([]identity.Device, 1000)
	for i := range devs {
		devs[i] = testDevice(i, identity.Restricted)
	}
	if err := c.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n++
		for i := range devs {
			devs[i].LastSeen = devs[i].LastSeen.Add(time.Second) // every record changes
		}
		if err := c.Replace(ctx, devs); err != nil {
			b.Fatal(err)
		}
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/1e6, "ms/1000-records")
}

// BenchmarkReplay10000 measures replaying an outbox of 10,000 events to
// mosquitto after a restart: open the outbox, publish every event (QoS 1)
// and remove each after its PUBACK.
func BenchmarkReplay10000(b *testing.B) {
	m := mqtttest.StartMosquitto(b, mqtttest.MosquittoOptions{})
	seed := b.TempDir()
	o, err := outbox.Open(filepath.Join(seed, "mqtt-outbox"), outbox.Limits{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range 10000 {
		d := testDevice(i, identity.Restricted)
		if _, err := o.Append(outbox.MaxPriority, func(seq uint64) ([]byte, error) {
			return marshal(EventMessage{Seq: seq, Type: DeviceFound, Time: time.Now().UTC(), Device: d})
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("queued 10,000 events (each fsync'd) in %v", time.Since(start))
	o.Close()
	log, err := os.ReadFile(filepath.Join(seed, "mqtt-outbox", "outbox.log"))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		b.StopTimer()
		state := b.TempDir()
		os.MkdirAll(filepath.Join(state, "mqtt-outbox"), 0o700)
		if err := os.WriteFile(filepath.Join(state, "mqtt-outbox", "outbox.log"), log, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c := benchClient(b, m.URL(), state)
		if err := c.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		if q := c.Health().Outbox.Queued; q != 0 {
			b.Fatal(fmt.Sprint("queued ", q))
		}
		b.StopTimer()
		closeClient(b, c)
		b.StartTimer()
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/1e6, "ms/10000-events")
}
