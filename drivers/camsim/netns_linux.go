package camsim

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// ServeInNetns runs the camera inside the network namespace at nsPath (a
// file such as /run/netns/NAME, as `ip netns add` makes): its sockets are
// created from a thread that has joined the namespace, so they live there,
// while this process stays where it is. Needs CAP_SYS_ADMIN.
func (c *Camera) ServeInNetns(ctx context.Context, nsPath string) error {
	return InNetns(nsPath, func() error { return c.Serve(ctx) })
}

// InNetns runs f on a thread that has joined the network namespace at
// nsPath, and returns f's error: the sockets f creates on that thread live
// in the namespace, while this process stays where it is. Needs
// CAP_SYS_ADMIN.
func InNetns(nsPath string, f func() error) error {
	target, err := os.Open(nsPath)
	if err != nil {
		return fmt.Errorf("camsim: %w", err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		// If switching back fails, the goroutine returns with its thread
		// still locked, and the runtime then discards that thread rather
		// than reuse it in the other namespace.
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			errc <- fmt.Errorf("camsim: own namespace: %w", err)
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("camsim: setns %s: %w", nsPath, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("camsim: setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
