//! The connection pool and a database server that drops its connections (a restart, a
//! proxy's idle timeout): the next request gets a working connection, not an error.

use casemail::store::Store;
use sqlx::Connection;

use crate::helpers::{Backend, TestDatabase, postgres_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(casemail_postgres),
    ignore = "PostgreSQL suite: set CASEMAIL_TEST_POSTGRES_URL=postgres://USER@HOST/DB to run it"
)]
async fn a_connection_the_server_dropped_is_replaced_before_a_request_uses_it() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let database = TestDatabase::create(Backend::Postgres, dir.path()).await;
    let store = Store::connect(&database.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.ping().await.expect("a first statement");

    // The server ends every session of this database, as a restart would.
    let name = database.url.rsplit('/').next().expect("a database name");
    let name = name.split('?').next().expect("a database name");
    let mut admin = sqlx::postgres::PgConnection::connect(&postgres_url())
        .await
        .expect("reach PostgreSQL");
    let ended: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut admin)
    .await
    .expect("end the pool's sessions");
    assert!(!ended.is_empty(), "the pool held a connection");

    // Past the pool's idle check: the dropped connections are found and replaced.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for _ in 0..4 {
        store
            .ping()
            .await
            .expect("a statement after the server dropped the pool's connections");
    }
}
