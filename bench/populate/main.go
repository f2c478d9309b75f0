// Command populate fills a running coredns-coord catalog through its
// Consul-compatible HTTP API (PUT /v1/catalog/register), concurrently, for
// bench/dnsperf.sh: one large service with many instances on as many nodes,
// plus single-instance filler services spread over the same nodes, until the
// catalog holds the requested number of services.
//
// It speaks plain HTTP+JSON (Consul's wire shape) on purpose: it is a client
// of the API like any other, and depends on nothing inside this module.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type service struct {
	ID      string   `json:"ID"`
	Service string   `json:"Service"`
	Port    int      `json:"Port"`
	Tags    []string `json:"Tags,omitempty"`
}

type registration struct {
	Node    string   `json:"Node"`
	Address string   `json:"Address"`
	Service *service `json:"Service"`
}

func main() {
	var (
		addr      = flag.String("http", "http://127.0.0.1:8500", "base URL of the HTTP API")
		services  = flag.Int("services", 10000, "distinct services the catalog should hold, counting -big and -existing")
		existing  = flag.Int("existing", 1, "services already registered (not created here) that count towards -services")
		big       = flag.String("big", "big", "name of the large service")
		bigN      = flag.Int("big-instances", 1000, "instances of the large service, one per node")
		tag       = flag.String("tag", "v1", "tag put on every instance")
		prefix    = flag.String("node-prefix", "b", "node name prefix (nodes <prefix>0001...)")
		workers   = flag.Int("workers", 8, "concurrent HTTP requests")
		timeout   = flag.Duration("timeout", 120*time.Second, "give up after this long")
		checkOnly = flag.Bool("verify-only", false, "only verify the catalog counts")
	)
	flag.Parse()
	if *bigN < 1 || *services < 1 {
		fatalf("-big-instances and -services must be positive")
	}

	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        *workers * 2,
			MaxIdleConnsPerHost: *workers * 2,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	deadline := time.Now().Add(*timeout)

	node := func(i int) (string, string) { // i in [0, bigN)
		n := i + 1
		return fmt.Sprintf("%s%04d", *prefix, n), fmt.Sprintf("10.1.%d.%d", n/250, n%250+1)
	}

	if !*checkOnly {
		fillers := *services - *existing - 1
		if fillers < 0 {
			fillers = 0
		}
		jobs := make(chan registration, *workers*4)
		var done, failed, retries atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range jobs {
					n, err := register(client, *addr, r, deadline)
					retries.Add(int64(n))
					if err != nil {
						if failed.Add(1) <= 5 {
							fmt.Fprintf(os.Stderr, "populate: %s/%s: %v\n", r.Node, r.Service.ID, err)
						}
						continue
					}
					done.Add(1)
				}
			}()
		}
		for i := 0; i < *bigN; i++ {
			name, ip := node(i)
			jobs <- registration{Node: name, Address: ip, Service: &service{ID: *big, Service: *big, Port: 8080, Tags: []string{*tag}}}
		}
		for i := 0; i < fillers; i++ {
			name, ip := node(i % *bigN)
			svc := fmt.Sprintf("svc-%05d", i+1)
			jobs <- registration{Node: name, Address: ip, Service: &service{ID: svc, Service: svc, Port: 9000 + i%1000, Tags: []string{*tag}}}
		}
		close(jobs)
		wg.Wait()
		el := time.Since(start)
		total := done.Load() + failed.Load()
		fmt.Printf("registered %d/%d entries (%d retries, %d failed) in %.1fs: %.0f/s\n",
			done.Load(), total, retries.Load(), failed.Load(), el.Seconds(), float64(done.Load())/el.Seconds())
		if failed.Load() > 0 {
			os.Exit(1)
		}
	}

	// Verify what the API reports.
	var svcs map[string][]string
	if err := getJSON(client, *addr+"/v1/catalog/services", &svcs); err != nil {
		fatalf("verify: %v", err)
	}
	var inst []json.RawMessage
	if err := getJSON(client, *addr+"/v1/catalog/service/"+*big, &inst); err != nil {
		fatalf("verify: %v", err)
	}
	fmt.Printf("catalog: %d services, %d instances of %q\n", len(svcs), len(inst), *big)
	if len(inst) != *bigN || len(svcs) < *services {
		fatalf("verify: want >= %d services and %d instances of %q", *services, *bigN, *big)
	}
}

// register PUTs one registration, retrying transient failures (connection
// errors, 5xx, 429) with a short backoff. It returns the number of retries.
func register(c *http.Client, base string, r registration, deadline time.Time) (int, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	backoff := 20 * time.Millisecond
	for try := 0; ; try++ {
		req, err := http.NewRequest(http.MethodPut, base+"/v1/catalog/register", bytes.NewReader(body))
		if err != nil {
			return try, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		var msg []byte
		if err == nil {
			msg, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if !bytes.HasPrefix(bytes.TrimSpace(msg), []byte("true")) {
					return try, fmt.Errorf("register answered %q", msg)
				}
				return try, nil
			}
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				return try, err // a client error does not get better by retrying
			}
		}
		if time.Now().Add(backoff).After(deadline) || try >= 8 {
			return try, err
		}
		time.Sleep(backoff)
		backoff *= 2
	}
}

func getJSON(c *http.Client, url string, v any) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "populate: "+format+"\n", a...)
	os.Exit(1)
}
