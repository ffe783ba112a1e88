package boards

// The Raspberry Pi 3 Model B, B+ and A+ (BCM2837, Cortex-A53).
func rpi3() Profile {
	return Profile{
		Name:        "rpi3",
		Title:       "Raspberry Pi 3",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: piSerial(),
		GOARCH:      "arm64",
		match:       []string{"Raspberry Pi 3 Model"},
	}
}
