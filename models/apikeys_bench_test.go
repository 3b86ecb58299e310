package models_test

import (
	"context"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
)

// BenchmarkAccountByAPIKey is the lookup every API request makes.
func BenchmarkAccountByAPIKey(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := storetest.Open(b, kind)
			_, key := storetest.Account(b, s, "acme")
			ctx := context.Background()
			for b.Loop() {
				if _, err := s.AccountByAPIKey(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
