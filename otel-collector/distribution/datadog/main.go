// Command otelcol-business-datadog is the project's OpenTelemetry Collector
// distribution with the Datadog exporter: the components that base.yaml,
// gateway/gateway.yaml and backends/datadog.yaml use, pinned to collector release
// 0.155.0.
//
// It is a module of its own, one release below otelcol-business (../), because the
// Datadog exporter of 0.156.0 and later needs datadog-agent modules that the Go
// module proxy refuses; being a separate binary, it never holds the main one back.
//
// Build it with:
//
//	go build -trimpath -o otelcol-business-datadog .
package main

import (
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/datadogexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
)

// Version is the collector release every component is pinned to.
const Version = "0.155.0"

const (
	core    = "go.opentelemetry.io/collector/"
	contrib = "github.com/open-telemetry/opentelemetry-collector-contrib/"
)

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-business-datadog",
			Description: "OpenTelemetry Collector for business metrics, with the Datadog exporter",
			Version:     Version,
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		// cobra has printed the error already.
		os.Exit(1)
	}
}

// modules maps each factory's type to its module at Version.
func modules[F component.Factory](fs map[component.Type]F, paths map[string]string) map[component.Type]string {
	out := make(map[component.Type]string, len(fs))
	for t := range fs {
		out[t] = paths[t.String()] + " v" + Version
	}
	return out
}

func factories() (otelcol.Factories, error) {
	var err error
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return otelcol.Factories{}, err
	}
	f.ReceiverModules = modules(f.Receivers, map[string]string{"otlp": core + "receiver/otlpreceiver"})
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](
		memorylimiterprocessor.NewFactory(),
		batchprocessor.NewFactory(),
		resourceprocessor.NewFactory(),
	); err != nil {
		return otelcol.Factories{}, err
	}
	f.ProcessorModules = modules(f.Processors, map[string]string{
		"memory_limiter": core + "processor/memorylimiterprocessor",
		"batch":          core + "processor/batchprocessor",
		"resource":       contrib + "processor/resourceprocessor",
	})
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](datadogexporter.NewFactory()); err != nil {
		return otelcol.Factories{}, err
	}
	f.ExporterModules = modules(f.Exporters, map[string]string{"datadog": contrib + "exporter/datadogexporter"})
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](
		healthcheckextension.NewFactory(),
		bearertokenauthextension.NewFactory(),
		filestorage.NewFactory(),
	); err != nil {
		return otelcol.Factories{}, err
	}
	f.ExtensionModules = modules(f.Extensions, map[string]string{
		"health_check":    contrib + "extension/healthcheckextension",
		"bearertokenauth": contrib + "extension/bearertokenauthextension",
		"file_storage":    contrib + "extension/storage/filestorage",
	})
	return f, nil
}
