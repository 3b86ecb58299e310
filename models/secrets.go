package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Endpoint secrets are kept sealed: "sealed:v1:<key id>:<base64url of nonce
// and AES-256-GCM ciphertext>", the endpoint's id bound in as additional
// data so a sealed secret copied onto another row does not open there.
const sealedPrefix = "sealed:v1:"

// EncryptionKeySize is the size of a SECURO_ENCRYPTION_KEY, before base64.
const EncryptionKeySize = 32

var (
	// ErrNoEncryptionKey is returned when a secret must be sealed or opened
	// by a store that was given no key.
	ErrNoEncryptionKey = errors.New("no encryption key")
	// ErrWrongEncryptionKey is returned for a secret sealed with a key the
	// store does not hold, or altered since.
	ErrWrongEncryptionKey = errors.New("secret sealed with another encryption key, or altered")
)

// SecretBox seals endpoint secrets with the first of its keys and opens
// them with any, so keys can be rotated: put the new key first, restart,
// and SealSecrets moves every row to it.
type SecretBox struct {
	keys []boxKey
}

type boxKey struct {
	id   string
	aead cipher.AEAD
}

// NewSecretBox builds a box from raw 32-byte keys, the sealing key first.
func NewSecretBox(keys ...[]byte) (*SecretBox, error) {
	if len(keys) == 0 {
		return nil, ErrNoEncryptionKey
	}
	b := &SecretBox{}
	for i, k := range keys {
		if len(k) != EncryptionKeySize {
			return nil, fmt.Errorf("encryption key %d is %d bytes, want %d", i+1, len(k), EncryptionKeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("securo key id\x00"), k...))
		b.keys = append(b.keys, boxKey{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	return b, nil
}

// ParseSecretBox reads SECURO_ENCRYPTION_KEY: one or more comma-separated
// base64 keys of 32 bytes, the sealing key first.
func ParseSecretBox(s string) (*SecretBox, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		k, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			k, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
		}
		if err != nil || len(k) != EncryptionKeySize {
			return nil, fmt.Errorf("key %d is not the base64 of %d bytes; make one with `securo keygen` or `openssl rand -base64 32`", i+1, EncryptionKeySize)
		}
		keys = append(keys, k)
	}
	return NewSecretBox(keys...)
}

// NewEncryptionKey returns a fresh key in the form ParseSecretBox reads.
func NewEncryptionKey() (string, error) {
	k := make([]byte, EncryptionKeySize)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

func (b *SecretBox) seal(endpointID, secret string) (string, error) {
	if b == nil {
		return "", ErrNoEncryptionKey
	}
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := k.aead.Seal(nonce, nonce, []byte(secret), []byte(endpointID))
	return sealedPrefix + k.id + ":" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// open returns the secret a column holds. A value not sealed is a secret
// written before encryption at rest, returned as it is until SealSecrets
// seals it.
func (b *SecretBox) open(endpointID, stored string) (string, error) {
	rest, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, nil
	}
	if b == nil {
		return "", ErrNoEncryptionKey
	}
	id, encoded, _ := strings.Cut(rest, ":")
	for _, k := range b.keys {
		if k.id != id {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(encoded)
		if err != nil || len(raw) < k.aead.NonceSize() {
			return "", ErrWrongEncryptionKey
		}
		plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(endpointID))
		if err != nil {
			return "", ErrWrongEncryptionKey
		}
		return string(plain), nil
	}
	return "", fmt.Errorf("key id %s: %w", id, ErrWrongEncryptionKey)
}

// sealedWithPrimary reports whether stored is sealed with the sealing key.
func (b *SecretBox) sealedWithPrimary(stored string) bool {
	return strings.HasPrefix(stored, sealedPrefix+b.keys[0].id+":")
}

// reseal returns a stored secret sealed with the sealing key: as it is if it
// already is (or is empty), opened and sealed again otherwise.
func (b *SecretBox) reseal(endpointID, stored string) (string, error) {
	if stored == "" || b.sealedWithPrimary(stored) {
		return stored, nil
	}
	plain, err := b.open(endpointID, stored)
	if err != nil {
		return "", err
	}
	return b.seal(endpointID, plain)
}

// secretBoxSetting carries the store's SecretBox in every GORM statement,
// so the AfterFind hook opens secrets on every path that reads endpoints.
const secretBoxSetting = "securo:secret_box"

// AfterFind opens the secrets of an endpoint read from the database.
func (e *Endpoint) AfterFind(tx *gorm.DB) error {
	if e.Secret == "" {
		return nil // not selected
	}
	box, _ := tx.Get(secretBoxSetting)
	b, _ := box.(*SecretBox)
	secret, err := b.open(e.ID, e.Secret)
	if err != nil {
		return fmt.Errorf("open the secret of endpoint %s: %w", e.ID, err)
	}
	e.Secret = secret
	if e.PreviousSecret != "" {
		if e.PreviousSecret, err = b.open(e.ID, e.PreviousSecret); err != nil {
			return fmt.Errorf("open the previous secret of endpoint %s: %w", e.ID, err)
		}
	}
	return nil
}

// secretColumns hold sealed secrets: queries that need no secret omit
// them, so they are neither read nor opened.
var secretColumns = []string{"secret", "previous_secret"}
