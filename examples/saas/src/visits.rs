//! A visit: one visitor's run through the signup funnel.

use std::time::SystemTime;

use business_metrics::FunnelTracker;

use crate::definitions::SignupStep;

/// An open visit, kept in a [`Store`](crate::store::Store) until it subscribes,
/// fails or goes idle.
#[derive(Debug)]
pub struct Visit {
    /// The signup funnel run, with the visitor's source, device and variant
    /// (owning its handles, as it outlives the request that started it).
    pub signup: FunnelTracker<'static, SignupStep>,
    /// When the visitor arrived: a subscription's customer is new for a week from
    /// then.
    pub arrived: SystemTime,
}
