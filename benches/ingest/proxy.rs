//! A loopback TCP proxy in front of PostgreSQL that counts round trips: on each
//! connection, a turn is the client speaking again after the server has answered (the
//! protocol's pipelined messages of one statement, sent together, count once). Only for
//! the benchmark's round-trips figure: the extra hop costs CPU, so that run is separate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Counter {
    /// `url` with the proxy's port in place of the database's.
    pub url: String,
    turns: Arc<AtomicU64>,
}

impl Counter {
    pub fn turns(&self) -> u64 {
        self.turns.load(Ordering::Relaxed)
    }
}

/// Starts the proxy in front of the server `url` names (host and port, 5432 by default).
pub async fn start(url: &str) -> Counter {
    let parsed = url::Url::parse(url).expect("a PostgreSQL URL");
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port().unwrap_or(5432)
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let mut proxied = parsed.clone();
    proxied.set_host(Some("127.0.0.1")).expect("host");
    proxied.set_port(Some(port)).expect("port");
    let turns = Arc::new(AtomicU64::new(0));
    let counted = turns.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, turns) = (upstream.clone(), counted.clone());
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    relay(client, server, turns).await;
                }
            });
        }
    });
    Counter {
        url: proxied.to_string(),
        turns,
    }
}

async fn relay(client: TcpStream, server: TcpStream, turns: Arc<AtomicU64>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set when the server has sent something since the client last spoke.
    let answered = Arc::new(AtomicBool::new(true));
    let heard = answered.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 || server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            if answered.swap(false, Ordering::Relaxed) {
                turns.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            if n == 0 || client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            heard.store(true, Ordering::Relaxed);
        }
    };
    tokio::join!(up, down);
}
