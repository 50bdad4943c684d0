//! `bizmetrics` against a real Prometheus 3 that serves only HTTPS, with a certificate
//! from a private CA the test generates, and only to a basic-auth user (Prometheus'
//! own `--web.config.file`): the right credentials and CA get the answer, a wrong
//! password or none is refused with exit 6, a missing or wrong CA fails TLS with exit
//! 3, and the password shows in no output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use business_metrics_analysis::time::format_rfc3339;
use support::pki::Pki;
use support::{start_prometheus_with_web_config, TempDir};

const USER: &str = "bizmetrics";
const PASSWORD: &str = "correct-horse-7Qx";
/// bcrypt (cost 4, the least Prometheus accepts, so the test stays fast) of
/// [`PASSWORD`], made once with Python's `bcrypt` package:
/// `python3 -c 'import bcrypt; print(bcrypt.hashpw(b"correct-horse-7Qx", bcrypt.gensalt(4)).decode())'`.
/// A fixed test password's hash spares a bcrypt dev-dependency.
const PASSWORD_BCRYPT: &str = "$2b$04$vJQMpFUXCqBnF6mk1K72Gu9M5CerJp4FcVkdh2r3dLRw/bZggAkl.";
const WRONG_PASSWORD: &str = "wrong-horse-9Zk";

/// The revenue of the data set over the hour ending at its end (see `support::money`).
const REVENUE_LINE: &str =
    "revenue over 1h: 1499 JPY, 1.499 KWD, 1499.05 USD, 250 XBT (unknown currency: minor units)";

/// Runs `bizmetrics` with `args` and `env` only (none of the caller's store variables).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bizmetrics"));
    for key in [
        "PROMETHEUS_URL",
        "PROMETHEUS_BEARER_TOKEN",
        "PROMETHEUS_BASIC_AUTH",
        "PROMETHEUS_TENANT",
        "PROMETHEUS_CA_CERT",
    ] {
        command.env_remove(key);
    }
    let output = command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    eprintln!("bizmetrics {args:?}: {}\n{stdout}{stderr}", output.status);
    for secret in [PASSWORD, WRONG_PASSWORD] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a password was echoed by {args:?}"
        );
    }
    output
}

fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn only_the_right_credentials_over_verified_tls_get_an_answer() {
    let pki = Pki::new();
    let dir = TempDir::new("bizmetrics-web-config");
    let web_config = dir.path().join("web.yml");
    std::fs::write(
        &web_config,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n",
            pki.file("server.pem").display(),
            pki.file("server.key").display()
        ),
    )
    .unwrap();
    let Some(prom) = start_prometheus_with_web_config(&web_config) else {
        return;
    };
    let url = prom.url.as_str();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let end_time = UNIX_EPOCH + Duration::from_secs(prom.window.end);
    let end = format_rfc3339(end_time);
    let start = format_rfc3339(end_time - Duration::from_secs(3_600));
    let ca = pki.file("ca.pem");
    let ca = ca.to_str().unwrap();
    let good = format!("{USER}:{PASSWORD}");
    let bad = format!("{USER}:{WRONG_PASSWORD}");
    let query_url = format!("{url}/api/v1/query");

    // The right user, password and CA: the answer, through flags...
    let output = run(
        &[
            "revenue",
            "--prometheus",
            url,
            "--range",
            "1h",
            "--end",
            &end,
            "--basic-auth",
            &good,
            "--ca-cert",
            ca,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(texts(&output).0.trim_end(), REVENUE_LINE);

    // ...through the environment, the window as --start and --end in RFC 3339...
    let output = run(
        &[
            "revenue",
            "--prometheus",
            url,
            "--start",
            &start,
            "--end",
            &end,
        ],
        &[("PROMETHEUS_BASIC_AUTH", &good), ("PROMETHEUS_CA_CERT", ca)],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(texts(&output).0.trim_end(), REVENUE_LINE);

    // ...and from a file, the end given with an offset.
    let secret_file = dir.path().join("basic-auth");
    std::fs::write(&secret_file, format!("{good}\n")).unwrap();
    let offset_end = format!(
        "{}+02:00",
        &format_rfc3339(end_time + Duration::from_secs(7_200))[..19]
    );
    let output = run(
        &[
            "revenue",
            "--prometheus",
            url,
            "--range",
            "1h",
            "--end",
            &offset_end,
            "--ca-cert",
            ca,
            "--basic-auth-file",
            secret_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(texts(&output).0.trim_end(), REVENUE_LINE);

    // A wrong password, or none: refused, exit 6, the message without the password.
    let refused = format!(
        "error: prometheus at {query_url} refused the credentials (http 401); give the right \
         bearer token or basic auth, and the tenant if the store has several\n"
    );
    for auth in [&["--basic-auth", bad.as_str()][..], &[]] {
        let mut args = vec![
            "revenue",
            "--prometheus",
            url,
            "--range",
            "1h",
            "--end",
            &end,
            "--ca-cert",
            ca,
        ];
        args.extend_from_slice(auth);
        let output = run(&args, &[]);
        assert_eq!(output.status.code(), Some(6));
        assert_eq!(texts(&output), (String::new(), refused.clone()));
    }

    // The password in the URL is used, and the URL is shown without it.
    let with_user_info = url.replacen("https://", &format!("https://{USER}:{WRONG_PASSWORD}@"), 1);
    let output = run(
        &[
            "revenue",
            "--prometheus",
            &with_user_info,
            "--range",
            "1h",
            "--end",
            &end,
            "--ca-cert",
            ca,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(6));
    assert_eq!(texts(&output), (String::new(), refused));
    let with_user_info = url.replacen("https://", &format!("https://{USER}:{PASSWORD}@"), 1);
    let output = run(
        &[
            "revenue",
            "--prometheus",
            &with_user_info,
            "--range",
            "1h",
            "--end",
            &end,
            "--ca-cert",
            ca,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(texts(&output).0.trim_end(), REVENUE_LINE);

    // No CA (the system's do not know the private one) or another CA: TLS fails, exit 3.
    let other_ca = pki.file("other-ca.pem");
    for ca_args in [&[][..], &["--ca-cert", other_ca.to_str().unwrap()][..]] {
        let mut args = vec![
            "revenue",
            "--prometheus",
            url,
            "--range",
            "1h",
            "--end",
            &end,
            "--basic-auth",
            &good,
        ];
        args.extend_from_slice(ca_args);
        let output = run(&args, &[]);
        assert_eq!(output.status.code(), Some(3));
        let (stdout, stderr) = texts(&output);
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!(
                "error: cannot reach prometheus at {query_url} (invalid peer certificate: \
                 UnknownIssuer); check the url, that prometheus is running and, for https, \
                 that its certificate is signed by a trusted CA (give a private CA's \
                 certificate as the CA certificate)\n"
            )
        );
    }

    // Bearer token and basic auth together: a usage error that quotes neither.
    let output = run(
        &[
            "revenue",
            "--prometheus",
            url,
            "--range",
            "1h",
            "--basic-auth",
            &good,
            "--ca-cert",
            ca,
        ],
        &[("PROMETHEUS_BEARER_TOKEN", PASSWORD)],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        texts(&output),
        (
            String::new(),
            "error: invalid credentials: give one of --bearer-token, --bearer-token-file, \
             --basic-auth, --basic-auth-file (or their environment variables)\n"
                .to_owned()
        )
    );

    // The help shows the variables' names, never their values.
    let output = run(&["revenue", "--help"], &[("PROMETHEUS_BASIC_AUTH", &good)]);
    assert_eq!(output.status.code(), Some(0));
    assert!(texts(&output).0.contains("[env: PROMETHEUS_BASIC_AUTH]"));
}
