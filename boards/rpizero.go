package boards

// The Raspberry Pi Zero and Zero W (BCM2835, ARMv6): only a GOARM=6 build
// runs. The ACT LED is active-low on the board; kernels whose device tree
// does not say so show it inverted: use "sysfs:/sys/class/leds/ACT,invert"
// there (older kernels call it led0).
func rpiZeroW() Profile {
	return Profile{
		Name:        "rpi-zero-w",
		Title:       "Raspberry Pi Zero / Zero W",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: piSerial(),
		GOARCH:      "arm",
		GOARM:       "6",
		match:       []string{"Raspberry Pi Zero W", "Raspberry Pi Zero Rev"},
	}
}

// The Raspberry Pi Zero 2 W (RP3A0, Cortex-A53): arm64 on a 64-bit OS.
func rpiZero2W() Profile {
	return Profile{
		Name:        "rpi-zero-2-w",
		Title:       "Raspberry Pi Zero 2 W",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: piSerial(),
		GOARCH:      "arm64",
		match:       []string{"Raspberry Pi Zero 2"},
	}
}

// piSerial returns the serial ports of a Pi 0-4: the header UART on
// GPIO14/15 through its stable alias serial0 (ttyS0 or ttyAMA0 depending on
// Bluetooth), then USB serial adapters.
func piSerial() []string {
	return []string{"/dev/serial0", "/dev/ttyUSB*", "/dev/ttyACM*"}
}
