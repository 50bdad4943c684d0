//! The resource: what identifies this process in every export.

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::{Resource, TelemetryResourceDetector};
use rand::RngCore;

use crate::config::ResourceConfig;

/// `service.name`.
pub const SERVICE_NAME: &str = "service.name";
/// `service.version`.
pub const SERVICE_VERSION: &str = "service.version";
/// `service.instance.id`.
pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";
/// `deployment.environment`: the older name, still written for older consumers.
pub const DEPLOYMENT_ENVIRONMENT: &str = "deployment.environment";
/// `deployment.environment.name`: the current semantic convention.
pub const DEPLOYMENT_ENVIRONMENT_NAME: &str = "deployment.environment.name";

/// A random UUID version 4 (lower-case, hyphenated), new on every call.
///
/// The bits come from the thread-local generator seeded by the operating system.
pub fn new_instance_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    // Version 4, variant 10xx.
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

/// Builds the SDK resource: the extra attributes first, then the service
/// attributes (which win), then `telemetry.sdk.*`.
pub(crate) fn build(config: &ResourceConfig) -> Resource {
    let mut attributes: Vec<KeyValue> = config
        .attributes
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attributes.push(KeyValue::new(SERVICE_NAME, config.service_name.clone()));
    attributes.push(KeyValue::new(
        SERVICE_INSTANCE_ID,
        config.service_instance_id.clone(),
    ));
    if let Some(v) = &config.service_version {
        attributes.push(KeyValue::new(SERVICE_VERSION, v.clone()));
    }
    if let Some(v) = &config.deployment_environment {
        attributes.push(KeyValue::new(DEPLOYMENT_ENVIRONMENT_NAME, v.clone()));
        attributes.push(KeyValue::new(DEPLOYMENT_ENVIRONMENT, v.clone()));
    }
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(attributes)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::{Key, Value};

    #[test]
    fn instance_ids_are_uuid_v4_and_unique() {
        let a = new_instance_id();
        let b = new_instance_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(
            parts[3].chars().next(),
            Some('8' | '9' | 'a' | 'b')
        ));
        assert!(a
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn resource_holds_service_attributes_over_extra_ones() {
        let r = build(&ResourceConfig {
            service_name: "shop".into(),
            service_version: Some("1.2.3".into()),
            service_instance_id: "id-1".into(),
            deployment_environment: Some("prod".into()),
            attributes: vec![
                ("service.name".into(), "ignored".into()),
                ("team".into(), "growth".into()),
            ],
        });
        let get = |k: &'static str| r.get(&Key::from_static_str(k));
        assert_eq!(get("service.name"), Some(Value::from("shop")));
        assert_eq!(get("service.version"), Some(Value::from("1.2.3")));
        assert_eq!(get("service.instance.id"), Some(Value::from("id-1")));
        assert_eq!(get("deployment.environment"), Some(Value::from("prod")));
        assert_eq!(
            get("deployment.environment.name"),
            Some(Value::from("prod"))
        );
        assert_eq!(get("team"), Some(Value::from("growth")));
        assert_eq!(get("telemetry.sdk.language"), Some(Value::from("rust")));
    }
}
