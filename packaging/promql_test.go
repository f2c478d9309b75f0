package packaging

import (
	"fmt"
	"sort"
	"strings"
)

// promqlKeywords are the words of PromQL that are neither functions nor
// metric names (matched case-insensitively, as PromQL does).
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true,
}

// labelListKeywords take a parenthesized list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// bracket is an open bracket; labels says that identifiers inside it
// name labels, not metrics (label matchers, by (...) lists, ranges).
type bracket struct {
	open   byte
	labels bool
}

var closing = map[byte]byte{')': '(', '}': '{', ']': '['}

// metricNames returns the metric names a PromQL expression selects, sorted
// and without repeats. It tokenizes rather than parses: an identifier is a
// metric name unless it is a keyword, is followed by "(" or by/without (a
// function or aggregation), or stands inside label matchers, a by/without/on/ignoring
// list or a range. Grafana's variables ($job, ${job}, $__rate_interval)
// are skipped. It fails on what it cannot tokenize (an unterminated string,
// unbalanced brackets, a character PromQL has no use for) and on a
// __name__ matcher, which would hide a metric name from the check. A
// metric named like a keyword (by, and, inf, ...) goes unseen. In three
// minutes of fuzzing against Prometheus's own parser (v0.305.0, outside
// this module) it found the same names for every expression that parser
// accepted.
func metricNames(expr string) ([]string, error) {
	var (
		stack []bracket
		names = map[string]bool{}
	)
	inLabels := func() bool { return len(stack) > 0 && stack[len(stack)-1].labels }
	skipSpace := func(i int) int {
		for i < len(expr) && strings.IndexByte(" \t\n\r", expr[i]) >= 0 {
			i++
		}
		return i
	}
	// nextWord is the identifier after offset i, lowercased.
	nextWord := func(i int) string {
		i = skipSpace(i)
		j := i
		for j < len(expr) && isIdentChar(expr[j]) {
			j++
		}
		return strings.ToLower(expr[i:j])
	}
	labelList := false // the last token was by, without, on, ...: a label list follows
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(expr) && expr[i] != '\n' && expr[i] != '\r' { // PromQL's lexer ends a comment at either
				i++
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '$':
			end, err := skipVariable(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			for i < len(expr) && (isIdentChar(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(expr) && isIdentChar(expr[i]) {
				i++
			}
			word := expr[start:i]
			lower := strings.ToLower(word)
			labelList = false
			switch {
			case word == "__name__":
				return nil, fmt.Errorf("offset %d: a __name__ matcher hides the metric name; name the metric before the braces", start)
			case inLabels():
			case skipSpace(i) < len(expr) && expr[skipSpace(i)] == '(':
				labelList = labelListKeywords[lower]
			case nextWord(i) == "by" || nextWord(i) == "without":
				// An aggregation with its grouping first: sum by (job) (...).
			case promqlKeywords[lower]:
			default:
				names[word] = true
			}
			continue
		case c == '(' || c == '{' || c == '[':
			stack = append(stack, bracket{open: c, labels: c != '(' || labelList})
			i++
		case c == ')' || c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1].open != closing[c] {
				return nil, fmt.Errorf("offset %d: unbalanced %q", i, c)
			}
			stack = stack[:len(stack)-1]
			i++
		case strings.IndexByte("+-*/%^=!<>,@~", c) >= 0:
			i++
		default:
			return nil, fmt.Errorf("offset %d: unexpected character %q", i, c)
		}
		labelList = false
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unclosed %q", stack[len(stack)-1].open)
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// skipString returns the offset just past the string literal at expr[i]:
// "..." and '...' with backslash escapes, `...` raw.
func skipString(expr string, i int) (int, error) {
	quote := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && quote != '`':
			j++
		case expr[j] == quote:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated string", i)
}

// skipVariable returns the offset just past the Grafana variable at
// expr[i]: $name or ${name...}.
func skipVariable(expr string, i int) (int, error) {
	j := i + 1
	if j < len(expr) && expr[j] == '{' {
		end := strings.IndexByte(expr[j:], '}')
		if end < 0 {
			return 0, fmt.Errorf("offset %d: unterminated ${", i)
		}
		return j + end + 1, nil
	}
	for j < len(expr) && isIdentChar(expr[j]) {
		j++
	}
	return j, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
