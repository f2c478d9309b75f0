package packaging

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (job) (coredns_coord_raft_state{state="Leader"}) < 1`, []string{"coredns_coord_raft_state"}},
		{`max by (job) (increase(a_total[15m])) > 3`, []string{"a_total"}},
		{`histogram_quantile(0.99, sum by (job, le) (rate(x_bucket{job="$job", instance=~"$instance"}[$__rate_interval]))) > 0.5`, []string{"x_bucket"}},
		{`sum(rate(a[5m])) by (le) / ignoring (le) group_left b`, []string{"a", "b"}},
		{`a and on (instance) b or c unless d`, []string{"a", "b", "c", "d"}},
		{`a offset 5m + b @ 1609746000 - c[1h:5m] bool > 1e-3`, []string{"a", "b", "c"}},
		{`label_replace(a, "dst", "$1", "src", "(.*)")`, []string{"a"}},
		{`count_values("version", build_info) # a comment naming not_a_metric`, []string{"build_info"}},
		{"a # a comment to the carriage return\rb", []string{"a", "b"}},
		{`sum(x{a='it\'s', b="\"}"}) + Inf - NaN`, []string{"x"}},
		{`ns:rule:recorded_rate5m > 0`, []string{"ns:rule:recorded_rate5m"}},
		{`max(${metric}) + a`, []string{"a"}},
		{`sum   by   (node) (a)`, []string{"a"}},
		{`a - a`, []string{"a"}},
		{``, []string{}},
	} {
		got, err := metricNames(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestMetricNamesRefuses(t *testing.T) {
	for _, expr := range []string{
		`sum(rate(a[5m])`, `a{b="c"`, `a]`, `a{b="c)`, `{__name__="a"}`, `a + ¬`, `max(${x)`, `(a}`,
	} {
		if names, err := metricNames(expr); err == nil {
			t.Errorf("%s: no error, names %q", expr, names)
		}
	}
}

var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// FuzzMetricNames: whatever the input, every name found is a valid metric
// name that occurs in the input, is no keyword, and the names are found
// again in a sum of them and inside a rate(...[5m]) around the input.
func FuzzMetricNames(f *testing.F) {
	for _, seed := range []string{
		`sum by (job) (coredns_coord_raft_state{state="Leader"}) < 1`,
		`histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="$job"}[$__rate_interval])))`,
		`a and on (i) group_left (x) b offset 5m`, `x{a='\''} # c`, "`raw` + a", `${v} + $w`, `1e3 + .5`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := metricNames(expr)
		if err != nil {
			return
		}
		for i, n := range names {
			if !metricNameRE.MatchString(n) || !strings.Contains(expr, n) || promqlKeywords[strings.ToLower(n)] {
				t.Fatalf("%q: bad name %q", expr, n)
			}
			if i > 0 && names[i-1] >= n {
				t.Fatalf("%q: names not sorted and unique: %q", expr, names)
			}
		}
		if len(names) > 0 {
			again, err := metricNames(strings.Join(names, " + "))
			if err != nil || !reflect.DeepEqual(again, names) {
				t.Fatalf("%q: the sum of %q gives %q, %v", expr, names, again, err)
			}
		}
		if !strings.ContainsAny(expr, "#") {
			wrapped, err := metricNames("sum by (le) (rate(" + expr + " [5m]))")
			if err != nil || !reflect.DeepEqual(wrapped, names) {
				t.Fatalf("%q: wrapped gives %q, %v; alone %q", expr, wrapped, err, names)
			}
		}
	})
}
