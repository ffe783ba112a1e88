package boards

import "testing"

// BenchmarkDetect measures detection of a Compute Module 4's model string,
// the sixth profile tried.
func BenchmarkDetect(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if p, ok := Detect("Raspberry Pi Compute Module 4 Rev 1.1\x00"); !ok || p.Name != "cm4" {
			b.Fatal(p.Name)
		}
	}
}
