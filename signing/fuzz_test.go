package signing

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify: whatever the headers and body, Verify answers one of its
// errors or accepts only a signature the secret really made, within the
// tolerance; and what Sign makes always verifies, and never for another body.
// Seeds are in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, []byte(vectorBody))
	f.Add("msg_x", "-9223372036854775808", "v1,  v1,=== v2,abc v1", []byte{})
	f.Fuzz(func(t *testing.T, id, timestamp, signatures string, body []byte) {
		v, err := NewVerifier(vectorSecret)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(vectorTimestamp, 0)
		v.Now = func() time.Time { return now }
		unix, perr := strconv.ParseInt(timestamp, 10, 64)

		err = v.VerifyValues(id, timestamp, signatures, body)
		switch {
		case err == nil:
			if perr != nil || id == "" {
				t.Fatalf("accepted id %q timestamp %q", id, timestamp)
			}
			if d := now.Sub(time.Unix(unix, 0)); d > v.Tolerance || -d > v.Tolerance {
				t.Fatalf("accepted timestamp %d, %s away", unix, d)
			}
			if !carries(signatures, mac(v.signer.keys[0], id, unix, body)) {
				t.Fatalf("accepted %q, which holds no signature of the secret", signatures)
			}
		case !errors.Is(err, ErrMissingHeaders) && !errors.Is(err, ErrInvalidTimestamp) && !errors.Is(err, ErrTimestampTooOld) &&
			!errors.Is(err, ErrTimestampFuture) && !errors.Is(err, ErrNoMatch):
			t.Fatalf("Verify error %v is none of the package's errors", err)
		}

		if id == "" || perr != nil {
			return
		}
		at := time.Unix(unix, 0)
		v.Now = func() time.Time { return at }
		sig := v.signer.Sign(id, at, body)
		if err := v.VerifyValues(id, timestamp, sig, body); err != nil {
			t.Fatalf("our own signature of id %q at %s does not verify: %v", id, timestamp, err)
		}
		if err := v.VerifyValues(id, timestamp, sig, append(body[:len(body):len(body)], '!')); !errors.Is(err, ErrNoMatch) {
			t.Fatalf("a signature verified another body: %v", err)
		}
	})
}

// carries reports whether a webhook-signature value holds a v1 signature
// decoding to mac.
func carries(signatures string, mac []byte) bool {
	for _, sig := range strings.Fields(signatures) {
		if encoded, ok := strings.CutPrefix(sig, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(encoded); err == nil && hmac.Equal(got, mac) {
				return true
			}
		}
	}
	return false
}
