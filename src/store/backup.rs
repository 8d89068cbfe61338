//! Reading the whole database as one consistent snapshot (for `casemail backup`) and
//! writing it back into an empty one (`casemail restore`), table by table, parents before
//! the tables that refer to them. The same code serves both backends, so a backup made on
//! one can be restored on the other.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Backend, Store, StoreError, StoreResult};

/// Tables a backup leaves out: sessions (each holds an identity wrapped to a key that
/// lives only in a browser's cookie; people sign in again after a restore) and the
/// migration record (the restoring release makes its own).
const NOT_BACKED_UP: &[&str] = &["sessions", "_sqlx_migrations"];

/// What a column holds, read from the database's own schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Integer,
    Text,
    Bytes,
}

#[derive(Debug, Clone)]
pub struct TableShape {
    pub name: String,
    pub columns: Vec<(String, ColumnKind)>,
}

/// One value of a row, as a backup file holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Integer(i64),
    Text(String),
    Bytes { b64: String },
}

/// A read of every table as of one moment, while the service goes on writing.
pub struct Snapshot {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

fn kind_of(declared: &str) -> StoreResult<ColumnKind> {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int" | "int8" | "int4" | "smallint" => Ok(ColumnKind::Integer),
        "text" | "json" | "character varying" | "varchar" => Ok(ColumnKind::Text),
        "blob" | "bytea" => Ok(ColumnKind::Bytes),
        _ => Err(StoreError::Corrupt(
            "a column of a type backups do not know",
        )),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Store {
    /// The database's tables (less those a backup leaves out), each before any table
    /// that refers to it, with their columns.
    pub async fn table_shapes(&self) -> StoreResult<Vec<TableShape>> {
        let (tables, references): (Vec<String>, Vec<(String, String)>) = match self.backend {
            Backend::Sqlite => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut references = Vec::new();
                for table in &tables {
                    let parents: Vec<String> =
                        sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list($1)")
                            .bind(table)
                            .fetch_all(&self.pool)
                            .await?;
                    references.extend(parents.into_iter().map(|p| (table.clone(), p)));
                }
                (tables, references)
            }
            Backend::Postgres => {
                let tables = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     ORDER BY table_name",
                )
                .fetch_all(&self.pool)
                .await?;
                let references = sqlx::query_as(
                    "SELECT tc.table_name::text, ccu.table_name::text \
                     FROM information_schema.table_constraints tc \
                     JOIN information_schema.constraint_column_usage ccu \
                       ON tc.constraint_name = ccu.constraint_name \
                      AND tc.table_schema = ccu.table_schema \
                     WHERE tc.constraint_type = 'FOREIGN KEY' \
                       AND tc.table_schema = current_schema()",
                )
                .fetch_all(&self.pool)
                .await?;
                (tables, references)
            }
        };
        let tables: Vec<String> = tables
            .into_iter()
            .filter(|t| !NOT_BACKED_UP.contains(&t.as_str()))
            .collect();
        let mut shapes = Vec::new();
        for name in parents_first(&tables, &references)? {
            let columns: Vec<(String, String)> =
                match self.backend {
                    Backend::Sqlite => {
                        sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                            .bind(&name)
                            .fetch_all(&self.pool)
                            .await?
                    }
                    Backend::Postgres => sqlx::query_as(
                        "SELECT column_name::text, data_type::text FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1 \
                         ORDER BY ordinal_position",
                    )
                    .bind(&name)
                    .fetch_all(&self.pool)
                    .await?,
                };
            let columns = columns
                .into_iter()
                .map(|(column, declared)| Ok((column, kind_of(&declared)?)))
                .collect::<StoreResult<Vec<_>>>()?;
            shapes.push(TableShape { name, columns });
        }
        Ok(shapes)
    }

    /// The newest migration applied: backups restore only into the same schema.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Starts a read of every table as of now: one transaction whose reads all see the
    /// same committed state (SQLite's write-ahead log keeps it for the reader; PostgreSQL's
    /// repeatable read does the same), so writes that land meanwhile are wholly out.
    pub async fn snapshot(&self) -> StoreResult<Snapshot> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Snapshot {
            tx,
            backend: self.backend,
        })
    }

    /// The number of rows in each table that a restore would write to.
    pub async fn row_counts(&self, shapes: &[TableShape]) -> StoreResult<BTreeMap<String, i64>> {
        let mut counts = BTreeMap::new();
        for shape in shapes {
            let count: i64 =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quoted(&shape.name)))
                    .fetch_one(&self.pool)
                    .await?;
            counts.insert(shape.name.clone(), count);
        }
        Ok(counts)
    }

    /// Begins writing a restore: one transaction, so a restore that fails leaves the
    /// database as empty as it was.
    pub async fn begin_restore(&self) -> StoreResult<Restore> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Sqlite {
            // Rows go in parents first, but a table may refer to itself; checked at commit.
            sqlx::query("PRAGMA defer_foreign_keys = ON")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Restore {
            tx,
            backend: self.backend,
        })
    }
}

/// Orders tables so that each comes after the tables it refers to.
fn parents_first(tables: &[String], references: &[(String, String)]) -> StoreResult<Vec<String>> {
    let mut placed: Vec<String> = Vec::new();
    let mut left: BTreeSet<&String> = tables.iter().collect();
    while !left.is_empty() {
        let ready: Vec<&String> = left
            .iter()
            .copied()
            .filter(|table| {
                references.iter().all(|(child, parent)| {
                    child != *table
                        || parent == *table
                        || !left.contains(parent)
                        || !tables.contains(parent)
                })
            })
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Corrupt("tables refer to each other in a cycle"));
        }
        for table in ready {
            left.remove(table);
            placed.push(table.clone());
        }
    }
    Ok(placed)
}

fn cell(row: &AnyRow, index: usize, kind: ColumnKind) -> StoreResult<Cell> {
    Ok(match kind {
        ColumnKind::Integer => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Cell::Null, Cell::Integer),
        ColumnKind::Text => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Cell::Null, Cell::Text),
        ColumnKind::Bytes => {
            row.try_get::<Option<Vec<u8>>, _>(index)?
                .map_or(Cell::Null, |bytes| Cell::Bytes {
                    b64: base64::engine::general_purpose::STANDARD.encode(bytes),
                })
        }
    })
}

impl Snapshot {
    /// Every row of `shape`'s table in key order, handed to `each` as it is read.
    pub async fn rows(
        &mut self,
        shape: &TableShape,
        mut each: impl FnMut(Vec<Cell>) -> std::io::Result<()>,
    ) -> StoreResult<u64> {
        let columns: Vec<String> = shape.columns.iter().map(|(c, _)| quoted(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY 1",
            columns.join(", "),
            quoted(&shape.name)
        );
        let mut stream = sqlx::query(&sql).fetch(&mut *self.tx);
        let mut count = 0;
        while let Some(row) = stream.try_next().await? {
            let cells = shape
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| cell(&row, i, *kind))
                .collect::<StoreResult<Vec<_>>>()?;
            each(cells).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            count += 1;
        }
        Ok(count)
    }

    /// The blob ids the snapshot's attachments name.
    pub async fn blob_ids(&mut self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT blob_id FROM attachments ORDER BY blob_id")
                .fetch_all(&mut *self.tx)
                .await?,
        )
    }

    /// The audit chain's head as of the snapshot.
    pub async fn audit_head(&mut self) -> StoreResult<Option<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn finish(self) -> StoreResult<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// A restore being written, in one transaction.
pub struct Restore {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

impl Restore {
    /// Empties a table before the backup's rows go in.
    pub async fn clear(&mut self, shape: &TableShape) -> StoreResult<()> {
        sqlx::query(&format!("DELETE FROM {}", quoted(&shape.name)))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Inserts rows of `shape`'s table, given in the order of `columns` (a backup's
    /// columns, which must each be in the table).
    pub async fn insert(
        &mut self,
        shape: &TableShape,
        columns: &[String],
        rows: &[Vec<Cell>],
    ) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let kinds = columns
            .iter()
            .map(|column| {
                shape
                    .columns
                    .iter()
                    .find(|(name, _)| name == column)
                    .map(|(_, kind)| *kind)
                    .ok_or(StoreError::Corrupt(
                        "a backup column the table does not have",
                    ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let names: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
        let mut placeholders = Vec::new();
        let mut n = 0;
        for _ in rows {
            let row: Vec<String> = (0..columns.len())
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            placeholders.push(format!("({})", row.join(", ")));
        }
        // Identity columns take the backup's ids as they are.
        let overriding = match self.backend {
            Backend::Postgres => " OVERRIDING SYSTEM VALUE",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "INSERT INTO {} ({}){overriding} VALUES {}",
            quoted(&shape.name),
            names.join(", "),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in rows {
            if row.len() != kinds.len() {
                return Err(StoreError::Corrupt("a backup row of the wrong length"));
            }
            for (value, kind) in row.iter().zip(&kinds) {
                query = match (kind, value) {
                    (ColumnKind::Integer, Cell::Integer(v)) => query.bind(*v),
                    (ColumnKind::Integer, Cell::Null) => query.bind(None::<i64>),
                    (ColumnKind::Text, Cell::Text(v)) => query.bind(v.clone()),
                    (ColumnKind::Text, Cell::Null) => query.bind(None::<String>),
                    (ColumnKind::Bytes, Cell::Bytes { b64 }) => query.bind(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|_| StoreError::Corrupt("a backup value is not base64"))?,
                    ),
                    (ColumnKind::Bytes, Cell::Null) => query.bind(None::<Vec<u8>>),
                    _ => return Err(StoreError::Corrupt("a backup value of the wrong kind")),
                };
            }
        }
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Commits, after moving PostgreSQL's id counters past the restored ids.
    pub async fn commit(mut self, shapes: &[TableShape]) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            for shape in shapes {
                let identity: Option<String> = sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     AND is_identity = 'YES'",
                )
                .bind(&shape.name)
                .fetch_optional(&mut *self.tx)
                .await?;
                if let Some(column) = identity {
                    sqlx::query(&format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), \
                         GREATEST((SELECT MAX({}) FROM {}), 1))",
                        quoted(&column),
                        quoted(&shape.name)
                    ))
                    .bind(&shape.name)
                    .bind(&column)
                    .execute(&mut *self.tx)
                    .await?;
                }
            }
        }
        self.tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_the_tables_that_refer_to_them() {
        let tables: Vec<String> = ["messages", "users", "organisations", "attachments"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let refs: Vec<(String, String)> = [
            ("users", "organisations"),
            ("messages", "users"),
            ("messages", "messages"),
            ("attachments", "messages"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let order = parents_first(&tables, &refs).expect("no cycle");
        let at = |t: &str| order.iter().position(|x| x == t).expect("placed");
        assert!(at("organisations") < at("users"));
        assert!(at("users") < at("messages"));
        assert!(at("messages") < at("attachments"));
    }

    #[test]
    fn cells_keep_their_kind_in_json() {
        let row = vec![
            Cell::Integer(7),
            Cell::Text("x".into()),
            Cell::Null,
            Cell::Bytes { b64: "AAE=".into() },
        ];
        let json = serde_json::to_string(&row).expect("serialises");
        assert_eq!(json, r#"[7,"x",null,{"b64":"AAE="}]"#);
        let back: Vec<Cell> = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, row);
    }
}
