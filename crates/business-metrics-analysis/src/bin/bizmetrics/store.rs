//! How `bizmetrics` reaches a production store: credentials, headers, tenant, CA, and
//! the label matchers that keep one service's series apart from another's.

use std::path::PathBuf;
use std::time::Duration;

use business_metrics_analysis::{ClientError, Credentials, LabelMatcher, PrometheusClient, Secret};
use clap::Args;

/// The options every subcommand takes to reach the store and select one service.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Bearer token sent as `Authorization: Bearer <TOKEN>`.
    #[arg(
        long,
        global = true,
        env = "PROMETHEUS_BEARER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = secret,
        help_heading = "Store"
    )]
    bearer_token: Option<Secret>,
    /// File holding the bearer token (keeps it out of the process list).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Store")]
    bearer_token_file: Option<PathBuf>,
    /// Basic auth as `user:password` (Prometheus' web config, Grafana Cloud's
    /// instance id and token).
    #[arg(
        long,
        global = true,
        env = "PROMETHEUS_BASIC_AUTH",
        hide_env_values = true,
        value_name = "USER:PASSWORD",
        value_parser = secret,
        help_heading = "Store"
    )]
    basic_auth: Option<Secret>,
    /// File holding `user:password` (keeps it out of the process list).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Store")]
    basic_auth_file: Option<PathBuf>,
    /// Extra header sent with every request, `Name: value`; repeat for more.
    #[arg(
        long = "header",
        global = true,
        value_name = "NAME: VALUE",
        value_parser = secret,
        help_heading = "Store"
    )]
    headers: Vec<Secret>,
    /// Tenant of a multi-tenant store (Mimir, Cortex, Thanos), sent as X-Scope-OrgID.
    #[arg(
        long,
        global = true,
        env = "PROMETHEUS_TENANT",
        value_name = "TENANT",
        help_heading = "Store"
    )]
    tenant: Option<String>,
    /// PEM file of the private CA that signed the store's certificate; only it is
    /// trusted (default: the system's trusted CAs).
    #[arg(
        long,
        global = true,
        env = "PROMETHEUS_CA_CERT",
        value_name = "FILE",
        help_heading = "Store"
    )]
    ca_cert: Option<PathBuf>,
    /// Largest answer read from the store, e.g. 16MiB, 512KiB or 1000000 (bytes); a
    /// larger one is refused (exit 4) without being read to its end.
    #[arg(
        long,
        global = true,
        value_name = "SIZE",
        default_value = "16MiB",
        value_parser = parse_size,
        help_heading = "Store"
    )]
    max_response_size: u64,
    /// Read only the series of this job (`job="<JOB>"`, the OpenTelemetry
    /// service.name) in every query bizmetrics builds.
    #[arg(long, global = true, value_name = "JOB", help_heading = "Series")]
    job: Option<String>,
    /// Read only series matching this label matcher, e.g. 'env="prod"' (also !=,
    /// =~, !~); repeat for more.
    #[arg(
        long = "matcher",
        global = true,
        value_name = "LABEL=\"VALUE\"",
        help_heading = "Series"
    )]
    matchers: Vec<LabelMatcher>,
}

/// Wraps a value that may be secret, so that neither clap nor `Debug` shows it.
#[allow(clippy::unnecessary_wraps)] // clap's value parsers return a Result.
fn secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// A size in bytes: digits with an optional unit, B, KB, MB, GB (powers of 1000) or
/// KiB, MiB, GiB (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is no size; give bytes, e.g. 16MiB or 1000000"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use B, KB, MB, GB, KiB, MiB or GiB"
            ))
        }
    };
    match number.checked_mul(scale) {
        Some(0) => Err("a size of 0 reads nothing; give e.g. 16MiB".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{text}` is too large")),
    }
}

/// A file's text, for a secret: the error names the file, never its content.
fn read_secret_file(path: &PathBuf) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|e| ClientError::InvalidCredentials {
        reason: format!("cannot read {}: {e}", path.display()),
    })
}

impl StoreArgs {
    /// Whether `--job` or `--matcher` was given.
    pub(crate) fn selects_series(&self) -> bool {
        self.job.is_some() || !self.matchers.is_empty()
    }

    /// The client for the store at `url`.
    pub(crate) fn client(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<PrometheusClient, ClientError> {
        let mut builder = PrometheusClient::builder(url)
            .with_timeout(timeout)
            .with_max_response_bytes(self.max_response_size);
        let mut given = Vec::new();
        if let Some(token) = &self.bearer_token {
            given.push(Credentials::parse_bearer(token.expose())?);
        }
        if let Some(path) = &self.bearer_token_file {
            given.push(Credentials::parse_bearer(&read_secret_file(path)?)?);
        }
        if let Some(basic) = &self.basic_auth {
            given.push(Credentials::parse_basic(basic.expose())?);
        }
        if let Some(path) = &self.basic_auth_file {
            given.push(Credentials::parse_basic(&read_secret_file(path)?)?);
        }
        if given.len() > 1 {
            return Err(ClientError::InvalidCredentials {
                reason: "give one of --bearer-token, --bearer-token-file, --basic-auth, \
                         --basic-auth-file (or their environment variables)"
                    .to_owned(),
            });
        }
        if let Some(credentials) = given.pop() {
            builder = builder.with_credentials(credentials);
        }
        for header in &self.headers {
            let Some((name, value)) = header.expose().split_once(':') else {
                return Err(ClientError::InvalidHeader {
                    name: String::new(),
                    reason: "no `:` between its name and value".to_owned(),
                });
            };
            builder = builder.with_header(name, value)?;
        }
        if let Some(tenant) = &self.tenant {
            builder = builder.with_tenant(tenant)?;
        }
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path).map_err(|e| ClientError::InvalidCaCertificate {
                reason: format!("cannot read {}: {e}", path.display()),
            })?;
            builder = builder.with_ca_certificate_pem(pem);
        }
        if let Some(job) = &self.job {
            builder = builder.with_matcher(LabelMatcher::job(job.as_str()));
        }
        for matcher in &self.matchers {
            builder = builder.with_matcher(matcher.clone());
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_decimal_and_binary_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("2 KB"), Ok(2_000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999GiB").is_err());
    }
}
