//! A Prometheus impostor on a loopback port: it answers each request of the Prometheus
//! HTTP API as the test says (values Prometheus would never send, redirects, bodies of
//! tens of megabytes) and records what it was asked and how much it wrote.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One request: its path and its decoded `query` form field.
#[derive(Debug, Clone)]
pub struct Request {
    /// E.g. `/api/v1/query`.
    pub path: String,
    /// The PromQL.
    pub query: String,
}

/// What the impostor answers.
pub enum Answer {
    /// 200 with this JSON.
    Json(String),
    /// 307 to this location.
    Redirect(String),
    /// 200 with a body of `total` bytes (a valid start of a vector answer, then
    /// padding), written in 64 KiB pieces until done or the client hangs up;
    /// `Content-Length` announced when `announce`.
    Huge { total: u64, announce: bool },
}

/// The impostor's address and what it saw.
pub struct Impostor {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    written: Arc<AtomicU64>,
}

impl Impostor {
    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Body bytes written so far (over every request).
    pub fn body_bytes_written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

/// Starts an impostor on 127.0.0.1:0 answering with `answer`; it runs until the test
/// process ends.
pub fn serve(answer: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Impostor {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let written = Arc::new(AtomicU64::new(0));
    let answer = Arc::new(answer);
    let (seen, bytes) = (Arc::clone(&requests), Arc::clone(&written));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (answer, seen, bytes) =
                (Arc::clone(&answer), Arc::clone(&seen), Arc::clone(&bytes));
            std::thread::spawn(move || {
                let _ = handle(stream, &*answer, &seen, &bytes);
            });
        }
    });
    Impostor {
        url,
        requests,
        written,
    }
}

fn handle(
    stream: TcpStream,
    answer: &dyn Fn(&Request) -> Answer,
    seen: &Mutex<Vec<Request>>,
    written: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let form = String::from_utf8_lossy(&body).into_owned();
    let query = form
        .split('&')
        .find_map(|pair| pair.strip_prefix("query="))
        .map(form_decode)
        .unwrap_or_default();
    let request = Request { path, query };
    seen.lock().unwrap().push(request.clone());
    let mut stream = stream;
    match answer(&request) {
        Answer::Json(json) => write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{json}",
            json.len()
        ),
        Answer::Redirect(location) => write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        ),
        Answer::Huge { total, announce } => {
            let length = if announce {
                format!("Content-Length: {total}\r\n")
            } else {
                String::new()
            };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\
                 Connection: close\r\n\r\n"
            )?;
            let start = br#"{"status":"success","data":{"resultType":"vector","result":["#;
            let mut piece = start.to_vec();
            piece.resize(64 * 1024, b' ');
            let mut sent = 0_u64;
            while sent < total {
                let n = usize::try_from((total - sent).min(piece.len() as u64)).unwrap();
                stream.write_all(&piece[..n])?;
                sent += n as u64;
                written.fetch_add(n as u64, Ordering::SeqCst);
                piece.fill(b' ');
            }
            Ok(())
        }
    }
}

/// `application/x-www-form-urlencoded` decoding.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// An instant-query answer: a vector of `(labels, value)` at `time`, values as
/// Prometheus spells them (`"NaN"`, `"+Inf"`, `"-5"`).
pub fn vector(time: f64, series: &[(&[(&str, &str)], &str)]) -> String {
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|(labels, value)| {
            serde_json::json!({"metric": labels_json(labels), "value": [time, value]})
        })
        .collect();
    envelope("vector", &result)
}

/// Label pairs of a series.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

/// A range-query answer: a matrix of `(labels, [(time, value)])`.
pub fn matrix(series: &[(Labels<'_>, Vec<(f64, String)>)]) -> String {
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|(labels, values)| {
            let values: Vec<serde_json::Value> = values
                .iter()
                .map(|(t, v)| serde_json::json!([t, v]))
                .collect();
            serde_json::json!({"metric": labels_json(labels), "values": values})
        })
        .collect();
    envelope("matrix", &result)
}

fn labels_json(labels: &[(&str, &str)]) -> serde_json::Value {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn envelope(kind: &str, result: &[serde_json::Value]) -> String {
    serde_json::json!({"status": "success", "data": {"resultType": kind, "result": result}})
        .to_string()
}
