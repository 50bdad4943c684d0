//! Engagement in one session: feature usage, milestones, and the session's length.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::StringValue;

use crate::define::ClosedSet;
use crate::error::RecordError;
use crate::funnel_series::FunnelLabels;
use crate::input::{ClosedValue, FunnelContext};
use crate::labels::Dimension;
use crate::metrics::BusinessMetrics;
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
            Ok((
                self.label(Dimension::EntryPage, ctx.entry_page)?,
                self.funnel_labels(ENGAGEMENT_FUNNEL, funnel)?,
            ))
        })())?;
        Ok(EngagementSession {
            metrics: self.clone(),
            funnel,
            user_tier: ctx.user_tier.into(),
            is_new_user: ctx.is_new_user,
            entry_page,
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
        let feature = m.rejected(m.label(Dimension::FeatureName, feature_name))?;
        m.add_feature_usage(feature, self.user_tier, self.is_new_user);
        Ok(())
    }

    /// Records the funnel step `milestone_<name>`.
    ///
    /// # Errors
    /// An empty or overlong milestone name.
    pub fn milestone(&self, name: &str) -> Result<(), RecordError> {
        let m = &self.metrics;
        let step = m.rejected(m.milestone_step(name))?;
        m.add_plain_step(&self.funnel, step);
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
