// Package auth verifies RedRTC's signed room tokens (JWT) and mints TURN REST credentials (coturn's use-auth-secret scheme).
package auth
