package boards

// The Raspberry Pi 5 and Pi 500 (BCM2712 with the RP1 I/O chip). The header
// GPIO lines live on RP1's chip, which is why lines are found by name.
// Serial: ttyAMA0 is the header UART (GPIO14/15, with dtparam=uart0),
// ttyAMA10 the three-pin debug connector.
func rpi5() Profile {
	return Profile{
		Name:        "rpi5",
		Title:       "Raspberry Pi 5 / 500",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: []string{"/dev/ttyAMA0", "/dev/ttyAMA10", "/dev/ttyUSB*", "/dev/ttyACM*"},
		GOARCH:      "arm64",
		match:       []string{"Raspberry Pi 5 Model", "Raspberry Pi 500"},
	}
}
