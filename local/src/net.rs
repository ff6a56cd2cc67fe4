//! The loopback listener every local server accepts on: TCP_NODELAY on each connection.
//!
//! Without it a streamed answer's small frames wait on the client's delayed ACK (Nagle's
//! algorithm): about 40 ms per streamed response on Linux loopback, measured by the benchmarks
//! (`bench/`). API Gateway and Lambda's runtime do this for the deployed functions; `axum::serve`
//! leaves it to the listener.

use std::net::Ipv4Addr;

pub use axum::serve::Listener;
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// A loopback TCP listener whose accepted connections have TCP_NODELAY set.
pub type LoopbackListener = TapIo<TcpListener, fn(&mut TcpStream)>;

/// Binds 127.0.0.1:`port` (0 picks a free port) and sets TCP_NODELAY on every accepted connection.
pub async fn bind_loopback(port: u16) -> std::io::Result<LoopbackListener> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    Ok(listener.tap_io(no_delay as fn(&mut TcpStream)))
}

fn no_delay(tcp: &mut TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_switched_off() {
        let mut listener = bind_loopback(0).await.expect("a free port");
        let addr = listener.local_addr().expect("its address");
        assert!(addr.ip().is_loopback(), "{addr}");
        let client = TcpStream::connect(addr).await.expect("connected");
        let (accepted, peer) = listener.accept().await;
        assert_eq!(peer, client.local_addr().expect("client address"));
        assert!(accepted.nodelay().expect("the socket option"), "TCP_NODELAY is set");
    }
}
