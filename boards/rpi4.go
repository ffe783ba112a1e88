package boards

// The Raspberry Pi 4 Model B and the Pi 400 (BCM2711, Cortex-A72).
func rpi4() Profile {
	return Profile{
		Name:        "rpi4",
		Title:       "Raspberry Pi 4 / 400",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: piSerial(),
		GOARCH:      "arm64",
		match:       []string{"Raspberry Pi 4 Model", "Raspberry Pi 400"},
	}
}
