//! The real `orgql` binary, started for tests that need the process itself:
//! its log output, its mail directory, its answer to signals.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// A running `orgql serve`.
pub struct Server {
    child: Child,
    /// The log up to "listening", then the rest, read as it comes (an
    /// unread pipe would fill and stall the server).
    logs: String,
    rest: JoinHandle<String>,
    pub address: String,
}

impl Server {
    /// Starts `orgql serve` in `dir` on a free port with `env` on top of
    /// the settings tests need, and waits until it listens.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orgql"));
        command
            .arg("serve")
            .current_dir(dir)
            .env("ORGQL_LISTEN", "127.0.0.1:0")
            .env(
                "ORGQL_JWT_SECRET",
                "a test secret that is long enough to sign",
            )
            .env("ORGQL_INSECURE_FAST_PASSWORD_HASHING", "true")
            .env_remove("ORGQL_DATABASE_URL")
            .env_remove("ORGQL_MAIL_DIR")
            .env_remove("ORGQL_SMTP_URL")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the orgql binary starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut logs = String::new();
        let address = loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(30), stderr.read_line(&mut line)).await;
            assert!(
                matches!(read, Ok(Ok(n)) if n > 0),
                "the server did not start: {logs}"
            );
            logs.push_str(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        let rest = tokio::spawn(async move {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest).await;
            rest
        });
        Self {
            child,
            logs,
            rest,
            address,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.address)
    }

    /// Sends SIGTERM.
    pub async fn terminate(&self) {
        let pid = self.child.id().expect("the server is running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .unwrap();
        assert!(status.success(), "kill -TERM {pid}");
    }

    /// Waits (at most `limit`) for the process to exit; returns its status
    /// and the whole log.
    pub async fn wait(mut self, limit: Duration) -> (ExitStatus, String) {
        let exited = tokio::time::timeout(limit, async {
            let status = self.child.wait().await.unwrap();
            (status, self.rest.await.unwrap_or_default())
        })
        .await;
        match exited {
            Ok((status, rest)) => (status, self.logs + &rest),
            Err(_) => panic!("the server did not exit within {limit:?}: {}", self.logs),
        }
    }
}
