//! Analyses of business metrics stored in Prometheus: conversion funnels per segment
//! with an experiment significance test, the correlation of a technical metric
//! (latency, errors) with a business one (checkouts, revenue), lag included, and money
//! per currency shown by its ISO 4217 exponent.
//!
//! This crate only speaks the Prometheus HTTP API; it knows nothing of OpenTelemetry.
//! The series it reads are those `business-metrics` records and
//! `business-metrics-exporter` exports (`business_funnel_step_total`, ...), whichever
//! path they took into Prometheus.
//!
//! # Getting started
//!
//! The same analyses are available from the command line as `bizmetrics`
//! (`bizmetrics correlate --help`, `bizmetrics funnel --help`,
//! `bizmetrics revenue --help`, `bizmetrics impact --help`, `bizmetrics report --help`). From Rust, build a
//! [`PrometheusClient`] and run an analysis inside your Tokio runtime:
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use business_metrics_analysis::{
//!     correlate, discover_funnel, funnel, revenue, CorrelationRequest, FunnelName,
//!     FunnelSpec, LabelName, MetricName, PrometheusClient, RevenueRequest, Segmentation,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = PrometheusClient::builder("http://localhost:9090")
//!     .with_timeout(Duration::from_secs(10))
//!     .build()?;
//! let end = SystemTime::now();
//! let hour = Duration::from_secs(3600);
//!
//! // Which checkout step loses most mobile users over the last hour?
//! let checkout = FunnelSpec::checkout();
//! let by_device = Some(Segmentation::DeviceType);
//! let report = funnel(&client, &checkout, hour, Some(end), by_device).await?;
//! for segment in &report.segments {
//!     println!("{}: {:?}", segment.segment, segment.overall_conversion);
//! }
//!
//! // A funnel the service defined itself, its order read from Prometheus...
//! let signup = discover_funnel(&client, FunnelName::new("signup")?, hour, Some(end)).await?;
//! // ...or given (then Prometheus is not asked for it).
//! let signup_defined = FunnelSpec::parse(
//!     "signup",
//!     &["landing_view", "signup_started", "email_verified", "subscribed"],
//! )?;
//! let by_variant = Some(Segmentation::ExperimentVariant);
//! for spec in [&signup, &signup_defined] {
//!     let report = funnel(&client, spec, hour, Some(end), by_variant).await?;
//!     for c in &report.comparisons {
//!         println!("{} vs {}: p = {:.4}", c.variant, c.control, c.test.p_value);
//!     }
//! }
//!
//! // Does p99 latency drive confirmed orders down, and how much later?
//! let request = CorrelationRequest::new(
//!     "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))",
//!     r#"sum(rate(business_funnel_step_total{funnel="checkout", step="order_confirmed"}[5m]))"#,
//!     end - Duration::from_secs(7 * 86_400),
//!     end,
//!     Duration::from_secs(300),
//! )
//! .with_max_lag(6); // up to 30 minutes
//! let report = correlate(&client, &request).await?;
//! println!("{} (r = {:.2}, {} points)", report.summary, report.pearson, report.points);
//!
//! // Revenue per region and currency over the last hour, and MRR now.
//! let by_region = RevenueRequest::revenue(hour).with_by(LabelName::new("region")?)?;
//! println!("{}", revenue(&client, &by_region, Some(end)).await?);
//! let mrr = RevenueRequest::gauge(MetricName::new("saas_mrr_cents")?);
//! for row in revenue(&client, &mrr, Some(end)).await?.rows {
//!     println!("{}: {}", row.currency, row.formatted()); // e.g. "USD: 69800.00 USD"
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Production stores
//!
//! [`PrometheusClientBuilder`] reaches stores behind authentication: credentials
//! ([`Credentials`]: a bearer token or basic auth, their secrets redacted from `Debug`
//! and every [`ClientError`]), extra headers, a tenant ([`TENANT_HEADER`],
//! `X-Scope-OrgID`, for Mimir, Cortex and Thanos), and a private CA. Redirects to
//! another scheme, host or port are not followed. An answer is read in pieces up to
//! a limit ([`PrometheusClientBuilder::with_max_response_bytes`], default
//! [`DEFAULT_MAX_RESPONSE_BYTES`], 16 MiB) and refused past it
//! ([`ClientError::ResponseTooLarge`]), so a misbehaving server cannot fill memory. [`LabelMatcher`]s given with
//! [`PrometheusClientBuilder::with_matcher`] (such as [`LabelMatcher::job`]) are added to
//! every selector the analyses build, so two services' series never mix; PromQL the
//! caller writes ([`CorrelationRequest`]) is sent as written. Times for a window read
//! as in Prometheus' API: [`time::parse_time`].
//!
//! ```no_run
//! use business_metrics_analysis::{Credentials, LabelMatcher, PrometheusClient};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = PrometheusClient::builder("https://mimir.example/prometheus")
//!     .with_credentials(Credentials::basic("123456", std::env::var("TOKEN")?))
//!     .with_tenant("team-a")?
//!     .with_ca_certificate_pem(std::fs::read("ca.pem")?)
//!     .with_matcher(LabelMatcher::job("checkout"))
//!     .build()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Funnels
//!
//! Every funnel's steps land on `business_funnel_step_total`, told apart by the
//! `funnel` label (`checkout`, `signup`, ...) and named by the `step` label. A
//! [`FunnelSpec`] is a funnel's name and its steps in order; names are
//! `[a-z][a-z0-9_]*`, at most [`MAX_NAME_BYTES`] bytes, checked once by
//! [`FunnelName`] and [`StepName`]. The order comes from one of:
//!
//! - a definition: [`FunnelSpec::checkout`] ([`CHECKOUT_FUNNEL`], [`CHECKOUT_STEPS`]),
//!   or any funnel's steps given with [`FunnelSpec::parse`] (`bizmetrics funnel
//!   --funnel signup --steps landing_view,signup_started,subscribed`);
//! - Prometheus: [`discover_funnel`] sums each step over the range
//!   ([`step_order_query`]) and orders them by count, largest first, ties by name,
//!   since a funnel's counts never increase along it. Error steps (`…_error`) and
//!   milestones (`milestone_…`) are never funnel steps and are left out. This is what
//!   `bizmetrics funnel --funnel signup` does for a funnel without a built-in order.
//!
//! The report says which ([`FunnelReport::steps_from`]: `definition` or `prometheus`).
//!
//! # Money
//!
//! Money is recorded as integer minor units of an ISO 4217 currency with a `currency`
//! label ([`CURRENCY_LABEL`]): the counter [`REVENUE_METRIC`]
//! (`business_revenue_cents_total{product_category, payment_method, region,
//! currency}`), the histogram `business_order_value_cents` (its `_sum` is a counter),
//! and the money instruments a service defines, such as the gauge
//! `saas_mrr_cents{plan, region, currency}`. A [`RevenueRequest`] reads one of them:
//!
//! - a counter ([`RevenueRequest::revenue`], [`RevenueRequest::counter`]): its
//!   `increase()` over a range, summed by currency;
//! - a gauge ([`RevenueRequest::gauge`]): its latest value, summed by currency;
//!
//! and, with [`RevenueRequest::with_by`], by one more label ([`LabelName`]). The
//! [`RevenueReport`] has one row per segment and currency, its amount rounded to
//! whole minor units. The currency's exponent ([`IsoCurrency`], from the
//! `iso_currency` crate's ISO 4217 table: JPY 0, USD 2, KWD 3) says how it is shown
//! ([`format_minor`], [`format_money`]): `1499 JPY`, `1499.00 USD`, `1.499 KWD`,
//! exactly, with no floating point. A label that is not an ISO 4217 code with an
//! exponent is never guessed: it stays in minor units with the note
//! [`UNKNOWN_CURRENCY_NOTE`]. A value that is NaN, infinite, negative or above
//! [`MAX_EXACT_MINOR`] (2^53, where floats stop holding every integer) is
//! [`AnalysisError::InvalidAmount`].
//!
//! ```
//! use business_metrics_analysis::{format_minor, format_money};
//!
//! assert_eq!(format_minor(149_900, 2), "1499.00");
//! assert_eq!(format_money(5, "USD"), "0.05 USD");
//! assert_eq!(format_money(7, "KWD"), "0.007 KWD");
//! assert_eq!(format_money(1_499, "JPY"), "1499 JPY");
//! assert_eq!(format_money(250, "XBT"), "250 XBT (unknown currency: minor units)");
//! ```
//!
//! # Incident cost
//!
//! "What did that incident cost us?" [`impact::impact`] reads an incident window's
//! revenue in each currency, a funnel's entries and completions (or the count of a
//! conversion type) as `increase()` over the window and over a baseline just before
//! it (the hour before by default), and the same two windows 1 to 6 days and 1 to 4
//! weeks earlier. Each earlier window, scaled by the current baseline over its own,
//! estimates what the window would have held had nothing happened; the median of
//! these estimates is the expectation, and predicting each earlier window from the
//! others gives its 95 % prediction interval. The loss is expected minus actual,
//! with that interval; the conversion rate during the window is set against the
//! expected one and the baseline's (with a two-proportion test). With fewer than 4
//! earlier windows holding data the report says the history is too short rather than
//! guess, and money is never summed across currencies. The [`impact::ImpactReport`]
//! reads as a paragraph for an incident review, lists its key figures
//! ([`impact::ImpactReport::key_figures`]) and serialises every figure as a number;
//! `bizmetrics impact --start … --end …` prints it, and `bizmetrics report` shows it
//! for each incident window (or, without incidents, for the report's window). The
//! method in full, with its limits: the [`impact`] module.
//!
//! ```no_run
//! use business_metrics_analysis::impact::{impact, ImpactRequest};
//! use business_metrics_analysis::time::{parse_time, Window};
//! use business_metrics_analysis::PrometheusClient;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = PrometheusClient::builder("http://localhost:9090").build()?;
//! let (start, end) = (parse_time("2026-03-11T15:05:00Z")?, parse_time("2026-03-11T15:35:00Z")?);
//! let window = Window::resolve(None, Some(start), Some(end), end)?;
//! let report = impact(&client, &ImpactRequest::new(window)).await?;
//! println!("{report}"); // "Between 2026-03-11 15:05 and 15:35 UTC, revenue was ..."
//! for (what, figure) in report.key_figures() {
//!     println!("{what}: {figure}"); // "Revenue (USD): USD 24,413.48 against an expected ..."
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # What the numbers mean
//!
//! - Correlation: Pearson's r on the aligned samples, Spearman's ρ on their average
//!   ranks, a 95 % confidence interval by Fisher's z, and the least-squares slope (the
//!   business metric's change per unit of the technical one). Strength is worded as
//!   in the business-metrics guide: |r| > 0.7 strong, |r| > 0.4 moderate, else weak.
//! - Lag: a positive lag of k steps means the business series trails the technical
//!   one: technical at t is paired with business at t + k·step. The lag with the
//!   largest |r| is reported.
//! - Funnel: `increase()` of each step of one funnel over the range at its end; step
//!   conversion, overall conversion and drop-off; for experiment variants a
//!   two-proportion z-test of overall conversion against the `control` variant (or the
//!   first variant).
//!
//! No result is ever NaN: where a statistic is undefined (a constant series, too few
//! points) the analysis returns an [`AnalysisError`] saying so. Nothing Prometheus
//! answers is taken on trust: a count (a funnel step, entries, completions) that is
//! NaN, infinite, negative or above 2^53 is [`AnalysisError::InvalidCount`], an
//! amount of money likewise [`AnalysisError::InvalidAmount`], an infinite sample to
//! correlate [`AnalysisError::InvalidSample`], each naming the query and the series;
//! a sample time outside 1970 to 9999 is [`ClientError::InvalidResponse`]. The lag
//! search stops at the largest lag the points allow (their grid's length minus the
//! fewest pairs), with a warning when more was asked.
//!
//! # Feature flags
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `cli` | yes | the `bizmetrics` binary (`clap`, `anyhow`, a Tokio runtime); libraries turn it off with `default-features = false` |
//! | `rustls` | with `cli` | `https://` Prometheus URLs: rustls with the `ring` provider, the platform's verifier or [`PrometheusClientBuilder::with_ca_certificate_pem`] |
//!
//! # Related crates
//!
//! - `business-metrics`: records the business metrics through the OpenTelemetry API.
//! - `business-metrics-exporter`: exports them (OTLP, Prometheus bridge).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The README's Rust snippets compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod auth;
mod client;
mod correlate;
pub mod correlogram;
mod definition;
mod duration;
mod error;
pub mod explain;
mod funnel;
pub mod impact;
mod matcher;
mod money;
mod names;
pub mod period;
mod reading;
pub mod report;
mod revenue;
mod revenue_report;
pub mod stats;
mod step_order;
pub mod time;
#[cfg(feature = "rustls")]
mod tls;
pub mod units;

pub use auth::{Credentials, Secret};
pub use client::{
    format_labels, ClientError, InstantSeries, PrometheusClient, PrometheusClientBuilder,
    RangeSeries, Sample, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, TENANT_HEADER,
};
pub use correlate::{
    analyze, check_samples, correlate, single_series, CorrelationReport, CorrelationRequest,
    Direction, DEFAULT_MIN_POINTS,
};
pub use definition::{
    DefinitionError, FunnelName, FunnelSpec, FunnelSteps, StepName, StepsFrom, CHECKOUT_FUNNEL,
    CHECKOUT_STEPS, ERROR_STEP_SUFFIX, MAX_NAME_BYTES, MILESTONE_STEP_PREFIX,
};
pub use duration::{format_duration, format_promql_duration, parse_duration, DurationError};
pub use error::AnalysisError;
pub use funnel::{
    build_report, funnel, funnel_query, funnel_query_matching, FunnelReport, SegmentFunnel,
    Segmentation, StepStats, VariantComparison, CONTROL_VARIANT, FUNNEL_METRIC, SIGNIFICANCE_LEVEL,
};
pub use matcher::{LabelMatcher, MatchOp, MatcherError};
pub use money::{
    format_minor, format_money, CurrencyLabel, IsoCurrency, MISSING_CURRENCY_NOTE,
    UNKNOWN_CURRENCY_NOTE,
};
pub use names::{LabelName, MetricName, NameError};
pub use revenue::{
    build_revenue_report, revenue, Reading, RevenueRequest, ALL_SEGMENTS, CURRENCY_LABEL,
    MAX_EXACT_MINOR, REVENUE_METRIC,
};
pub use revenue_report::{RevenueReport, RevenueRow};
pub use step_order::{discover_funnel, step_order_query, step_order_query_matching};
