//! Runtime API connections that acknowledge what they read at once.
//!
//! `lambda_runtime`'s HTTP client leaves Nagle's algorithm on. A streamed response goes out as the
//! request head with the prelude, then the 8-byte delimiter, then the body: the delimiter is a small
//! write behind data not yet acknowledged, so the kernel holds it until an ACK arrives. On a
//! connection that has been open for a while Linux delays that ACK by up to 40 ms, and a small export
//! reached its client about 40 ms late. AWS's Runtime API shows no such stall, so on Linux the gateway
//! asks for an immediate ACK after every read (`TCP_QUICKACK` is not sticky, hence every time).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A Runtime API connection that sends the ACK for each read right away.
#[derive(Debug)]
pub(crate) struct QuickAck(TcpStream);

impl QuickAck {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self(stream)
    }

    #[cfg(target_os = "linux")]
    fn acknowledge(&self) {
        // Best effort: without it the connection still works, only later.
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
    }

    #[cfg(not(target_os = "linux"))]
    fn acknowledge(&self) {}
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.acknowledge();
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_pass_through_both_ways_unchanged() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.write_all(b"ping").await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            answer
        });
        let (accepted, _) = listener.accept().await.unwrap();
        let mut connection = QuickAck::new(accepted);
        let mut request = [0u8; 4];
        connection.read_exact(&mut request).await.unwrap();
        assert_eq!(&request, b"ping");
        connection.write_all(b"pong").await.unwrap();
        connection.shutdown().await.unwrap();
        drop(connection);
        assert_eq!(client.await.unwrap(), b"pong");
    }
}
