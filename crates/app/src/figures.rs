//! The programme's figures (统计), the fund dashboard and the 风险预警.
//!
//! **Definitions** (each figure is computed here once, from the database's aggregates in
//! `store::figures`, and the page, the workbook and the tests all read these values):
//!
//! - *Period*: the scheme year, or one calendar month `YYYY-MM` of it.
//! - *Claims by status*: claims of the year **received** in the period, by their current status.
//! - *Paid stay* (补助人次): a claim now in status `paid` whose payout line was paid (bank result
//!   recorded) in the period; the month is the UTC date of that record. Claims paid and later
//!   `recovered` are not paid stays: they are counted separately (追回人次, 追回金额).
//! - *受益人数*: distinct members with at least one paid stay in the period.
//! - *受益率*: 受益人数 / members enrolled in the year (included, active), in per mille; the
//!   monthly figure uses the year's enrolment as well.
//! - *补助金额*: the money of the paid stays' payout lines.
//! - *次均补助*: 补助金额 / 补助人次, rounded to the fen (half up).
//! - *减负率*: 补助金额 / the out-of-pocket (`oop_fen`) of the same paid stays, in per mille.
//! - *Top 10 DRGs*: the paid stays' DRGs ranked by 补助金额 (ties by DRG code).
//!
//! The pool's figures cover the whole pool (a town admin looking at a county pool sees its
//! totals, as on the fund page); the village rows are only those inside the reader's area.

use crate::access::{Actor, FundReader};
use crate::design::{DesignLine, DesignParams, DesignSummary};
use crate::reports::{Cell, Sheet};
use crate::sms::{self, SmsMessage};
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use actuarial::design::{Population, SchemeRules as DesignRules};
use actuarial::reforecast::{reforecast, DelayModel, ReforecastInput};
use actuarial::risk::{class_count, class_index, Thresholds};
use chrono::{Datelike, NaiveDate};
use domain::{ClaimStatus, Fen, InsuranceType, Role, Sex};
use store::figures::{DrgSum, Forecast, PaidSums};

pub use store::figures::ActiveWarning;

/// Figures of one area (the pool or a village) in one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AreaFigures {
    pub code: String,
    pub name: String,
    /// Claims received in the period by current status, in `ClaimStatus::ALL` order.
    pub by_status: Vec<(ClaimStatus, i64)>,
    pub received: i64,
    /// 补助人次.
    pub paid_stays: i64,
    /// 受益人数.
    pub members_paid: i64,
    pub enrolled: i64,
    /// 受益率 (‰); `None` without enrolled members.
    pub benefit_rate_permille: Option<u32>,
    /// 补助金额.
    pub paid: Fen,
    /// 次均补助; `None` without paid stays.
    pub average: Option<Fen>,
    /// Out-of-pocket of the paid stays.
    pub oop: Fen,
    /// 减负率 (‰); `None` without paid stays.
    pub relief_permille: Option<u32>,
    pub recovered_stays: i64,
    pub recovered: Fen,
}

/// a / b in per mille, rounded half up; `None` when b is zero.
pub fn permille(a: i64, b: i64) -> Option<u32> {
    if b <= 0 {
        return None;
    }
    let p = (i128::from(a.max(0)) * 1000 + i128::from(b) / 2) / i128::from(b);
    Some(u32::try_from(p).unwrap_or(u32::MAX))
}

impl AreaFigures {
    fn new(code: &str, name: &str) -> AreaFigures {
        AreaFigures {
            code: code.to_string(),
            name: name.to_string(),
            by_status: ClaimStatus::ALL.iter().map(|s| (*s, 0)).collect(),
            ..Default::default()
        }
    }

    fn add_status(&mut self, status: &str, n: i64) -> AppResult<()> {
        let s = ClaimStatus::from_code(status)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored claim status {status}")))?;
        if let Some(slot) = self.by_status.iter_mut().find(|(x, _)| *x == s) {
            slot.1 += n;
        }
        self.received += n;
        Ok(())
    }

    /// Derives the rates once the sums are in.
    fn finish(&mut self, paid: &PaidSums, recovered: &PaidSums, enrolled: i64) {
        self.paid_stays = paid.stays;
        self.members_paid = paid.members;
        self.paid = Fen(paid.paid_fen);
        self.oop = Fen(paid.oop_fen);
        self.enrolled = enrolled;
        self.benefit_rate_permille = permille(paid.members, enrolled);
        self.average = (paid.stays > 0).then(|| Fen((paid.paid_fen + paid.stays / 2) / paid.stays));
        self.relief_permille = permille(paid.paid_fen, paid.oop_fen);
        self.recovered_stays = recovered.stays;
        self.recovered = Fen(recovered.paid_fen);
    }
}

/// The figures page of a year: the pool, the reader's villages, the top DRGs.
#[derive(Debug, Clone)]
pub struct YearFigures {
    pub year: Year,
    /// `None` for the whole year.
    pub month: Option<String>,
    /// The months of the scheme year (`YYYY-MM`), for the selector.
    pub months: Vec<String>,
    pub pool: AreaFigures,
    pub villages: Vec<AreaFigures>,
    pub top_drgs: Vec<DrgSum>,
    /// Each visible village's top 10 (village code, rank order).
    pub village_top_drgs: Vec<DrgSum>,
}

/// The months `YYYY-MM` from the period's start to its end.
pub fn months_of(start: &str, end: &str) -> Vec<String> {
    let (Ok(s), Ok(e)) = (
        NaiveDate::parse_from_str(start, "%Y-%m-%d"),
        NaiveDate::parse_from_str(end, "%Y-%m-%d"),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut y, mut m) = (s.year(), s.month());
    while (y, m) <= (e.year(), e.month()) && out.len() < 36 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// The latest forecast, as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct ForecastView {
    pub row: Forecast,
    /// P(shortfall) as a probability.
    pub p_shortfall: f64,
    pub warning_level: f64,
}

/// One month of the dashboard: money paid, cumulated, and the design's expected path with its
/// 5–95% band (cumulated, fen).
#[derive(Debug, Clone, PartialEq)]
pub struct PathPoint {
    pub month: String,
    pub paid: Fen,
    pub paid_to_date: Option<Fen>,
    pub expected: f64,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub year: Year,
    /// The published design's budget, expected payout, 5/50/95% quantiles (fen).
    pub design: Option<(i64, f64, [i64; 3])>,
    /// The weight the published design gave the pool's past years (credibility Z) and how
    /// many years it had.
    pub experience: Option<(f64, u32)>,
    pub path: Vec<PathPoint>,
    pub forecast: Option<ForecastView>,
}

/// Days between discharge and payment beyond the filing delay (review, monthly batch, public
/// notice, bank): the expected path is shifted by this much.
pub const PAYMENT_LAG_DAYS: f64 = 30.0;

/// Share of the year's eventual payout paid `day` days after the year began: discharges spread
/// evenly over the year, filed after the calibration's delay, paid [`PAYMENT_LAG_DAYS`] later.
pub fn expected_share(day: f64) -> f64 {
    let d = (day - PAYMENT_LAG_DAYS).max(0.0);
    let delay = DelayModel::default();
    if d <= 365.0 {
        d / 365.0 * delay.filed_share_of_elapsed(d)
    } else {
        // All discharges in; the last ones still being filed.
        let tail = d - 365.0;
        (365.0 * delay.filed_share_of_elapsed(d) * d / 365.0
            - tail * delay.filed_share_of_elapsed(tail))
            / 365.0
    }
    .clamp(0.0, 1.0)
}

/// A forecast older than this is recomputed when the dashboard is opened.
pub const FORECAST_MAX_AGE: chrono::Duration = chrono::Duration::hours(1);

impl App {
    /// The year's figures for the whole year (`month` `None`) or one month.
    pub async fn figures(
        &self,
        r: &FundReader,
        year_id: i64,
        month: Option<&str>,
    ) -> AppResult<YearFigures> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        let months = months_of(&year.row.period_start, &year.row.period_end);
        let month = match month.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) if months.iter().any(|x| x == m) => Some(m.to_string()),
            Some(_) => return Err(AppError::Invalid("月份不在本互助年度内".into())),
            None => None,
        };
        let m = month.as_deref().unwrap_or("");
        let pool_code = year.row.pool_code.clone();
        let names: Vec<(String, String)> = store::regions::villages(&mut conn, r.scope())
            .await?
            .into_iter()
            .filter(|v| v.code.starts_with(&pool_code))
            .map(|v| (v.code, v.name))
            .collect();
        let statuses = store::figures::status_counts(&mut conn, year_id, m).await?;
        let (paid_v, paid_pool) =
            store::figures::paid_sums_by_village(&mut conn, year_id, "paid", m).await?;
        let (rec_v, rec_pool) =
            store::figures::paid_sums_by_village(&mut conn, year_id, "recovered", m).await?;
        let enrolled = store::figures::enrolled_by_village(&mut conn, year_id).await?;
        let (top_drgs, village_top) = store::figures::top_drgs(&mut conn, year_id, m, 10).await?;
        drop(conn);

        let mut pool = AreaFigures::new(&pool_code, &year.row.pool_name);
        for s in &statuses {
            pool.add_status(&s.status, s.claims)?;
        }
        let enrolled_pool: i64 = enrolled.iter().map(|(_, n)| n).sum();
        pool.finish(&paid_pool, &rec_pool, enrolled_pool);

        let find = |rows: &[PaidSums], code: &str| {
            rows.iter()
                .find(|p| p.village_code == code)
                .cloned()
                .unwrap_or_default()
        };
        let mut villages = Vec::new();
        for (code, name) in &names {
            let mut v = AreaFigures::new(code, name);
            for s in statuses.iter().filter(|s| &s.village_code == code) {
                v.add_status(&s.status, s.claims)?;
            }
            let n = enrolled
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            v.finish(&find(&paid_v, code), &find(&rec_v, code), n);
            if v.enrolled > 0 || v.received > 0 || v.paid_stays > 0 || v.recovered_stays > 0 {
                villages.push(v);
            }
        }
        let visible: Vec<&str> = villages.iter().map(|v| v.code.as_str()).collect();
        let village_top_drgs = village_top
            .into_iter()
            .filter(|d| visible.contains(&d.village_code.as_str()))
            .collect();
        Ok(YearFigures {
            year,
            month,
            months,
            pool,
            villages,
            top_drgs,
            village_top_drgs,
        })
    }

    /// The dashboard: paid to date by month against the design's path, and the latest
    /// re-forecast (recomputed first when missing or older than [`FORECAST_MAX_AGE`]).
    pub async fn dashboard(&self, r: &FundReader, year_id: i64) -> AppResult<Dashboard> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, r.scope(), year_id).await?;
        let design = published_design(&mut conn, year_id).await?;
        let paid = store::figures::paid_by_month(&mut conn, year_id).await?;
        let mut forecast = store::figures::forecast_of(&mut conn, year_id).await?;
        drop(conn);
        let stale = forecast.as_ref().is_none_or(|f| {
            store::parse_timestamp(&f.computed_at).is_none_or(|t| self.now() - t > FORECAST_MAX_AGE)
        });
        if stale && year.is_open() && design.is_some() {
            forecast = self.refresh_forecast(year_id).await?;
        }
        let start = NaiveDate::parse_from_str(&year.row.period_start, "%Y-%m-%d").ok();
        let today = self.today();
        let quantiles = design.as_ref().map(|(_, _, s, _)| {
            (
                s.expected_payout_fen,
                histogram_quantile(&s.histogram, 0.05),
                s.quantiles_fen[0],
                s.quantiles_fen[2],
            )
        });
        let mut cum = 0i64;
        let mut path = Vec::new();
        for m in months_of(&year.row.period_start, &year.row.period_end) {
            let in_month = paid
                .iter()
                .find(|(x, _, _)| *x == m)
                .map(|(_, _, f)| *f)
                .unwrap_or(0);
            cum = cum
                .checked_add(in_month)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("paid total overflows")))?;
            let end = month_end(&m);
            let day = match (start, end) {
                (Some(s), Some(e)) => (e - s).num_days() as f64 + 1.0,
                _ => 0.0,
            };
            let share = expected_share(day);
            let (e, lo, hi) = quantiles
                .map(|(e, q05, _, q95)| (e * share, q05 as f64 * share, q95 as f64 * share))
                .unwrap_or((0.0, 0.0, 0.0));
            let started = end.is_some_and(|e| e.with_day(1).is_some_and(|d| d <= today));
            path.push(PathPoint {
                month: m,
                paid: Fen(in_month),
                paid_to_date: started.then_some(Fen(cum)),
                expected: e,
                low: lo,
                high: hi,
            });
        }
        Ok(Dashboard {
            experience: design
                .as_ref()
                .map(|(_, _, s, _)| (s.credibility, s.experience_years)),
            design: design.map(|(_, _, s, _)| {
                let (_, q05, q50, q95) = quantiles.unwrap_or_default();
                (s.budget_fen, s.expected_payout_fen, [q05, q50, q95])
            }),
            path,
            forecast: forecast.map(|row| ForecastView {
                p_shortfall: row.p_shortfall_ppm as f64 / 1e6,
                warning_level: row.threshold_permille as f64 / 1000.0,
                row,
            }),
            year,
        })
    }

    /// Recomputes the year's re-forecast from its claims so far, stores it as the year's latest,
    /// and moves the warning: on the crossing above `rules.shortfall_warning_permille` each town
    /// and county admin whose area contains the pool and whose account has a phone gets one SMS
    /// (in the same transaction); falling back below re-arms it. `None` when the year has no
    /// published design to forecast from.
    pub async fn refresh_forecast(&self, year_id: i64) -> AppResult<Option<Forecast>> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, &store::Scope::all(), year_id).await?;
        let Some((_, params, summary, lines)) = published_design(&mut conn, year_id).await? else {
            return Ok(None);
        };
        let profile = store::enrolment::risk_profile(&mut conn, year_id).await?;
        let money = crate::fund::money_available(&mut conn, &year).await?;
        let (decided, committed) = store::figures::committed(&mut conn, year_id).await?;
        // The same model the design priced: the prior blended with the pool's ended past years.
        let history =
            crate::design::past_years(&mut conn, &store::Scope::all(), &year, self.today()).await?;
        drop(conn);
        let elapsed = elapsed_share(&year, self.today());
        let budget = if money.available.fen() > 0 {
            money.available.fen()
        } else {
            summary.budget_fen
        };
        let threshold = year.rules.shortfall_warning_permille;
        let rules = year.rules.clone();
        let version = summary.drg_version.clone();
        let r = tokio::task::spawn_blocking(move || {
            compute_forecast(
                &rules, &params, &version, &lines, &profile, &history, budget, elapsed, decided,
                committed,
            )
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
        let row = Forecast {
            year_id,
            pool_code: year.row.pool_code.clone(),
            computed_at: self.now_text(),
            elapsed_permille: (elapsed * 1000.0).round() as i64,
            claims_decided: decided,
            committed_fen: committed,
            budget_fen: budget,
            expected_fen: r.expected_year_end_fen.round() as i64,
            quantiles_fen: r.quantiles_fen,
            p_shortfall_ppm: (r.p_shortfall.clamp(0.0, 1.0) * 1e6).round() as i64,
            level_ppm: (r.level_update * 1e6).round() as i64,
            threshold_permille: i64::from(threshold),
            warning: false,
            warned_at: None,
        };
        let above = row.p_shortfall_ppm > i64::from(threshold) * 1000;
        let now = self.now_text();
        let mut tx = self.db.begin_write().await?;
        store::figures::save_forecast(&mut tx, &row).await?;
        let crossed = store::figures::set_warning(&mut tx, year_id, above, &now).await?;
        if crossed && above {
            let percent = format!("{:.1}%", r.p_shortfall * 100.0);
            for (username, region, cipher) in
                store::figures::admins_to_warn(&mut tx, &year.row.pool_code).await?
            {
                let phone = match self
                    .keys
                    .decrypt(&cipher)
                    .ok()
                    .and_then(|p| domain::Phone::parse(&p).ok())
                {
                    Some(p) => p,
                    None => {
                        tracing::warn!(
                            "staff account {username}: stored phone unreadable, no warning SMS"
                        );
                        continue;
                    }
                };
                let pool: String = year
                    .row
                    .pool_name
                    .chars()
                    .take(sms::VAR_MAX_CHARS)
                    .collect();
                sms::enqueue(
                    &mut tx,
                    &self.keys,
                    &phone,
                    &region,
                    &format!("year:{year_id}"),
                    &SmsMessage::FundWarning {
                        pool,
                        percent: percent.clone(),
                    },
                    self.now(),
                )
                .await?;
            }
        }
        tx.commit().await.map_err(store::StoreError::from)?;
        let mut conn = self.db.acquire().await?;
        Ok(store::figures::forecast_of(&mut conn, year_id).await?)
    }

    /// The refresh job: every open year whose forecast is missing or older than
    /// [`FORECAST_MAX_AGE`]; returns how many were recomputed. (To be run by the server's hourly
    /// housekeeping and after a batch's approval or results.)
    pub async fn refresh_forecasts(&self) -> AppResult<usize> {
        let before = store::timestamp(self.now() - FORECAST_MAX_AGE);
        let mut conn = self.db.acquire().await?;
        let years = store::figures::years_to_forecast(&mut conn, &before).await?;
        drop(conn);
        let mut n = 0;
        for id in years {
            match self.refresh_forecast(id).await {
                Ok(Some(_)) => n += 1,
                Ok(None) => {}
                Err(e) => tracing::warn!("forecast of year {id} failed: {e}"),
            }
        }
        Ok(n)
    }

    /// The 风险预警 in force for the signed-in staff member: town and county admins see the
    /// warnings of the pools their area contains. One indexed read of a few rows per page.
    pub async fn fund_warnings(&self, actor: &Actor) -> AppResult<Vec<ActiveWarning>> {
        let (Role::TownAdmin | Role::CountyAdmin, Some(region)) = (actor.role, &actor.region)
        else {
            return Ok(Vec::new());
        };
        let mut conn = self.db.acquire().await?;
        Ok(store::figures::active_warnings(&mut conn, region.as_str()).await?)
    }

    /// Puts the staff member's own mobile number on their account (for the 风险预警 SMS);
    /// audited.
    pub async fn set_own_phone(&self, actor: &Actor, phone: &str) -> AppResult<()> {
        let phone = domain::Phone::parse(phone.trim())
            .map_err(|e| AppError::Invalid(format!("手机号码{e}")))?;
        let mut tx = self.db.begin_write().await?;
        if !store::figures::set_user_phone(
            &mut tx,
            &actor.username,
            &self.keys.encrypt(phone.as_str()),
            &phone.masked(),
        )
        .await?
        {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut tx,
            actor,
            &actor.audit_region(),
            domain::AuditAction::AccountPhone,
            &format!("user:{}", actor.username),
            &phone.masked(),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// The staff member's own phone as their account page shows it (masked).
    pub async fn own_phone(&self, actor: &Actor) -> AppResult<Option<String>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::figures::user_phone_masked(&mut conn, &actor.username).await?)
    }
}

type Published = (i64, DesignParams, DesignSummary, Vec<DesignLine>);

/// The design behind the year's current published table.
async fn published_design(conn: &mut store::Conn, year_id: i64) -> AppResult<Option<Published>> {
    let Some(t) = store::designs::current_table(conn, year_id).await? else {
        return Ok(None);
    };
    let Some(row) = store::designs::get(conn, year_id, t.design_id).await? else {
        return Ok(None);
    };
    let bad = |e: serde_json::Error| AppError::Internal(anyhow::anyhow!("stored design: {e}"));
    Ok(Some((
        row.id,
        serde_json::from_str(&row.params_json).map_err(bad)?,
        serde_json::from_str(&row.summary_json).map_err(bad)?,
        serde_json::from_str(&row.amounts_json).map_err(bad)?,
    )))
}

fn month_end(month: &str) -> Option<NaiveDate> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    next.pred_opt()
}

/// Share of the scheme year elapsed on `today` (0..=1).
fn elapsed_share(year: &Year, today: NaiveDate) -> f64 {
    let (Ok(s), Ok(e)) = (
        NaiveDate::parse_from_str(&year.row.period_start, "%Y-%m-%d"),
        NaiveDate::parse_from_str(&year.row.period_end, "%Y-%m-%d"),
    ) else {
        return 0.0;
    };
    let len = ((e - s).num_days() + 1).max(1) as f64;
    ((today - s).num_days() as f64 / len).clamp(0.0, 1.0)
}

/// The quantile of a design's stored histogram (80 bars from its 0.1% quantile).
fn histogram_quantile(h: &[(i64, f64)], p: f64) -> i64 {
    let mut acc = 0.001;
    for (x, m) in h {
        acc += m;
        if acc >= p {
            return *x;
        }
    }
    h.last().map(|(x, _)| *x).unwrap_or(0)
}

/// Maps the year and its claims so far to the re-forecast's input (the same risk model, rules
/// and population the one-click design priced) and runs it.
#[allow(clippy::too_many_arguments)]
fn compute_forecast(
    rules: &scheme::SchemeRules,
    params: &DesignParams,
    drg_version: &str,
    lines: &[DesignLine],
    profile: &[(i64, i64, String, bool, i64)],
    history: &[crate::design::PastYear],
    budget_fen: i64,
    elapsed: f64,
    decided: i64,
    committed: i64,
) -> AppResult<actuarial::reforecast::Reforecast> {
    let version = sim::DrgVersion::parse(drg_version)
        .ok_or_else(|| AppError::Invalid(format!("不支持的DRG版本：{drg_version}")))?;
    let model = sim::StayModel::new();
    let thresholds = Thresholds {
        resident_fen: rules.claim_threshold(InsuranceType::Resident).amount.fen(),
        employee_fen: rules.claim_threshold(InsuranceType::Employee).amount.fen(),
        uninsured_fen: rules.claim_threshold(InsuranceType::Uninsured).amount.fen(),
    };
    let design_rules = DesignRules {
        thresholds,
        min_subsidy_fen: rules.min_subsidy.fen(),
        per_stay_cap_fen: params
            .per_stay_cap
            .or(rules.per_stay_cap)
            .unwrap_or(Fen::from_yuan(100_000))
            .fen(),
        yearly_cap_fen: params.yearly_cap.or(rules.yearly_cap).map(|f| f.fen()),
        loyalty_bonus_pct: rules.loyalty_bonus_percent as i64,
        excluded: Vec::new(),
        rounding_unit_fen: params.rounding_unit.fen(),
    };
    let mut members = vec![(0u64, 0u64); class_count(&model)];
    for (age, sex, insurance, consecutive, n) in profile {
        let sex = if *sex == 1 { Sex::Male } else { Sex::Female };
        let ins = InsuranceType::from_code(insurance).unwrap_or(InsuranceType::Resident);
        let c = class_index(&model, (*age).max(0) as u32, sex, ins);
        if *consecutive {
            members[c].1 += *n as u64;
        } else {
            members[c].0 += *n as u64;
        }
    }
    let population = Population { members };
    if population.total() == 0 {
        return Err(AppError::Invalid("本年度尚无参保人员，无法预测".into()));
    }
    let risk = crate::design::risk_with_experience(&model, version, thresholds, history);
    let amounts: Vec<i64> = risk
        .drgs
        .iter()
        .map(|d| {
            lines
                .iter()
                .find(|l| l.drg == d.code)
                .map(|l| l.amount_fen)
                .unwrap_or(0)
        })
        .collect();
    reforecast(&ReforecastInput {
        risk: &risk,
        rules: &design_rules,
        population: &population,
        amounts_fen: &amounts,
        budget_fen,
        accepted_shortfall: f64::from(rules.shortfall_warning_permille) / 1000.0,
        elapsed,
        claims_decided: usize::try_from(decided).unwrap_or(0),
        paid_fen: committed,
        delay: DelayModel::default(),
    })
    .map_err(|e| AppError::Internal(anyhow::anyhow!("reforecast: {e}")))
}

fn rate(p: Option<u32>) -> Cell {
    p.map(Cell::Permille).unwrap_or(Cell::Text("—".into()))
}

fn money(f: Option<Fen>) -> Cell {
    f.map(Cell::Money).unwrap_or(Cell::Text("—".into()))
}

impl YearFigures {
    /// The areas in table order: the pool first, then its villages.
    pub fn areas(&self) -> impl Iterator<Item = &AreaFigures> {
        std::iter::once(&self.pool).chain(&self.villages)
    }

    fn area_name(&self, code: &str) -> String {
        if code.is_empty() {
            return self.pool.name.clone();
        }
        self.villages
            .iter()
            .find(|v| v.code == code)
            .map(|v| v.name.clone())
            .unwrap_or_default()
    }

    /// 申请状态: claims received in the period by status, per area.
    pub fn status_sheet(&self) -> Sheet {
        let mut headers: Vec<String> = ["区域代码", "区域", "受理件数"].map(String::from).to_vec();
        headers.extend(ClaimStatus::ALL.iter().map(|s| s.label_zh().to_string()));
        Sheet {
            name: "申请状态".into(),
            headers,
            rows: self
                .areas()
                .map(|a| {
                    let mut row = vec![
                        Cell::Text(a.code.clone()),
                        Cell::Text(a.name.clone()),
                        Cell::Int(a.received),
                    ];
                    row.extend(a.by_status.iter().map(|(_, n)| Cell::Int(*n)));
                    row
                })
                .collect(),
        }
    }

    /// 补助概况: the paid figures per area.
    pub fn paid_sheet(&self) -> Sheet {
        Sheet {
            name: "补助概况".into(),
            headers: [
                "区域代码",
                "区域",
                "补助人次",
                "受益人数",
                "参保人数",
                "受益率",
                "补助金额（元）",
                "次均补助（元）",
                "自付费用（元）",
                "减负率",
                "追回人次",
                "追回金额（元）",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .areas()
                .map(|a| {
                    vec![
                        Cell::Text(a.code.clone()),
                        Cell::Text(a.name.clone()),
                        Cell::Int(a.paid_stays),
                        Cell::Int(a.members_paid),
                        Cell::Int(a.enrolled),
                        rate(a.benefit_rate_permille),
                        Cell::Money(a.paid),
                        money(a.average),
                        Cell::Money(a.oop),
                        rate(a.relief_permille),
                        Cell::Int(a.recovered_stays),
                        Cell::Money(a.recovered),
                    ]
                })
                .collect(),
        }
    }

    /// 前十病组: the pool's top 10 DRGs by money, then each village's.
    pub fn drg_sheet(&self) -> Sheet {
        Sheet {
            name: "前十病组".into(),
            headers: [
                "区域",
                "名次",
                "DRG编码",
                "病组名称",
                "补助人次",
                "补助金额（元）",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .top_drgs
                .iter()
                .chain(&self.village_top_drgs)
                .map(|d| {
                    vec![
                        Cell::Text(self.area_name(&d.village_code)),
                        Cell::Int(d.rank),
                        Cell::Text(d.drg_code.clone()),
                        Cell::Text(d.drg_name.clone()),
                        Cell::Int(d.stays),
                        Cell::Money(Fen(d.paid_fen)),
                    ]
                })
                .collect(),
        }
    }

    pub fn sheets(&self) -> Vec<Sheet> {
        vec![self.status_sheet(), self.paid_sheet(), self.drg_sheet()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_and_need_a_denominator() {
        assert_eq!(permille(1, 3), Some(333));
        assert_eq!(permille(2, 3), Some(667));
        assert_eq!(permille(1, 2000), Some(1));
        assert_eq!(permille(5, 0), None);
    }

    #[test]
    fn months_cover_the_period() {
        assert_eq!(
            months_of("2026-11-01", "2027-02-15"),
            vec!["2026-11", "2026-12", "2027-01", "2027-02"]
        );
        assert!(months_of("bad", "2027-01-01").is_empty());
    }

    #[test]
    fn the_expected_path_rises_to_one() {
        let mut last = 0.0;
        for d in (0..=500).step_by(10) {
            let s = expected_share(d as f64);
            assert!(s >= last - 1e-9, "{d}: {s} < {last}");
            last = s;
        }
        assert_eq!(expected_share(0.0), 0.0);
        assert!(expected_share(365.0) > 0.7 && expected_share(365.0) < 0.95);
        assert!((expected_share(365.0 + 90.0 + PAYMENT_LAG_DAYS) - 1.0).abs() < 0.01);
    }
}
