package packaging

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	yaml "go.yaml.in/yaml/v2"
)

// alertRules is Prometheus's rule file format; unknown fields are errors.
type alertRules struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// The alerts the issue asks for, by what they watch.
var wantAlerts = map[string]string{
	"no leader":             "CoordNoLeader",
	"leader flapping":       "CoordLeaderFlapping",
	"Raft commit latency":   "CoordRaftCommitSlow",
	"failing checks":        "CoordChecksCritical",
	"replica lag":           "CoordReplicaBehind",
	"replica staleness":     "CoordReplicaStale",
	"failed gossip members": "CoordGossipMembersFailed",
}

// alertExprs checks the structure of the rule file and returns each
// alert's expression by name.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	var rules alertRules
	if err := yaml.UnmarshalStrict([]byte(readFile(t, "prometheus/alerts.yaml")), &rules); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	// Annotations are templates that Prometheus runs with $labels and
	// $value defined and functions of its own (stubs here).
	funcs := template.FuncMap{"humanize": fmtStub, "humanizeDuration": fmtStub}
	const prelude = "{{$labels := .Labels}}{{$value := .Value}}"
	sample := struct {
		Labels map[string]string
		Value  float64
	}{map[string]string{"job": "coredns-coord", "instance": "10.0.0.1:9153", "node": "s1"}, 1}
	exprs := map[string]string{}
	groups := map[string]bool{}
	for _, g := range rules.Groups {
		if g.Name == "" || groups[g.Name] || len(g.Rules) == 0 {
			t.Errorf("group %q: empty, unnamed or named twice", g.Name)
		}
		groups[g.Name] = true
		for _, r := range g.Rules {
			if !regexp.MustCompile(`^Coord[A-Z][A-Za-z]+$`).MatchString(r.Alert) || exprs[r.Alert] != "" {
				t.Errorf("alert %q: want a unique CamelCase name starting Coord", r.Alert)
			}
			exprs[r.Alert] = r.Expr
			if names, err := metricNames(r.Expr); err != nil || len(names) == 0 {
				t.Errorf("%s: expr %q: names %q, %v", r.Alert, r.Expr, names, err)
			}
			if r.For != "" {
				if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if len(r.Labels) != 1 || len(r.Annotations) != 2 || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want labels {severity} and annotations {summary, description}: %v %v", r.Alert, r.Labels, r.Annotations)
			}
			for k, text := range r.Annotations {
				tmpl, err := template.New(k).Funcs(funcs).Parse(prelude + text)
				if err == nil {
					err = tmpl.Execute(io.Discard, sample)
				}
				if err != nil {
					t.Errorf("%s: annotation %s: %v", r.Alert, k, err)
				}
			}
		}
	}
	return exprs
}

func fmtStub(v any) string { return "" }

func TestAlertRules(t *testing.T) {
	exprs := alertExprs(t)
	for what, alert := range wantAlerts {
		if exprs[alert] == "" {
			t.Errorf("no alert %s for %s", alert, what)
		}
	}
}

// dashboardExprs checks the dashboard's structure and returns the PromQL
// of its panels and of its variables' label_values(...) queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	type panel struct {
		ID      int      `json:"id"`
		Type    string   `json:"type"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(readFile(t, "grafana/coredns-coord.json")), &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard without uid, title or panels")
	}
	var exprs []string
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q: empty query %s", p.Title, tg.RefID)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	variables := map[string]bool{}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
	for _, v := range d.Templating.List {
		variables[v.Name] = true
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(EXPR, LABEL)", v.Name, q)
				continue
			}
			exprs = append(exprs, m[1])
		}
	}
	for _, e := range exprs {
		if names, err := metricNames(e); err != nil || len(names) == 0 {
			t.Errorf("query %q: names %q, %v", e, names, err)
		}
		for _, m := range regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`).FindAllStringSubmatch(e, -1) {
			if !variables[m[1]] && !strings.HasPrefix(m[1], "__") {
				t.Errorf("query %q uses $%s, which the dashboard does not define", e, m[1])
			}
		}
	}
	return exprs
}

func TestDashboard(t *testing.T) { dashboardExprs(t) }

// checkMonitoringNames fails t for every metric the alert rules or the
// dashboard name that is not in exported.
func checkMonitoringNames(t *testing.T, exported map[string]bool) {
	t.Helper()
	exprs := dashboardExprs(t)
	for _, e := range alertExprs(t) {
		exprs = append(exprs, e)
	}
	checked := 0
	for _, e := range exprs {
		names, _ := metricNames(e)
		for _, n := range names {
			checked++
			if !exported[n] {
				t.Errorf("%s (in %q) is not exported by the binary", n, e)
			}
		}
	}
	t.Logf("%d metric names in %d queries, all among the %d the cluster exports", checked, len(exprs), len(exported))
}

// scrapeNames reads a Prometheus text exposition and returns the names of
// its samples, histograms' and summaries' _bucket, _sum and _count
// included.
func scrapeNames(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	if len(names) == 0 {
		t.Fatalf("%s: no samples", url)
	}
	return names
}
