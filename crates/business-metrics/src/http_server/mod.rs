//! `http.server.request.duration` for any axum or tower HTTP service: a tower
//! [`Layer`](tower_layer::Layer), [`HttpServerMetricsLayer`], recording every
//! request as the stable OpenTelemetry HTTP semantic conventions define it (feature
//! `http-server`).
//!
//! Business metrics say what a failure cost; this technical metric beside them
//! says where it came from. Like the rest of the crate it records through the
//! OpenTelemetry API only; the application's SDK exports it.
//!
//! # What is recorded
//!
//! One histogram, [`HTTP_SERVER_REQUEST_DURATION`]: unit `s`, the advised
//! [`REQUEST_DURATION_BUCKETS`] (5 ms to 10 s), one measurement per request with
//! these attributes ([`keys`]):
//!
//! | Attribute | Value |
//! |---|---|
//! | `http.request.method` | `GET`, `POST`, … (the nine methods of RFC 9110 and `PATCH`), else `_OTHER` |
//! | `url.scheme` | the request URI's scheme (HTTP/2 and 3), else [`with_url_scheme`](HttpServerMetricsLayer::with_url_scheme) (`http`) |
//! | `network.protocol.version` | `1.0`, `1.1`, `2`, `3` from the request's `http::Version` |
//! | `http.response.status_code` | the response's status; absent when the service fails |
//! | `http.route` | the route template (`/users/{id}`), never the raw path; absent when no route matched |
//! | `error.type` | the status code of a 5xx response (`500`); for a service error, the error's type name ([`std::any::type_name`]), or `_OTHER` for a boxed `dyn Error` |
//!
//! The Prometheus name is `http_server_request_duration_seconds` (with `_bucket`,
//! `_sum` and `_count`), labels `http_request_method`, `url_scheme`,
//! `network_protocol_version`, `http_response_status_code`, `http_route`, `error_type`.
//!
//! The duration runs from the layer's `call` until the inner service's response
//! future resolves: it covers routing, extractors, handlers and inner middleware,
//! and ends when the response head is ready. Streaming the response body is not
//! included, nor is time spent waiting for the service to be ready. A request
//! whose future is dropped before it resolves (the connection closed first) is not
//! recorded.
//!
//! # With axum
//!
//! Add the layer with [`Router::layer`] *after* every route and the fallback, and
//! read the route template from axum's `MatchedPath`:
//!
//! ```
//! use axum::extract::MatchedPath;
//! use axum::http::request::Parts;
//! use axum::http::StatusCode;
//! use axum::routing::get;
//! use axum::Router;
//! use business_metrics::http_server::HttpServerMetricsLayer;
//! use opentelemetry::StringValue;
//!
//! /// The route template axum matched; none for a request no route matched.
//! fn matched_path(parts: &Parts) -> Option<StringValue> {
//!     let path = parts.extensions.get::<MatchedPath>()?;
//!     Some(path.as_str().to_owned().into())
//! }
//!
//! /// The service's router.
//! fn app(http_metrics: HttpServerMetricsLayer) -> Router {
//!     Router::new()
//!         .route("/users/{id}", get(|| async { "a user" }))
//!         .fallback(|| async { (StatusCode::NOT_FOUND, "no such page") })
//!         // Last: the layer wraps every route and the fallback.
//!         .layer(http_metrics.with_route(matched_path))
//! }
//!
//! // On the global meter provider; `HttpServerMetricsLayer::new(&meter)` takes a meter.
//! let app = app(HttpServerMetricsLayer::new_global());
//! # drop(app);
//! ```
//!
//! Where the layer goes decides what is recorded:
//!
//! - [`Router::layer`], called after the routes and the fallback: every request,
//!   including those no route matched (the fallback's 404, without `http.route`).
//!   axum routes first and then calls the layer, so a matched request carries its
//!   `MatchedPath`. A route or fallback added after the call is not wrapped.
//! - [`Router::route_layer`]: matched routes only. Requests to unknown paths are
//!   never recorded, so a scan or a broken link is invisible. Avoid it for this
//!   layer.
//! - Around the whole router (a `ServiceBuilder` in front of it): every request,
//!   but none with `http.route`, because the layer runs before routing.
//!
//! [`Router::layer`]: https://docs.rs/axum/0.8/axum/struct.Router.html#method.layer
//! [`Router::route_layer`]: https://docs.rs/axum/0.8/axum/struct.Router.html#method.route_layer
//!
//! # With any tower service
//!
//! The layer wraps any `Service<http::Request<B>, Response = http::Response<B2>>`;
//! a [`RouteFn`] names the route, here from a fixed set of templates, which
//! convert without allocating:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use business_metrics::http_server::{HttpServerMetricsLayer, UrlScheme};
//! use http::request::Parts;
//! use http::{Request, Response};
//! use opentelemetry::StringValue;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! fn route(parts: &Parts) -> Option<StringValue> {
//!     match parts.uri.path() {
//!         "/healthz" => Some("/healthz".into()),
//!         path if path.starts_with("/users/") => Some("/users/{id}".into()),
//!         _ => None,
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let meter = opentelemetry::global::meter("my-service");
//! let service = ServiceBuilder::new()
//!     .layer(
//!         HttpServerMetricsLayer::new(&meter)
//!             .with_route(route)
//!             .with_url_scheme(UrlScheme::Https),
//!     )
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("ok")))
//!     }));
//!
//! let response = service.oneshot(Request::get("/users/7").body(String::new())?).await?;
//! assert_eq!(response.status(), 200);
//! # Ok(())
//! # }
//! ```
//!
//! # Cost
//!
//! The layer's own path allocates nothing but the route value the [`RouteFn`]
//! returns (axum's `MatchedPath` is copied into a `String`; a `&'static str` is
//! not) and the `error.type` of a 5xx code no RFC defines. Every attribute value
//! is bounded: methods outside the known set are `_OTHER`, routes are templates.
//!
//! # Instrumentation scope
//!
//! [`HttpServerMetricsLayer::new`] records on the meter it is given;
//! [`new_global`](HttpServerMetricsLayer::new_global) and
//! [`new_from_provider`](HttpServerMetricsLayer::new_from_provider) on this crate's
//! [scope](crate::instrumentation_scope). The instrument is not in the business
//! [`catalog`](crate::catalog), so `business-metrics-exporter`'s views give it
//! their cardinality limit and leave it its advised buckets.

mod attributes;
mod future;
mod instrument;
mod layer;
mod service;

pub use attributes::UrlScheme;
pub use future::ResponseFuture;
pub use instrument::{keys, HTTP_SERVER_REQUEST_DURATION, REQUEST_DURATION_BUCKETS};
pub use layer::{HttpServerMetricsLayer, RouteFn};
pub use service::HttpServerMetrics;
