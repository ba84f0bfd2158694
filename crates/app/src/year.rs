//! Scheme years: opening one from a template, changing its rules (every change a new version
//! with who, when and why), and the live enrolment figures.

use crate::access::{Actor, SchemeManager};
use crate::{App, AppError, AppResult};
use domain::{AuditAction, RegionLevel};
use scheme::{PoolLevel, SchemeRules};
use store::years::{NewYear, VersionRow, YearRow};

/// A scheme year with the rules of its current version.
#[derive(Debug, Clone)]
pub struct Year {
    pub row: YearRow,
    pub rules: SchemeRules,
}

impl Year {
    pub fn is_open(&self) -> bool {
        self.row.status == "open"
    }
}

pub(crate) fn parse_rules(json: &str) -> AppResult<SchemeRules> {
    serde_json::from_str(json).map_err(|e| AppError::Internal(anyhow::anyhow!("stored rules: {e}")))
}

pub(crate) fn rules_json(rules: &SchemeRules) -> String {
    serde_json::to_string(rules).expect("rules serialise")
}

fn check_rules(rules: &SchemeRules) -> AppResult<()> {
    rules.validate().map_err(|errors| {
        AppError::Invalid(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("；"),
        )
    })
}

impl App {
    /// The towns and counties a manager may open a year for.
    pub async fn pool_choices(
        &self,
        mgr: &SchemeManager,
    ) -> AppResult<Vec<store::regions::Region>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::regions::pools(&mut conn, mgr.scope()).await?)
    }

    pub async fn years(&self, actor: &Actor) -> AppResult<Vec<YearRow>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::years::list(&mut conn, &actor.scope()).await?)
    }

    /// The year if the actor's area overlaps its pool, with its current rules.
    pub async fn year(&self, actor: &Actor, id: i64) -> AppResult<Year> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), id).await
    }

    pub async fn year_versions(&self, actor: &Actor, id: i64) -> AppResult<Vec<VersionRow>> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), id).await?;
        Ok(store::years::versions(&mut conn, id).await?)
    }

    /// The rules a decision cited: any version of the year.
    pub async fn rules_version(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
    ) -> AppResult<SchemeRules> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), id).await?;
        let v = store::years::version(&mut conn, id, version)
            .await?
            .ok_or(AppError::NotFound)?;
        parse_rules(&v.rules_json)
    }

    /// Opens a scheme year for a pool (a town or a county, as the rules say). The pool must be
    /// inside the manager's area and no overlapping year may exist for it, for a pool above it
    /// or for one below it: a household belongs to one fund at a time.
    // Each argument is a separate decision of the caller (who, which pool, name, template,
    // rules, predecessor); a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_year(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        pool_code: &str,
        label: &str,
        template_key: &str,
        rules: SchemeRules,
        previous_year_id: Option<i64>,
    ) -> AppResult<i64> {
        check_rules(&rules)?;
        let label = label.trim();
        if label.is_empty() {
            return Err(AppError::Invalid("请填写年度名称，例如“2025年度”".into()));
        }
        let mut tx = self.db.begin_write().await?;
        let region = store::regions::get(&mut tx, mgr.scope(), pool_code)
            .await?
            .ok_or(AppError::NotFound)?;
        let level_ok = matches!(
            (rules.pool_level, region.level.as_str()),
            (PoolLevel::Town, "town") | (PoolLevel::County, "county")
        );
        if !level_ok {
            return Err(AppError::Invalid(format!(
                "统筹层级为“{}”，但所选地区“{}”是{}",
                rules.pool_level.label_zh(),
                region.name,
                RegionLevel::from_code(&region.level)
                    .map(|l| l.label_zh())
                    .unwrap_or("未知层级")
            )));
        }
        let start = rules.period_start.to_string();
        let end = rules.period_end.to_string();
        if let Some(other) = store::years::overlapping(&mut tx, pool_code, &start, &end)
            .await?
            .first()
        {
            return Err(AppError::Conflict(format!(
                "{}的“{}”（{} 至 {}）与此年度时间重叠，同一户不能同时参加两个互助基金",
                other.pool_name, other.label, other.period_start, other.period_end
            )));
        }
        let now = self.now_text();
        let json = rules_json(&rules);
        let id = store::years::create(
            &mut tx,
            &NewYear {
                pool_code,
                label,
                period_start: &start,
                period_end: &end,
                template_key,
                previous_year_id,
                rules_json: &json,
                by: &actor.username,
                at: &now,
                reason: "新建年度",
            },
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            pool_code,
            AuditAction::YearOpen,
            &format!("year:{id}"),
            &format!("{label} {start}–{end}, template {template_key}"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Opens the year after `id` for the same pool with the same rules a year later (dates
    /// shifted, calendar refreshed), linked to it so consecutive members get their bonus and
    /// last year's households can be renewed in one step.
    pub async fn open_next_year(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        id: i64,
    ) -> AppResult<i64> {
        let year = self.year(actor, id).await?;
        if !mgr.scope().contains(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        let rules = year.rules.next_year();
        let label = format!("{}年度", chrono::Datelike::year(&rules.period_start));
        self.open_year(
            mgr,
            actor,
            &year.row.pool_code,
            &label,
            &year.row.template_key,
            rules,
            Some(id),
        )
        .await
    }

    /// Changes the rules of an open year. Every change is a new version with its reason; the
    /// period cannot move once the year is open (enrolments and claims are dated against it).
    pub async fn change_rules(
        &self,
        mgr: &SchemeManager,
        actor: &Actor,
        id: i64,
        rules: SchemeRules,
        reason: &str,
    ) -> AppResult<i64> {
        let reason = &crate::error::typed_text("修改原因", reason, Some("修改规则须填写修改原因"))?;
        check_rules(&rules)?;
        let mut tx = self.db.begin_write().await?;
        let year = load_year(&mut tx, mgr.scope(), id).await?;
        if !mgr.scope().contains(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        if !year.is_open() {
            return Err(AppError::Invalid("年度已结转关闭，规则不能再修改".into()));
        }
        if rules.period_start != year.rules.period_start
            || rules.period_end != year.rules.period_end
            || rules.pool_level != year.rules.pool_level
        {
            return Err(AppError::Invalid(
                "年度起止日期和统筹层级在年度开启后不能修改".into(),
            ));
        }
        if rules == year.rules {
            return Err(AppError::Invalid("规则没有变化".into()));
        }
        let now = self.now_text();
        let version = store::years::add_version(
            &mut tx,
            id,
            &rules_json(&rules),
            &actor.username,
            &now,
            reason,
        )
        .await?;
        let what = if year.rules.money_fields_differ(&rules) {
            "涉及资金"
        } else {
            "不涉及资金"
        };
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::YearRules,
            &format!("year:{id}"),
            &format!("version {version} ({what}): {reason}"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(version)
    }
}

pub(crate) async fn load_year(
    conn: &mut store::Conn,
    scope: &store::Scope,
    id: i64,
) -> AppResult<Year> {
    let row = store::years::get(conn, scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = store::years::version(conn, id, row.current_version)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("year {id} lacks its current version"))
        })?;
    Ok(Year {
        rules: parse_rules(&v.rules_json)?,
        row,
    })
}

/// Live enrolment figures of a year: the programme's arithmetic (`scheme::pool_figures`) over
/// the pool's counts, plus the dues actually recorded per village (frozen at enrolment under
/// the rules version then current).
#[derive(Debug, Clone)]
pub struct YearFigures {
    pub pool: scheme::PoolFigures,
    /// Recorded enrolment per village code.
    pub recorded: std::collections::HashMap<String, store::enrolment::VillageEnrolment>,
    /// Village codes the viewer may see individually.
    pub visible: std::collections::HashSet<String>,
}

impl YearFigures {
    /// Villages the viewer may see, in code order.
    pub fn visible_villages(&self) -> impl Iterator<Item = &scheme::VillageFigures> {
        self.pool
            .villages
            .iter()
            .filter(|v| self.visible.contains(&v.code))
    }
}

impl App {
    /// Where the per-village figures kept by every enrolment, reversal and roster write differ
    /// from a fresh count over the base tables, one line each; empty when they agree.
    pub async fn verify_village_figures(&self) -> AppResult<Vec<String>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::enrolment::verify_figures(&mut conn).await?)
    }

    /// Rebuilds the per-village figures from the base tables in one write transaction (after a
    /// restore or a bulk load around the application, or when the verification found a
    /// difference).
    pub async fn rebuild_village_figures(&self) -> AppResult<()> {
        let mut tx = self.db.begin_write().await?;
        store::enrolment::rebuild_figures(&mut tx).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    pub async fn year_figures(&self, actor: &Actor, year_id: i64) -> AppResult<YearFigures> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, &actor.scope(), year_id).await?;
        figures_on(&mut conn, &year, &actor.scope()).await
    }
}

/// The year's figures read on `conn` (inside a fund write they must come from the same
/// transaction that holds the pool's lock, or two writers would compute the same "still due").
pub(crate) async fn figures_on(
    conn: &mut store::Conn,
    year: &Year,
    scope: &store::Scope,
) -> AppResult<YearFigures> {
    let year_id = year.row.id;
    let pool_scope = pool_scope(year)?;
    let villages = store::regions::villages(conn, &pool_scope).await?;
    let counts = store::roster::counts_by_village(conn, &pool_scope).await?;
    let recorded: std::collections::HashMap<String, store::enrolment::VillageEnrolment> =
        store::enrolment::village_figures(conn, year_id, &pool_scope)
            .await?
            .into_iter()
            .map(|v| (v.village_code.clone(), v))
            .collect();
    let mut by_status: std::collections::HashMap<String, Vec<scheme::StatusCount>> =
        std::collections::HashMap::new();
    for (code, statuses, n) in store::enrolment::status_counts(conn, year_id).await? {
        by_status
            .entry(code)
            .or_default()
            .push(scheme::StatusCount {
                statuses: statuses
                    .split(',')
                    .filter_map(domain::SpecialStatus::from_code)
                    .collect(),
                count: n as u64,
            });
    }
    let inputs: Vec<scheme::VillageInput> = villages
        .iter()
        .map(|v| {
            let c = counts.get(&v.code).cloned().unwrap_or_default();
            let r = recorded.get(&v.code).cloned().unwrap_or_default();
            scheme::VillageInput {
                code: v.code.clone(),
                name: v.name.clone(),
                registered: c.members as u64,
                enrolled: r.members as u64,
                registered_households: c.households as u64,
                enrolled_households: r.households as u64,
                enrolled_by_statuses: by_status.remove(&v.code).unwrap_or_default(),
                special: v.is_virtual,
            }
        })
        .collect();
    Ok(YearFigures {
        pool: scheme::pool_figures(&year.rules, &inputs),
        visible: villages
            .iter()
            .filter(|v| scope.contains(&v.code))
            .map(|v| v.code.clone())
            .collect(),
        recorded,
    })
}

/// The scope of a year's whole pool (for pool-wide arithmetic; results are aggregates).
pub(crate) fn pool_scope(year: &Year) -> AppResult<store::Scope> {
    let code = domain::RegionCode::parse(&year.row.pool_code).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("pool code {}: {e}", year.row.pool_code))
    })?;
    Ok(store::Scope::region(&code))
}
