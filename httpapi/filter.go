package httpapi

import (
	"fmt"

	bexpr "github.com/hashicorp/go-bexpr"
)

// compileFilter compiles ?filter; nil means no filter. A bad expression is
// the client's error (400), found before any blocking wait.
func (o *queryOptions) compileFilter() (*bexpr.Filter, error) {
	if o.Filter == "" {
		return nil, nil
	}
	f, err := bexpr.CreateFilter(o.Filter)
	if err != nil {
		return nil, badRequest("Failed to create filter: %v", err)
	}
	return f, nil
}

// applyFilter keeps the items (a slice or a map) that match f. Selectors
// that name no field of the items only fail here, so that is a 400 too.
func applyFilter[T any](f *bexpr.Filter, items T) (T, error) {
	if f == nil {
		return items, nil
	}
	out, err := f.Execute(items)
	if err != nil {
		var zero T
		return zero, badRequest("Failed to apply filter: %v", err)
	}
	typed, ok := out.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("filter returned %T, not %T", out, items)
	}
	return typed, nil
}

// matchesNodeMeta reports whether meta carries every pair of want.
func matchesNodeMeta(meta, want map[string]string) bool {
	for k, v := range want {
		got, ok := meta[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}
