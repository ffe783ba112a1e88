package scan

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkScanLAN scans a real network: the interfaces named by
// NVRGUARD_BENCH_IFACE (comma-separated) and the CIDR NVRGUARD_BENCH_CIDR.
// It is meant to run inside the gateway namespace of a simulated camera LAN
// (scripts/bench-lan.sh does that); without the variables it skips. Each
// iteration is one whole scan, so allocs/op is the cost of one sweep.
func BenchmarkScanLAN(b *testing.B) {
	ifaces := os.Getenv("NVRGUARD_BENCH_IFACE")
	if ifaces == "" {
		b.Skip("NVRGUARD_BENCH_IFACE not set: run scripts/bench-lan.sh")
	}
	o := Options{Ifaces: strings.Split(ifaces, ","), Timeout: 20 * time.Second}
	if c := os.Getenv("NVRGUARD_BENCH_CIDR"); c != "" {
		o.CIDRs = []netip.Prefix{netip.MustParsePrefix(c)}
	}
	b.ReportAllocs()
	var found int
	for b.Loop() {
		ids, _, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		found = len(ids)
	}
	b.ReportMetric(float64(found), "identities")
}
