//! A deliberately small HTTP/1.1 client over a raw TCP socket, for what ordinary clients hide:
//! whether a chunked response ended with its terminating `0\r\n\r\n` chunk (a broken stream does
//! not, and curl reports exit code 18), and when each chunk arrived.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One chunk of a chunked body and when it was fully received.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// When the last byte of the chunk arrived.
    pub arrived: Instant,
    /// The chunk's data.
    pub data: Vec<u8>,
}

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// Chunks, for a chunked body.
    pub chunks: Vec<Chunk>,
    /// Whether the body ended properly: the terminating chunk for chunked encoding, all bytes for a
    /// `Content-Length` body.
    pub complete: bool,
}

impl RawResponse {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether the body is chunked.
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `GET target` (`/stage/path?query`) and reads the response until the server closes the
/// connection, the body is complete, or `timeout` passes.
pub async fn get(authority: &str, target: &str, timeout: Duration) -> RawResponse {
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: raw-http-test\r\n\r\n");
    send(authority, request.as_bytes(), timeout).await
}

/// Sends `request`, the exact bytes of an HTTP/1.1 request (head and body, however malformed), and
/// reads the response as [`get`] does. For requests an ordinary client refuses to build: bytes that
/// are not UTF-8 in a header or the path, dot segments, oversized heads.
pub async fn send(authority: &str, request: &[u8], timeout: Duration) -> RawResponse {
    let mut stream = TcpStream::connect(authority)
        .await
        .expect("the gateway accepts connections");
    stream.set_nodelay(true).ok();
    // The server may answer and close before reading everything (an oversized head); what it
    // answered is still read below.
    let _ = stream.write_all(request).await;
    let deadline = Instant::now() + timeout;
    let mut reader = Reader {
        stream,
        buffer: Vec::new(),
        eof: false,
        deadline,
    };

    let head = reader.until(b"\r\n\r\n").await.expect("a response head");
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut response = RawResponse {
        status,
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
        complete: false,
    };

    if response.is_chunked() {
        loop {
            let Some(size_line) = reader.until(b"\r\n").await else {
                break;
            };
            let size_text = String::from_utf8_lossy(&size_line);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_text:?}"));
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                response.complete = reader.until(b"\r\n").await.is_some();
                break;
            }
            let Some(data) = reader.exactly(size + 2).await else {
                break;
            };
            let data = data[..size].to_vec();
            response.body.extend_from_slice(&data);
            response.chunks.push(Chunk {
                arrived: Instant::now(),
                data,
            });
        }
    } else if let Some(length) = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        if let Some(body) = reader.exactly(length).await {
            response.body = body;
            response.complete = true;
        }
    } else {
        response.body = reader.rest().await;
        response.complete = true;
    }
    response
}

struct Reader {
    stream: TcpStream,
    buffer: Vec<u8>,
    eof: bool,
    deadline: Instant,
}

impl Reader {
    /// Reads more bytes; false at EOF, on a reset, or past the deadline.
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(Ok(n)) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Bytes up to and excluding `marker`, which is consumed.
    async fn until(&mut self, marker: &[u8]) -> Option<Vec<u8>> {
        loop {
            if let Some(at) = self.buffer.windows(marker.len()).position(|w| w == marker) {
                let out = self.buffer[..at].to_vec();
                self.buffer.drain(..at + marker.len());
                return Some(out);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Exactly `n` bytes.
    async fn exactly(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buffer.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buffer.drain(..n).collect())
    }

    /// Everything until EOF.
    async fn rest(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buffer)
    }
}
