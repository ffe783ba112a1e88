package app

import (
	"context"

	"github.com/nvrguard/nvrguard/drivers/led"
	"github.com/nvrguard/nvrguard/mqtt"
)

// commandLoop carries out the control room's commands.
func (d *daemon) commandLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-d.mq.Commands():
			if !ok {
				return
			}
			d.log.Info("command", "name", string(c.Name), "by", c.By, "request_id", c.RequestID)
			switch c.Name {
			case mqtt.CmdScan:
				d.requestScan()
			case mqtt.CmdAck:
				by := c.By
				if by == "" {
					by = "mqtt"
				}
				d.ack(by)
			}
		}
	}
}

// buttonLoop: a short press acknowledges, a long one asks for a rescan.
func (d *daemon) buttonLoop(ctx context.Context) {
	name := d.config().LED.Button
	pin, err := led.HostLine(name)
	if d.o.LEDLookup != nil {
		pin, err = d.o.LEDLookup(name)
	}
	if err != nil {
		d.log.Error("button unavailable", "line", name, "err", err)
		return
	}
	b := &led.Button{Pin: pin}
	err = b.Run(ctx, func(p led.Press) {
		if p == led.LongPress {
			d.requestScan()
			return
		}
		d.ack("button")
	})
	if err != nil && ctx.Err() == nil {
		d.log.Error("button", "err", err)
	}
}
