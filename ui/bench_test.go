package ui_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"
)

// BenchmarkServicesPage1000 loads the services page of a catalog of 1,000
// services (on 50 nodes, each with a passing check) in headless Chromium,
// cache disabled, and reports what one load costs:
//   - first-render-ms: from navigation start to the frame in which the
//     table shows all 1,000 services (the page's own clock);
//   - data-loaded-ms: from navigation start to the end of the catalog
//     summary's response;
//   - bytes/load: bytes transferred (headers and bodies) for the load,
//     the catalog summary included, the pending blocking query not;
//   - ui-bytes/load: the part of that which is the UI's own files.
//
// Run with: go test -run '^$' -bench ServicesPage1000 -benchtime 10x ./ui/
func BenchmarkServicesPage1000(b *testing.B) {
	br := startBrowser(b)
	a := startAgent(b)
	register1000(b, a.client)

	var mu sync.Mutex
	urls := map[network.RequestID]string{}
	var total, uiBytes float64
	chromedp.ListenTarget(br.ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			urls[ev.RequestID] = ev.Request.URL
		case *network.EventLoadingFinished:
			total += ev.EncodedDataLength
			if u := urls[ev.RequestID]; strings.Contains(u, "/ui/") && !strings.Contains(u, "/v1/") {
				uiBytes += ev.EncodedDataLength
			}
		}
	})
	br.run(b, network.Enable(), network.SetCacheDisabled(true))

	// rendered waits, frame by frame, for the table to list every service
	// and answers with the page's clock (ms since navigation start).
	rendered := `new Promise(resolve => {
		const check = () => document.querySelectorAll("main tbody tr").length >= 1001
			? resolve([performance.now(), performance.getEntriesByType("resource")
				.find(e => e.name.includes("/v1/internal/ui/services")).responseEnd])
			: requestAnimationFrame(check);
		check();
	})`
	awaitPromise := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

	// One load first, so that the figures are not the browser's cold start.
	br.open(b, a.base, "#/services")
	br.run(b, chromedp.Evaluate(rendered, nil, awaitPromise))

	var renderMs, dataMs float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mu.Lock()
		total, uiBytes = 0, 0
		mu.Unlock()
		br.open(b, a.base, "#/services")
		var ms []float64
		br.run(b, chromedp.Evaluate(rendered, &ms, awaitPromise))
		renderMs += ms[0]
		dataMs += ms[1]
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(renderMs/float64(b.N), "first-render-ms")
	b.ReportMetric(dataMs/float64(b.N), "data-loaded-ms")
	b.ReportMetric(total, "bytes/load")
	b.ReportMetric(uiBytes, "ui-bytes/load")
	br.noErrors(b, "services page")
}

// register1000 registers services svc-0000 … svc-0999 over the catalog
// API, 20 at a time.
func register1000(b testing.TB, client *api.Client) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	sem := make(chan struct{}, 20)
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			node := fmt.Sprintf("host-%02d", i%50)
			id := fmt.Sprintf("svc-%04d", i)
			_, err := client.Catalog().Register(&api.CatalogRegistration{
				Node: node, Address: fmt.Sprintf("127.0.1.%d", i%50+1),
				Service: &api.AgentService{ID: id, Service: id, Port: 8000 + i, Tags: []string{"v1", "team-" + node}},
				Check:   &api.AgentCheck{CheckID: "alive-" + id, Name: "alive", Status: api.HealthPassing, ServiceID: id},
			}, nil)
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("register: %v", err)
	}
}
