//! The list of secure domains, kept by service administrators, and what people are told
//! of it (which addresses are reachable, and how).

use super::Gateway;
use crate::audit::Origin;
use crate::domain::{
    CertificateFingerprint, DkimFailure, EventKind, Jurisdiction, MailDomain, NextHop,
    OrganisationKind, OrganisationName, Role, SubjectKind, TlsPolicy,
};
use crate::store::{NewSecureDomain, SecureDomainRow, UserAccount};

/// A domain as an administrator enters it.
pub struct DomainDraft<'a> {
    pub domain: &'a str,
    /// The organisation its people belong to in Casemail (made if new).
    pub organisation: &'a str,
    pub kind: &'a str,
    /// `verify` or `fingerprint`.
    pub tls: &'a str,
    pub fingerprint: &'a str,
    /// host:port, or empty to use the domain's MX.
    pub next_hop: &'a str,
    /// `reject` or `mark`.
    pub dkim_failure: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainProblem {
    #[error("Only service administrators keep the list of secure domains")]
    NotServiceAdmin,
    #[error("{1}")]
    Field(&'static str, String),
    #[error("{0} is already on the list")]
    AlreadyListed(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(DomainProblem: crate::store::StoreError);

/// A domain people may write to, and how their letters are protected on the way.
pub struct ReachableDomain {
    pub domain: String,
    pub organisation: String,
    pub protection: String,
}

fn field(name: &'static str, problem: &str) -> DomainProblem {
    DomainProblem::Field(name, problem.to_string())
}

impl Gateway {
    /// The list, for service administrators.
    pub async fn secure_domains(
        &self,
        admin: &UserAccount,
    ) -> Result<Vec<SecureDomainRow>, DomainProblem> {
        if admin.role != Role::ServiceAdmin {
            return Err(DomainProblem::NotServiceAdmin);
        }
        Ok(self.store.secure_domains().await?)
    }

    /// The domains anyone signed in may write to (none while the gateway is off).
    pub async fn reachable_domains(&self) -> anyhow::Result<Vec<ReachableDomain>> {
        if !self.is_enabled() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .secure_domains()
            .await?
            .into_iter()
            .map(|row| ReachableDomain {
                protection: TlsPolicy::from_stored(&row.tls_policy, row.fingerprint.as_deref())
                    .map_or_else(|_| "TLS".into(), |p| p.describe()),
                domain: row.domain,
                organisation: row.organisation,
            })
            .collect())
    }

    pub async fn add_domain(
        &self,
        admin: &UserAccount,
        draft: &DomainDraft<'_>,
        client_address: &str,
    ) -> Result<i64, DomainProblem> {
        if admin.role != Role::ServiceAdmin || admin.acting_delegate.is_some() {
            return Err(DomainProblem::NotServiceAdmin);
        }
        let domain = MailDomain::parse(draft.domain).map_err(|e| field("domain", e))?;
        let name = OrganisationName::parse(draft.organisation).map_err(|_| {
            field(
                "organisation",
                "Enter the organisation its people belong to",
            )
        })?;
        let kind = match draft.kind {
            "prosecution" => OrganisationKind::Prosecution,
            "court" => OrganisationKind::Court,
            "defence" => OrganisationKind::Defence,
            _ => return Err(field("kind", "Choose what kind of organisation it is")),
        };
        let policy = match draft.tls {
            "verify" => TlsPolicy::Verify,
            "fingerprint" => TlsPolicy::Fingerprint(
                CertificateFingerprint::parse(draft.fingerprint)
                    .map_err(|e| field("fingerprint", e))?,
            ),
            _ => return Err(field("tls", "Choose the TLS its mail servers must offer")),
        };
        let next_hop = match draft.next_hop.trim() {
            "" => None,
            text => Some(NextHop::parse(text).map_err(|e| field("next_hop", e))?),
        };
        let dkim = DkimFailure::parse(draft.dkim_failure).map_err(|e| field("dkim_failure", e))?;
        // The mail server keys TLS policy by the server mail goes to: domains sent through
        // one server share its policy.
        if let Some(hop) = &next_hop
            && let Some(other) = self
                .store
                .secure_domain_by_next_hop(&hop.to_string())
                .await?
            && TlsPolicy::from_stored(&other.tls_policy, other.fingerprint.as_deref()).ok()
                != Some(policy.clone())
        {
            return Err(field(
                "next_hop",
                &format!(
                    "{} is sent through this server with another TLS policy: domains sent \
                     through one server share its policy",
                    other.domain
                ),
            ));
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let organisation = match self.store.organisation_by_name(name.as_str()).await? {
            Some(existing) => existing,
            None => change
                .create_organisation(
                    kind,
                    &name,
                    &Jurisdiction::parse("")
                        .map_err(|_| field("organisation", "no jurisdiction"))?,
                    now,
                )
                .await?
                .ok_or_else(|| {
                    field(
                        "organisation",
                        "That organisation was just created: try again",
                    )
                })?,
        };
        let fingerprint = match &policy {
            TlsPolicy::Fingerprint(f) => Some(f.as_str().to_string()),
            TlsPolicy::Verify => None,
        };
        let next_hop_text = next_hop.as_ref().map(ToString::to_string);
        let Some(id) = change
            .add_secure_domain(&NewSecureDomain {
                domain: domain.as_str(),
                organisation_id: organisation.id,
                tls_policy: policy.as_str(),
                fingerprint: fingerprint.as_deref(),
                next_hop: next_hop_text.as_deref(),
                dkim_failure: dkim.as_str(),
            })
            .await?
        else {
            return Err(DomainProblem::AlreadyListed(domain.to_string()));
        };
        change
            .record(&[Origin::user(admin, client_address).event(
                now,
                EventKind::SecureDomainAdded,
                SubjectKind::Organisation,
                Some(organisation.id),
                serde_json::json!({
                    "domain": domain.as_str(),
                    "tls": policy.as_str(),
                    "fingerprint": fingerprint,
                    "next_hop": next_hop_text,
                    "dkim_failure": dkim.as_str(),
                }),
            )])
            .await?;
        change.commit().await?;
        Ok(id)
    }

    pub async fn remove_domain(
        &self,
        admin: &UserAccount,
        id: i64,
        client_address: &str,
    ) -> Result<bool, DomainProblem> {
        if admin.role != Role::ServiceAdmin || admin.acting_delegate.is_some() {
            return Err(DomainProblem::NotServiceAdmin);
        }
        let now = self.clock.now();
        let mut change = self.store.begin(now).await?;
        let Some(domain) = change.remove_secure_domain(id).await? else {
            return Ok(false);
        };
        change
            .record(&[Origin::user(admin, client_address).event(
                now,
                EventKind::SecureDomainRemoved,
                SubjectKind::Organisation,
                None,
                serde_json::json!({ "domain": domain }),
            )])
            .await?;
        change.commit().await?;
        Ok(true)
    }
}
