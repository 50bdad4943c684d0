//! Business metrics (conversion funnels, revenue, engagement) recorded through the
//! OpenTelemetry metrics API.
//!
//! This crate depends on the `opentelemetry` API only. Libraries and handlers record
//! through it; the application chooses the SDK and the backend (see the
//! `business-metrics-exporter` crate). With no meter provider installed, every call is
//! a cheap no-op.
//!
//! # Getting started
//!
//! Create [`BusinessMetrics`] once, clone it into handlers, and call methods named in
//! the business's words:
//!
//! ```
//! use business_metrics::{BusinessMetrics, DeviceType, FunnelContext, Revenue};
//! use opentelemetry::global;
//!
//! # fn main() -> Result<(), business_metrics::RecordError> {
//! let metrics = BusinessMetrics::new_global();
//!
//! // A checkout: steps, then the purchase (final step, conversion, revenue).
//! let ctx = FunnelContext::new("google_ads", DeviceType::Mobile).with_experiment_variant("one_page");
//! let checkout = metrics.checkout(&ctx, metrics.now())?;
//! checkout.cart_view();
//! checkout.shipping_info();
//! checkout.payment_info();
//! checkout.order_review();
//! checkout.purchase_completed(&Revenue::new(4_999, "electronics", "card", "us_west"))?;
//!
//! // Bad input is refused with a typed error and records nothing.
//! let err = metrics.record_session_end(f64::NAN, business_metrics::UserTier::Pro, "/").unwrap_err();
//! assert_eq!(err.reason(), "invalid_duration");
//! # Ok(())
//! # }
//! ```
//!
//! # Your own business
//!
//! The checkout is one built-in definition. A service declares its own funnels,
//! closed sets and instruments, checked at compile time, and adds them to a
//! [`Catalog`]: the union of the built-in entries and its definitions, which the
//! instruments, the exporter's views, the docs and the generated rules, alerts and
//! dashboards ([`generate`]) all come from.
//!
//! ```
//! use business_metrics::catalog::names;
//! use business_metrics::define::{kind, Attribute, Definition};
//! use business_metrics::{BusinessMetrics, Catalog, Currency, DeviceType, FunnelContext, LabelArg, Money};
//!
//! business_metrics::funnel! {
//!     /// A SaaS product's signup; error step `signup_error`.
//!     pub enum SignupStep: "signup" {
//!         /// The entry.
//!         LandingView => "landing_view",
//!         /// The form is started.
//!         SignupStarted => "signup_started",
//!         /// A paid plan is chosen: the conversion.
//!         Subscribed => "subscribed",
//!     }
//!     conversion_type: Some("subscription"),
//!     owner: "growth",
//!     min_conversion_ratio: Some(0.02),
//! }
//!
//! business_metrics::closed_set! {
//!     /// The plans.
//!     pub enum Plan: "plan" { /** Per seat. */ Team => "team", /** Contract. */ Enterprise => "enterprise" }
//! }
//!
//! /// Monthly recurring revenue, in minor units with its currency.
//! const MRR: Definition<kind::MoneyGauge, 2> = Definition::money_gauge(
//!     "saas.mrr_cents",
//!     "Monthly recurring revenue in minor units",
//!     &[Attribute::closed::<Plan>("plan"), Attribute::free("region")],
//! )
//! .with_owner("finance")
//! .checked();
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let catalog = Catalog::builder()
//!     .with_funnel::<SignupStep>()
//!     .with_instrument(MRR)
//!     // Trials convert over days: time to conversion up to 30 days.
//!     .with_buckets(names::TIME_TO_CONVERSION, &[3_600.0, 86_400.0, 604_800.0, 2_592_000.0])
//!     .build()?;
//! # let meter = opentelemetry::global::meter("doc");
//! let metrics = BusinessMetrics::builder(&meter).with_catalog(catalog).build();
//!
//! let run = metrics.track::<SignupStep>(&FunnelContext::new("newsletter", DeviceType::Desktop), metrics.now())?;
//! run.step(SignupStep::LandingView);
//! run.step(SignupStep::SignupStarted);
//! run.completed()?; // `subscribed` and a `subscription` conversion
//!
//! let mrr = metrics.instrument(&MRR)?;
//! mrr.set(Money::new(4_990_000, Currency::USD), [LabelArg::from(Plan::Team), "eu_central".into()])?;
//! # Ok(())
//! # }
//! ```
//!
//! Every funnel records on `business.funnel_step` with its `funnel` attribute
//! (`funnel="checkout"` for the built-in one); step names are unique across funnels.
//! A definition that is wrong in itself stops the build; one that clashes with
//! another (a duplicate funnel, a step or name already taken, a Prometheus
//! spelling that collides) makes [`CatalogBuilder::build`] return a
//! [`DefinitionError`] naming the problem. Money is integer minor units of a
//! [`Currency`], whose ISO 4217 exponent (JPY 0, USD 2, KWD 3) governs display.
//!
//! # What is recorded
//!
//! The [`catalog`] lists every instrument with its OpenTelemetry name, unit, attributes,
//! bucket boundaries and Prometheus name; `docs/METRICS.md` is generated from it.
//!
//! | Call | Instruments |
//! |---|---|
//! | [`BusinessMetrics::record_funnel_step`], [`BusinessMetrics::record_step`], [`FunnelTracker`] ([`CheckoutTracker`]) and [`BoundFunnel`] steps | `business.funnel_step` (with `funnel`) |
//! | [`FunnelTracker::completed`], [`CheckoutTracker::purchase_completed`] | the final step, `business.conversions`, `business.time_to_conversion` |
//! | [`BusinessMetrics::record_conversion`] | `business.conversions`, `business.time_to_conversion` |
//! | [`BusinessMetrics::record_revenue`], [`BoundSale::record`] | `business.revenue_cents`, `business.order_value_cents`, `business.revenue_per_minute_cents` |
//! | [`BusinessMetrics::record_feature_usage`], [`EngagementSession::feature_used`] | `business.feature_usage` |
//! | [`EngagementSession::milestone`] | `business.funnel_step` (`funnel="engagement"`, `milestone_<name>`) |
//! | [`Instrument`] handles on a service's own [`define::Definition`]s | the service's instruments |
//! | [`BusinessMetrics::record_session_end`], [`EngagementSession::end`] or drop | `business.session_duration` |
//! | [`BusinessMetrics::set_active_users`] | `business.active_users` |
//! | any refusal | `business.rejected_events{reason}` |
//! | any event with a value its dimension's budget folded into `other` | `business.label_budget_exhausted{dimension}` |
//!
//! # Label discipline
//!
//! Attribute keys are fixed by the definitions, so no user id, session id or
//! timestamp can become a label. Closed sets are enums ([`DeviceType`],
//! [`CheckoutStep`], [`UserTier`], [`ActiveWindow`], or the service's own from
//! [`closed_set!`]); free-form values pass a [`LabelPolicy`] that trims,
//! refuses empty and overlong values, replaces unsafe characters with `_`, and maps
//! values outside an optional per-[`Dimension`] allowlist to `other`. Where no
//! allowlist is, a per-dimension [`Budget`] keeps the first distinct values an
//! instance records (10 sources, 8 regions, 500 entry pages, ... by default) and
//! records later new ones as `other`, counting each such event on
//! `business.label_budget_exhausted{dimension}`: a flood of sources, regions or
//! pages folds into `other` while `funnel`, `step` and the known values keep their
//! series and exact counts. The defaults keep every built-in instrument below the
//! exporter's per-instrument cardinality limit (the arithmetic is in
//! [`Budget`]), whose overflow series would merge every label.
//!
//! # Bad input
//!
//! Negative, NaN or infinite durations, zero or inexact amounts (above 2^53), unknown
//! currencies, empty or overlong names, and a session ended twice return a
//! [`RecordError`]; nothing of the event is recorded and `business.rejected_events` is
//! incremented with the error's [`reason`](RecordError::reason). Nothing panics.
//!
//! # Revenue per minute
//!
//! `business.revenue_per_minute_cents` is computed in-process: a rolling 60-second
//! window of one-second buckets per region, bounded in memory, read by an observable
//! gauge. The [`Clock`] is injectable ([`ManualClock`]) so tests are exact.
//!
//! # Cost on the hot path
//!
//! Label discipline keeps the set of label combinations small, so each
//! [`BusinessMetrics`] keeps the combinations it has seen (funnel contexts; sales by
//! currency, category, payment method and region) with their series resolved: the
//! first event of a combination is validated and resolved, later ones are a lock-free
//! lookup and one update per instrument, with no heap allocation.
//!
//! Counters (`business.funnel_step`, `business.conversions`,
//! `business.revenue_cents`, `business.feature_usage` and the service's own
//! counters) count in this crate's cells, one per attribute set, and are reported
//! as what they are: observable counters whose callbacks hand the SDK each attribute
//! set's cumulative total when a reader collects. Every update made before a
//! collection is in it, for every reader and either temporality (with delta
//! temporality, a series that counted nothing since the last export is exported
//! with a change of 0, as for any observable counter), and no view a
//! service writes (renaming, dropping or re-aggregating any instrument) can hold a
//! count back. A cell that threads contend on spreads over striped atomics, one
//! cache line per stripe, so threads recording the same series do not take turns
//! on a line; the revenue-per-minute window does the same. Build one instance per
//! meter provider: two instances on one provider would report the same attribute
//! sets twice, and the SDK keeps only one of the two totals. Each counter keeps up
//! to 2000 attribute sets, the SDK's default cardinality limit; set
//! [`with_counter_series_limit`](BusinessMetricsBuilder::with_counter_series_limit)
//! to the limit your provider's streams have (`business-metrics-exporter` does).
//! Counts on further attribute sets are summed under `otel.metric.overflow="true"`.
//!
//! Histograms go to the SDK as measurements. With the `bound-instruments` feature
//! the cached ones are the OpenTelemetry API's bound histograms, which skip the
//! SDK's per-call attribute lookup. Enable that feature
//! only with `opentelemetry_sdk`'s `experimental_metrics_bound_instruments` (an SDK
//! built without it drops what bound instruments record);
//! `business-metrics-exporter` enables both. The caches hold 2048 combinations of
//! each kind by default
//! ([`with_series_cache_capacity`](BusinessMetricsBuilder::with_series_cache_capacity));
//! past that, combinations are recorded the same way at the cost of a lookup.
//! Cached series are never dropped while the instance lives. The steps and
//! conversions of every catalog funnel, sales, and each service instrument's
//! attribute values are cached; conversion types no funnel records, milestones,
//! feature usage, sessions and active users take the plain path.
//!
//! For the hottest paths, resolve a combination once and hold the handle, as one
//! would hold a pre-bound instrument: [`BusinessMetrics::bind_funnel`] and
//! [`BusinessMetrics::bind_sale`] validate once, and every later call on the
//! [`BoundFunnel`] or [`BoundSale`] goes straight to its series, with no validation,
//! lookup or allocation (a sale still checks its amount):
//!
//! ```
//! use business_metrics::{BusinessMetrics, CheckoutStep, DeviceType, FunnelContext, Sale};
//!
//! # fn main() -> Result<(), business_metrics::RecordError> {
//! let metrics = BusinessMetrics::new_global();
//! // Once, at start-up or on a combination's first use:
//! let mobile_ads = metrics.bind_funnel(&FunnelContext::new("google_ads", DeviceType::Mobile))?;
//! let books_by_card = metrics.bind_sale(&Sale::new("books", "card", "eu_central"))?;
//!
//! // Per request:
//! mobile_ads.step(CheckoutStep::CartView);
//! mobile_ads.purchase_completed(&books_by_card, 2_499, 310.0)?;
//! books_by_card.record(1_250)?;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! | Feature | Default | Adds |
//! |---|---|---|
//! | `bound-instruments` | off | cached series recorded through the OpenTelemetry API's bound instruments ([above](#cost-on-the-hot-path)) |
//! | `http-server` | off | module `http_server`: `HttpServerMetricsLayer`, a tower `Layer` recording `http.server.request.duration` for every request of an axum or any tower HTTP service, per the OpenTelemetry HTTP semantic conventions (with its service `HttpServerMetrics` and `UrlScheme`, also re-exported here); depends on `http`, `tower-layer`, `tower-service` and `pin-project-lite` |
//!
//! # Related crates
//!
//! - `business-metrics-exporter`: SDK pipelines (OTLP, Prometheus bridge) configured
//!   from the standard environment variables, with views built from the catalog.
//! - `business-metrics-analysis`: funnel and correlation analysis against Prometheus
//!   (the `bizmetrics` CLI).
//! - `shop` (in `examples/shop`): a demo service using both.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod bound;
mod budget;
pub mod catalog;
mod clock;
mod currency;
mod custom;
pub mod define;
mod docs;
mod engagement;
mod error;
mod funnel_series;
pub mod generate;
#[cfg(feature = "http-server")]
pub mod http_server;
mod input;
mod instruments;
mod labels;
mod metrics;
mod registry;
mod revenue_window;
mod sale_series;
mod series;
mod tracker;
mod types;
mod validate;

pub use bound::{BoundFunnel, BoundSale};
pub use budget::{Budget, DEFAULT_CUSTOM_BUDGET};
pub use clock::{Clock, ManualClock, SystemClock};
pub use currency::{Currency, Money};
pub use custom::Instrument;
pub use define::{
    ClosedSet, Funnel, FunnelDefinition, FunnelSettings, ParseEnumError, MILESTONE_PREFIX,
};
pub use docs::render_metrics_markdown;
pub use engagement::{EngagementContext, EngagementSession};
pub use error::{PolicyError, RecordError, REJECT_REASONS};
#[cfg(feature = "http-server")]
pub use http_server::{HttpServerMetrics, HttpServerMetricsLayer, UrlScheme};
pub use input::{ClosedValue, CurrencyCode, FunnelContext, LabelArg, Revenue, Sale};
pub use labels::{Dimension, LabelPolicy, LabelPolicyBuilder};
pub use metrics::{
    instrumentation_scope, BusinessMetrics, BusinessMetricsBuilder, OVERFLOW_ATTRIBUTE, SCOPE_NAME,
};
pub use registry::{
    Catalog, CatalogBuilder, CatalogEntry, DefinitionError, Origin, ENGAGEMENT_FUNNEL,
};
pub use tracker::{CheckoutTracker, FunnelTracker};
pub use types::{
    ActiveWindow, CheckoutStep, DeviceType, FunnelStep, UserTier, CHECKOUT_ERROR_STEP,
    CHECKOUT_STEP_VALUES, DEFAULT_EXPERIMENT_VARIANT, PURCHASE_CONVERSION,
};
pub use validate::MAX_AMOUNT_MINOR;

#[doc(hidden)]
pub use define::__private;
