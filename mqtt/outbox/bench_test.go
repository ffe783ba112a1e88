package outbox

import (
	"bytes"
	"fmt"
	"testing"
)

// event is a realistic event payload (a device record), about 450 bytes.
var event = []byte(`{"seq":1,"type":"device_found","time":"2026-11-27T10:00:00Z","device":{"id":"mac-bcad28000001","ip":"10.0.0.2","mac":"bc:ad:28:00:00:01","manufacturer":"Hikvision","model":"DS-2CD2143G0-I","sources":["sadp"],"verdict":"restricted","entity":"Hikvision","reasons":[{"source":"sadp","field":"model","value":"DS-2CD2143G0-I","rule":"model/hikvision-ds"}],"first_seen":"2026-11-27T10:00:00Z","last_seen":"2026-11-27T10:00:00Z"}}`)

// BenchmarkAppend measures one durable append (write + fsync).
func BenchmarkAppend(b *testing.B) {
	o, err := Open(b.TempDir(), Limits{MaxEvents: 1 << 30, MaxBytes: 1 << 40}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		if _, err := o.Append(MaxPriority, func(uint64) ([]byte, error) { return event, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenAndRead10000 measures recovering an outbox of 10,000
// events after a restart and reading them all back.
func BenchmarkOpenAndRead10000(b *testing.B) {
	var log []byte
	for i := uint64(1); i <= 10000; i++ {
		log = appendRecord(log, record{kind: kindEvent, seq: i, payload: bytes.Replace(event, []byte(`"seq":1`), fmt.Appendf(nil, `"seq":%d`, i), 1)})
	}
	dir := b.TempDir()
	for b.Loop() {
		b.StopTimer()
		if err := writeLog(dir, log); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		o, err := Open(dir, Limits{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for after := uint64(0); ; {
			ms, err := o.Next(after, 64)
			if err != nil {
				b.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			n += len(ms)
			after = ms[len(ms)-1].Seq
		}
		o.Close()
		if n != 10000 {
			b.Fatalf("read %d", n)
		}
	}
}
