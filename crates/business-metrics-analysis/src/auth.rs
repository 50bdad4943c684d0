//! Credentials for a Prometheus-compatible store: a bearer token or basic auth, kept
//! out of every `Debug` output and error message.

use std::fmt;

use crate::client::ClientError;

/// A password or token. Its `Debug` output is `Secret(redacted)`; it has no `Display`,
/// so it reaches no message by accident. [`Secret::expose`] gives the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password or token.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret's text, for the one place that sends it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// How the client proves who it is: sent as the `Authorization` header of every
/// request, and never to another host (redirects to one are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// `Authorization: Bearer <token>` (Prometheus' `authorization` settings, most
    /// hosted stores' API tokens).
    Bearer(Secret),
    /// `Authorization: Basic ...` (Prometheus' web config `basic_auth_users`,
    /// Grafana Cloud's instance id and token).
    Basic {
        /// The user name (not secret; shown in no message either).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Credentials {
    /// A bearer token.
    #[must_use]
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::Bearer(Secret::new(token))
    }

    /// A user name and password.
    #[must_use]
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// Reads `user:password` (the password may contain `:`; a trailing newline, as a
    /// file's last line has, is dropped).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidCredentials`] when there is no `:` or no user name; the
    /// message never quotes the text.
    pub fn parse_basic(text: &str) -> Result<Self, ClientError> {
        let text = text.trim_end_matches(['\n', '\r']);
        match text.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Self::basic(user, password)),
            _ => Err(ClientError::InvalidCredentials {
                reason: "basic auth is `user:password`, with a user name before the first `:`"
                    .to_owned(),
            }),
        }
    }

    /// Reads a bearer token (a trailing newline, as a file's last line has, is dropped).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidCredentials`] when the token is empty.
    pub fn parse_bearer(text: &str) -> Result<Self, ClientError> {
        let token = text.trim_end_matches(['\n', '\r']);
        if token.is_empty() {
            return Err(ClientError::InvalidCredentials {
                reason: "the bearer token is empty".to_owned(),
            });
        }
        Ok(Self::bearer(token))
    }
}

/// `text` with the user info of a URL (`user:password@`) replaced by `redacted@`, for
/// messages about a URL as given, before or without parsing it.
#[must_use]
pub(crate) fn redact_url_text(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://redacted@{host}{path}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let basic = Credentials::basic("grafana", "hunter2");
        let bearer = Credentials::bearer("tok-123");
        assert_eq!(
            format!("{basic:?}"),
            r#"Basic { username: "grafana", password: Secret(redacted) }"#
        );
        assert_eq!(format!("{bearer:?}"), "Bearer(Secret(redacted))");
    }

    #[test]
    fn basic_auth_is_user_colon_password() {
        assert_eq!(
            Credentials::parse_basic("123456:glc_abc:def\n").ok(),
            Some(Credentials::basic("123456", "glc_abc:def"))
        );
        for bad in ["no-colon-secret", ":secret"] {
            let error = Credentials::parse_basic(bad).map_err(|e| e.to_string());
            assert_eq!(
                error,
                Err(
                    "invalid credentials: basic auth is `user:password`, with a user name \
                     before the first `:`"
                        .to_owned()
                )
            );
        }
        assert!(Credentials::parse_bearer("\n").is_err());
        assert_eq!(
            Credentials::parse_bearer("tok\n").ok(),
            Some(Credentials::bearer("tok"))
        );
    }

    #[test]
    fn user_info_is_redacted_from_urls() {
        assert_eq!(
            redact_url_text("https://u:p@w.d@host:9090/prom?x=1"),
            "https://redacted@host:9090/prom?x=1"
        );
        assert_eq!(
            redact_url_text("http://host:9090/a@b"),
            "http://host:9090/a@b"
        );
        assert_eq!(redact_url_text("not a url"), "not a url");
    }
}
