//! The fund's money outside enrolment: donations, interest, payers' transfers, the government
//! reward, the service fee, opening balances and the year close; and reading the books.

use crate::access::{Actor, FundReader, SchemeManager};
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::Fen;
use ledger::{Account, AccountKind, Entry, EntryKind, StoredPosting, TrialBalance, Verified};
use scheme::Payer;

/// A money movement an administrator records by hand.
#[derive(Debug, Clone)]
pub enum Receipt {
    Donation {
        donor_name: String,
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

    pub async fn record_receipt(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
        on: NaiveDate,
        receipt: Receipt,
    ) -> AppResult<i64> {
        let mut tx = self.db.begin_write().await?;
        let year = self.managed_open_year(&mut tx, mgr, year_id).await?;
        let amount = match &receipt {
            Receipt::Donation { amount, .. }
            | Receipt::Interest { amount }
            | Receipt::Remittance { amount, .. }
            | Receipt::Opening { amount } => *amount,
        };
        if amount.fen() <= 0 {
            return Err(AppError::Invalid("金额必须大于零".into()));
        }
        let pool = year.row.pool_code.clone();
        let entry = match &receipt {
            Receipt::Donation {
                donor_name,
                organisation,
                ..
            } => {
                if donor_name.trim().is_empty() {
                    return Err(AppError::Invalid("请填写捐赠人或单位名称".into()));
                }
                let who = if *organisation { "单位" } else { "个人" };
                Entry::new(
                    EntryKind::Donation,
                    on,
                    format!("{who}捐赠：{}", donor_name.trim()),
                    "donation",
                )
                .debit(Account::FundBank, amount)
                .credit(Account::Contributions(Payer::Charity), amount)
            }
            Receipt::Interest { .. } => Entry::new(EntryKind::Interest, on, "基金专户利息", "")
                .debit(Account::FundBank, amount)
                .credit(Account::Interest, amount),
            Receipt::Remittance { payer, .. } => {
                let owed = books(&mut tx, &year, false)
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
                if store::ledger::head(&mut tx, &pool).await?.is_some() {
                    return Err(AppError::Invalid(
                        "基金已有账目，期初余额只能在第一笔账之前录入".into(),
                    ));
                }
                Entry::new(EntryKind::Opening, on, "期初余额（历年结余转入）", "")
                    .debit(Account::FundBank, amount)
                    .credit(Account::Reserve, amount)
            }
        };
        let kind = entry.kind;
        let numbers = self.post(&mut tx, &year, actor, &[entry]).await?;
        if let Receipt::Donation {
            donor_name,
            organisation,
            ..
        } = &receipt
        {
            store::designs::insert_donation(
                &mut tx,
                &store::designs::NewDonation {
                    year_id,
                    donor_name: donor_name.trim(),
                    donor_kind: if *organisation {
                        "organisation"
                    } else {
                        "person"
                    },
                    amount_fen: amount.fen(),
                    received_on: &on.to_string(),
                    entry_no: numbers[0],
                    by: &actor.username,
                    at: &self.now_text(),
                },
            )
            .await?;
        }
        self.audit(
            &mut tx,
            actor,
            &pool,
            "fund.receipt",
            &format!("year:{year_id}"),
            &format!("{} {amount} entry {}", kind.code(), numbers[0]),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(numbers[0])
    }

    /// Books the government reward the pool's participation rate earns, as a receivable. Run it
    /// again after late enrolments or reversals: it posts only the difference.
    pub async fn accrue_reward(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
    ) -> AppResult<Fen> {
        let figures = self.year_figures(actor, year_id).await?;
        let mut tx = self.db.begin_write().await?;
        let year = self.managed_open_year(&mut tx, mgr, year_id).await?;
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
            "fund.reward",
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
        let mut tx = self.db.begin_write().await?;
        let year = self.managed_open_year(&mut tx, mgr, year_id).await?;
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
            "fund.service_fee",
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
        let mut tx = self.db.begin_write().await?;
        let year = self.managed_open_year(&mut tx, mgr, year_id).await?;
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
            "year.close",
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

    /// Checks every pool's chain (the `shouwang ledger verify` job): one result per pool.
    pub async fn verify_ledgers(&self) -> AppResult<Vec<Result<Verified, ledger::Break>>> {
        let mut conn = self.db.acquire().await?;
        let pools = store::ledger::pools(&mut conn).await?;
        let mut out = Vec::with_capacity(pools.len());
        for pool in pools {
            let head = store::ledger::head(&mut conn, &pool).await?;
            let mut v = ledger::Verifier::new(&pool);
            let walked = store::ledger::for_each_posting(&mut conn, &pool, |p| v.push(&p)).await?;
            out.push(walked.and_then(|()| v.finish(head.as_ref().map(|(_, h)| h.as_str()))));
        }
        Ok(out)
    }
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
