//! Open sessions, bounded in number and expired when idle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use business_metrics::{CheckoutTracker, EngagementSession};
use rand::RngCore;

use crate::error::AppError;

/// One visitor's session: its checkout funnel and its engagement.
#[derive(Debug)]
pub struct Session {
    /// The checkout funnel, with the session's source, device and variant.
    pub checkout: CheckoutTracker<'static>,
    /// Feature usage, milestones and the session duration (recorded when the last
    /// reference to the session goes, if not ended before).
    pub engagement: EngagementSession,
    /// The sales region of the session's orders.
    pub region: String,
    last_seen: Mutex<Instant>,
}

impl Session {
    /// A session seen now.
    pub fn new(
        checkout: CheckoutTracker<'static>,
        engagement: EngagementSession,
        region: String,
    ) -> Self {
        Self {
            checkout,
            engagement,
            region,
            last_seen: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *self
            .last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(
            *self
                .last_seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// The open sessions by id.
#[derive(Debug)]
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    max_sessions: usize,
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SessionStore {
    /// A store holding at most `max_sessions` open sessions.
    pub fn new(max_sessions: usize) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            max_sessions,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a session under a new random id.
    pub fn insert(&self, session: Session) -> Result<String, AppError> {
        let mut sessions = self.lock();
        if sessions.len() >= self.max_sessions {
            return Err(AppError::TooManySessions);
        }
        let id = new_id();
        sessions.insert(id.clone(), Arc::new(session));
        Ok(id)
    }

    /// The open session with this id.
    pub fn get(&self, id: &str) -> Result<Arc<Session>, AppError> {
        let session = self
            .lock()
            .get(id)
            .cloned()
            .ok_or(AppError::UnknownSession)?;
        session.touch();
        Ok(session)
    }

    /// Closes the session with this id and returns it.
    pub fn remove(&self, id: &str) -> Result<Arc<Session>, AppError> {
        self.lock().remove(id).ok_or(AppError::UnknownSession)
    }

    /// Closes sessions idle for at least `idle`; their durations are recorded as
    /// they drop. Returns how many were closed.
    pub fn expire_idle(&self, idle: Duration) -> usize {
        let now = Instant::now();
        let expired: Vec<Arc<Session>> = {
            let mut sessions = self.lock();
            let ids: Vec<String> = sessions
                .iter()
                .filter(|(_, s)| s.idle_for(now) >= idle)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| sessions.remove(id)).collect()
        };
        // Dropped outside the lock: recording must not hold up other requests.
        expired.len()
    }

    /// Closes every session (at shutdown), recording their durations.
    pub fn close_all(&self) -> usize {
        let all: Vec<Arc<Session>> = self.lock().drain().map(|(_, s)| s).collect();
        all.len()
    }

    /// The number of open sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use business_metrics::{
        BusinessMetrics, DeviceType, EngagementContext, FunnelContext, UserTier,
    };

    fn session() -> Session {
        let m = BusinessMetrics::new_global();
        let funnel = FunnelContext::new("direct", DeviceType::Desktop);
        let engagement = EngagementContext {
            user_tier: UserTier::Free,
            entry_page: "/",
            is_new_user: false,
        };
        Session::new(
            m.checkout(&funnel, m.now()).unwrap().into_owned(),
            m.engagement(&engagement, &funnel).unwrap(),
            "eu".to_owned(),
        )
    }

    #[test]
    fn the_store_refuses_sessions_past_its_bound() {
        let store = SessionStore::new(2);
        let a = store.insert(session()).unwrap();
        store.insert(session()).unwrap();
        assert!(matches!(
            store.insert(session()),
            Err(AppError::TooManySessions)
        ));
        store.remove(&a).unwrap();
        assert!(store.insert(session()).is_ok());
        assert!(matches!(store.get("nope"), Err(AppError::UnknownSession)));
        assert!(matches!(store.remove(&a), Err(AppError::UnknownSession)));
    }

    #[test]
    fn idle_sessions_expire_and_active_ones_stay() {
        let store = SessionStore::new(10);
        let id = store.insert(session()).unwrap();
        assert_eq!(store.expire_idle(Duration::from_secs(60)), 0);
        assert_eq!(store.expire_idle(Duration::ZERO), 1);
        assert!(store.is_empty());
        assert!(matches!(store.get(&id), Err(AppError::UnknownSession)));
        store.insert(session()).unwrap();
        assert_eq!(store.close_all(), 1);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn session_ids_are_random_128_bit_hex() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
