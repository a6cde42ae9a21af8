//! [`EmbeddedCluster`]: the public entry point. It owns the state, the handler, the fault handle, the
//! simulated controllers and, when asked, an HTTP server.
use crate::controllers::{self, Controllers};
use crate::faults::Faults;
use crate::handler::{Handler, HandlerSettings};
use crate::state::State;
use crate::transport::{HttpServer, InProcessService};
use configsync_apimachinery::{ResourceType, registry};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How an embedded cluster behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// Events kept for watch resumption; watches from older versions get 410 Gone.
    pub history_capacity: usize,
    /// How often watches with `allowWatchBookmarks=true` get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// How long simulated pods take to become Running and Ready (used by the controllers).
    pub pod_ready_delay: Duration,
    /// Whether to run the simulated workload controllers.
    pub run_controllers: bool,
    /// The built-in types to serve; `None` serves `registry::builtin_resources()`.
    pub builtin_resources: Option<Vec<ResourceType>>,
    /// Latency added before every API answer to clients (not to the simulated controllers), as a real
    /// control plane's round trip would (`configsync cluster --api-latency`).
    pub api_latency: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            history_capacity: 10_000,
            bookmark_interval: Duration::from_secs(60),
            pod_ready_delay: Duration::from_secs(1),
            run_controllers: true,
            builtin_resources: None,
            api_latency: Duration::ZERO,
        }
    }
}

/// Why the cluster could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Binding the HTTP listener failed.
    #[error("binding 127.0.0.1:{port} failed: {source}")]
    BindHttp {
        /// The port asked for.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the kubeconfig failed.
    #[error("writing the kubeconfig {path} failed: {source}")]
    WriteKubeconfig {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A kubeconfig was asked for before the HTTP server was started.
    #[error("the HTTP server is not running; call serve_http first")]
    NotServingHttp,
}

/// An in-memory Kubernetes API server.
pub struct EmbeddedCluster {
    config: Config,
    handler: Arc<Handler>,
    faults: Faults,
    http: Option<HttpServer>,
    controllers: Option<Controllers>,
}

impl EmbeddedCluster {
    /// Start a cluster (and its controllers, unless disabled). Must be called inside a Tokio runtime.
    pub async fn start(config: Config) -> Self {
        let builtin = config
            .builtin_resources
            .clone()
            .unwrap_or_else(registry::builtin_resources);
        let state = Arc::new(State::new(builtin, config.history_capacity));
        let faults = Faults::with_latency(config.api_latency);
        let settings = HandlerSettings {
            bookmark_interval: config.bookmark_interval,
        };
        let handler = Arc::new(Handler::new(
            state.clone(),
            faults.clone(),
            settings.clone(),
        ));
        let mut cluster = Self {
            config,
            handler,
            faults,
            http: None,
            controllers: None,
        };
        if cluster.config.run_controllers {
            // The simulated controllers get their own client, which injected faults never reach.
            let internal = Arc::new(Handler::new(state, Faults::default(), settings));
            let client = kube::Client::new(InProcessService::new(internal), "default");
            cluster.controllers = Some(controllers::start(client, &cluster.config));
        }
        cluster
    }

    /// A `kube::Client` whose requests are answered in-process (default namespace `default`).
    pub fn client(&self) -> kube::Client {
        kube::Client::new(InProcessService::new(self.handler.clone()), "default")
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serve HTTP/1.1 on 127.0.0.1:`port` (0 picks a free port); returns the bound address.
    ///
    /// # Errors
    /// [`ClusterError::BindHttp`] when the port cannot be bound.
    pub async fn serve_http(&mut self, port: u16) -> Result<SocketAddr, ClusterError> {
        let bind = |source| ClusterError::BindHttp { port, source };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(bind)?;
        let server = HttpServer::spawn(listener, self.handler.clone()).map_err(bind)?;
        let addr = server.addr();
        self.http = Some(server);
        Ok(addr)
    }

    /// The HTTP server's address, once serving.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(HttpServer::addr)
    }

    /// Write a kubeconfig pointing at the HTTP server.
    ///
    /// # Errors
    /// [`ClusterError::NotServingHttp`] before [`Self::serve_http`]; [`ClusterError::WriteKubeconfig`] on I/O errors.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), ClusterError> {
        let addr = self.http_addr().ok_or(ClusterError::NotServingHttp)?;
        crate::kubeconfig::write(path, addr).map_err(|source| ClusterError::WriteKubeconfig {
            path: path.display().to_string(),
            source,
        })
    }
}
