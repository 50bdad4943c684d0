//! The built-in closed sets (device types, user tiers, windows) and the checkout
//! funnel: definitions like any a service declares.

use crate::closed_set;

closed_set! {
    /// How the visitor reached the service (`device_type`).
    #[non_exhaustive]
    pub enum DeviceType: "device_type" {
        /// A phone.
        Mobile => "mobile",
        /// A desktop or laptop browser.
        Desktop => "desktop",
        /// A tablet.
        Tablet => "tablet",
        /// Anything else (TV, console, bot, unknown).
        Other => "other",
    }
}

crate::funnel! {
    /// The checkout funnel's steps, in order: the built-in funnel
    /// (`funnel="checkout"`), whose error step is `checkout_error` and whose
    /// completion records a `purchase` conversion.
    #[non_exhaustive]
    pub enum CheckoutStep: "checkout" {
        /// The visitor views the cart: the funnel's entry.
        CartView => "cart_view",
        /// Shipping details entered.
        ShippingInfo => "shipping_info",
        /// Payment details entered.
        PaymentInfo => "payment_info",
        /// The order is reviewed before confirmation.
        OrderReview => "order_review",
        /// The order is placed: the conversion.
        OrderConfirmed => "order_confirmed",
    }
    error_step: Some(CHECKOUT_ERROR_STEP),
    conversion_type: Some(PURCHASE_CONVERSION),
    description: "A visitor's way from the cart to a confirmed order",
    owner: "growth",
    min_conversion_ratio: Some(0.02),
}

closed_set! {
    /// The customer's plan (`user_tier`).
    #[non_exhaustive]
    pub enum UserTier: "user_tier" {
        /// Free plan.
        Free => "free",
        /// Paid individual plan.
        Pro => "pro",
        /// Paid organisation plan.
        Enterprise => "enterprise",
    }
}

closed_set! {
    /// The window an active-user count covers (`window`).
    #[non_exhaustive]
    pub enum ActiveWindow: "window" {
        /// Distinct users over the last day.
        Daily => "daily",
        /// Distinct users over the last week.
        Weekly => "weekly",
        /// Distinct users over the last month.
        Monthly => "monthly",
    }
}

/// The `step` recorded for a failed checkout.
pub const CHECKOUT_ERROR_STEP: &str = "checkout_error";
/// The experiment variant recorded when none is given.
pub const DEFAULT_EXPERIMENT_VARIANT: &str = "control";
/// The conversion type recorded by the checkout tracker.
pub const PURCHASE_CONVERSION: &str = "purchase";

/// A step of a funnel, as recorded in the `step` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FunnelStep<'a> {
    /// One of the checkout steps.
    Checkout(CheckoutStep),
    /// A checkout that failed (`checkout_error`).
    CheckoutError,
    /// An engagement milestone, recorded as `milestone_<name>`; the name passes the
    /// label policy's [`Milestone`](crate::Dimension::Milestone) dimension.
    Milestone(&'a str),
}

impl From<CheckoutStep> for FunnelStep<'_> {
    fn from(step: CheckoutStep) -> Self {
        Self::Checkout(step)
    }
}

/// Every `step` value the checkout can record, in funnel order, then `checkout_error`.
pub const CHECKOUT_STEP_VALUES: &[&str] = &[
    "cart_view",
    "shipping_info",
    "payment_info",
    "order_review",
    "order_confirmed",
    CHECKOUT_ERROR_STEP,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_round_trip_through_their_attribute_values() {
        for d in DeviceType::ALL {
            assert_eq!(d.as_str().parse::<DeviceType>(), Ok(*d));
        }
        for s in CheckoutStep::ALL {
            assert_eq!(s.as_str().parse::<CheckoutStep>(), Ok(*s));
        }
        for t in UserTier::ALL {
            assert_eq!(t.to_string().parse::<UserTier>(), Ok(*t));
        }
        for w in ActiveWindow::ALL {
            assert_eq!(w.as_str().parse::<ActiveWindow>(), Ok(*w));
        }
        let steps: Vec<_> = CheckoutStep::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(steps, CHECKOUT_STEP_VALUES[..5]);
        // The recording path indexes CHECKOUT_STEP_VALUES by discriminant.
        for (i, s) in CheckoutStep::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert_eq!(CHECKOUT_STEP_VALUES[*s as usize], s.as_str());
        }
    }

    #[test]
    fn unknown_values_name_the_set_and_the_choices() {
        let err = "phone".parse::<DeviceType>().unwrap_err();
        assert_eq!(err.kind(), "device_type");
        assert_eq!(
            err.to_string(),
            "unknown device_type \"phone\"; expected one of: mobile, desktop, tablet, other"
        );
        assert!("Mobile".parse::<DeviceType>().is_err());
    }
}
