//! What callers pass in: funnel contexts, sales and their amounts.

use crate::currency::Currency;
use crate::define::ClosedSet;
use crate::types::DeviceType;

/// A value of a closed set (a [`DeviceType`], or a service's own enum declared
/// with [`closed_set!`](crate::closed_set)): only made from such an enum, so it is
/// always one of the set's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClosedValue(&'static str);

impl ClosedValue {
    /// The attribute value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl<T: ClosedSet> From<T> for ClosedValue {
    fn from(value: T) -> Self {
        Self(value.label())
    }
}

/// A label value given to a service instrument: text (checked against a closed
/// set, or passed through the label policy) or a closed set's value.
///
/// Arrays of one kind convert themselves (`[Plan::Team]`, `["eu"]`); to mix
/// kinds, make the first one a `LabelArg`: `[LabelArg::from(Plan::Team), region.into()]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelArg<'a> {
    /// Text.
    Text(&'a str),
    /// A closed set's value.
    Closed(ClosedValue),
}

impl<'a> LabelArg<'a> {
    /// The value as text.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        match *self {
            Self::Text(s) => s,
            Self::Closed(v) => v.as_str(),
        }
    }
}

impl<'a> From<&'a str> for LabelArg<'a> {
    fn from(s: &'a str) -> Self {
        Self::Text(s)
    }
}

impl<'a> From<&'a String> for LabelArg<'a> {
    fn from(s: &'a String) -> Self {
        Self::Text(s)
    }
}

impl<T: ClosedSet> From<T> for LabelArg<'_> {
    fn from(v: T) -> Self {
        Self::Closed(ClosedValue(v.label()))
    }
}

impl From<ClosedValue> for LabelArg<'_> {
    fn from(v: ClosedValue) -> Self {
        Self::Closed(v)
    }
}

/// Who is in a funnel: the attributes every funnel step carries besides `funnel`
/// and `step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunnelContext<'a> {
    /// Traffic source (`google_ads`, `direct`, ...); passes the label policy.
    pub source: &'a str,
    /// Device type: a [`DeviceType`] or the service's own device kinds.
    pub device_type: ClosedValue,
    /// Experiment variant; `None` records `control`.
    pub experiment_variant: Option<&'a str>,
}

impl<'a> FunnelContext<'a> {
    /// A context in the `control` variant.
    #[must_use]
    pub const fn new(source: &'a str, device_type: DeviceType) -> Self {
        Self {
            source,
            device_type: ClosedValue(device_type.as_str()),
            experiment_variant: None,
        }
    }

    /// A context whose device kind is the service's own closed set.
    #[must_use]
    pub fn with_device_kind(source: &'a str, device_kind: impl ClosedSet) -> Self {
        Self {
            source,
            device_type: ClosedValue(device_kind.label()),
            experiment_variant: None,
        }
    }

    /// Sets the experiment variant.
    #[must_use]
    pub const fn with_experiment_variant(mut self, variant: &'a str) -> Self {
        self.experiment_variant = Some(variant);
        self
    }
}

impl From<DeviceType> for FunnelContext<'static> {
    /// A `direct` visit from a device, in the `control` variant.
    fn from(device_type: DeviceType) -> Self {
        Self::new("direct", device_type)
    }
}

/// A currency as given: already parsed, or a code parsed when the sale is first
/// resolved (and refused there with [`RecordError::UnknownCurrency`](crate::RecordError::UnknownCurrency)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurrencyCode<'a> {
    /// A parsed currency: never parsed again.
    Parsed(Currency),
    /// An ISO 4217 code, any case.
    Code(&'a str),
}

impl CurrencyCode<'_> {
    /// The text a cache key uses.
    pub(crate) fn key(&self) -> &str {
        match self {
            Self::Parsed(c) => c.code(),
            Self::Code(s) => s,
        }
    }

    pub(crate) fn currency(&self) -> Result<Currency, crate::RecordError> {
        match self {
            Self::Parsed(c) => Ok(*c),
            Self::Code(s) => Currency::parse(s),
        }
    }
}

impl From<Currency> for CurrencyCode<'_> {
    fn from(c: Currency) -> Self {
        Self::Parsed(c)
    }
}

impl<'a> From<&'a str> for CurrencyCode<'a> {
    fn from(code: &'a str) -> Self {
        Self::Code(code)
    }
}

impl<'a> From<&'a String> for CurrencyCode<'a> {
    fn from(code: &'a String) -> Self {
        Self::Code(code)
    }
}

/// A sale, without its amount: the labels of `business.revenue_cents`,
/// `business.order_value_cents` and the revenue window. Resolve it once with
/// [`BusinessMetrics::bind_sale`](crate::BusinessMetrics::bind_sale), or give it an
/// amount with [`with_amount`](Self::with_amount).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sale<'a> {
    /// The currency (default USD).
    pub currency: CurrencyCode<'a>,
    /// Product category; passes the label policy.
    pub product_category: &'a str,
    /// Payment method; passes the label policy.
    pub payment_method: &'a str,
    /// Sales region; passes the label policy.
    pub region: &'a str,
}

impl<'a> Sale<'a> {
    /// A sale in US dollars.
    #[must_use]
    pub const fn new(product_category: &'a str, payment_method: &'a str, region: &'a str) -> Self {
        Self {
            currency: CurrencyCode::Parsed(Currency::USD),
            product_category,
            payment_method,
            region,
        }
    }

    /// Sets the currency: a [`Currency`], or an ISO 4217 code to parse.
    #[must_use]
    pub fn with_currency(mut self, currency: impl Into<CurrencyCode<'a>>) -> Self {
        self.currency = currency.into();
        self
    }

    /// This sale with an amount, for [`record_revenue`](crate::BusinessMetrics::record_revenue).
    #[must_use]
    pub const fn with_amount(self, amount_minor: u64) -> Revenue<'a> {
        Revenue {
            amount_minor,
            sale: self,
        }
    }
}

/// A sale with its amount: recorded on `business.revenue_cents`,
/// `business.order_value_cents` and the revenue-per-minute window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revenue<'a> {
    /// The amount in the currency's minor unit (cents for USD, yen for JPY, fils for
    /// KWD); 1 to [`MAX_AMOUNT_MINOR`](crate::MAX_AMOUNT_MINOR).
    pub amount_minor: u64,
    /// What was sold, how and where.
    pub sale: Sale<'a>,
}

impl<'a> Revenue<'a> {
    /// A sale in US dollars.
    #[must_use]
    pub const fn new(
        amount_minor: u64,
        product_category: &'a str,
        payment_method: &'a str,
        region: &'a str,
    ) -> Self {
        Sale::new(product_category, payment_method, region).with_amount(amount_minor)
    }

    /// Sets the currency: a [`Currency`], or an ISO 4217 code to parse.
    #[must_use]
    pub fn with_currency(mut self, currency: impl Into<CurrencyCode<'a>>) -> Self {
        self.sale.currency = currency.into();
        self
    }

    /// The sale's labels, without the amount.
    #[must_use]
    pub const fn sale(&self) -> Sale<'a> {
        self.sale
    }
}
