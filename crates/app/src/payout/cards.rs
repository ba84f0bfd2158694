//! Members' bank cards (银行卡): where a subsidy is paid. The number is checked at the edge
//! (16–19 digits, Luhn), stored encrypted and shown masked. The holder is the member or, for a
//! minor, a deceased or an incapacitated member, someone of the same household, with the reason.
//! Once money was sent to a member's card, a new card waits for a reviewer: a changed card
//! number is the classic way to divert a subsidy.

use crate::access::{Actor, CardKeeper, ClaimReviewer};
use crate::{App, AppError, AppResult};
use domain::{AuditAction, CardId, CardStatus, HolderReason};
use payout::card::BankCardNumber;

/// A card as the clerk enters it.
#[derive(Debug, Clone, Default)]
pub struct CardInput {
    /// The holder when not the member (a household member's id).
    pub holder_member_id: Option<i64>,
    pub holder_reason: Option<HolderReason>,
    pub bank_name: String,
    pub card_number: String,
}

/// A card as pages show it (never the full number).
#[derive(Debug, Clone)]
pub struct CardView {
    pub id: CardId,
    pub member_id: i64,
    pub member_name: String,
    pub holder_name: String,
    pub holder_reason: HolderReason,
    pub bank_name: String,
    pub masked: String,
    pub status: CardStatus,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    pub confirmed_by: Option<String>,
}

const BANK_NAME_MAX: usize = 40;

impl App {
    /// Records a card for the member. Returns `Pending` when money was already sent to the
    /// member (a reviewer must confirm the change), else `Active` (replacing the card in force).
    pub async fn record_card(
        &self,
        keeper: &CardKeeper,
        actor: &Actor,
        member_id: i64,
        input: &CardInput,
    ) -> AppResult<CardStatus> {
        let number = BankCardNumber::parse(&input.card_number)
            .map_err(|e| AppError::Invalid(format!("银行卡号：{e}")))?;
        let bank = domain::Line::parse(&input.bank_name, BANK_NAME_MAX)
            .map_err(|e| AppError::Invalid(format!("开户银行{e}")))?
            .into_string();
        let mut tx = self.db.begin_write().await?;
        let member = store::roster::get_member(&mut tx, keeper.scope(), member_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (holder, reason) = holder(&mut tx, &member, input, self.today()).await?;
        let status = if store::payout::member_was_paid(&mut tx, member_id).await? {
            CardStatus::Pending
        } else {
            store::payout::retire_active_card(&mut tx, member_id).await?;
            CardStatus::Active
        };
        let masked = number.masked();
        let id = store::payout::insert_card(
            &mut tx,
            &store::payout::NewCard {
                member_id,
                village_code: &member.village_code,
                holder_member_id: holder,
                holder_reason: reason,
                bank_name: &bank,
                card_cipher: &self.keys.encrypt(number.as_str()),
                card_masked: &masked,
                status,
                note: "",
                by: &actor.username,
                at: &self.now_text(),
            },
        )
        .await?;
        let detail = format!("{} {bank} {masked}（{}）", member.name, status.label_zh());
        let subject = format!("bank_card:{id}");
        self.audit(
            &mut tx,
            actor,
            &member.village_code,
            AuditAction::BankCardRecord,
            &subject,
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(status)
    }

    /// A member's cards, newest first (the one in force, pending changes, earlier ones).
    pub async fn member_cards(&self, actor: &Actor, member_id: i64) -> AppResult<Vec<CardView>> {
        let mut conn = self.db.acquire().await?;
        let cards = store::payout::cards(&mut conn, &actor.scope(), member_id).await?;
        let mut out = Vec::with_capacity(cards.len());
        for c in cards {
            out.push(card_view(&mut conn, c).await?);
        }
        Ok(out)
    }

    /// Card changes waiting for a reviewer in the reviewer's area.
    pub async fn pending_cards(&self, reviewer: &ClaimReviewer) -> AppResult<Vec<CardView>> {
        let mut conn = self.db.acquire().await?;
        let cards = store::payout::pending_cards(&mut conn, reviewer.scope()).await?;
        let mut out = Vec::with_capacity(cards.len());
        for c in cards {
            out.push(card_view(&mut conn, c).await?);
        }
        Ok(out)
    }

    /// A reviewer confirms (the card comes into force) or refuses a pending card change. The
    /// reviewer is never the person who entered it.
    pub async fn decide_card(
        &self,
        reviewer: &ClaimReviewer,
        actor: &Actor,
        id: CardId,
        confirm: bool,
        note: &str,
    ) -> AppResult<()> {
        let note =
            crate::error::typed_text("说明", note, (!confirm).then_some("请填写不通过的原因"))?;
        let mut tx = self.db.begin_write().await?;
        let card = store::payout::get_card(&mut tx, reviewer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if card.created_by == actor.username {
            return Err(AppError::Forbidden);
        }
        if card.status != CardStatus::Pending {
            return Err(AppError::Conflict("该银行卡变更已处理".into()));
        }
        let to = if confirm {
            store::payout::retire_active_card(&mut tx, card.member_id).await?;
            CardStatus::Active
        } else {
            CardStatus::Rejected
        };
        let now = self.now_text();
        if !store::payout::decide_card(&mut tx, id, to, &actor.username, &now, &note).await? {
            return Err(AppError::Conflict("该银行卡变更已处理".into()));
        }
        let detail = format!("{} {}：{}", card.card_masked, to.label_zh(), note);
        self.audit(
            &mut tx,
            actor,
            &card.village_code,
            AuditAction::BankCardConfirm,
            &format!("bank_card:{id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }
}

/// The holder and the reason: the member themself, or a member of the same household with a
/// reason that the member cannot hold a card (a minor must be under 18 today).
async fn holder(
    conn: &mut store::Conn,
    member: &store::roster::Member,
    input: &CardInput,
    today: chrono::NaiveDate,
) -> AppResult<(i64, HolderReason)> {
    let reason = input.holder_reason.unwrap_or(HolderReason::Own);
    match (input.holder_member_id, reason) {
        (None, HolderReason::Own) => Ok((member.id, HolderReason::Own)),
        (Some(h), HolderReason::Own) if h == member.id => Ok((member.id, HolderReason::Own)),
        (Some(_), HolderReason::Own) | (None, _) => Err(AppError::Invalid(
            "持卡人不是本人时，请选择代领的家庭成员和原因".into(),
        )),
        (Some(h), reason) => {
            let other = store::roster::get_member(conn, &store::Scope::all(), h)
                .await?
                .filter(|o| o.household_id == member.household_id && o.id != member.id)
                .ok_or_else(|| AppError::Invalid("代领人必须是同一户的其他成员".into()))?;
            if reason == HolderReason::Minor && !is_minor(member, today) {
                return Err(AppError::Invalid(
                    "该成员已年满18周岁，应使用本人银行卡".into(),
                ));
            }
            Ok((other.id, reason))
        }
    }
}

fn is_minor(m: &store::roster::Member, today: chrono::NaiveDate) -> bool {
    m.birth_date
        .parse::<chrono::NaiveDate>()
        .ok()
        .and_then(|b| today.years_since(b))
        .is_some_and(|age| age < 18)
}

pub(crate) async fn member_name(conn: &mut store::Conn, id: i64) -> AppResult<String> {
    Ok(store::roster::get_member(conn, &store::Scope::all(), id)
        .await?
        .map(|m| m.name)
        .unwrap_or_default())
}

pub(crate) async fn card_view(
    conn: &mut store::Conn,
    c: store::payout::Card,
) -> AppResult<CardView> {
    let name = member_name(conn, c.member_id).await?;
    let holder_name = if c.holder_member_id == c.member_id {
        name.clone()
    } else {
        member_name(conn, c.holder_member_id).await?
    };
    Ok(CardView {
        id: c.id,
        member_id: c.member_id,
        member_name: name,
        holder_name,
        holder_reason: c.holder_reason,
        bank_name: c.bank_name,
        masked: c.card_masked,
        status: c.status,
        note: c.note,
        created_by: c.created_by,
        created_at: c.created_at,
        confirmed_by: c.confirmed_by,
    })
}
