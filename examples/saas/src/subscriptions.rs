//! Active subscriptions, and the MRR and seat totals derived from them.
//!
//! Every change (a start, a seat change, a cancellation) updates the totals of the
//! plan, region and currency it touches and sets their gauges, all under one lock,
//! so the gauges always show the store's state and never an older one.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use business_metrics::{Currency, Money, RecordError};

use crate::definitions::Plan;
use crate::error::{AppError, Resource};
use crate::metrics::SaasMetrics;
use crate::pricing;
use crate::store::new_id;

/// How long after arriving a customer counts as new (`is_new_user`).
pub const NEW_CUSTOMER_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// An active subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The plan.
    pub plan: Plan,
    /// The sales region, as the label policy passed it.
    pub region: String,
    /// The monthly price of a seat.
    pub seat_price: Money,
    /// The seats paid for.
    pub seats: u64,
    /// When the customer first arrived (the visit, or the trial's start).
    pub customer_since: SystemTime,
}

impl Subscription {
    /// What a month of the subscription costs.
    pub fn monthly_amount(&self) -> Money {
        pricing::monthly_amount(self.seat_price, self.seats)
    }

    /// Whether the customer arrived within [`NEW_CUSTOMER_WINDOW`] before `now`.
    pub fn is_new_customer(&self, now: SystemTime) -> bool {
        now.duration_since(self.customer_since).unwrap_or_default() < NEW_CUSTOMER_WINDOW
    }

    fn mrr_key(&self) -> MrrKey {
        (self.plan, self.region.clone(), self.seat_price.currency)
    }
}

type MrrKey = (Plan, String, Currency);

#[derive(Debug, Default)]
struct Book {
    subscriptions: HashMap<String, Subscription>,
    mrr: HashMap<MrrKey, u64>,
    seats: HashMap<Plan, u64>,
}

impl Book {
    fn add(&mut self, s: &Subscription) {
        let mrr = self.mrr.entry(s.mrr_key()).or_default();
        *mrr = mrr.saturating_add(s.monthly_amount().amount_minor);
        let seats = self.seats.entry(s.plan).or_default();
        *seats = seats.saturating_add(s.seats);
    }

    fn subtract(&mut self, s: &Subscription) {
        let mrr = self.mrr.entry(s.mrr_key()).or_default();
        *mrr = mrr.saturating_sub(s.monthly_amount().amount_minor);
        let seats = self.seats.entry(s.plan).or_default();
        *seats = seats.saturating_sub(s.seats);
    }

    fn mrr(&self, plan: Plan, region: &str, currency: Currency) -> u64 {
        self.mrr
            .get(&(plan, region.to_owned(), currency))
            .copied()
            .unwrap_or(0)
    }

    fn seats(&self, plan: Plan) -> u64 {
        self.seats.get(&plan).copied().unwrap_or(0)
    }

    /// Sets the gauges of the totals `s` contributes to.
    fn publish(&self, s: &Subscription, metrics: &SaasMetrics) -> Result<(), RecordError> {
        let currency = s.seat_price.currency;
        let mrr = self.mrr(s.plan, &s.region, currency);
        metrics.set_mrr(s.plan, &s.region, Money::new(mrr, currency))?;
        metrics.set_seats(s.plan, self.seats(s.plan))
    }
}

/// The active subscriptions by id, at most `capacity` of them.
#[derive(Debug)]
pub struct SubscriptionStore {
    book: Mutex<Book>,
    capacity: usize,
}

impl SubscriptionStore {
    /// An empty store.
    pub fn new(capacity: usize) -> Self {
        Self {
            book: Mutex::new(Book::default()),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a subscription and updates MRR and seats; returns its id.
    ///
    /// # Errors
    /// [`AppError::TooMany`] when the store is full.
    pub fn start(&self, s: Subscription, metrics: &SaasMetrics) -> Result<String, AppError> {
        let mut book = self.lock();
        if book.subscriptions.len() >= self.capacity {
            return Err(AppError::TooMany(Resource::Subscription));
        }
        let id = new_id();
        book.add(&s);
        book.publish(&s, metrics)?;
        book.subscriptions.insert(id.clone(), s);
        Ok(id)
    }

    /// The subscription with this id.
    ///
    /// # Errors
    /// [`AppError::Unknown`] when none has it.
    pub fn get(&self, id: &str) -> Result<Subscription, AppError> {
        self.lock()
            .subscriptions
            .get(id)
            .cloned()
            .ok_or(AppError::Unknown(Resource::Subscription))
    }

    /// Changes the seats of a subscription and updates MRR and seats.
    ///
    /// # Errors
    /// [`AppError::Unknown`] when no subscription has this id.
    pub fn change_seats(
        &self,
        id: &str,
        seats: u64,
        metrics: &SaasMetrics,
    ) -> Result<Subscription, AppError> {
        let mut book = self.lock();
        let old = book
            .subscriptions
            .get(id)
            .cloned()
            .ok_or(AppError::Unknown(Resource::Subscription))?;
        let new = Subscription {
            seats,
            ..old.clone()
        };
        book.subtract(&old);
        book.add(&new);
        book.publish(&new, metrics)?;
        book.subscriptions.insert(id.to_owned(), new.clone());
        Ok(new)
    }

    /// Ends a subscription, updates MRR and seats, and returns it.
    ///
    /// # Errors
    /// [`AppError::Unknown`] when no subscription has this id.
    pub fn cancel(&self, id: &str, metrics: &SaasMetrics) -> Result<Subscription, AppError> {
        let mut book = self.lock();
        let s = book
            .subscriptions
            .remove(id)
            .ok_or(AppError::Unknown(Resource::Subscription))?;
        book.subtract(&s);
        book.publish(&s, metrics)?;
        Ok(s)
    }

    /// The MRR of a plan in a region and currency, in minor units.
    pub fn mrr(&self, plan: Plan, region: &str, currency: Currency) -> u64 {
        self.lock().mrr(plan, region, currency)
    }

    /// The seats paid for on a plan.
    pub fn seats(&self, plan: Plan) -> u64 {
        self.lock().seats(plan)
    }

    /// The number of active subscriptions.
    pub fn len(&self) -> usize {
        self.lock().subscriptions.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use business_metrics::BusinessMetrics;

    fn metrics() -> SaasMetrics {
        let meter = opentelemetry::global::meter("saas-test");
        let business = BusinessMetrics::builder(&meter)
            .with_catalog(crate::catalog().unwrap())
            .build();
        SaasMetrics::new(business).unwrap()
    }

    fn subscription(plan: Plan, region: &str, currency: Currency, seats: u64) -> Subscription {
        Subscription {
            plan,
            region: region.to_owned(),
            seat_price: pricing::seat_price(plan, currency).unwrap(),
            seats,
            customer_since: SystemTime::now(),
        }
    }

    /// The totals recomputed from scratch, to check the running ones against.
    fn recomputed(store: &SubscriptionStore) -> (HashMap<MrrKey, u64>, HashMap<Plan, u64>) {
        let book = store.lock();
        let mut mrr: HashMap<MrrKey, u64> = HashMap::new();
        let mut seats: HashMap<Plan, u64> = HashMap::new();
        for s in book.subscriptions.values() {
            *mrr.entry(s.mrr_key()).or_default() += s.monthly_amount().amount_minor;
            *seats.entry(s.plan).or_default() += s.seats;
        }
        (mrr, seats)
    }

    #[test]
    fn running_totals_match_a_recomputation_after_every_change() {
        let m = metrics();
        let store = SubscriptionStore::new(100);
        let a = store
            .start(subscription(Plan::Team, "eu", Currency::EUR, 3), &m)
            .unwrap();
        let b = store
            .start(subscription(Plan::Team, "eu", Currency::EUR, 2), &m)
            .unwrap();
        store
            .start(subscription(Plan::Team, "us", Currency::USD, 1), &m)
            .unwrap();
        assert_eq!(store.mrr(Plan::Team, "eu", Currency::EUR), 5 * 2_900);
        assert_eq!(store.seats(Plan::Team), 6);
        store.change_seats(&a, 10, &m).unwrap();
        assert_eq!(store.mrr(Plan::Team, "eu", Currency::EUR), 12 * 2_900);
        store.cancel(&b, &m).unwrap();
        assert_eq!(store.mrr(Plan::Team, "eu", Currency::EUR), 10 * 2_900);
        assert_eq!(store.seats(Plan::Team), 11);
        let (mrr, seats) = recomputed(&store);
        let book = store.lock();
        for (key, total) in &book.mrr {
            assert_eq!(mrr.get(key).copied().unwrap_or(0), *total, "{key:?}");
        }
        for (plan, total) in &book.seats {
            assert_eq!(seats.get(plan).copied().unwrap_or(0), *total, "{plan:?}");
        }
    }

    #[test]
    fn the_store_is_bounded_and_unknown_ids_are_refused() {
        let m = metrics();
        let store = SubscriptionStore::new(1);
        let id = store
            .start(subscription(Plan::Starter, "eu", Currency::GBP, 1), &m)
            .unwrap();
        assert!(matches!(
            store.start(subscription(Plan::Starter, "eu", Currency::GBP, 1), &m),
            Err(AppError::TooMany(Resource::Subscription))
        ));
        assert!(matches!(
            store.change_seats("nope", 2, &m),
            Err(AppError::Unknown(Resource::Subscription))
        ));
        assert_eq!(store.cancel(&id, &m).unwrap().seats, 1);
        assert!(store.is_empty());
        assert_eq!(store.mrr(Plan::Starter, "eu", Currency::GBP), 0);
    }

    #[test]
    fn customers_are_new_for_a_week() {
        let now = SystemTime::now();
        let mut s = subscription(Plan::Business, "eu", Currency::USD, 1);
        s.customer_since = now - Duration::from_secs(6 * 24 * 3600);
        assert!(s.is_new_customer(now));
        s.customer_since = now - Duration::from_secs(8 * 24 * 3600);
        assert!(!s.is_new_customer(now));
    }
}
