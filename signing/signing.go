// Package signing signs and verifies webhook requests the Standard Webhooks
// way (https://www.standardwebhooks.com). Securo signs every delivery with it;
// receivers can import it to verify what they get.
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret Securo issues.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a timestamp may be from now before Verify
// refuses it, which limits replays of a captured request.
const DefaultTolerance = 5 * time.Minute

var (
	ErrInvalidSecret    = errors.New("invalid webhook secret")
	ErrMissingHeaders   = errors.New("missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp = errors.New("invalid webhook-timestamp")
	ErrTimestampTooOld  = errors.New("webhook-timestamp is too old")
	ErrTimestampFuture  = errors.New("webhook-timestamp is too far in the future")
	ErrNoMatch          = errors.New("no webhook-signature matches")
)

// NewSecret returns a fresh secret: "whsec_" and the base64 of 24 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// DecodeSecret returns the key bytes of a secret, with or without its prefix.
func DecodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// Signer signs with one key per secret; build it once per set of secrets.
type Signer struct {
	keys [][]byte
}

// NewSigner decodes secrets into a Signer: usually one; while a secret is
// being rotated, the new one and then the old.
func NewSigner(secrets ...string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, ErrInvalidSecret
	}
	s := &Signer{keys: make([][]byte, len(secrets))}
	for i, sec := range secrets {
		key, err := DecodeSecret(sec)
		if err != nil {
			return nil, err
		}
		s.keys[i] = key
	}
	return s, nil
}

// Sign returns "v1,<base64 HMAC-SHA256 of id.timestamp.body>" by each key,
// space-separated in the order of the secrets, so a receiver that holds any
// one of them verifies the request.
func (s *Signer) Sign(id string, timestamp time.Time, body []byte) string {
	const size = len("v1,") + 44 + 1 // 44: base64 of 32 bytes; 1: the space
	b := make([]byte, 0, len(s.keys)*size)
	for i, key := range s.keys {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, "v1,"...)
		b = base64.StdEncoding.AppendEncode(b, mac(key, id, timestamp.Unix(), body))
	}
	return string(b)
}

func mac(key []byte, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verifier checks requests against one or more secrets (several while a
// secret is being rotated).
type Verifier struct {
	signer    *Signer
	Tolerance time.Duration
	Now       func() time.Time
}

// NewVerifier builds a Verifier that accepts a signature by any of secrets.
func NewVerifier(secrets ...string) (*Verifier, error) {
	s, err := NewSigner(secrets...)
	if err != nil {
		return nil, err
	}
	return &Verifier{signer: s, Tolerance: DefaultTolerance, Now: time.Now}, nil
}

// Verify checks the Standard Webhooks headers of a request against its body.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	return v.VerifyValues(h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature), body)
}

// VerifyValues is Verify for header values taken apart already.
func (v *Verifier) VerifyValues(id, timestamp, signatures string, body []byte) error {
	if id == "" || timestamp == "" || signatures == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if v.Tolerance > 0 {
		now := v.Now()
		ts := time.Unix(unix, 0)
		if now.Sub(ts) > v.Tolerance {
			return ErrTimestampTooOld
		}
		if ts.Sub(now) > v.Tolerance {
			return ErrTimestampFuture
		}
	}
	for _, sig := range strings.Fields(signatures) {
		version, encoded, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		for _, key := range v.signer.keys {
			if hmac.Equal(got, mac(key, id, unix, body)) {
				return nil
			}
		}
	}
	return ErrNoMatch
}
