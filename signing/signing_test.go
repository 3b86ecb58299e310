package signing

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The published Standard Webhooks test vector: a receiver's library accepts
// what we send only if we reproduce it exactly.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignReproducesTheStandardWebhooksVector(t *testing.T) {
	s, err := NewSigner(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Fatalf("Sign = %q, want %q", got, vectorSignature)
	}
}

func TestASignerOfSeveralSecretsSignsWithEachInOrder(t *testing.T) {
	other, _ := NewSecret()
	at := time.Unix(vectorTimestamp, 0)
	s, err := NewSigner(other, vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Sign(vectorID, at, []byte(vectorBody))
	first, second, ok := strings.Cut(got, " ")
	if !ok || second != vectorSignature {
		t.Fatalf("Sign = %q, want a signature by the first secret, a space, then %q", got, vectorSignature)
	}
	for _, secret := range []string{other, vectorSecret} {
		v, _ := NewVerifier(secret)
		v.Now = func() time.Time { return at }
		if err := v.VerifyValues(vectorID, "1614265330", got, []byte(vectorBody)); err != nil {
			t.Errorf("a receiver holding only one of the secrets: %v", err)
		}
	}
	v, _ := NewVerifier(other)
	v.Now = func() time.Time { return at }
	if err := v.VerifyValues(vectorID, "1614265330", first, []byte(vectorBody)); err != nil {
		t.Errorf("the first signature is not the first secret's: %v", err)
	}
	if _, err := NewSigner(); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("NewSigner() = %v, want ErrInvalidSecret", err)
	}
}

func BenchmarkSign(b *testing.B) {
	body := []byte(strings.Repeat("x", 512))
	other, _ := NewSecret()
	for _, secrets := range [][]string{{vectorSecret}, {vectorSecret, other}} {
		b.Run("secrets="+strconv.Itoa(len(secrets)), func(b *testing.B) {
			s, _ := NewSigner(secrets...)
			b.ReportAllocs()
			for b.Loop() {
				s.Sign(vectorID, time.Unix(vectorTimestamp, 0), body)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	other, _ := NewSecret()
	tests := []struct {
		name      string
		secrets   []string
		id        string
		timestamp string
		signature string
		body      string
		now       time.Time
		want      error
	}{
		{name: "the vector verifies", secrets: []string{vectorSecret}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at},
		{name: "a secret without prefix verifies", secrets: []string{strings.TrimPrefix(vectorSecret, SecretPrefix)}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at},
		{name: "one of several signatures matches", secrets: []string{vectorSecret}, id: vectorID, timestamp: "1614265330", signature: "v1,bm9wZQ== " + vectorSignature, body: vectorBody, now: at},
		{name: "one of several secrets matches", secrets: []string{other, vectorSecret}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at},
		{name: "a changed body fails", secrets: []string{vectorSecret}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: `{"test": 2432232315}`, now: at, want: ErrNoMatch},
		{name: "a changed id fails", secrets: []string{vectorSecret}, id: "msg_other", timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at, want: ErrNoMatch},
		{name: "another secret fails", secrets: []string{other}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at, want: ErrNoMatch},
		{name: "an unknown version fails", secrets: []string{vectorSecret}, id: vectorID, timestamp: "1614265330", signature: strings.Replace(vectorSignature, "v1,", "v2,", 1), body: vectorBody, now: at, want: ErrNoMatch},
		{name: "an old timestamp fails", secrets: []string{vectorSecret}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at.Add(6 * time.Minute), want: ErrTimestampTooOld},
		{name: "a future timestamp fails", secrets: []string{vectorSecret}, id: vectorID, timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at.Add(-6 * time.Minute), want: ErrTimestampFuture},
		{name: "a malformed timestamp fails", secrets: []string{vectorSecret}, id: vectorID, timestamp: "yesterday", signature: vectorSignature, body: vectorBody, now: at, want: ErrInvalidTimestamp},
		{name: "missing headers fail", secrets: []string{vectorSecret}, id: "", timestamp: "1614265330", signature: vectorSignature, body: vectorBody, now: at, want: ErrMissingHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.secrets...)
			if err != nil {
				t.Fatal(err)
			}
			v.Now = func() time.Time { return tt.now }
			h := http.Header{}
			h.Set(HeaderID, tt.id)
			h.Set(HeaderTimestamp, tt.timestamp)
			h.Set(HeaderSignature, tt.signature)
			if err := v.Verify(h, []byte(tt.body)); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSecretIsTwentyFourRandomBytes(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b || !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("secrets %q and %q", a, b)
	}
	key, err := DecodeSecret(a)
	if err != nil || len(key) != 24 {
		t.Fatalf("decoded %d bytes, err %v", len(key), err)
	}
}

func TestInvalidSecretsAreRefused(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!"} {
		if _, err := NewSigner(s); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("NewSigner(%q) = %v, want ErrInvalidSecret", s, err)
		}
	}
}
