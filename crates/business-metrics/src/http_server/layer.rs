//! The tower `Layer`: the instrument and the settings every wrapped service shares.

use http::request::Parts;
use opentelemetry::metrics::{Histogram, Meter, MeterProvider};
use opentelemetry::{global, StringValue};
use tower_layer::Layer;

use super::attributes::{self, UrlScheme};
use super::future::RequestAttributes;
use super::instrument::HTTP_SERVER_REQUEST_DURATION;
use super::service::HttpServerMetrics;
use crate::instrumentation_scope;

/// Reads the route template (`/users/{id}`) of a request, or `None` when no route
/// matched. It must never return the raw path, which holds ids.
///
/// With axum, read `axum::extract::MatchedPath` from `parts.extensions`; with
/// another router, map the path to its template from a fixed set (`&'static str`
/// values convert without allocating). See the [module docs](super).
pub type RouteFn = fn(&Parts) -> Option<StringValue>;

fn no_route(_: &Parts) -> Option<StringValue> {
    None
}

/// A tower [`Layer`] recording `http.server.request.duration` for every request
/// of the service it wraps. See the [module docs](super) for where to add it.
///
/// Cheap to clone: clones share the instrument.
#[derive(Clone, Debug)]
pub struct HttpServerMetricsLayer {
    settings: Settings,
}

/// What the layer and every service it wraps share.
#[derive(Clone, Debug)]
pub(super) struct Settings {
    histogram: Histogram<f64>,
    route: RouteFn,
    scheme: UrlScheme,
}

impl Settings {
    /// The request's attributes, read before the request moves on.
    pub(super) fn request_attributes(&self, parts: &Parts) -> RequestAttributes {
        RequestAttributes {
            method: attributes::method(&parts.method),
            scheme: self.scheme.of(&parts.uri),
            version: attributes::protocol_version(parts.version),
            route: (self.route)(parts),
        }
    }

    /// The instrument.
    pub(super) fn histogram(&self) -> &Histogram<f64> {
        &self.histogram
    }
}

impl HttpServerMetricsLayer {
    /// Creates the instrument on `meter`. Create one layer per service and clone it.
    #[must_use]
    pub fn new(meter: &Meter) -> Self {
        let d = HTTP_SERVER_REQUEST_DURATION;
        let histogram = meter
            .f64_histogram(d.name)
            .with_unit(d.unit)
            .with_description(d.description)
            .with_boundaries(d.buckets.to_vec())
            .build();
        Self {
            settings: Settings {
                histogram,
                route: no_route,
                scheme: UrlScheme::default(),
            },
        }
    }

    /// Creates the instrument on `provider`'s meter of this crate's
    /// [instrumentation scope](crate::instrumentation_scope).
    #[must_use]
    pub fn new_from_provider<P: MeterProvider + ?Sized>(provider: &P) -> Self {
        Self::new(&provider.meter_with_scope(instrumentation_scope()))
    }

    /// Creates the instrument on the global meter provider, in this crate's
    /// [instrumentation scope](crate::instrumentation_scope): a no-op until a
    /// provider is installed, and bound to the provider installed at the time of
    /// the call.
    #[must_use]
    pub fn new_global() -> Self {
        Self::new(&global::meter_with_scope(instrumentation_scope()))
    }

    /// Sets how the route template (`http.route`) is read from a request. Without
    /// it no request carries `http.route`.
    #[must_use]
    pub fn with_route(mut self, route: RouteFn) -> Self {
        self.settings.route = route;
        self
    }

    /// Sets the `url.scheme` of requests whose URI names none (`http` by default).
    #[must_use]
    pub fn with_url_scheme(mut self, scheme: UrlScheme) -> Self {
        self.settings.scheme = scheme;
        self
    }
}

impl<S> Layer<S> for HttpServerMetricsLayer {
    type Service = HttpServerMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpServerMetrics::new(inner, self.settings.clone())
    }
}
