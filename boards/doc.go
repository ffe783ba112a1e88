// Package boards holds the profiles of the boards nvrguard runs on
// (Raspberry Pi Zero W, Zero 2 W, 3, 4, 5, Compute Module 4, other Raspberry
// Pis and a generic Linux board): where the status LED is, the optional
// button, the serial ports to probe and the build target. Detect picks the
// profile from the device tree's model string (/proc/device-tree/model,
// read with ReadModel); a configuration file changes any field with
// Profile.Override.
//
// The package is data and imports nothing of nvrguard: the LED is a --led
// SPEC string and pins are GPIO line names.
package boards
