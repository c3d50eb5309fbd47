package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// TokenPrefix starts every API token, so that leaked tokens are easy to spot
// in logs and by secret scanners.
const TokenPrefix = "bwk_"

const tokenBytes = 32 // 256 bits from crypto/rand

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// tokenLen is the length of a well-formed token: the prefix and 52 base32 digits.
var tokenLen = len(TokenPrefix) + tokenEncoding.EncodedLen(tokenBytes)

// NewToken returns a fresh API token secret, shown to its owner once, and the
// hex SHA-256 hash that is the only thing stored.
func NewToken() (secret, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	secret = TokenPrefix + tokenEncoding.EncodeToString(b)
	return secret, HashSecret(secret), nil
}

// HashSecret returns the hex SHA-256 of a token or session secret: the form
// in which stores keep them. A fast hash is right here because the secrets
// carry 256 bits of entropy; there is nothing to guess offline.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether s looks like a token NewToken made, so that
// user IDs, JWTs, "null" and the like are refused without a store lookup.
func wellFormedToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := tokenEncoding.DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// newSessionSecret returns a random cookie value (256 bits, URL-safe).
func newSessionSecret() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new session: %w", err)
	}
	return tokenEncoding.EncodeToString(b), nil
}

func wellFormedSession(s string) bool {
	if len(s) != tokenEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := tokenEncoding.DecodeString(s)
	return err == nil
}
