package testsupport

import (
	"fmt"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a Prometheus text page, by metric family name.
type Metrics map[string]*dto.MetricFamily

// ScrapeMetrics reads the page at url (a /metrics endpoint), giving up
// after ten seconds.
func ScrapeMetrics(url string) (Metrics, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return Metrics(families), nil
}

// Value sums the samples of the counter or gauge name whose labels include
// every pair in match (nil matches all), and reports whether any sample
// matched. For a histogram or summary it sums the sample counts.
func (m Metrics) Value(name string, match map[string]string) (float64, bool) {
	f := m[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, s := range f.Metric {
		if !hasLabels(s, match) {
			continue
		}
		found = true
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Untyped != nil:
			sum += s.Untyped.GetValue()
		case s.Histogram != nil:
			sum += float64(s.Histogram.GetSampleCount())
		case s.Summary != nil:
			sum += float64(s.Summary.GetSampleCount())
		}
	}
	return sum, found
}

func hasLabels(s *dto.Metric, match map[string]string) bool {
	n := 0
	for _, l := range s.Label {
		if v, ok := match[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(match)
}
