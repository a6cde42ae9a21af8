//! KMS v2 conformance over a real unix socket with a real tonic client: Status, Encrypt, Decrypt, annotations,
//! the key id limit, error codes, and key rotation picked up from the key file without a restart.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use configsync_envelope::keyring::watch::KeyRingFile;
use configsync_envelope::kms::proto::key_management_service_client::KeyManagementServiceClient;
use configsync_envelope::kms::proto::{DecryptRequest, EncryptRequest, StatusRequest};
use configsync_envelope::kms::{KmsService, server};
use configsync_envelope::{Aad, KeyRing, seal};
use hyper_util::rt::TokioIo;
use tonic::Code;
use tonic::transport::{Channel, Endpoint, Uri};

type Client = KeyManagementServiceClient<Channel>;

struct Plugin {
    _dir: tempfile::TempDir,
    keys: PathBuf,
    client: Client,
    shutdown_tx: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), server::ServeError>>,
}

async fn mk_plugin(ring: &KeyRing) -> Plugin {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys.json");
    ring.save_file(&keys).expect("save keys");
    let socket = dir.path().join("run").join("kms.sock"); // bind creates run/
    let service = KmsService::new(Arc::new(KeyRingFile::open(&keys).expect("load keys")));
    let listener = server::bind(&socket).expect("bind");
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(server::serve(listener, service, async {
        let _ = shutdown_rx.await;
    }));
    let client = connect(&socket).await;
    Plugin {
        _dir: dir,
        keys,
        client,
        shutdown_tx,
        server,
    }
}

async fn connect(socket: &Path) -> Client {
    let socket = socket.to_owned();
    let channel = Endpoint::try_from("http://localhost")
        .expect("endpoint")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await
        .expect("connect over the unix socket");
    KeyManagementServiceClient::new(channel)
}

fn mk_decrypt(ciphertext: Vec<u8>, key_id: &str) -> DecryptRequest {
    DecryptRequest {
        ciphertext,
        uid: "uid-decrypt".into(),
        key_id: key_id.into(),
        annotations: HashMap::new(),
    }
}

async fn encrypt(client: &mut Client, plaintext: &[u8]) -> (Vec<u8>, String) {
    let request = EncryptRequest {
        plaintext: plaintext.to_vec(),
        uid: "uid-encrypt".into(),
    };
    let response = client.encrypt(request).await.expect("encrypt").into_inner();
    assert!(response.annotations.is_empty());
    (response.ciphertext, response.key_id)
}

async fn decrypt_code(client: &mut Client, request: DecryptRequest) -> Code {
    client
        .decrypt(request)
        .await
        .expect_err("decrypt must fail")
        .code()
}

#[tokio::test]
async fn status_encrypt_decrypt_round_trip() {
    let mut plugin = mk_plugin(&KeyRing::generate(None)).await;
    let status = plugin
        .client
        .status(StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(
        (
            status.version.as_str(),
            status.healthz.as_str(),
            status.key_id.as_str()
        ),
        ("v2", "ok", "key-1")
    );

    let seed = [7u8; 32];
    let (ciphertext, key_id) = encrypt(&mut plugin.client, &seed).await;
    assert_eq!(key_id, "key-1");
    assert!(
        ciphertext.len() < 1024,
        "encryptedDEKSource must stay under 1 kB"
    );
    assert!(!ciphertext.windows(seed.len()).any(|w| w == seed));

    let mut request = mk_decrypt(ciphertext, &key_id);
    request
        .annotations
        .insert("version.encryption.example.io".into(), b"1".to_vec());
    let plaintext = plugin
        .client
        .decrypt(request)
        .await
        .expect("decrypt")
        .into_inner()
        .plaintext;
    assert_eq!(plaintext, seed);

    plugin.shutdown_tx.send(()).expect("server alive");
    plugin
        .server
        .await
        .expect("server task")
        .expect("clean shutdown");
}

#[tokio::test]
async fn invalid_requests_get_invalid_argument() {
    let mut plugin = mk_plugin(&KeyRing::generate(None)).await;
    let (ciphertext, key_id) = encrypt(&mut plugin.client, b"seed").await;
    let client = &mut plugin.client;

    let empty = EncryptRequest {
        plaintext: vec![],
        uid: "u".into(),
    };
    assert_eq!(
        client
            .encrypt(empty)
            .await
            .expect_err("empty plaintext")
            .code(),
        Code::InvalidArgument
    );
    assert_eq!(
        decrypt_code(client, mk_decrypt(vec![], &key_id)).await,
        Code::InvalidArgument
    );
    assert_eq!(
        decrypt_code(client, mk_decrypt(ciphertext.clone(), "")).await,
        Code::InvalidArgument
    );
    let long_id = "k".repeat(1025);
    assert_eq!(
        decrypt_code(client, mk_decrypt(ciphertext.clone(), &long_id)).await,
        Code::InvalidArgument
    );
    assert_eq!(
        decrypt_code(client, mk_decrypt(ciphertext.clone(), "key-2")).await,
        Code::InvalidArgument
    );
    assert_eq!(
        decrypt_code(client, mk_decrypt(b"k8s:enc:garbage".to_vec(), &key_id)).await,
        Code::InvalidArgument
    );

    let mut tampered = ciphertext.clone();
    *tampered.last_mut().expect("tag") ^= 1;
    assert_eq!(
        decrypt_code(client, mk_decrypt(tampered, &key_id)).await,
        Code::InvalidArgument
    );

    let mut bad_key = mk_decrypt(ciphertext.clone(), &key_id);
    bad_key.annotations.insert("Not_A_Domain".into(), vec![]);
    assert_eq!(decrypt_code(client, bad_key).await, Code::InvalidArgument);
    let mut too_big = mk_decrypt(ciphertext.clone(), &key_id);
    too_big
        .annotations
        .insert("big.example.com".into(), vec![0; 32 * 1024]);
    assert_eq!(decrypt_code(client, too_big).await, Code::InvalidArgument);

    // A value sealed for a store item is not a KMS ciphertext, even under the same key.
    let ring = KeyRing::load_file(&plugin.keys).expect("load");
    let item = seal(&ring, &Aad::new("ns", "name", "key"), b"seed").expect("seal");
    assert_eq!(
        decrypt_code(client, mk_decrypt(item, &key_id)).await,
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn key_id_follows_rotation_of_the_key_file() {
    let mut ring = KeyRing::generate(None);
    let mut plugin = mk_plugin(&ring).await;
    let (old_ciphertext, old_id) = encrypt(&mut plugin.client, b"old seed").await;

    ring.rotate(None).expect("rotate");
    ring.save_file(&plugin.keys).expect("save rotated");
    let status = plugin
        .client
        .status(StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.key_id, "key-2");
    let (_, new_id) = encrypt(&mut plugin.client, b"new seed").await;
    assert_eq!(new_id, "key-2");
    let old = plugin
        .client
        .decrypt(mk_decrypt(old_ciphertext.clone(), &old_id))
        .await
        .expect("old still opens");
    assert_eq!(old.into_inner().plaintext, b"old seed");

    // Dropping the old key makes its data a precondition failure, not a malformed request.
    let only_new = KeyRing::generate(Some(
        configsync_envelope::KeyId::new("key-2").expect("valid"),
    ));
    only_new.save_file(&plugin.keys).expect("save");
    assert_eq!(
        decrypt_code(&mut plugin.client, mk_decrypt(old_ciphertext, &old_id)).await,
        Code::FailedPrecondition
    );

    // A broken key file keeps the last good ring serving but fails healthz.
    std::fs::write(&plugin.keys, b"{").expect("break key file");
    let status = plugin
        .client
        .status(StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert!(
        status.healthz.starts_with("key ring reload failed"),
        "{}",
        status.healthz
    );
    assert_eq!(status.key_id, "key-2");
    assert_eq!(encrypt(&mut plugin.client, b"still works").await.1, "key-2");
}

#[tokio::test]
async fn bind_refuses_to_replace_a_regular_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("not-a-socket");
    std::fs::write(&path, b"data").expect("write");
    assert!(matches!(
        server::bind(&path),
        Err(server::ServeError::NotASocket(_))
    ));
    assert_eq!(std::fs::read(&path).expect("untouched"), b"data");
}
