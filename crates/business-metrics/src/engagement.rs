//! Engagement in one session: feature usage, milestones, and the session's length.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::StringValue;

use crate::budget::Folded;
use crate::define::ClosedSet;
use crate::error::RecordError;
use crate::funnel_series::FunnelLabels;
use crate::input::{ClosedValue, FunnelContext};
use crate::labels::Dimension;
use crate::metrics::{string_value, BusinessMetrics};
use crate::registry::ENGAGEMENT_FUNNEL;
use crate::types::UserTier;

/// Who the engaged user is. The tier is a [`UserTier`] or the service's own plans
/// (any [`ClosedSet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngagementContext<'a, T: ClosedSet = UserTier> {
    /// The user's plan.
    pub user_tier: T,
    /// The page the session started on; passes the label policy.
    pub entry_page: &'a str,
    /// Whether the user signed up recently.
    pub is_new_user: bool,
}

/// One user session: records feature usage and `milestone_<name>` steps (under
/// `funnel="engagement"`), and
/// its duration exactly once, on [`end`](Self::end) or, failing that, on drop.
///
/// Share it between handlers behind an `Arc`; ending it twice is refused.
#[derive(Debug)]
pub struct EngagementSession {
    metrics: BusinessMetrics,
    funnel: FunnelLabels,
    user_tier: ClosedValue,
    is_new_user: bool,
    entry_page: StringValue,
    /// The entry page, if a budget folded it: counted when the duration is recorded.
    entry_page_folded: Folded,
    started: Instant,
    ended: AtomicBool,
}

impl BusinessMetrics {
    /// Starts an engagement session now. Milestones are recorded as funnel steps with
    /// the given funnel context.
    ///
    /// # Errors
    /// An entry page, source or experiment variant refused by the label policy.
    pub fn engagement<T: ClosedSet>(
        &self,
        ctx: &EngagementContext<'_, T>,
        funnel: &FunnelContext<'_>,
    ) -> Result<EngagementSession, RecordError> {
        let (entry_page, funnel) = self.rejected((|| {
            let entry_page = self
                .label_policy()
                .apply(Dimension::EntryPage, ctx.entry_page)?;
            Ok((entry_page, self.funnel_labels(ENGAGEMENT_FUNNEL, funnel)?))
        })())?;
        let mut entry_page_folded = Folded::default();
        let entry_page =
            string_value(self.admit(Dimension::EntryPage, entry_page, &mut entry_page_folded));
        Ok(EngagementSession {
            metrics: self.clone(),
            funnel,
            user_tier: ctx.user_tier.into(),
            is_new_user: ctx.is_new_user,
            entry_page,
            entry_page_folded,
            started: self.now(),
            ended: AtomicBool::new(false),
        })
    }
}

impl EngagementSession {
    /// When the session started.
    #[must_use]
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Whether the session's duration has been recorded.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Records one use of a feature.
    ///
    /// # Errors
    /// An empty or overlong feature name.
    pub fn feature_used(&self, feature_name: &str) -> Result<(), RecordError> {
        let m = &self.metrics;
        let mut folded = Folded::default();
        let feature = m.rejected(m.label(Dimension::FeatureName, feature_name, &mut folded))?;
        m.add_feature_usage(feature, self.user_tier, self.is_new_user);
        m.count_folded(&folded);
        Ok(())
    }

    /// Records the funnel step `milestone_<name>`.
    ///
    /// # Errors
    /// An empty or overlong milestone name.
    pub fn milestone(&self, name: &str) -> Result<(), RecordError> {
        let m = &self.metrics;
        let name = m.rejected(m.check_milestone(name))?;
        let mut folded = Folded::default();
        let step = m.admit_milestone(name, &mut folded);
        m.add_plain_step(&self.funnel, step, &folded);
        Ok(())
    }

    /// Ends the session and records its duration, which it returns.
    ///
    /// # Errors
    /// [`RecordError::SessionAlreadyEnded`] on every call after the first.
    pub fn end(&self) -> Result<Duration, RecordError> {
        if self.ended.swap(true, Ordering::AcqRel) {
            return self.metrics.rejected(Err(RecordError::SessionAlreadyEnded));
        }
        Ok(self.record_duration())
    }

    fn record_duration(&self) -> Duration {
        let elapsed = self.metrics.now().saturating_duration_since(self.started);
        self.metrics.add_session_duration(
            elapsed.as_secs_f64(),
            self.user_tier,
            self.entry_page.clone(),
        );
        self.metrics.count_folded(&self.entry_page_folded);
        elapsed
    }
}

impl Drop for EngagementSession {
    fn drop(&mut self) {
        if !self.ended.swap(true, Ordering::AcqRel) {
            self.record_duration();
        }
    }
}
