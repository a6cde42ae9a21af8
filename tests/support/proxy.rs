//! Network latency for one test's processes, on either backend: a TCP proxy on loopback that forwards to the
//! API server and holds every client→server chunk for a settable time before passing it on.
//!
//! ```text
//!  operator ──kubeconfig──► 127.0.0.1:proxy ──(each chunk held N ms)──► API server (embedded http / real https)
//!           ◄───────────────────────────── answers pass at once ◄──────
//! ```
//! The proxy only moves bytes, so TLS passes through untouched (the real apiserver's certificate names
//! 127.0.0.1, which is where the proxy listens). Chunks keep their order and are each due N ms after they
//! arrived (a delay line, not a bandwidth limit); at 0 ms it is a plain forwarder. The test's own client
//! keeps the direct kubeconfig.
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::Cluster;

/// A delaying forwarder to one upstream `host:port`; stops accepting and cuts every connection on drop.
pub struct DelayProxy {
    addr: SocketAddr,
    latency_ms: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl DelayProxy {
    /// Listen on a free loopback port and forward every connection to `upstream`, with no delay yet.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let proxy = Self {
            addr: listener.local_addr().expect("the proxy's address"),
            latency_ms: Arc::default(),
            stopped: Arc::default(),
            streams: Arc::default(),
        };
        let (latency_ms, stopped) = (proxy.latency_ms.clone(), proxy.stopped.clone());
        let (streams, upstream) = (proxy.streams.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::Acquire) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                track(&streams, &client, &server);
                forward(client, server, latency_ms.clone());
            }
        });
        proxy
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Hold every chunk that arrives from now on for `ms` milliseconds (0: none).
    pub fn set_latency(&self, ms: u64) {
        self.latency_ms.store(ms, Ordering::Release);
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Ok(streams) = self.streams.lock() {
            for stream in streams.iter() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Keep clones of a connection's sockets, so drop can cut them.
fn track(streams: &Mutex<Vec<TcpStream>>, client: &TcpStream, server: &TcpStream) {
    if let (Ok(mut streams), Ok(c), Ok(s)) =
        (streams.lock(), client.try_clone(), server.try_clone())
    {
        streams.extend([c, s]);
    }
}

/// Pump one connection: client→server through the delay line, server→client at once.
fn forward(client: TcpStream, server: TcpStream, latency_ms: Arc<AtomicU64>) {
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (Ok(client_reader), Ok(server_reader)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let (chunks_tx, chunks_rx) = mpsc::channel();
    std::thread::spawn(move || read_chunks(client_reader, &chunks_tx, &latency_ms));
    std::thread::spawn(move || write_when_due(server, &chunks_rx));
    std::thread::spawn(move || copy_then_close(server_reader, client));
}

/// A chunk from the client and when it may go on; `None` data: the client closed.
type Chunk = (Instant, Option<Vec<u8>>);

fn read_chunks(mut client: TcpStream, chunks: &mpsc::Sender<Chunk>, latency_ms: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = client.read(&mut buf);
        let due = Instant::now() + Duration::from_millis(latency_ms.load(Ordering::Acquire));
        let data = match read {
            Ok(n) if n > 0 => Some(buf[..n].to_vec()),
            _ => None,
        };
        let end = data.is_none();
        if chunks.send((due, data)).is_err() || end {
            return;
        }
    }
}

/// The delay line's far end: each chunk waits until it is due, in arrival order.
fn write_when_due(mut server: TcpStream, chunks: &mpsc::Receiver<Chunk>) {
    while let Ok((due, data)) = chunks.recv() {
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let Some(data) = data else { break };
        if server.write_all(&data).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

fn copy_then_close(mut server: TcpStream, mut client: TcpStream) {
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Both);
}

/// A [`Cluster`]'s API behind a [`DelayProxy`], and a kubeconfig that reaches it through the proxy (the same
/// credentials and namespace as the cluster's own).
pub struct DelayedApi {
    pub proxy: DelayProxy,
    pub kubeconfig: PathBuf,
}

impl Cluster {
    /// Put a [`DelayProxy`] in front of this cluster's API server (no delay until one is set).
    pub fn delayed_api(&self) -> DelayedApi {
        let jsonpath = |field: &str| {
            let query = format!("jsonpath={{.clusters[0].{field}}}");
            let out = self.ok(&["config", "view", "--minify", "-o", &query]);
            out.trim().to_owned()
        };
        let (name, server) = (jsonpath("name"), jsonpath("cluster.server"));
        let (scheme, upstream) = server
            .split_once("://")
            .unwrap_or_else(|| panic!("the kubeconfig's server {server:?} has no scheme"));
        let upstream = upstream.trim_end_matches('/');
        let proxy = DelayProxy::start(upstream);
        let kubeconfig = self.dir.path().join("kubeconfig-delayed");
        std::fs::copy(&self.kubeconfig, &kubeconfig).expect("copy the kubeconfig");
        let proxied = format!("--server={scheme}://{}", proxy.addr());
        let mut set_server = Command::new("kubectl");
        set_server.arg("--kubeconfig").arg(&kubeconfig);
        super::run_ok(set_server.args(["config", "set-cluster", &name, &proxied]));
        DelayedApi { proxy, kubeconfig }
    }
}
