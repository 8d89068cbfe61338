//! The SQLite and PostgreSQL migration trees describe one schema: the same tables, columns
//! (with their kind of type and nullability) and indexes (their columns and uniqueness).
//! A migration added to one tree and forgotten in the other fails here.

use std::collections::BTreeSet;

use casemail::store::Store;
use sqlx::Connection;

use crate::helpers::{Backend, TestDatabase};

/// (table, column, kind of type, nullable)
type Column = (String, String, &'static str, bool);
/// (table, columns in order, unique)
type Index = (String, String, bool);

#[derive(Debug, PartialEq, Eq)]
struct Schema {
    tables: BTreeSet<String>,
    columns: BTreeSet<Column>,
    indexes: BTreeSet<Index>,
}

/// Types as the queries use them: both backends store 64-bit integers, text and bytes.
fn kind_of(declared: &str) -> &'static str {
    match declared.to_lowercase().as_str() {
        "integer" | "bigint" | "int" | "int8" | "smallint" => "integer",
        "text" | "character varying" | "varchar" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" => "float",
        "boolean" | "bool" => "boolean",
        _ => "other",
    }
}

const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

async fn migrated(backend: Backend, dir: &std::path::Path) -> String {
    let database = TestDatabase::create(backend, dir).await;
    let store = Store::connect(&database.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.close().await;
    database.url
}

async fn sqlite_schema(url: &str) -> Schema {
    let mut db = sqlx::sqlite::SqliteConnection::connect(url)
        .await
        .expect("sqlite");
    let tables: BTreeSet<String> = sqlx::query_as::<_, (String,)>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut db)
    .await
    .expect("tables")
    .into_iter()
    .map(|(name,)| name)
    .filter(|name| name != MIGRATIONS_TABLE)
    .collect();
    let mut columns = BTreeSet::new();
    let mut indexes = BTreeSet::new();
    for table in &tables {
        let rows: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(&mut db)
                .await
                .expect("columns");
        for (name, declared, not_null, pk) in rows {
            // A primary key column is never null, whatever SQLite reports.
            columns.insert((
                table.clone(),
                name,
                kind_of(&declared),
                not_null == 0 && pk == 0,
            ));
        }
        let list: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT name, \"unique\", origin FROM pragma_index_list($1)")
                .bind(table)
                .fetch_all(&mut db)
                .await
                .expect("indexes");
        for (name, unique, origin) in list {
            if origin == "pk" {
                continue;
            }
            let parts: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut db)
                    .await
                    .expect("index columns");
            let columns: Vec<String> = parts.into_iter().map(|(c,)| c).collect();
            indexes.insert((table.clone(), columns.join(","), unique != 0));
        }
    }
    Schema {
        tables,
        columns,
        indexes,
    }
}

async fn postgres_schema(url: &str) -> Schema {
    let mut db = sqlx::postgres::PgConnection::connect(url)
        .await
        .expect("postgres");
    let tables: BTreeSet<String> = sqlx::query_as::<_, (String,)>(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut db)
    .await
    .expect("tables")
    .into_iter()
    .map(|(name,)| name)
    .filter(|name| name != MIGRATIONS_TABLE)
    .collect();
    let columns = sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .expect("columns")
    .into_iter()
    .filter(|(table, ..)| tables.contains(table))
    .map(|(table, name, declared, nullable)| (table, name, kind_of(&declared), nullable == "YES"))
    .collect();
    let indexes = sqlx::query_as::<_, (String, String, bool)>(
        "SELECT t.relname::text, array_to_string(ARRAY( \
             SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ','), \
         ix.indisunique \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND NOT ix.indisprimary",
    )
    .fetch_all(&mut db)
    .await
    .expect("indexes")
    .into_iter()
    .filter(|(table, ..)| tables.contains(table))
    .collect();
    Schema {
        tables,
        columns,
        indexes,
    }
}

/// What one set has that the other lacks, for the report.
fn only<T: Ord + std::fmt::Debug>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> Vec<String> {
    a.difference(b).map(|x| format!("{x:?}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(casemail_postgres),
    ignore = "needs PostgreSQL: set CASEMAIL_TEST_POSTGRES_URL=postgres://USER@HOST/DB to run it"
)]
async fn both_backends_have_the_same_schema() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let sqlite = sqlite_schema(&migrated(Backend::Sqlite, dir.path()).await).await;
    let postgres = postgres_schema(&migrated(Backend::Postgres, dir.path()).await).await;
    assert!(
        sqlite.tables.len() > 10,
        "the schema was read: {:?}",
        sqlite.tables
    );
    let report = [
        (
            "tables only in SQLite",
            only(&sqlite.tables, &postgres.tables),
        ),
        (
            "tables only in PostgreSQL",
            only(&postgres.tables, &sqlite.tables),
        ),
        (
            "columns only in SQLite",
            only(&sqlite.columns, &postgres.columns),
        ),
        (
            "columns only in PostgreSQL",
            only(&postgres.columns, &sqlite.columns),
        ),
        (
            "indexes only in SQLite",
            only(&sqlite.indexes, &postgres.indexes),
        ),
        (
            "indexes only in PostgreSQL",
            only(&postgres.indexes, &sqlite.indexes),
        ),
    ];
    let differences: Vec<String> = report
        .iter()
        .filter(|(_, found)| !found.is_empty())
        .map(|(what, found)| format!("{what}:\n  {}", found.join("\n  ")))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// SQLite plans by the statistics it holds: a migration's new index with none, beside
/// analysed ones, looks the most selective (a million-letter inbox was once listed through
/// the unread index and a sort, in seconds). A start gives such an index its statistics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_gives_sqlite_statistics_to_an_index_without_them() {
    let office = crate::mail::office(Backend::Sqlite).await;
    office
        .fiscal
        .send_ok(&crate::helpers::Outgoing::to(
            "ann@brodie.example",
            "Diet",
            "The diet is on Monday.",
        ))
        .await;
    let app = &office.app;
    app.sql("ANALYZE").await;
    let analysed = "SELECT COUNT(*) FROM sqlite_stat1 WHERE idx = 'mailbox_unread_newest'";
    assert_eq!(app.number(analysed).await, 1, "ANALYZE covers the index");
    // As after a migration that adds the index.
    app.sql("DELETE FROM sqlite_stat1 WHERE idx = 'mailbox_unread_newest'")
        .await;
    assert_eq!(app.number(analysed).await, 0);

    let mut restarted = app.spawn_again().await;
    assert_eq!(
        restarted.number(analysed).await,
        1,
        "the start analysed the index that had no statistics"
    );
    restarted.stop().await;
}
