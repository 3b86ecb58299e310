package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
)

func TestPagination(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		var endpoints, events []string
		for i := range 25 {
			endpoints = append(endpoints, h.createEndpoint(h.keyA, fmt.Sprintf(`{"url":"https://e%d.example.com"}`, i)).ID)
			events = append(events, h.postEvent(h.keyA, fmt.Sprintf(`{"type":"n%d","data":{}}`, i)).ID)
		}
		// B's objects must not show up in A's pages.
		h.createEndpoint(h.keyB, `{"url":"https://b.example.com"}`)
		h.postEvent(h.keyB, `{"type":"b","data":{}}`)

		tests := []struct {
			name    string
			path    string
			created []string
		}{
			{"endpoints come newest first in pages of 10 with no gaps or repeats", "/v1/endpoints", endpoints},
			{"events come newest first in pages of 10 with no gaps or repeats", "/v1/events", events},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var (
					seen   []string
					sizes  []int
					cursor string
				)
				for page := 0; ; page++ {
					if page > 5 {
						t.Fatal("the cursor never ran out")
					}
					var l list[struct {
						ID string `json:"id"`
					}]
					h.do("GET", tt.path+"?limit=10&cursor="+url.QueryEscape(cursor), h.keyA, "").want(t, http.StatusOK).decode(t, &l)
					sizes = append(sizes, len(l.Data))
					for _, o := range l.Data {
						seen = append(seen, o.ID)
					}
					if l.NextCursor == nil {
						t.Fatal("next_cursor missing")
					}
					if cursor = *l.NextCursor; cursor == "" {
						break
					}
				}
				if fmt.Sprint(sizes) != "[10 10 5]" {
					t.Errorf("page sizes %v, want [10 10 5]", sizes)
				}
				if len(seen) != len(tt.created) {
					t.Fatalf("saw %d objects, want %d", len(seen), len(tt.created))
				}
				for i, id := range seen {
					if want := tt.created[len(tt.created)-1-i]; id != want {
						t.Errorf("position %d holds %s, want %s", i, id, want)
					}
				}
			})
		}

		t.Run("the default page holds 20", func(t *testing.T) {
			var l list[endpoint]
			h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
			if len(l.Data) != 20 || *l.NextCursor == "" {
				t.Errorf("default page has %d and cursor %q", len(l.Data), *l.NextCursor)
			}
		})

		t.Run("a limit of 100 takes everything at once", func(t *testing.T) {
			var l list[event]
			h.do("GET", "/v1/events?limit=100", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
			if len(l.Data) != 25 || *l.NextCursor != "" {
				t.Errorf("page has %d and cursor %q", len(l.Data), *l.NextCursor)
			}
		})
	})
}
