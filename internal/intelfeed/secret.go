package intelfeed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"bulwark"
)

// Credentials are sealed with AES-256-GCM before they reach the store:
// version (1 byte) | key id (4 bytes) | nonce (12 bytes) | ciphertext+tag.
// The additional data binds a sealed secret to its organization, so that a
// blob copied into another organization's subscription does not open.

// KeyEnv names the environment variable holding the sealing key: 32 bytes
// as base64 or 64 hex digits.
const KeyEnv = "BULWARK_SECRET_KEY"

const sealVersion = 1

// Sealer seals and opens subscription credentials.
type Sealer struct {
	aead  cipher.AEAD
	keyID [4]byte
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the sealing key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	s := &Sealer{aead: aead}
	sum := sha256.Sum256(append([]byte("bulwark feed key id\x00"), key...))
	copy(s.keyID[:], sum[:4])
	return s, nil
}

func aad(org string) []byte { return []byte("bulwark intel feed secret\x00" + org) }

// Seal encrypts a credential of org.
func (s *Sealer) Seal(plain, org string) ([]byte, error) {
	out := make([]byte, 0, 1+4+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, s.keyID[:]...)
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, []byte(plain), aad(org)), nil
}

// Open decrypts a credential sealed for org.
func (s *Sealer) Open(blob []byte, org string) (string, error) {
	n := s.aead.NonceSize()
	if len(blob) < 1+4+n+s.aead.Overhead() || blob[0] != sealVersion {
		return "", bulwark.Errorf(bulwark.EINVALID, "the feed's stored credentials are damaged; enter them again")
	}
	if string(blob[1:5]) != string(s.keyID[:]) {
		return "", bulwark.Errorf(bulwark.EINVALID, "the feed's credentials were sealed with another key (%s changed?); enter them again", KeyEnv)
	}
	plain, err := s.aead.Open(nil, blob[5:5+n], blob[5+n:], aad(org))
	if err != nil {
		return "", bulwark.Errorf(bulwark.EINVALID, "the feed's stored credentials do not open; enter them again")
	}
	return string(plain), nil
}

var (
	memoryKeyOnce sync.Once
	memoryKey     []byte
)

// LoadKey finds the sealing key for the store dsn: KeyEnv when set; for a
// SQLite file, the file beside it named <dsn>.key (created, readable by
// its owner only, when absent); for ":memory:", a key of this process. A
// PostgreSQL store shared by several instances needs KeyEnv: LoadKey then
// returns an EUNAVAILABLE error, and subscriptions without credentials
// still work.
func LoadKey(dsn string) ([]byte, error) {
	if v := strings.TrimSpace(os.Getenv(KeyEnv)); v != "" {
		return parseKey(v)
	}
	switch {
	case dsn == ":memory:":
		memoryKeyOnce.Do(func() {
			memoryKey = make([]byte, 32)
			rand.Read(memoryKey)
		})
		return memoryKey, nil
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "feeds with credentials need a sealing key on PostgreSQL: set %s to 32 random bytes (base64) on every instance", KeyEnv)
	case dsn == "":
		return nil, bulwark.Errorf(bulwark.EUNAVAILABLE, "no store, no sealing key")
	}
	path := dsn + ".key"
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("create sealing key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadKey(dsn) // another process created it meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("create sealing key: %w", err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("write sealing key: %w", werr)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read sealing key: %w", err)
	}
	return parseKey(strings.TrimSpace(string(b)))
}

func parseKey(v string) ([]byte, error) {
	if len(v) == 64 {
		if b, err := hex.DecodeString(v); err == nil {
			return b, nil
		}
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 32 {
		return nil, bulwark.Errorf(bulwark.EINVALID, "the sealing key must be 32 bytes as base64 or 64 hex digits")
	}
	return b, nil
}
