//! A real S3-protocol server on loopback for the object-storage tests: s3s-fs, keeping
//! each object as a file under a directory of the test's, so the tests can look at what
//! the store holds and stop the server underneath a running Casemail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use casemail::config::{BlobBackend, Config};

pub const BUCKET: &str = "casemail-attachments";
const ACCESS_KEY: &str = "casemail-test";
const SECRET_KEY: &str = "casemail-test-secret";

pub struct S3Server {
    child: Option<Child>,
    pub root: PathBuf,
    pub port: u16,
}

impl S3Server {
    /// Starts a server storing under `root` (created, with the bucket's folder).
    pub async fn start(root: &Path) -> Self {
        std::fs::create_dir_all(root.join(BUCKET)).expect("create the bucket's folder");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut server = Self {
            child: None,
            root: root.to_path_buf(),
            port,
        };
        server.resume().await;
        server
    }

    /// Starts the server again on the same port and directory after `stop`.
    pub async fn resume(&mut self) {
        let Some(program) = option_env!("CASEMAIL_TEST_S3S_FS") else {
            panic!("s3s-fs was not found when the tests were built (see build.rs)");
        };
        let child = Command::new(program)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&self.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("s3s-fs did not start listening");
    }

    /// Stops the server, as if the object store went down.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Points a configuration at this server.
    pub fn configure(&self, config: &mut Config) {
        let storage = &mut config.object_storage;
        storage.blob_store = BlobBackend::S3;
        storage.s3_endpoint = Some(format!("http://127.0.0.1:{}", self.port));
        storage.s3_bucket = Some(BUCKET.into());
        storage.s3_access_key_id = Some(ACCESS_KEY.into());
        storage.s3_secret_access_key = Some(SECRET_KEY.into());
    }

    /// Every file the server keeps: the objects and its own side files (metadata, parts of
    /// uploads in progress).
    pub fn files(&self) -> Vec<PathBuf> {
        crate::mail::walk(&self.root)
    }

    /// The objects in the bucket.
    pub fn objects(&self) -> Vec<PathBuf> {
        crate::mail::walk(&self.root.join(BUCKET))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
