package serialtest

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// NoLeak fails t, at its end, if goroutines running this module's code
// started during the test are still alive 2 s after it finished.
func NoLeak(t testing.TB) {
	t.Helper()
	before := ours()
	t.Cleanup(func() {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			var left []string
			for id, stack := range ours() {
				if _, ok := before[id]; !ok {
					left = append(left, stack)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutine(s) leaked:\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// ours returns the goroutines, by id, whose stack runs this module's code
// (other than the test function and this package).
func ours() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		id := strings.Fields(head)
		if len(id) < 2 || !strings.Contains(g, "github.com/nvrguard/nvrguard/") ||
			strings.Contains(g, "serialtest.ours") || strings.Contains(head, "[running]") {
			continue
		}
		// The goroutine of a test function itself is the test's, not a leak.
		if strings.Contains(g, "testing.tRunner") && !strings.Contains(g, "created by github.com/nvrguard") {
			continue
		}
		out[id[1]] = g
	}
	return out
}
