package source

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// Result is what one source gave in a single run.
type Result struct {
	Name    string
	Reading Reading // the last reading (a listening source's state at the end)
	Read    bool    // it emitted a reading
	Err     error
	Took    time.Duration
}

// Once runs every instance marked Scan a single time, all at once, until
// each has returned: polled sources read once, listening sources until ctx
// ends (give ctx the scan's deadline). A source that panics is a failed
// source.
func Once(ctx context.Context, ins []Instance) []Result {
	var wg sync.WaitGroup
	var out []Result
	for _, in := range ins {
		if in.Scan {
			out = append(out, Result{Name: in.Name})
		}
	}
	i := 0
	for _, in := range ins {
		if !in.Scan {
			continue
		}
		r := &out[i]
		i++
		wg.Go(func() {
			began := time.Now()
			var mu sync.Mutex
			defer func() {
				if v := recover(); v != nil {
					r.Err = fmt.Errorf("source failed: %v", v)
				}
				r.Took = time.Since(began)
			}()
			err := in.Read(ctx, func(rd Reading) {
				mu.Lock()
				r.Reading, r.Read = rd, true
				mu.Unlock()
			})
			mu.Lock()
			r.Err = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// IDs returns the identities of every result.
func IDs(rs []Result) []identity.Identity {
	var out []identity.Identity
	for _, r := range rs {
		out = append(out, r.Reading.IDs...)
	}
	return out
}
