//! "一键设计": the subsidy table of a scheme year from its members and its money, then the four
//! eyes: a town administrator submits a variant, a county administrator (someone else) approves
//! it, and it becomes the year's published, immutable table.

use crate::access::{Actor, DesignApprover, SchemeManager};
use crate::fund::money_available;
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use actuarial::design::{
    design, evaluate, DesignTargets, Population, SchemeRules as DesignRules, Weighting,
};
use actuarial::risk::{class_count, class_index, RiskModel, Thresholds};
use domain::{AuditAction, Fen, InsuranceType, Sex};
use serde::{Deserialize, Serialize};
use sim::{drg_catalogue, DrgVersion, StayModel};
use store::designs::{DesignRow, NewDesign, NewTable, TableLine, TableRow};

/// What the administrator can adjust on the design page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignParams {
    /// Expected surplus as a share of the money available, in per mille (50 = 5%).
    pub target_surplus_permille: u32,
    /// Accepted probability of a shortfall, in per mille (25 = 2.5%).
    pub shortfall_permille: u32,
    pub weighting: Weighting,
    /// Caps for this design; `None` keeps the year's rule.
    pub per_stay_cap: Option<Fen>,
    pub yearly_cap: Option<Fen>,
    /// Amounts are multiples of this (10 or 50 yuan).
    pub rounding_unit: Fen,
}

impl Default for DesignParams {
    fn default() -> Self {
        DesignParams {
            target_surplus_permille: 50,
            shortfall_permille: 25,
            weighting: Weighting::Need,
            per_stay_cap: None,
            yearly_cap: None,
            rounding_unit: Fen(1_000),
        }
    }
}

/// What a design run promises, kept with it (the page and the approval show this).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignSummary {
    pub members: u64,
    pub consecutive_members: u64,
    pub income_fen: i64,
    pub reserve_fen: i64,
    pub service_fee_fen: i64,
    pub budget_fen: i64,
    pub expected_payout_fen: f64,
    pub quantiles_fen: [i64; 4],
    pub np_quantiles_fen: [i64; 4],
    pub p_shortfall: f64,
    pub expected_subsidies: f64,
    pub expected_people_helped: f64,
    pub benefit_rate: f64,
    pub average_subsidy_fen: f64,
    pub burden_reduction: f64,
    pub feasible: bool,
    pub drg_version: String,
    /// The payout distribution for the chart: (payout in fen, probability mass of the bin).
    pub histogram: Vec<(i64, f64)>,
    pub min_amount_fen: i64,
    pub max_amount_fen: i64,
    /// The weight the programme's own experience got in the frequency level (Bühlmann–Straub
    /// credibility Z, 0 = the model alone), and from how many past years.
    #[serde(default)]
    pub credibility: f64,
    #[serde(default)]
    pub experience_years: u32,
}

/// One past year of the pool for the credibility blend: its thresholds, its enrolled risk
/// profile (exposure) and its subsidised claims by class and DRG.
#[derive(Debug, Clone)]
pub struct PastYear {
    pub thresholds: Thresholds,
    pub profile: Vec<(i64, i64, String, bool, i64)>,
    pub claims: Vec<(i64, i64, String, String, i64)>,
}

/// Up to three earlier years of the pool whose period has ended (a year still running would
/// show too few claims), most recent first.
pub(crate) async fn past_years(
    conn: &mut store::Conn,
    scope: &store::Scope,
    year: &Year,
    today: chrono::NaiveDate,
) -> AppResult<Vec<PastYear>> {
    let mut out = Vec::new();
    let mut prev = year.row.previous_year_id;
    while let Some(id) = prev {
        if out.len() == 3 {
            break;
        }
        let y = load_year(conn, scope, id).await?;
        prev = y.row.previous_year_id;
        let ended = chrono::NaiveDate::parse_from_str(&y.row.period_end, "%Y-%m-%d")
            .is_ok_and(|e| e < today);
        if !ended {
            continue;
        }
        out.push(PastYear {
            thresholds: thresholds(&y.rules),
            profile: store::enrolment::risk_profile(conn, id).await?,
            claims: store::figures::experience_claims(conn, id).await?,
        });
    }
    Ok(out)
}

/// The risk model of a design: the calibration prior blended with the pool's past years by
/// Bühlmann–Straub (`RiskModel::with_experience`: frequency level and DRG relativities).
pub(crate) fn risk_with_experience(
    model: &StayModel,
    version: DrgVersion,
    thresholds: Thresholds,
    history: &[PastYear],
) -> RiskModel {
    use actuarial::risk::{CredibilityParams, YearExperience};
    let prior = RiskModel::prior(model, drg_catalogue(version), thresholds);
    let experience: Vec<YearExperience> = history
        .iter()
        .map(|h| {
            let pop = population(model, &h.profile);
            let mut claims = Vec::new();
            for (age, sex, insurance, drg, n) in &h.claims {
                let sex = if *sex == 1 { Sex::Male } else { Sex::Female };
                let ins = InsuranceType::from_code(insurance).unwrap_or(InsuranceType::Resident);
                let c = class_index(model, (*age).max(0) as u32, sex, ins);
                for _ in 0..(*n).clamp(0, 1_000_000) {
                    claims.push((c, drg.clone()));
                }
            }
            YearExperience {
                exposure: pop.members.iter().map(|(a, b)| (a + b) as f64).collect(),
                thresholds: Some(h.thresholds),
                claims,
            }
        })
        .filter(|y| y.exposure.iter().sum::<f64>() > 0.0)
        .collect();
    if experience.is_empty() {
        return prior;
    }
    prior.with_experience(&experience, CredibilityParams::default(), &|t| {
        RiskModel::prior(model, drg_catalogue(version), t)
    })
}

/// One line of a design's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesignLine {
    pub drg: String,
    pub name: String,
    pub amount_fen: i64,
    pub loyal_amount_fen: i64,
}

#[derive(Debug, Clone)]
pub struct DesignRun {
    pub row: DesignRow,
    pub params: DesignParams,
    pub summary: DesignSummary,
    pub lines: Vec<DesignLine>,
}

fn drg_version(code: &str) -> AppResult<DrgVersion> {
    DrgVersion::parse(code).ok_or_else(|| AppError::Invalid(format!("不支持的DRG版本：{code}")))
}

fn thresholds(rules: &scheme::SchemeRules) -> Thresholds {
    Thresholds {
        resident_fen: rules.claim_threshold(InsuranceType::Resident).amount.fen(),
        employee_fen: rules.claim_threshold(InsuranceType::Employee).amount.fen(),
        uninsured_fen: rules.claim_threshold(InsuranceType::Uninsured).amount.fen(),
    }
}

fn design_rules(rules: &scheme::SchemeRules, p: &DesignParams) -> AppResult<DesignRules> {
    if !matches!(p.rounding_unit.fen(), 100..=100_000) {
        return Err(AppError::Invalid("取整单位应在 1 元到 1000 元之间".into()));
    }
    // 沂源: "最高补助及年度累计最高补助金额根据各镇参保人数和资金量核算" — with no cap in the
    // rules the design sets it: the budget bounds the amounts, this only bounds the search.
    let per_stay_cap = p
        .per_stay_cap
        .or(rules.per_stay_cap)
        .unwrap_or(Fen::from_yuan(100_000));
    if per_stay_cap < rules.min_subsidy {
        return Err(AppError::Invalid(format!(
            "单次补助上限 {per_stay_cap} 元低于最低补助 {} 元",
            rules.min_subsidy
        )));
    }
    Ok(DesignRules {
        thresholds: thresholds(rules),
        min_subsidy_fen: rules.min_subsidy.fen(),
        per_stay_cap_fen: per_stay_cap.fen(),
        yearly_cap_fen: p.yearly_cap.or(rules.yearly_cap).map(|f| f.fen()),
        loyalty_bonus_pct: rules.loyalty_bonus_percent as i64,
        excluded: Vec::new(),
        rounding_unit_fen: p.rounding_unit.fen(),
    })
}

/// The enrolled members by risk class (age band × sex × insurance), new and consecutive.
fn population(model: &StayModel, profile: &[(i64, i64, String, bool, i64)]) -> Population {
    let mut members = vec![(0u64, 0u64); class_count(model)];
    for (age, sex, insurance, consecutive, n) in profile {
        let sex = if *sex == 1 { Sex::Male } else { Sex::Female };
        let ins = InsuranceType::from_code(insurance).unwrap_or(InsuranceType::Resident);
        let c = class_index(model, (*age).max(0) as u32, sex, ins);
        if *consecutive {
            members[c].1 += *n as u64;
        } else {
            members[c].0 += *n as u64;
        }
    }
    Population { members }
}

/// About 80 bars from the 0.1% to the 99.9% quantile.
fn histogram(dist: &actuarial::aggregate::PayoutDistribution) -> Vec<(i64, f64)> {
    let lo = dist.quantile_fen(0.001);
    let hi = dist.quantile_fen(0.999).max(lo + dist.unit_fen);
    let bins = 80i64;
    let width = ((hi - lo) / bins).max(dist.unit_fen);
    let mut out: Vec<(i64, f64)> = (0..bins).map(|i| (lo + i * width, 0.0)).collect();
    for (j, p) in dist.pmf.iter().enumerate() {
        let x = (dist.offset as i64 + j as i64) * dist.unit_fen;
        if x < lo || *p == 0.0 {
            continue;
        }
        let b = ((x - lo) / width) as usize;
        if let Some(bin) = out.get_mut(b) {
            bin.1 += p;
        }
    }
    out
}

/// A design computed under an older rules version priced different rules (fee, caps, minimum):
/// it may be rejected, never submitted or published.
fn check_current_rules(year: &crate::year::Year, design_version: i64) -> AppResult<()> {
    let current = year.row.current_version;
    if design_version != current {
        return Err(AppError::Invalid(format!(
            "该方案依据第 {design_version} 版规则计算，现行规则为第 {current} 版：请按现行规则重新设计后再提交审批"
        )));
    }
    Ok(())
}

impl App {
    /// Runs the design for a year with the given settings and keeps it as a draft variant.
    pub async fn run_design(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
        params: DesignParams,
    ) -> AppResult<i64> {
        if params.target_surplus_permille > 500 || !(1..=500).contains(&params.shortfall_permille) {
            return Err(AppError::Invalid(
                "目标结余率应在 0–50% 之间，可接受的缺口概率应在 0.1%–50% 之间".into(),
            ));
        }
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, mgr.scope(), year_id).await?;
        if !mgr.scope().contains(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        let rules = design_rules(&year.rules, &params)?;
        let version = drg_version(&year.rules.drg_version)?;
        let money = money_available(&mut conn, &year).await?;
        let profile = store::enrolment::risk_profile(&mut conn, year_id).await?;
        let history = past_years(&mut conn, mgr.scope(), &year, self.today()).await?;
        drop(conn);
        if money.available.fen() <= 0 {
            return Err(AppError::Invalid(
                "基金可用资金为零：请先录入参保缴费、捐赠或上年结余".into(),
            ));
        }
        let targets = DesignTargets {
            money_available_fen: money.available.fen(),
            target_surplus: params.target_surplus_permille as f64 / 1000.0,
            shortfall_probability: params.shortfall_permille as f64 / 1000.0,
            weighting: params.weighting,
        };
        let (summary, lines) = tokio::task::spawn_blocking({
            let rules = rules.clone();
            let year_rules = year.rules.clone();
            move || {
                compute(
                    version,
                    &year_rules,
                    &rules,
                    &profile,
                    &history,
                    &targets,
                    money,
                )
            }
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
        let mut tx = self.db.begin_write().await?;
        let id = store::designs::insert(
            &mut tx,
            &NewDesign {
                year_id,
                rules_version: year.row.current_version,
                params_json: &serde_json::to_string(&params).expect("params serialise"),
                summary_json: &serde_json::to_string(&summary).expect("summary serialises"),
                amounts_json: &serde_json::to_string(&lines).expect("lines serialise"),
                by: &actor.username,
                at: &self.now_text(),
            },
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::DesignRun,
            &format!("design:{id}"),
            &format!("year {year_id}, budget {}", money.available),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    pub async fn designs(&self, actor: &Actor, year_id: i64) -> AppResult<Vec<DesignRun>> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        store::designs::list(&mut conn, year_id)
            .await?
            .into_iter()
            .map(parse_design)
            .collect()
    }

    pub async fn design(&self, actor: &Actor, year_id: i64, id: i64) -> AppResult<DesignRun> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        let row = store::designs::get(&mut conn, year_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        parse_design(row)
    }

    /// Submits a draft for approval.
    pub async fn submit_design(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        year_id: i64,
        id: i64,
    ) -> AppResult<()> {
        let mut tx = self.db.begin_write().await?;
        let year = load_year(&mut tx, mgr.scope(), year_id).await?;
        // Seeing a county pool's year (a town admin does) is not running it.
        if !mgr.scope().contains(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        let row = store::designs::get(&mut tx, year_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        check_current_rules(&year, row.rules_version)?;
        if !store::designs::transition(
            &mut tx,
            id,
            "draft",
            "submitted",
            &actor.username,
            &self.now_text(),
            "",
        )
        .await?
        {
            return Err(AppError::Conflict("该方案不是草稿，不能提交".into()));
        }
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::DesignSubmit,
            &format!("design:{id}"),
            "",
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Approves (publishing the table) or rejects a submitted design. The approver must not be
    /// the person who ran or submitted it.
    pub async fn decide_design(
        &self,
        a: &DesignApprover,
        actor: &Actor,
        year_id: i64,
        id: i64,
        approve: bool,
        note: &str,
    ) -> AppResult<Option<(i64, i64)>> {
        let mut tx = self.db.begin_write().await?;
        let year = load_year(&mut tx, a.scope(), year_id).await?;
        if !a.scope().contains(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        let row = store::designs::get(&mut tx, year_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if row.created_by == actor.username || row.submitted_by.as_deref() == Some(&actor.username)
        {
            return Err(AppError::Invalid(
                "设计方案须由另一人审批：您不能审批自己制作或提交的方案".into(),
            ));
        }
        let note = &crate::error::typed_text(
            "审批意见",
            note,
            (!approve).then_some("退回方案须填写原因"),
        )?;
        if approve {
            check_current_rules(&year, row.rules_version)?;
        }
        let to = if approve { "approved" } else { "rejected" };
        let now = self.now_text();
        if !store::designs::transition(
            &mut tx,
            id,
            "submitted",
            to,
            &actor.username,
            &now,
            note.trim(),
        )
        .await?
        {
            return Err(AppError::Conflict("该方案不在待审批状态".into()));
        }
        let published = if approve {
            let run = parse_design(row)?;
            let lines: Vec<TableLine> = run
                .lines
                .iter()
                .map(|l| TableLine {
                    drg: l.drg.clone(),
                    drg_name: l.name.clone(),
                    amount_fen: l.amount_fen,
                    loyal_amount_fen: l.loyal_amount_fen,
                })
                .collect();
            Some(
                store::designs::publish(
                    &mut tx,
                    &NewTable {
                        year_id,
                        design_id: id,
                        rules_version: run.row.rules_version,
                        drg_version: &run.summary.drg_version,
                        by: &actor.username,
                        at: &now,
                    },
                    &lines,
                )
                .await?,
            )
        } else {
            None
        };
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            if approve {
                AuditAction::DesignApprove
            } else {
                AuditAction::DesignReject
            },
            &format!("design:{id}"),
            note.trim(),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(published)
    }

    /// The year's published table and its lines matching `query` (DRG code or disease name).
    pub async fn published_table(
        &self,
        actor: &Actor,
        year_id: i64,
        query: &str,
    ) -> AppResult<Option<(TableRow, Vec<TableLine>)>> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        public_table(&mut conn, year_id, query).await
    }

    /// The year's current published table, without its lines.
    pub async fn current_table(&self, actor: &Actor, year_id: i64) -> AppResult<Option<TableRow>> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        Ok(store::designs::current_table(&mut conn, year_id).await?)
    }

    /// The same for residents (no sign-in): published tables are public information.
    pub async fn public_table(
        &self,
        year_id: i64,
        query: &str,
    ) -> AppResult<Option<(Year, TableRow, Vec<TableLine>)>> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, &store::Scope::all(), year_id).await?;
        Ok(public_table(&mut conn, year_id, query)
            .await?
            .map(|(t, l)| (year, t, l)))
    }
}

async fn public_table(
    conn: &mut store::Conn,
    year_id: i64,
    query: &str,
) -> AppResult<Option<(TableRow, Vec<TableLine>)>> {
    let Some(t) = store::designs::current_table(conn, year_id).await? else {
        return Ok(None);
    };
    let search = table_search(&t.drg_version, query).await;
    let lines = store::designs::table_lines(conn, t.id)
        .await?
        .into_iter()
        .filter(|l| search.matches(&l.drg, &l.drg_name))
        .collect();
    Ok(Some((t, lines)))
}

fn parse_design(row: DesignRow) -> AppResult<DesignRun> {
    let bad = |e: serde_json::Error| AppError::Internal(anyhow::anyhow!("stored design: {e}"));
    Ok(DesignRun {
        params: serde_json::from_str(&row.params_json).map_err(bad)?,
        summary: serde_json::from_str(&row.summary_json).map_err(bad)?,
        lines: serde_json::from_str(&row.amounts_json).map_err(bad)?,
        row,
    })
}

/// The pure part: risk model, design, distribution. Runs off the async threads.
fn compute(
    version: DrgVersion,
    year_rules: &scheme::SchemeRules,
    rules: &DesignRules,
    profile: &[(i64, i64, String, bool, i64)],
    history: &[PastYear],
    targets: &DesignTargets,
    money: crate::fund::MoneyAvailable,
) -> AppResult<(DesignSummary, Vec<DesignLine>)> {
    let model = StayModel::new();
    let pop = population(&model, profile);
    if pop.total() == 0 {
        return Err(AppError::Invalid(
            "本年度尚无参保人员，无法设计补助标准".into(),
        ));
    }
    let risk = risk_with_experience(&model, version, rules.thresholds, history);
    let d = design(&risk, rules, &pop, targets)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("design: {e}")))?;
    let (_, dist) = evaluate(
        &risk,
        rules,
        &pop,
        &d.amounts_fen,
        targets.money_available_fen,
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("evaluate: {e}")))?;
    let lines: Vec<DesignLine> = risk
        .drgs
        .iter()
        .zip(d.amounts_fen.iter().zip(&d.loyal_amounts_fen))
        .map(|(drg, (a, l))| DesignLine {
            drg: drg.code.clone(),
            name: drg.name.clone(),
            amount_fen: *a,
            loyal_amount_fen: *l,
        })
        .collect();
    let paid: Vec<i64> = d.amounts_fen.iter().copied().filter(|a| *a > 0).collect();
    let e = &d.evaluation;
    Ok((
        DesignSummary {
            members: pop.total(),
            consecutive_members: pop.members.iter().map(|(_, c)| c).sum(),
            income_fen: money.income.fen(),
            reserve_fen: money.reserve.fen(),
            service_fee_fen: money.service_fee.fen(),
            budget_fen: d.budget_fen,
            expected_payout_fen: e.expected_payout_fen,
            quantiles_fen: e.quantiles_fen,
            np_quantiles_fen: e.np_quantiles_fen,
            p_shortfall: e.p_shortfall,
            expected_subsidies: e.expected_subsidies,
            expected_people_helped: e.expected_people_helped,
            benefit_rate: e.benefit_rate,
            average_subsidy_fen: e.average_subsidy_fen,
            burden_reduction: e.burden_reduction,
            feasible: d.feasible,
            drg_version: year_rules.drg_version.clone(),
            histogram: histogram(&dist),
            min_amount_fen: paid.iter().copied().min().unwrap_or(0),
            max_amount_fen: paid.iter().copied().max().unwrap_or(0),
            credibility: risk.credibility,
            experience_years: history.len() as u32,
        },
        lines,
    ))
}

/// A search of a subsidy table as residents type it: a DRG code, words of a DRG name, or the
/// name of their illness ("脑梗死"), which the DRG names rarely contain. For the last, the
/// diagnoses whose names match are grouped as plain medical stays and their ADRGs match too.
#[derive(Debug, Clone, Default)]
pub struct TableSearch {
    query: String,
    adrgs: Vec<String>,
}

impl TableSearch {
    pub fn matches(&self, drg: &str, name: &str) -> bool {
        let q = self.query.as_str();
        q.is_empty()
            || drg.starts_with(&q.to_uppercase())
            || name.contains(q)
            || self.adrgs.iter().any(|a| drg.starts_with(a.as_str()))
    }
}

pub(crate) fn grouper(version: &str) -> Option<std::sync::Arc<drg::Grouper>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<drg::Grouper>>>> = OnceLock::new();
    let mut loaded = LOADED.get_or_init(Default::default).lock().ok()?;
    if let Some(g) = loaded.get(version) {
        return Some(g.clone());
    }
    let v = drg::Version::available()
        .into_iter()
        .find(|v| v.as_str() == version)?;
    let g = Arc::new(drg::Grouper::load(&v).ok()?);
    loaded.insert(version.to_string(), g.clone());
    Some(g)
}

/// Builds the search (loading the DRG pack on first use, hence off the async threads).
pub async fn table_search(drg_version: &str, query: &str) -> TableSearch {
    let query = query.trim().to_string();
    if query.chars().count() < 2 {
        return TableSearch {
            query,
            adrgs: Vec::new(),
        };
    }
    let version = drg_version.to_string();
    let q = query.clone();
    let adrgs = tokio::task::spawn_blocking(move || {
        let Some(g) = grouper(&version) else {
            return Vec::new();
        };
        let mut adrgs: Vec<String> = Vec::new();
        for hit in g.search(&q, 400) {
            let drg::SearchHit::Diagnosis { code, .. } = hit else {
                continue;
            };
            for sex in [1, 2] {
                let o = g.group_fast(&drg::Stay {
                    sex: Some(sex),
                    age_years: Some(60),
                    los_days: Some(7),
                    discharge_mode: Some(1),
                    principal_dx: code.clone(),
                    ..Default::default()
                });
                let adrg = g.adrg_code(&o);
                if !adrg.is_empty() && !adrgs.iter().any(|a| a == adrg) {
                    adrgs.push(adrg.to_string());
                }
            }
        }
        adrgs
    })
    .await
    .unwrap_or_default();
    TableSearch { query, adrgs }
}
