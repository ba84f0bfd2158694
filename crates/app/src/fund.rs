//! The fund's money outside enrolment: donations, interest, payers' transfers, the government
//! reward, the service fee, opening balances and the year close; and reading the books.

use crate::access::{Actor, FundReader, SchemeManager};
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::{AuditAction, Fen};
use ledger::{Account, AccountKind, Entry, EntryKind, StoredPosting, TrialBalance, Verified};
use scheme::Payer;

/// A money movement an administrator records by hand.
#[derive(Debug, Clone)]
pub enum Receipt {
    Donation {
        /// Printed on the public notice and kept in the ledger memo for good: bounded, visible.
        donor_name: domain::Line,
        organisation: bool,
        amount: Fen,
    },
    Interest {
        amount: Fen,
    },
    /// A payer transferring (part of) what it owes.
    Remittance {
        payer: Payer,
        amount: Fen,
    },
    /// The balance of a fund that existed before Shouwang (once per pool).
    Opening {
        amount: Fen,
    },
}

/// The answer to "does this printed chain head still match the books?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadCheck {
    /// The posting at that number still carries the printed hash.
    Matches {
        later_postings: i64,
    },
    /// The posting exists but its hash is different: the books were changed, or the numbers
    /// were copied wrongly.
    Differs,
    /// The pool has fewer postings than the printed number.
    NoSuchPosting {
        last_seq: i64,
    },
    UnknownPool,
}

impl Receipt {
    pub fn amount(&self) -> Fen {
        match self {
            Receipt::Donation { amount, .. }
            | Receipt::Interest { amount }
            | Receipt::Remittance { amount, .. }
            | Receipt::Opening { amount } => *amount,
        }
    }

    fn kind_code(&self) -> &'static str {
        match self {
            Receipt::Donation { .. } => "donation",
            Receipt::Interest { .. } => "interest",
            Receipt::Remittance { .. } => "remittance",
            Receipt::Opening { .. } => "opening",
        }
    }
}

/// What became of a recorded receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Posted {
        entry_no: i64,
    },
    /// Above the pool's review amount: waits for a second manager.
    AwaitingReview {
        pending_id: i64,
    },
}

/// A receipt held for a second manager, as typed.
#[derive(Debug, Clone)]
pub struct PendingReceipt {
    pub id: i64,
    pub receipt: Receipt,
    pub on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: String,
}

impl TryFrom<store::receipts::PendingRow> for PendingReceipt {
    type Error = AppError;

    fn try_from(r: store::receipts::PendingRow) -> AppResult<PendingReceipt> {
        let bad =
            |what: &str| AppError::Internal(anyhow::anyhow!("pending receipt {}: {what}", r.id));
        let amount = Fen(r.amount_fen);
        let receipt = match r.kind.as_str() {
            "donation" => Receipt::Donation {
                donor_name: domain::Line::parse(&r.donor_name, 200).map_err(|_| bad("donor"))?,
                organisation: r.organisation,
                amount,
            },
            "interest" => Receipt::Interest { amount },
            "opening" => Receipt::Opening { amount },
            "remittance" => Receipt::Remittance {
                payer: Payer::from_code(&r.payer).ok_or_else(|| bad("payer"))?,
                amount,
            },
            _ => return Err(bad("kind")),
        };
        Ok(PendingReceipt {
            id: r.id,
            receipt,
            on: r.received_on.parse().map_err(|_| bad("date"))?,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
        })
    }
}

/// The ledger entry of a receipt, after the checks that need the books (a remittance never
/// exceeds what the payer owes; an opening balance only before the first posting).
async fn receipt_entry(
    tx: &mut store::Conn,
    year: &Year,
    on: NaiveDate,
    receipt: &Receipt,
) -> AppResult<Entry> {
    let amount = receipt.amount();
    Ok(match receipt {
        Receipt::Donation {
            donor_name,
            organisation,
            ..
        } => {
            let who = if *organisation { "单位" } else { "个人" };
            Entry::new(
                EntryKind::Donation,
                on,
                format!("{who}捐赠：{donor_name}"),
                "donation",
            )
            .debit(Account::FundBank, amount)
            .credit(Account::Contributions(Payer::Charity), amount)
        }
        Receipt::Interest { .. } => Entry::new(EntryKind::Interest, on, "基金专户利息", "")
            .debit(Account::FundBank, amount)
            .credit(Account::Interest, amount),
        Receipt::Remittance { payer, .. } => {
            let owed = books(tx, year, false)
                .await?
                .balance_of(Account::Receivable(*payer));
            if amount > owed {
                return Err(AppError::Invalid(format!(
                    "{}应缴余额为 {owed} 元，到账金额 {amount} 元超出应收",
                    payer.label_zh()
                )));
            }
            Entry::new(
                EntryKind::Remittance,
                on,
                format!("{}资金到账", payer.label_zh()),
                format!("payer:{}", payer.code()),
            )
            .debit(Account::FundBank, amount)
            .credit(Account::Receivable(*payer), amount)
        }
        Receipt::Opening { .. } => {
            if store::ledger::head(tx, &year.row.pool_code)
                .await?
                .is_some()
            {
                return Err(AppError::Invalid(
                    "基金已有账目，期初余额只能在第一笔账之前录入".into(),
                ));
            }
            Entry::new(EntryKind::Opening, on, "期初余额（历年结余转入）", "")
                .debit(Account::FundBank, amount)
                .credit(Account::Reserve, amount)
        }
    })
}

/// What the one-click design may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyAvailable {
    /// This year's contributions (received or receivable), donations and interest.
    pub income: Fen,
    /// Surplus carried over from closed years.
    pub reserve: Fen,
    /// The service fee the rules take from this year's income.
    pub service_fee: Fen,
    pub available: Fen,
}

impl App {
    async fn post(
        &self,
        conn: &mut store::Conn,
        year: &Year,
        actor: &Actor,
        entries: &[Entry],
    ) -> AppResult<Vec<i64>> {
        for e in entries {
            e.check().map_err(|e| AppError::Invalid(e.to_string()))?;
        }
        Ok(store::ledger::append(
            conn,
            &store::ledger::Recording {
                key: self.keys.chain_key(),
                pool_code: &year.row.pool_code,
                year_id: year.row.id,
                recorded_by: &actor.username,
                recorded_at: &self.now_text(),
            },
            entries,
        )
        .await?)
    }

    /// Loads a year the manager runs (the pool inside their area) and that is still open.
    async fn managed_open_year(
        &self,
        conn: &mut store::Conn,
        mgr: &SchemeManager,
        year_id: i64,
    ) -> AppResult<Year> {
        let year = load_year(conn, mgr.scope(), year_id).await?;
        if !mgr.scope().contains(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        if !year.is_open() {
            return Err(AppError::Invalid("该年度已关闭".into()));
        }
        Ok(year)
    }

    /// Begins a fund write on a year the manager runs: the transaction, the pool's ledger head
    /// locked before anything is read (see `store::ledger::lock_pool`), then the year read again
    /// under that lock (another writer may have closed it meanwhile).
    async fn begin_fund_write(
        &self,
        mgr: &SchemeManager,
        year_id: i64,
    ) -> AppResult<(store::Tx, Year)> {
        let mut tx = self.db.begin_write().await?;
        let pool = self
            .managed_open_year(&mut tx, mgr, year_id)
            .await?
            .row
            .pool_code;
        store::ledger::lock_pool(&mut tx, &pool).await?;
        let year = self.managed_open_year(&mut tx, mgr, year_id).await?;
        Ok((tx, year))
    }

    /// Records money received. Up to the pool's review amount it is posted at once; above it
    /// the receipt waits for a second manager ([`App::decide_receipt`]).
    pub async fn record_receipt(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
        on: NaiveDate,
        receipt: Receipt,
    ) -> AppResult<Recorded> {
        let (mut tx, year) = self.begin_fund_write(mgr, year_id).await?;
        let amount = receipt.amount();
        if amount.fen() <= 0 {
            return Err(AppError::Invalid("金额必须大于零".into()));
        }
        check_receipt_date(&year, on, self.today())?;
        let recorded = if amount > year.rules.receipt_review_above {
            // Checked now as well, so the person typing learns of a mistake at once.
            receipt_entry(&mut tx, &year, on, &receipt).await?;
            let id = self
                .hold_receipt(&mut tx, &year, actor, on, &receipt)
                .await?;
            Recorded::AwaitingReview { pending_id: id }
        } else {
            let entry_no = self
                .post_receipt(&mut tx, &year, actor, on, &receipt)
                .await?;
            Recorded::Posted { entry_no }
        };
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(recorded)
    }

    /// The year's receipts waiting for a second manager.
    pub async fn pending_receipts(
        &self,
        r: &FundReader,
        year_id: i64,
    ) -> AppResult<Vec<PendingReceipt>> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, r.scope(), year_id).await?;
        store::receipts::pending(&mut conn, year_id)
            .await?
            .into_iter()
            .map(PendingReceipt::try_from)
            .collect()
    }

    /// A second manager confirms (posts) or rejects (with a reason) a held receipt; never the
    /// person who typed it.
    pub async fn decide_receipt(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
        pending_id: i64,
        confirm: bool,
        note: &str,
    ) -> AppResult<()> {
        let note =
            crate::error::typed_text("复核意见", note, (!confirm).then_some("退回须填写原因"))?;
        let (mut tx, year) = self.begin_fund_write(mgr, year_id).await?;
        let held: PendingReceipt = store::receipts::get_pending(&mut tx, year_id, pending_id)
            .await?
            .ok_or(AppError::NotFound)?
            .try_into()?;
        if held.recorded_by == actor.username {
            return Err(AppError::Invalid(
                "大额到账须由另一名管理员复核：您不能复核自己录入的到账".into(),
            ));
        }
        let entry_no = if confirm {
            check_receipt_date(&year, held.on, self.today())?;
            Some(
                self.post_receipt(&mut tx, &year, actor, held.on, &held.receipt)
                    .await?,
            )
        } else {
            None
        };
        let now = self.now_text();
        if !store::receipts::decide(&mut tx, pending_id, entry_no, &actor.username, &now, &note)
            .await?
        {
            return Err(AppError::Conflict("该笔到账已由他人复核".into()));
        }
        let action = if confirm {
            AuditAction::FundReceiptConfirm
        } else {
            AuditAction::FundReceiptReject
        };
        let detail = format!("pending {pending_id} {} {note}", held.receipt.amount());
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            action,
            &format!("year:{year_id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Keeps a receipt above the review amount for a second manager.
    async fn hold_receipt(
        &self,
        tx: &mut store::Conn,
        year: &Year,
        actor: &Actor,
        on: NaiveDate,
        receipt: &Receipt,
    ) -> AppResult<i64> {
        let (payer, donor, organisation) = match receipt {
            Receipt::Remittance { payer, .. } => (payer.code(), "", false),
            Receipt::Donation {
                donor_name,
                organisation,
                ..
            } => ("", donor_name.as_str(), *organisation),
            _ => ("", "", false),
        };
        let id = store::receipts::insert(
            tx,
            &store::receipts::NewPending {
                year_id: year.row.id,
                kind: receipt.kind_code(),
                payer,
                donor_name: donor,
                organisation,
                amount_fen: receipt.amount().fen(),
                received_on: &on.to_string(),
                by: &actor.username,
                at: &self.now_text(),
            },
        )
        .await?;
        let detail = format!("{} {} pending {id}", receipt.kind_code(), receipt.amount());
        let target = format!("year:{}", year.row.id);
        self.audit(
            tx,
            actor,
            &year.row.pool_code,
            AuditAction::FundReceiptHeld,
            &target,
            &detail,
        )
        .await?;
        Ok(id)
    }

    /// Posts a receipt (and its donation row) and audits it; the caller commits.
    async fn post_receipt(
        &self,
        tx: &mut store::Conn,
        year: &Year,
        actor: &Actor,
        on: NaiveDate,
        receipt: &Receipt,
    ) -> AppResult<i64> {
        let entry = receipt_entry(tx, year, on, receipt).await?;
        let kind = entry.kind;
        let entry_no = self.post(tx, year, actor, &[entry]).await?[0];
        let amount = receipt.amount();
        if let Receipt::Donation {
            donor_name,
            organisation,
            ..
        } = receipt
        {
            let donation = store::designs::NewDonation {
                year_id: year.row.id,
                donor_name: donor_name.as_str(),
                donor_kind: if *organisation {
                    "organisation"
                } else {
                    "person"
                },
                amount_fen: amount.fen(),
                received_on: &on.to_string(),
                entry_no,
                by: &actor.username,
                at: &self.now_text(),
            };
            store::designs::insert_donation(tx, &donation).await?;
        }
        let detail = format!("{} {amount} entry {entry_no}", kind.code());
        let target = format!("year:{}", year.row.id);
        self.audit(
            tx,
            actor,
            &year.row.pool_code,
            AuditAction::FundReceipt,
            &target,
            &detail,
        )
        .await?;
        Ok(entry_no)
    }

    /// Books the government reward the pool's participation rate earns, as a receivable. Run it
    /// again after late enrolments or reversals: it posts only the difference.
    pub async fn accrue_reward(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
    ) -> AppResult<Fen> {
        let (mut tx, year) = self.begin_fund_write(mgr, year_id).await?;
        let figures = crate::year::figures_on(&mut tx, &year, mgr.scope()).await?;
        let due = figures.pool.reward_total;
        let booked = books(&mut tx, &year, true)
            .await?
            .balance_of(Account::Contributions(Payer::Government));
        let diff = due - booked;
        if diff.fen() == 0 {
            return Ok(diff);
        }
        let memo = format!(
            "参保率 {}，奖补 {} 元/人 × {} 人",
            crate::format_permille(figures.pool.rate_permille),
            figures.pool.reward_per_person,
            figures.pool.enrolled
        );
        let mut entry = Entry::new(EntryKind::Reward, self.today(), memo, "reward");
        entry = if diff.fen() > 0 {
            entry
                .debit(Account::Receivable(Payer::Government), diff)
                .credit(Account::Contributions(Payer::Government), diff)
        } else {
            entry
                .debit(Account::Contributions(Payer::Government), -diff)
                .credit(Account::Receivable(Payer::Government), -diff)
        };
        self.post(&mut tx, &year, actor, &[entry]).await?;
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::FundReward,
            &format!("year:{year_id}"),
            &format!("reward due {due}, booked {booked}"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(diff)
    }

    /// Pays the service fee the rules take from this year's income (only what is not yet paid).
    pub async fn charge_service_fee(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
    ) -> AppResult<Fen> {
        let (mut tx, year) = self.begin_fund_write(mgr, year_id).await?;
        let money = money_available(&mut tx, &year).await?;
        let paid = books(&mut tx, &year, true)
            .await?
            .balance_of(Account::ServiceFees);
        let diff = money.service_fee - paid;
        if diff.fen() <= 0 {
            return Ok(Fen(0));
        }
        let entry = Entry::new(EntryKind::ServiceFee, self.today(), "支付服务费", "")
            .debit(Account::ServiceFees, diff)
            .credit(Account::FundBank, diff);
        self.post(&mut tx, &year, actor, &[entry]).await?;
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::FundServiceFee,
            &format!("year:{year_id}"),
            &diff.to_string(),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(diff)
    }

    /// Closes a year: its income and expenditure go into the reserve (the surplus carried
    /// over), and the year takes no more enrolments or rule changes.
    pub async fn close_year(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
    ) -> AppResult<Fen> {
        let (mut tx, year) = self.begin_fund_write(mgr, year_id).await?;
        let tb = books(&mut tx, &year, true).await?;
        let mut entry = Entry::new(
            EntryKind::YearClose,
            year.rules.period_end,
            format!("{}结余结转", year.row.label),
            "",
        );
        let mut surplus = Fen(0);
        for r in &tb.rows {
            let b = r.balance();
            match r.account.kind() {
                AccountKind::Income => {
                    surplus += b;
                    entry = entry.debit(r.account, b);
                }
                AccountKind::Expense => {
                    surplus -= b;
                    entry = entry.credit(r.account, b);
                }
                _ => {}
            }
        }
        entry = if surplus.fen() >= 0 {
            entry.credit(Account::Reserve, surplus)
        } else {
            entry.debit(Account::Reserve, -surplus)
        };
        if !entry.lines.is_empty() {
            self.post(&mut tx, &year, actor, &[entry]).await?;
        }
        if !store::years::close(&mut tx, year_id, &self.now_text()).await? {
            return Err(AppError::Conflict("该年度已关闭".into()));
        }
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::YearClose,
            &format!("year:{year_id}"),
            &format!("surplus carried over {surplus}"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(surplus)
    }

    /// The pool's trial balance at the end of `as_of` (all years, or one year's postings).
    pub async fn trial_balance(
        &self,
        r: &FundReader,
        year_id: i64,
        as_of: NaiveDate,
        this_year_only: bool,
    ) -> AppResult<TrialBalance> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        let sums = store::ledger::sums(
            &mut conn,
            &year.row.pool_code,
            &as_of.to_string(),
            this_year_only.then_some(year_id),
        )
        .await?;
        trial_balance(sums)
    }

    pub async fn journal(
        &self,
        r: &FundReader,
        year_id: i64,
        before_seq: Option<i64>,
        limit: i64,
    ) -> AppResult<Vec<StoredPosting>> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        Ok(
            store::ledger::journal(&mut conn, &year.row.pool_code, year_id, before_seq, limit)
                .await?,
        )
    }

    /// The pool's current chain head, printed on public notices.
    pub async fn chain_head(
        &self,
        actor: &Actor,
        year_id: i64,
    ) -> AppResult<Option<(i64, String)>> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, &actor.scope(), year_id).await?;
        Ok(store::ledger::head(&mut conn, &year.row.pool_code).await?)
    }

    pub async fn money_available(&self, actor: &Actor, year_id: i64) -> AppResult<MoneyAvailable> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, &actor.scope(), year_id).await?;
        money_available(&mut conn, &year).await
    }

    /// Checks a chain head printed on a public notice against the books, for anyone (no sign
    /// in): whether the pool's posting at `seq` still carries `hash`, and how many postings came
    /// after it. Costs one indexed lookup, whatever the size of the pool.
    pub async fn check_printed_head(
        &self,
        pool_code: &str,
        seq: i64,
        hash: &str,
    ) -> AppResult<HeadCheck> {
        let mut conn = self.db.acquire().await?;
        let Some(head) = store::ledger::head(&mut conn, pool_code).await? else {
            return Ok(HeadCheck::UnknownPool);
        };
        let posting = store::ledger::posting_at(&mut conn, pool_code, seq).await?;
        Ok(match posting {
            None => HeadCheck::NoSuchPosting { last_seq: head.0 },
            Some(p) if p.hash.eq_ignore_ascii_case(hash.trim()) => HeadCheck::Matches {
                later_postings: head.0 - seq,
            },
            Some(_) => HeadCheck::Differs,
        })
    }

    /// Checks every pool's chain (the `shouwang ledger verify` job): one result per pool.
    pub async fn verify_ledgers(&self) -> AppResult<Vec<Result<Verified, ledger::Break>>> {
        let mut conn = self.db.acquire().await?;
        let pools = store::ledger::pools(&mut conn).await?;
        let mut out = Vec::with_capacity(pools.len());
        for pool in pools {
            let head = store::ledger::head(&mut conn, &pool).await?;
            let mut v = ledger::Verifier::new(&pool, self.keys.chain_key());
            let walked = store::ledger::for_each_posting(&mut conn, &pool, |p| v.push(&p)).await?;
            let chain = walked.and_then(|()| v.finish(head.as_ref().map(|(_, h)| h.as_str())));
            out.push(match chain {
                Ok(verified) => records_agree(&mut conn, &pool).await?.map(|()| verified),
                Err(b) => Err(b),
            });
        }
        Ok(out)
    }
}

/// The rows kept beside the chain that carry money (enrolment totals, donations) agree with
/// the entries they cite: whoever edits such a row without a matching (keyed) posting is found.
async fn records_agree(conn: &mut store::Conn, pool: &str) -> AppResult<Result<(), ledger::Break>> {
    let found = [
        (
            "enrolments",
            store::ledger::enrolment_disagreeing(conn, pool).await?,
        ),
        (
            "donations",
            store::ledger::donation_disagreeing(conn, pool).await?,
        ),
        (
            "payout_lines",
            store::ledger::payout_disagreeing(conn, pool).await?,
        ),
    ];
    Ok(
        match found.into_iter().find_map(|(t, r)| r.map(|r| (t, r))) {
            None => Ok(()),
            Some((table, (id, entry_no))) => Err(ledger::Break {
                pool_code: pool.to_string(),
                seq: 0,
                reason: ledger::BreakReason::RecordDisagrees {
                    table,
                    id,
                    entry_no,
                },
            }),
        },
    )
}

/// Money is received during the scheme year's payment window or period, and never in the
/// future: a receipt dated 0001-01-01 or 9999-12-31 is a typing mistake that would move the
/// money out of every report of the year.
fn check_receipt_date(year: &Year, on: NaiveDate, today: NaiveDate) -> AppResult<()> {
    let first = year.rules.payment_window_start.min(year.rules.period_start);
    let last = year.rules.period_end.min(today);
    if on < first || on > last {
        return Err(AppError::Invalid(format!(
            "到账日期应在 {first} 至 {last} 之间（本年度缴费期或互助期内，且不晚于今天）"
        )));
    }
    Ok(())
}

pub(crate) fn trial_balance(sums: Vec<(String, i64, i64)>) -> AppResult<TrialBalance> {
    TrialBalance::from_sums(sums).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "{e}; run `shouwang ledger verify` to find the posting"
        ))
    })
}

/// Everything posted so far for the year's pool: one scheme year's postings, or all of them.
pub(crate) async fn books(
    conn: &mut store::Conn,
    year: &Year,
    this_year_only: bool,
) -> AppResult<TrialBalance> {
    let only = this_year_only.then_some(year.row.id);
    trial_balance(store::ledger::sums(conn, &year.row.pool_code, "9999-12-31", only).await?)
}

pub(crate) async fn money_available(
    conn: &mut store::Conn,
    year: &Year,
) -> AppResult<MoneyAvailable> {
    let this_year = books(conn, year, true).await?;
    let all = books(conn, year, false).await?;
    let income = this_year.total_of(AccountKind::Income);
    let reserve = all.balance_of(Account::Reserve);
    let service_fee = year.rules.service_fee_on(income);
    Ok(MoneyAvailable {
        income,
        reserve,
        service_fee,
        available: income + reserve - service_fee,
    })
}
