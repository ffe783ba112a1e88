package banner

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/nvrguard/nvrguard/drivers/identity"
)

// decodeJSON decodes one JSON value; white space and NUL bytes may follow it.
func decodeJSON(t []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(t))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errors.New("banner: JSON is truncated or malformed")
	}
	if len(bytes.Trim(t[d.InputOffset():], " \t\r\n\x00")) != 0 {
		return nil, errors.New("banner: data follows the JSON document")
	}
	return v, nil
}

// jsonString returns a scalar JSON value as text, the "#text" of an
// xmltodict element with attributes, or "" for anything else.
func jsonString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case map[string]any:
		if t, ok := v["#text"].(string); ok {
			return t
		}
	}
	return ""
}

// addJSON records a JSON identity document: ISAPI DeviceInfo in
// xmltodict-style JSON ({"response":{"DeviceInfo":{...}}} or
// {"DeviceInfo":{...}}) or a Reolink API answer. Other JSON is an error.
func addJSON(id *identity.Identity, t []byte) error {
	v, err := decodeJSON(t)
	if err != nil {
		return err
	}
	if obj, ok := v.(map[string]any); ok {
		if resp, ok := obj["response"].(map[string]any); ok && len(obj) == 1 {
			obj = resp
		}
		if di, ok := obj["DeviceInfo"].(map[string]any); ok {
			addDeviceInfo(id, jsonString(di["@xmlns"]), func(k string) string { return jsonString(di[k]) })
			return nil
		}
		if _, ok := obj["method"]; ok {
			return errors.New("banner: not an HTTP response (a DHIP or JSON-RPC message)")
		}
		if _, ok := obj["cmd"]; ok {
			v = []any{obj}
		}
	}
	if arr, ok := v.([]any); ok && isReolink(arr) {
		addReolink(id, arr)
		return nil
	}
	return errors.New("banner: JSON is not a known identity document")
}

// isReolink reports whether every element of arr is a Reolink API answer
// object: {"cmd": "...", "code": n, "value"|"error": {...}}.
func isReolink(arr []any) bool {
	if len(arr) == 0 {
		return false
	}
	for _, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := obj["cmd"].(string); !ok {
			return false
		}
		_, hasValue := obj["value"].(map[string]any)
		_, hasError := obj["error"].(map[string]any)
		if !hasValue && !hasError {
			return false
		}
	}
	return true
}

// addReolink records GetDevInfo and GetLocalLink answers. The placeholder
// serial 00000000065536 that many Reolink units report is kept as sent.
func addReolink(id *identity.Identity, arr []any) {
	id.Add(identity.FieldProtocol, TellReolinkAPI)
	for _, e := range arr {
		obj := e.(map[string]any)
		value, _ := obj["value"].(map[string]any)
		switch obj["cmd"] {
		case "GetDevInfo":
			di, _ := value["DevInfo"].(map[string]any)
			id.Add(identity.FieldModel, jsonString(di["model"]))
			id.Add(identity.FieldSerial, jsonString(di["serial"]))
			id.Add(identity.FieldFirmware, jsonString(di["firmVer"]))
			id.Add(FieldHardwareVersion, jsonString(di["hardVer"]))
			id.Add(identity.FieldName, jsonString(di["name"]))
			id.Add(identity.FieldDeviceClass, jsonString(di["type"]))
		case "GetLocalLink":
			ll, _ := value["LocalLink"].(map[string]any)
			if mac := identity.NormalizeMAC(jsonString(ll["mac"])); mac != "" {
				id.Add(identity.FieldMAC, mac)
				if id.MAC == "" {
					id.MAC = mac
				}
			}
		}
	}
}
