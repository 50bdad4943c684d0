//! A minimal HTTP/1.1 client that pipelines many requests on a few keep-alive
//! connections, so that a flood costs the server's work and little of the client's.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response: its status and body.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A `POST` with a JSON body, as bytes on the wire.
pub fn post_json(addr: SocketAddr, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A `DELETE`, as bytes on the wire.
pub fn delete(addr: SocketAddr, path: &str) -> Vec<u8> {
    format!("DELETE {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

/// A keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends every request at once and reads their answers, in order.
    pub async fn exchange(&mut self, requests: &[Vec<u8>]) -> Vec<Answer> {
        let wire: Vec<u8> = requests.concat();
        let (mut reader, mut writer) = self.stream.split();
        let write = async {
            writer.write_all(&wire).await.unwrap();
            writer.flush().await.unwrap();
        };
        let buf = &mut self.buf;
        let read = async {
            let mut answers = Vec::with_capacity(requests.len());
            let mut chunk = vec![0u8; 64 * 1024];
            // Answers are parsed from `pos`; the buffer is compacted once at the end.
            let mut pos = 0;
            while answers.len() < requests.len() {
                if let Some((answer, used)) = parse_answer(&buf[pos..]) {
                    answers.push(answer);
                    pos += used;
                    continue;
                }
                let n = reader.read(&mut chunk).await.unwrap();
                assert!(
                    n > 0,
                    "the server closed the connection after {} answers",
                    answers.len()
                );
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..pos);
            answers
        };
        let ((), answers) = tokio::join!(write, read);
        answers
    }
}

/// Parses one complete response at the start of `buf`: the answer and the bytes
/// it took, or `None` if it is not complete yet.
fn parse_answer(buf: &[u8]) -> Option<(Answer, usize)> {
    let head_end = find(buf, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..head_end]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().unwrap();
    let mut length = 0;
    for (name, value) in lines.filter_map(|l| l.split_once(':')) {
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap();
        }
        assert!(
            !name.eq_ignore_ascii_case("transfer-encoding"),
            "chunked answers are not expected: {head}"
        );
    }
    let total = head_end + 4 + length;
    if buf.len() < total {
        return None;
    }
    let body = buf[head_end + 4..total].to_vec();
    Some((Answer { status, body }, total))
}
