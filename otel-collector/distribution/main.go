// Command otelcol-business is the project's OpenTelemetry Collector
// distribution: the components its configs under otel-collector/collector/
// use, pinned to one collector release.
//
// Build it with:
//
//	go build -trimpath -o otelcol-business .
package main

import (
	"os"

	"go.opentelemetry.io/collector/otelcol"

	"business-metrics/otelcol-business/components"
)

func main() {
	settings := components.Settings(
		"otelcol-business",
		"OpenTelemetry Collector for business metrics (OTLP in; Prometheus, remote write, OTLP out)",
	)
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		// cobra has printed the error already.
		os.Exit(1)
	}
}
