//! The response future: the inner service's future, recording the request's
//! duration and attributes when it resolves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use http::Response;
use opentelemetry::metrics::Histogram;
use opentelemetry::{KeyValue, StringValue, Value};
use pin_project_lite::pin_project;

use super::attributes;
use super::instrument::keys;

/// What is known of a request before the inner service sees it.
#[derive(Debug)]
pub(super) struct RequestAttributes {
    pub(super) method: &'static str,
    pub(super) scheme: &'static str,
    pub(super) version: &'static str,
    pub(super) route: Option<StringValue>,
}

/// A request in flight: where it is recorded, since when, with what.
#[derive(Debug)]
pub(super) struct Recording {
    histogram: Histogram<f64>,
    start: Instant,
    request: RequestAttributes,
}

/// The attributes the outcome adds: a status code, with `error.type` for a 5xx;
/// or `error.type` alone for a service error.
enum Outcome {
    One(KeyValue),
    Two(KeyValue, KeyValue),
}

impl Recording {
    pub(super) fn new(
        histogram: Histogram<f64>,
        start: Instant,
        request: RequestAttributes,
    ) -> Self {
        Self {
            histogram,
            start,
            request,
        }
    }

    /// Records the request, with the attributes of its outcome.
    fn finish(self, outcome: Outcome) {
        let seconds = self.start.elapsed().as_secs_f64();
        let r = self.request;
        let method = KeyValue::new(keys::HTTP_REQUEST_METHOD, r.method);
        let scheme = KeyValue::new(keys::URL_SCHEME, r.scheme);
        let version = KeyValue::new(keys::NETWORK_PROTOCOL_VERSION, r.version);
        let route = r
            .route
            .map(|route| KeyValue::new(keys::HTTP_ROUTE, Value::String(route)));
        let h = &self.histogram;
        match (route, outcome) {
            (None, Outcome::One(a)) => h.record(seconds, &[method, scheme, version, a]),
            (None, Outcome::Two(a, b)) => h.record(seconds, &[method, scheme, version, a, b]),
            (Some(route), Outcome::One(a)) => {
                h.record(seconds, &[method, scheme, version, route, a]);
            }
            (Some(route), Outcome::Two(a, b)) => {
                h.record(seconds, &[method, scheme, version, route, a, b]);
            }
        }
    }
}

fn response_outcome<B>(response: &Response<B>) -> Outcome {
    let status = response.status();
    let code = KeyValue::new(
        keys::HTTP_RESPONSE_STATUS_CODE,
        attributes::status_code(status),
    );
    match attributes::status_error_type(status) {
        Some(error) => Outcome::Two(code, KeyValue::new(keys::ERROR_TYPE, error)),
        None => Outcome::One(code),
    }
}

fn error_outcome<E: 'static>() -> Outcome {
    Outcome::One(KeyValue::new(
        keys::ERROR_TYPE,
        attributes::service_error_type::<E>(),
    ))
}

pin_project! {
    /// The response future of [`HttpServerMetrics`](super::HttpServerMetrics):
    /// the inner service's future, recording the request when it resolves.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        recording: Option<Recording>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, recording: Recording) -> Self {
        Self {
            inner,
            recording: Some(recording),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: 'static,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        // Taken once: a future polled again after it resolved records nothing more.
        if let Some(recording) = this.recording.take() {
            let outcome = match &result {
                Ok(response) => response_outcome(response),
                Err(_) => error_outcome::<E>(),
            };
            recording.finish(outcome);
        }
        Poll::Ready(result)
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}
