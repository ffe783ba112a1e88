package broker

import "github.com/nvrguard/nvrguard/drivers/secret"

// Secret is a password that prints as "<redacted>" (drivers/secret).
type Secret = secret.Secret
