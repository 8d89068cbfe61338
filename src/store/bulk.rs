//! Bulk copies for the benchmark's growth figures: a deployment of national size (half a
//! million accounts in ten thousand organisations) made in seconds by copying one real
//! account's row in SQL, instead of hours of password hashing. Never used by the service.

use super::{Backend, Store, StoreResult};

impl Store {
    /// Adds `organisations` defence firms and `accounts` people spread across them, each a
    /// copy of `template`'s account (so each signs in with its password and opens its keys)
    /// under the address `bulk{n}@firm{m}.example`, with their directory terms. Returns
    /// the number of accounts now in the deployment.
    pub async fn copy_accounts_for_benchmark(
        &self,
        template: i64,
        accounts: i64,
        organisations: i64,
        now: i64,
    ) -> StoreResult<i64> {
        let numbers = |limit: &str| match self.backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {limit})"
            ),
            Backend::Postgres => {
                format!("WITH n(i) AS (SELECT generate_series(1, {limit})::bigint)")
            }
        };
        let mut tx = self.pool.begin().await?;
        let first_org: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM organisations")
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(&format!(
            "{} INSERT INTO organisations (kind, name, jurisdiction, created_at) \
             SELECT 'defence', 'Firm ' || i, 'Bench', $1 FROM n",
            numbers("$2")
        ))
        .bind(now)
        .bind(organisations)
        .execute(&mut *tx)
        .await?;
        let columns: Vec<String> = self
            .table_shapes()
            .await?
            .into_iter()
            .find(|t| t.name == "users")
            .map(|t| t.columns.into_iter().map(|(c, _)| c).collect())
            .unwrap_or_default();
        let first_user: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM users")
            .fetch_one(&mut *tx)
            .await?;
        let copied: Vec<String> = columns.iter().filter(|c| *c != "id").cloned().collect();
        let values: Vec<String> = copied
            .iter()
            .map(|c| match c.as_str() {
                "email" => "'bulk' || i || '@firm' || (i % $3) || '.example'".to_string(),
                "name" => "'Bulk Person ' || i".to_string(),
                "organisation_id" => "$4 + (i % $3)".to_string(),
                "passkey_handle" => "NULL".to_string(),
                other => format!("t.{other}"),
            })
            .collect();
        sqlx::query(&format!(
            "{} INSERT INTO users ({}) SELECT {} FROM n CROSS JOIN users t WHERE t.id = $1",
            numbers("$2"),
            copied.join(", "),
            values.join(", ")
        ))
        .bind(template)
        .bind(accounts)
        .bind(organisations)
        .bind(first_org)
        .execute(&mut *tx)
        .await?;
        // The terms the directory would have written for each: the words of the name,
        // the address and the firm's name, and the whole address.
        for term in [
            "'bulk'",
            "'person'",
            "'example'",
            "'firm'",
            "CAST(u.id - $1 + 1 AS TEXT)",
            "'bulk' || (u.id - $1 + 1)",
            "'firm' || ((u.id - $1 + 1) % $2)",
            "CAST(((u.id - $1 + 1) % $2) AS TEXT)",
            "u.email",
        ] {
            sqlx::query(&format!(
                "INSERT INTO directory_terms (term, user_id) SELECT DISTINCT {term}, u.id \
                 FROM users u WHERE u.id >= $1 \
                 AND NOT EXISTS (SELECT 1 FROM directory_terms d WHERE d.user_id = u.id AND d.term = {term})"
            ))
            .bind(first_user)
            .bind(organisations)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }
}
