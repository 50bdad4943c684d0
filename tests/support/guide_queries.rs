//! The guide's five PromQL queries, verbatim, and the adoption query with its vector
//! matching fixed as the recording rule has it.

pub const CONVERSION_RATE: &str = r#"sum(rate(business_funnel_step_total{step="order_confirmed"}[1h]))
/
sum(rate(business_funnel_step_total{step="cart_view"}[1h]))
* 100"#;

pub const REVENUE_PER_MINUTE_BY_REGION: &str =
    r#"sum by (region) (rate(business_revenue_cents_total[5m])) * 60"#;

pub const MEDIAN_ORDER_VALUE_BY_CATEGORY: &str = r#"histogram_quantile(0.5,
    sum by (product_category, le) (
        rate(business_order_value_cents_bucket[1h])
    )
)"#;

pub const NEW_USER_FEATURE_ADOPTION: &str = r#"sum(rate(business_feature_usage_total{is_new_user="true"}[24h])) by (feature_name)
/
sum(rate(business_feature_usage_total{is_new_user="true"}[24h]))
* 100"#;

pub const SESSION_DURATION_P95_BY_TIER: &str = r#"histogram_quantile(0.95,
    sum by (user_tier, le) (
        rate(business_session_duration_seconds_bucket[1h])
    )
)"#;

/// The adoption query with its vector matching fixed (as in the recording rule): the
/// per-feature sum is divided by the total ignoring `feature_name`.
pub const NEW_USER_FEATURE_ADOPTION_FIXED: &str = r#"sum(rate(business_feature_usage_total{is_new_user="true"}[24h])) by (feature_name)
/ ignoring (feature_name) group_left ()
sum(rate(business_feature_usage_total{is_new_user="true"}[24h]))
* 100"#;
