//! The service the layer wraps around an HTTP service.

use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use super::future::{Recording, ResponseFuture};
use super::layer::Settings;

/// An HTTP service whose requests are recorded on `http.server.request.duration`;
/// made by [`HttpServerMetricsLayer`](super::HttpServerMetricsLayer).
#[derive(Clone, Debug)]
pub struct HttpServerMetrics<S> {
    inner: S,
    settings: Settings,
}

impl<S> HttpServerMetrics<S> {
    pub(super) fn new(inner: S, settings: Settings) -> Self {
        Self { inner, settings }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpServerMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let (parts, body) = req.into_parts();
        let attributes = self.settings.request_attributes(&parts);
        let inner = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture::new(
            inner,
            Recording::new(self.settings.histogram().clone(), start, attributes),
        )
    }
}
