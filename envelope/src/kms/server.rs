//! The unix-socket gRPC server around [`super::KmsService`].
use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;

use super::KmsService;
use super::proto::key_management_service_server::KeyManagementServiceServer;

/// Starting or running the plugin server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The socket path exists and is not a socket; it is left alone.
    #[error("{0} exists and is not a unix socket; refusing to replace it")]
    NotASocket(PathBuf),
    /// Binding the socket failed.
    #[error("cannot listen on unix socket {path}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The gRPC server stopped with an error.
    #[error("KMS gRPC server failed")]
    Serve(#[source] tonic::transport::Error),
}

/// Bind `path` with mode `0600` (creating its directory), replacing a stale socket left by an earlier run (never any other file).
///
/// # Errors
/// [`ServeError::NotASocket`] or [`ServeError::Bind`].
pub fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    let bind_err = |source| ServeError::Bind {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(bind_err)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path).map_err(bind_err)?,
        Ok(_) => return Err(ServeError::NotASocket(path.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(bind_err(e)),
    }
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    Ok(listener)
}

/// Serve `service` on `listener` until `shutdown` resolves, then finish in-flight calls and return.
///
/// # Errors
/// [`ServeError::Serve`].
pub async fn serve(
    listener: UnixListener,
    service: KmsService,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    tonic::transport::Server::builder()
        .add_service(KeyManagementServiceServer::new(service))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
        .map_err(ServeError::Serve)
}
