package boards

// The Compute Module 4 (BCM2711) on its IO board or a carrier; the ACT LED
// is the carrier's, driven by the module.
func cm4() Profile {
	return Profile{
		Name:        "cm4",
		Title:       "Raspberry Pi Compute Module 4",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: piSerial(),
		GOARCH:      "arm64",
		match:       []string{"Raspberry Pi Compute Module 4"},
	}
}
