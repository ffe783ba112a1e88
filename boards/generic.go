package boards

// Any other Raspberry Pi (Pi 1, Pi 2, Compute Modules 1, 3 and 5, models
// newer than this table): the ACT LED and serial0 are there on all of them,
// and a GOARM=6 build runs on every one.
func rpiOther() Profile {
	return Profile{
		Name:        "rpi-other",
		Title:       "Raspberry Pi (other model)",
		LED:         "sysfs:/sys/class/leds/ACT",
		SerialPorts: piSerial(),
		GOARCH:      "arm",
		GOARM:       "6",
		match:       []string{"Raspberry Pi"},
	}
}

// Generic is the profile of a board that is no Raspberry Pi: no known LED
// or button (give --led SPEC), and USB serial adapters only.
func generic() Profile {
	return Profile{
		Name:        "generic",
		Title:       "Generic Linux board",
		SerialPorts: []string{"/dev/ttyUSB*", "/dev/ttyACM*"},
	}
}
