// Package led drives the gateway's status LED: the patterns of DESIGN.md
// (starting flicker, heartbeat, steady, fast blink, slow blink, fault code N
// blinks) on one LED, a red+green pair or an RGB LED wired to GPIO lines, on
// a Linux LED-class device such as /sys/class/leds/ACT, or as lines on a
// console.
//
// An LED renders one State at a time: Set is non-blocking, the latest call
// wins and shows at once, and Run renders until its context ends and then
// leaves the light off (and an LED-class trigger restored). Pick chooses the
// State to show when several conditions hold at once.
//
// A Button reads the technician's push button on a GPIO line, debounced: a
// short press is meant to acknowledge the alarm, a long one to ask for a
// rescan.
package led
