//! Invitations in GraphQL: the object, the organization's list, the lookup
//! by token, and the invite/resend/revoke/accept/decline mutations.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, Upload, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::enums::{self, Role};
use super::ids::{self, NodeKind};
use super::member::Membership;
use super::organization::Organization;
use super::pagination::{PageArgs, PageQuery};
use super::user_error::UserError;
use crate::connection;
use crate::domain::invitation_accept::{self, Accept};
use crate::domain::invitations::{self, Change, InvitationStatus, Invitee, Outcome};
use crate::domain::read::members::MemberRow;
use crate::domain::read::{accounts, invitations as read, organizations};
use crate::domain::{invite_csv, validate, Caller};
use crate::entity::invitation;
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Invitation(pub invitation::Model);

connection!(InvitationConnection, InvitationEdge, Invitation);

#[Object]
impl Invitation {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Invitation, self.0.id)
    }
    /// For members of the organization (and site admins, its service
    /// accounts). A token holder who is not gets NOT_FOUND here and reads
    /// `organizationName` instead.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let c = ctx.data::<Caller>()?;
        let org = organizations::of_row_if_visible(c, self.0.organization_id).await?;
        Ok(Organization(org))
    }
    /// The organization's display name (what an accept page shows).
    async fn organization_name(&self, ctx: &Context<'_>) -> Result<String> {
        let c = ctx.data::<Caller>()?;
        Ok(organizations::of_row(c, self.0.organization_id).await?.name)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn status(&self, ctx: &Context<'_>) -> Result<enums::InvitationStatus> {
        let c = ctx.data::<Caller>()?;
        Ok(InvitationStatus::of(&self.0, c.now()).into())
    }
    async fn invited_by(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        let by = self.0.invited_by_account_id;
        Ok(accounts::named(c, by).await?.map(Into::into))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Seven days after the last (re)send.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn last_sent_at(&self) -> DateTime<Utc> {
        self.0.last_sent_at
    }
    async fn send_count(&self) -> i32 {
        self.0.send_count
    }
}

/// `Organization.invitations`: SA, A, S; FORBIDDEN for other members.
pub async fn list(
    c: &Caller,
    org_id: Uuid,
    args: PageArgs,
    status: Option<InvitationStatus>,
) -> AppResult<InvitationConnection> {
    // Before the cursors: a caller who may not list learns nothing of them.
    read::may_list(c, org_id).await?;
    let q = PageQuery::parse(&args, "Invitation", c.services.cursor_key.clone())?;
    let page = read::list(c, org_id, &q.request, status).await?;
    Ok(InvitationConnection::build(&q, page, |i| i.id, Invitation))
}

#[derive(InputObject)]
pub struct InviteeInput {
    pub email: String,
    #[graphql(default_with = "Some(Role::Member)")]
    pub role: Option<Role>,
}

/// Give invitees, a CSV upload (one email per line, optional second column role), or both.
#[derive(InputObject)]
pub struct InviteMembersInput {
    pub organization: ID,
    pub invitees: Option<Vec<InviteeInput>>,
    pub csv: Option<Upload>,
}

#[derive(SimpleObject)]
pub struct InvitationResult {
    pub email: String,
    pub invitation: Option<Invitation>,
    pub error: Option<UserError>,
}

#[derive(SimpleObject)]
pub struct InviteMembersPayload {
    pub results: Vec<InvitationResult>,
}

#[derive(InputObject)]
pub struct InvitationIdsInput {
    pub ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct InvitationResultsPayload {
    pub results: Vec<InvitationResult>,
}

#[derive(InputObject)]
pub struct AcceptInvitationInput {
    pub token: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
}

#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct DeclineInvitationInput {
    pub token: String,
}

#[derive(SimpleObject)]
pub struct DeclineInvitationPayload {
    pub invitation: Invitation,
}

fn results(outcomes: Vec<Outcome>) -> Vec<InvitationResult> {
    outcomes
        .into_iter()
        .map(|o| match o.result {
            Ok(inv) => InvitationResult {
                email: o.email,
                invitation: Some(Invitation(inv)),
                error: None,
            },
            Err(e) => InvitationResult {
                email: o.email,
                invitation: None,
                error: Some(UserError::from(&e)),
            },
        })
        .collect()
}

fn read_csv(ctx: &Context<'_>, upload: &Upload) -> AppResult<Vec<u8>> {
    use std::io::Read;
    let value = upload
        .value(ctx)
        .map_err(|_| AppError::bad_input(&["csv"], "the CSV upload is missing"))?;
    if value.size().unwrap_or(0) > invite_csv::MAX_BYTES as u64 {
        return Err(AppError::bad_input(&["csv"], "the CSV file is over 1 MiB"));
    }
    let mut bytes = Vec::new();
    value
        .into_read()
        .take(invite_csv::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(AppError::internal)?;
    Ok(bytes)
}

#[derive(Default)]
pub struct InvitationMutations;

#[Object]
impl InvitationMutations {
    async fn invite_members(
        &self,
        ctx: &Context<'_>,
        input: InviteMembersInput,
    ) -> Result<InviteMembersPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let invitees = input.invitees.unwrap_or_default();
        validate::bulk_len("invitees", invitees.len())?;
        // Both limits of the file are checked before any row is processed.
        let csv_rows = match &input.csv {
            Some(u) => invite_csv::parse(&read_csv(ctx, u)?)?,
            None => Vec::new(),
        };
        if invitees.is_empty() && csv_rows.is_empty() {
            return Err(
                AppError::bad_input(&["invitees"], "give invitees, a csv file, or both").into(),
            );
        }
        let mut items: Vec<Result<Invitee, (String, AppError)>> = invitees
            .into_iter()
            .enumerate()
            .map(|(n, i)| {
                Ok(Invitee {
                    email: i.email,
                    role: i.role.unwrap_or(Role::Member).into(),
                    field: vec!["invitees".into(), n.to_string()],
                })
            })
            .collect();
        items.extend(csv_rows);
        let out = invitations::invite(c, org, items).await?;
        Ok(InviteMembersPayload {
            results: results(out),
        })
    }

    async fn resend_invitations(
        &self,
        ctx: &Context<'_>,
        input: InvitationIdsInput,
    ) -> Result<InvitationResultsPayload> {
        change(ctx, input, Change::Resend).await
    }

    async fn revoke_invitations(
        &self,
        ctx: &Context<'_>,
        input: InvitationIdsInput,
    ) -> Result<InvitationResultsPayload> {
        change(ctx, input, Change::Revoke).await
    }

    /// Signed in: joins the caller's account. Signed out: creates a PERSON account for the invited email (password required).
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> Result<AcceptInvitationPayload> {
        let c = ctx.data::<Caller>()?;
        let m = invitation_accept::accept(
            c,
            Accept {
                token: input.token,
                first_name: input.first_name,
                last_name: input.last_name,
                password: input.password,
            },
        )
        .await?;
        Ok(AcceptInvitationPayload {
            membership: Membership(MemberRow::with_seat(m, None)),
        })
    }

    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        input: DeclineInvitationInput,
    ) -> Result<DeclineInvitationPayload> {
        let c = ctx.data::<Caller>()?;
        let inv = invitation_accept::decline(c, &input.token).await?;
        Ok(DeclineInvitationPayload {
            invitation: Invitation(inv),
        })
    }
}

async fn change(
    ctx: &Context<'_>,
    input: InvitationIdsInput,
    what: Change,
) -> Result<InvitationResultsPayload> {
    let c = ctx.data::<Caller>()?;
    let ids = input
        .ids
        .iter()
        .map(|id| ids::decode(id, NodeKind::Invitation, &[]))
        .collect();
    let out = invitations::change(c, ids, what).await?;
    Ok(InvitationResultsPayload {
        results: results(out),
    })
}
