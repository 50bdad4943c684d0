// Package components lists the OpenTelemetry Collector components of the
// otelcol-business distribution: exactly the ones the project's collector
// configs under otel-collector/collector/ use, and nothing else.
//
// The Datadog build (../datadog) adds its exporter to this list.
package components

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/cumulativetodeltaprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
)

// Version is the collector release every component is pinned to.
const Version = "0.161.0"

// Contrib returns an exporter of the contrib repository's module at
// exporter/<name>, for Settings' extra exporters.
func Contrib(factory exporter.Factory, name string) withModule[exporter.Factory] {
	return of(factory, contrib+"exporter/"+name)
}

// Settings returns the collector settings of a distribution named command,
// with the base components plus extraExporters (made with Contrib).
func Settings(command, description string, extraExporters ...withModule[exporter.Factory]) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     command,
			Description: description,
			Version:     Version,
		},
		Factories: func() (otelcol.Factories, error) { return factories(extraExporters) },
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
}

// Module paths of the components, shown by `otelcol-business components`.
const (
	core    = "go.opentelemetry.io/collector/"
	contrib = "github.com/open-telemetry/opentelemetry-collector-contrib/"
	release = " v" + Version
)

// factoryMap builds one kind's factory map and its type → module map from
// (factory, module) pairs.
func factoryMap[F component.Factory](pairs ...withModule[F]) (map[component.Type]F, map[component.Type]string, error) {
	fs := make([]F, 0, len(pairs))
	modules := make(map[component.Type]string, len(pairs))
	for _, p := range pairs {
		fs = append(fs, p.factory)
		modules[p.factory.Type()] = p.module
	}
	m, err := otelcol.MakeFactoryMap(fs...)
	return m, modules, err
}

type withModule[F component.Factory] struct {
	factory F
	module  string
}

func of[F component.Factory](factory F, module string) withModule[F] {
	return withModule[F]{factory: factory, module: module + release}
}

func factories(extraExporters []withModule[exporter.Factory]) (otelcol.Factories, error) {
	var err error
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}

	if f.Receivers, f.ReceiverModules, err = factoryMap(
		of(otlpreceiver.NewFactory(), core+"receiver/otlpreceiver"),
	); err != nil {
		return otelcol.Factories{}, err
	}

	if f.Processors, f.ProcessorModules, err = factoryMap(
		of(memorylimiterprocessor.NewFactory(), core+"processor/memorylimiterprocessor"),
		of(batchprocessor.NewFactory(), core+"processor/batchprocessor"),
		of(resourceprocessor.NewFactory(), contrib+"processor/resourceprocessor"),
		of(cumulativetodeltaprocessor.NewFactory(), contrib+"processor/cumulativetodeltaprocessor"),
	); err != nil {
		return otelcol.Factories{}, err
	}

	exporters := append([]withModule[exporter.Factory]{
		of(debugexporter.NewFactory(), core+"exporter/debugexporter"),
		of(otlpexporter.NewFactory(), core+"exporter/otlpexporter"),
		of(otlphttpexporter.NewFactory(), core+"exporter/otlphttpexporter"),
		of(prometheusexporter.NewFactory(), contrib+"exporter/prometheusexporter"),
		of(prometheusremotewriteexporter.NewFactory(), contrib+"exporter/prometheusremotewriteexporter"),
		of(loadbalancingexporter.NewFactory(), contrib+"exporter/loadbalancingexporter"),
	}, extraExporters...)
	if f.Exporters, f.ExporterModules, err = factoryMap(exporters...); err != nil {
		return otelcol.Factories{}, err
	}

	if f.Extensions, f.ExtensionModules, err = factoryMap(
		of(healthcheckextension.NewFactory(), contrib+"extension/healthcheckextension"),
		of(bearertokenauthextension.NewFactory(), contrib+"extension/bearertokenauthextension"),
		of(filestorage.NewFactory(), contrib+"extension/storage/filestorage"),
	); err != nil {
		return otelcol.Factories{}, err
	}

	return f, nil
}
