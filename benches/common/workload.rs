//! The reference workload: one purchase event is 9 instrument updates (5 funnel steps,
//! 1 conversion, 1 time-to-conversion observation, 1 revenue increment, 1 order-value
//! observation) whose label values come from fixed pools chosen by a counter `i`.

use std::time::Duration;

use business_metrics::{CheckoutStep, DeviceType, CHECKOUT_STEP_VALUES};

/// The checkout steps a purchase walks through, in funnel order: the catalog's
/// step values without `checkout_error`.
pub const STEPS: &[&str] = CHECKOUT_STEP_VALUES.split_at(CheckoutStep::ALL.len()).0;

/// The conversion type of a purchase: the checkout funnel's.
pub const PURCHASE: &str = <CheckoutStep as business_metrics::Funnel>::DEFINITION.conversion_type;

/// The `funnel` attribute of the checkout's steps.
pub const FUNNEL: &str = <CheckoutStep as business_metrics::Funnel>::DEFINITION.name;

/// The currency of every sale (a constant label of `business.revenue_cents` and
/// `business.order_value_cents`).
pub const CURRENCY: &str = "USD";

/// Instrument updates per purchase event.
pub const UPDATES_PER_EVENT: usize = 9;

/// The label value pools.
#[derive(Clone, Debug)]
pub struct Pools {
    pub sources: Vec<&'static str>,
    pub devices: Vec<DeviceType>,
    pub variants: Vec<&'static str>,
    pub categories: Vec<&'static str>,
    pub payments: Vec<&'static str>,
    pub regions: Vec<&'static str>,
}

/// One purchase event: every label value, the amount and the time to conversion.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub source: &'static str,
    pub device: DeviceType,
    pub variant: &'static str,
    pub category: &'static str,
    pub payment: &'static str,
    pub region: &'static str,
    pub amount_cents: u64,
    pub ttc_secs: f64,
    pub ttc: Duration,
    /// The funnel context's index among [`Pools::funnel_contexts`] (how a service
    /// holding one handle per context finds it).
    pub funnel: usize,
    /// The sale combination's index among the pools' sale combinations.
    pub sale: usize,
}

/// `named` followed by generated `prefix_NNN` values up to `n` values in all. The
/// strings live for the whole process, as a hand-written pool of literals would.
fn pool(named: &[&'static str], prefix: &str, n: usize) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = named.iter().copied().take(n).collect();
    for k in out.len()..n {
        out.push(String::leak(format!("{prefix}_{k:03}")));
    }
    out
}

const SOURCES: [&str; 4] = ["google_ads", "newsletter", "direct", "social"];
const DEVICES: [DeviceType; 3] = [DeviceType::Mobile, DeviceType::Desktop, DeviceType::Tablet];
const VARIANTS: [&str; 2] = ["control", "one_page"];
const CATEGORIES: [&str; 5] = ["electronics", "books", "clothing", "home", "toys"];
const PAYMENTS: [&str; 3] = ["card", "paypal", "bank_transfer"];
const REGIONS: [&str; 4] = ["us_east", "us_west", "eu_central", "ap_south"];

impl Pools {
    /// The small pools of the hot-path figures: source 4, device_type 3,
    /// experiment_variant 2, product_category 5, payment_method 3, region 4.
    pub fn small() -> Self {
        Self {
            sources: SOURCES.to_vec(),
            devices: DEVICES.to_vec(),
            variants: VARIANTS.to_vec(),
            categories: CATEGORIES.to_vec(),
            payments: PAYMENTS.to_vec(),
            regions: REGIONS.to_vec(),
        }
    }

    /// The large pools of the render, encode and memory figures: source 80,
    /// device_type 3, experiment_variant 4, product_category 10, payment_method 5,
    /// region 100; 10,051 series in all (see [`Pools::expected_series`]).
    pub fn large() -> Self {
        Self {
            sources: pool(&SOURCES, "source", 80),
            devices: DEVICES.to_vec(),
            variants: pool(&VARIANTS, "variant", 4),
            categories: pool(&CATEGORIES, "category", 10),
            payments: pool(&PAYMENTS, "payment", 5),
            regions: pool(&REGIONS, "region", 100),
        }
    }

    /// Funnel contexts: source x device_type x experiment_variant.
    pub fn funnel_contexts(&self) -> usize {
        self.sources.len() * self.devices.len() * self.variants.len()
    }

    pub fn sales(&self) -> usize {
        self.categories.len() * self.payments.len() * self.regions.len()
    }

    /// The `i`-th event. The funnel context (source, device, variant) and the sale
    /// (category, payment method, region) are mixed-radix digits of `i` modulo their
    /// own product, so the first [`Pools::covering_events`] events use every
    /// combination each instrument can see.
    pub fn event(&self, i: u64) -> Event {
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        let (s, d) = (self.sources.len(), self.devices.len());
        let f = i % self.funnel_contexts();
        let (c, p) = (self.categories.len(), self.payments.len());
        let r = i % self.sales();
        let ttc_whole = 10 + (i * 37) % 3_990;
        let ttc = Duration::from_millis(u64::try_from(ttc_whole * 1_000 + (i % 4) * 250).unwrap());
        Event {
            source: self.sources[f % s],
            device: self.devices[(f / s) % d],
            variant: self.variants[f / (s * d)],
            category: self.categories[r % c],
            payment: self.payments[(r / c) % p],
            region: self.regions[r / (c * p)],
            amount_cents: 500 + u64::try_from((i * 7_919) % 60_000).unwrap(),
            ttc_secs: ttc.as_secs_f64(),
            ttc,
            funnel: f,
            sale: r,
        }
    }

    /// How many events (from `i = 0`) use every label combination of every instrument.
    pub fn covering_events(&self) -> u64 {
        u64::try_from(self.funnel_contexts().max(self.sales())).unwrap()
    }

    /// Series (distinct attribute sets) the reference workload creates once
    /// [`Pools::covering_events`] events were recorded: funnel steps 5 x contexts,
    /// conversions source x device, one time-to-conversion histogram, revenue
    /// category x payment x region (one currency), order value per category.
    pub fn expected_series(&self) -> usize {
        STEPS.len() * self.funnel_contexts()
            + self.sources.len() * self.devices.len()
            + 1
            + self.sales()
            + self.categories.len()
    }

    /// One full cycle of events for the hot-path loops: the pattern of `event(i)`
    /// repeats after the least common multiple of the two combination counts.
    pub fn cycle(&self) -> Vec<Event> {
        let (a, b) = (self.funnel_contexts(), self.sales());
        let len = a / gcd(a, b) * b;
        (0..len as u64).map(|i| self.event(i)).collect()
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Walks a precomputed cycle of events from an offset, wrapping around, so the hot
/// loops spend no time computing label values.
#[derive(Debug)]
pub struct EventCycle<'a> {
    events: &'a [Event],
    next: usize,
}

impl<'a> EventCycle<'a> {
    pub fn new(events: &'a [Event], offset: usize) -> Self {
        assert!(!events.is_empty());
        Self {
            events,
            next: offset % events.len(),
        }
    }

    #[inline]
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> &'a Event {
        let ev = &self.events[self.next];
        self.next += 1;
        if self.next == self.events.len() {
            self.next = 0;
        }
        ev
    }
}
