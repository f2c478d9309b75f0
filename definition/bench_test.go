package definition

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLoadDirs loads 1,000 services, each with an HTTP check, from 100
// files: 50 JSON and 50 HCL, 10 services each.
func BenchmarkLoadDirs(b *testing.B) {
	dir := b.TempDir()
	for f := range 100 {
		var sb strings.Builder
		if f%2 == 0 {
			sb.WriteString(`{"services": [`)
			for i := range 10 {
				if i > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, `
  {"id": "svc-%[1]d-%[2]d", "name": "svc-%[1]d", "port": %[3]d, "tags": ["v1", "primary"], "meta": {"version": "1.%[2]d"},
   "check": {"http": "http://localhost:%[3]d/health", "interval": "10s", "timeout": "2s", "header": {"X-Probe": ["1"]}}}`, f, i, 8000+i)
			}
			sb.WriteString("\n]}\n")
			writeFile(b, dir, fmt.Sprintf("svc-%03d.json", f), sb.String())
			continue
		}
		for i := range 10 {
			fmt.Fprintf(&sb, `
services {
  id   = "svc-%[1]d-%[2]d"
  name = "svc-%[1]d"
  port = %[3]d
  tags = ["v1", "primary"]
  meta { version = "1.%[2]d" }
  check {
    http     = "http://localhost:%[3]d/health"
    interval = "10s"
    timeout  = "2s"
    header { X-Probe = ["1"] }
  }
}
`, f, i, 8000+i)
		}
		writeFile(b, dir, fmt.Sprintf("svc-%03d.hcl", f), sb.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		set, errs := LoadDirs(dir)
		if len(errs) > 0 || len(set.Services) != 1000 {
			b.Fatalf("%d services, errors %v", len(set.Services), errs)
		}
	}
}

// BenchmarkParseHostileHCL: how long refusing the files TestParseHCLLimits
// refuses takes (a million brackets; a million keys before one value,
// which hcl parses whole before the key count can be checked).
func BenchmarkParseHostileHCL(b *testing.B) {
	for name, src := range map[string]string{
		"brackets": "a = " + strings.Repeat("[", 1_000_000),
		"keys":     strings.Repeat("a ", 1_000_000) + "{}",
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for range b.N {
				if _, err := Parse("x.hcl", []byte(src)); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
