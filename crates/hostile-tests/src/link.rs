//! A TCP relay on loopback that a fault test puts between the functions and their database, and cuts.
//!
//! What a Lambda function sees of a DynamoDB outage is the network: connections that break in the
//! middle of a request and new ones that fail. A [`Link`] produces exactly that. While it is up it
//! relays bytes both ways; [`Link::cut`] drops every open connection at once and drops each new one
//! as soon as it is accepted, until [`Link::restore`].
//!
//! Killing DynamoDB Local instead would also test DynamoDB Local's own durability, which is weaker than
//! DynamoDB's: started with `-dbPath` and killed right after acknowledging `TransactWriteItems` calls
//! (four clients, SDK retries off), it came back without one of the acknowledged writes in 8 of 12
//! runs. DynamoDB acknowledges a write only once it is durable
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html>),
//! so through a link the database stays whole and any lost write is the API's own.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A relay from a loopback port of its own to `upstream`. Stops relaying when dropped.
#[derive(Debug)]
pub struct Link {
    address: SocketAddr,
    cut: Arc<watch::Sender<bool>>,
    acceptor: JoinHandle<()>,
}

impl Link {
    /// Starts relaying from a free loopback port to `upstream` (`host:port`).
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a loopback port for the link");
        let address = listener.local_addr().expect("the link's address");
        let cut = Arc::new(watch::Sender::new(false));
        let acceptor = tokio::spawn(accept(listener, upstream, Arc::clone(&cut)));
        Self {
            address,
            cut,
            acceptor,
        }
    }

    /// `http://127.0.0.1:PORT`, the endpoint to give the functions.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Drops every open connection and every new one until [`Link::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Relays new connections again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.cut.send_replace(true);
        self.acceptor.abort();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cut: Arc<watch::Sender<bool>>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *cut.borrow() {
            drop(client);
            continue;
        }
        tokio::spawn(relay(client, upstream, cut.subscribe()));
    }
}

/// Relays one connection until either side closes it or the link is cut.
async fn relay(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
