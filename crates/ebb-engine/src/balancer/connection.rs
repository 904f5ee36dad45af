//! A TCP stream that counts itself as an open connection for as long as it exists.
//!
//! Counting the stream rather than the HTTP connection task keeps upgraded connections counted:
//! after a 101 hyper hands the stream to the upgraded side, and it is dropped only when that closes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::traffic::{OpenConnection, Traffic};

#[derive(Debug)]
pub(crate) struct CountedStream {
    stream: TcpStream,
    _open: OpenConnection,
}

impl CountedStream {
    pub(crate) fn new(stream: TcpStream, traffic: &Arc<Traffic>) -> CountedStream {
        // Small writes (headers, WebSocket frames) must not wait for Nagle's algorithm; failing to
        // set the option only costs latency.
        let _ = stream.set_nodelay(true);
        CountedStream { stream, _open: OpenConnection::begin(traffic) }
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
