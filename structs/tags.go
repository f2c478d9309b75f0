package structs

import "sort"

// TagsByService is catalog/services' answer: each service name with the
// union of its instances' tags, sorted. nameTags reads an item's service
// name and tags, so that both table rows and joined rows can be summed up.
func TagsByService[T any](items []T, nameTags func(T) (string, []string)) map[string][]string {
	seen := map[string]map[string]struct{}{}
	for _, item := range items {
		name, tags := nameTags(item)
		set, ok := seen[name]
		if !ok {
			set = map[string]struct{}{}
			seen[name] = set
		}
		for _, t := range tags {
			set[t] = struct{}{}
		}
	}
	out := make(map[string][]string, len(seen))
	for name, set := range seen {
		list := make([]string, 0, len(set))
		for t := range set {
			list = append(list, t)
		}
		sort.Strings(list)
		out[name] = list
	}
	return out
}
