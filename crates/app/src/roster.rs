//! Reading the roster: the region tree with its counts, households, members, search. Every
//! query runs inside the actor's scope; anything outside it is `NotFound`.

use crate::crypto::HashKind;
use crate::{Actor, App, AppError, AppResult};
use domain::{AuditAction, InsuranceType, Phone, Relation, ResidentIdNumber, SpecialStatus};
use std::collections::HashMap;
use store::regions::Region;
use store::roster::{Counts, HouseholdSummary, Member, SearchKey};

#[derive(Debug, Clone)]
pub struct RegionRow {
    pub region: Region,
    pub counts: Counts,
}

#[derive(Debug, Clone)]
pub struct RegionView {
    pub region: Region,
    /// Ancestors inside the actor's scope, outermost first.
    pub breadcrumbs: Vec<Region>,
    pub children: Vec<RegionRow>,
    pub totals: Counts,
    /// For a village: its households (one page).
    pub households: Vec<HouseholdSummary>,
    pub page: i64,
    pub pages: i64,
}

/// A member as lists show them: masked identifiers, labels in Chinese.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub id: i64,
    pub household_id: i64,
    pub village_code: String,
    pub name: String,
    pub id_masked: String,
    pub sex: &'static str,
    pub age: u32,
    pub birth_date: String,
    pub relation: &'static str,
    pub insurance: &'static str,
    pub phone_masked: String,
}

#[derive(Debug, Clone)]
pub struct StatusRow {
    pub label: &'static str,
    pub since: String,
    pub until: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HouseholdView {
    pub household: store::roster::Household,
    pub village: Region,
    pub breadcrumbs: Vec<Region>,
    pub members: Vec<MemberRow>,
}

#[derive(Debug, Clone)]
pub struct MemberView {
    pub member: MemberRow,
    pub statuses: Vec<StatusRow>,
    pub household: store::roster::Household,
    pub village: Region,
    pub breadcrumbs: Vec<Region>,
}

#[derive(Debug, Clone)]
pub struct Revealed {
    pub id_number: String,
    pub phone: Option<String>,
}

pub const HOUSEHOLDS_PER_PAGE: i64 = 50;

impl App {
    pub(crate) fn member_row(&self, m: &Member) -> MemberRow {
        let birth = chrono::NaiveDate::parse_from_str(&m.birth_date, "%Y-%m-%d").ok();
        MemberRow {
            id: m.id,
            household_id: m.household_id,
            village_code: m.village_code.clone(),
            name: m.name.clone(),
            id_masked: m.id_masked.clone(),
            sex: if m.sex == 1 { "男" } else { "女" },
            age: birth.and_then(|b| self.today().years_since(b)).unwrap_or(0),
            birth_date: m.birth_date.clone(),
            relation: Relation::from_code(&m.relation)
                .map(Relation::label_zh)
                .unwrap_or("其他"),
            insurance: InsuranceType::from_code(&m.insurance)
                .map(InsuranceType::label_zh)
                .unwrap_or("未知"),
            phone_masked: m.phone_masked.clone().unwrap_or_default(),
        }
    }

    async fn breadcrumbs(
        &self,
        conn: &mut store::Conn,
        actor: &Actor,
        code: &str,
    ) -> AppResult<Vec<Region>> {
        let scope = actor.scope();
        let mut out = Vec::new();
        let mut len = code.len();
        while len > 6 {
            len -= 3;
            if let Some(r) = store::regions::get(conn, &scope, &code[..len]).await? {
                out.push(r);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The actor's home page: their own region (a system administrator: the first county).
    pub async fn home_region(&self, actor: &Actor) -> AppResult<String> {
        if let Some(r) = &actor.region {
            return Ok(r.to_string());
        }
        let mut conn = self.db.acquire().await?;
        let roots = store::regions::roots(&mut conn, &actor.scope()).await?;
        roots
            .first()
            .map(|r| r.code.clone())
            .ok_or(AppError::NotFound)
    }

    pub async fn region_view(&self, actor: &Actor, code: &str, page: i64) -> AppResult<RegionView> {
        let scope = actor.scope();
        let mut conn = self.db.acquire().await?;
        let region = store::regions::get(&mut conn, &scope, code)
            .await?
            .ok_or(AppError::NotFound)?;
        let breadcrumbs = self.breadcrumbs(&mut conn, actor, code).await?;
        let counts = store::roster::counts_by_village(
            &mut conn,
            &store::Scope::region(
                &domain::RegionCode::parse(code).map_err(|_| AppError::NotFound)?,
            ),
        )
        .await?;
        let roll_up = |prefix: &str| {
            counts.iter().filter(|(v, _)| v.starts_with(prefix)).fold(
                Counts::default(),
                |mut a, (_, c)| {
                    a.households += c.households;
                    a.members += c.members;
                    a
                },
            )
        };
        let totals = roll_up(code);
        let children = store::regions::children(&mut conn, &scope, code)
            .await?
            .into_iter()
            .map(|r| {
                let counts = roll_up(&r.code);
                RegionRow { region: r, counts }
            })
            .collect();
        let (households, page, pages) = if region.level == "village" {
            let pages =
                ((totals.households + HOUSEHOLDS_PER_PAGE - 1) / HOUSEHOLDS_PER_PAGE).max(1);
            let page = page.clamp(1, pages);
            let list = store::roster::village_households(
                &mut conn,
                &scope,
                code,
                (page - 1) * HOUSEHOLDS_PER_PAGE,
                HOUSEHOLDS_PER_PAGE,
            )
            .await?;
            (list, page, pages)
        } else {
            (Vec::new(), 1, 1)
        };
        Ok(RegionView {
            region,
            breadcrumbs,
            children,
            totals,
            households,
            page,
            pages,
        })
    }

    pub async fn household_view(&self, actor: &Actor, id: i64) -> AppResult<HouseholdView> {
        let scope = actor.scope();
        let mut conn = self.db.acquire().await?;
        let household = store::roster::get_household(&mut conn, &scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let village = store::regions::get(&mut conn, &scope, &household.village_code)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut breadcrumbs = self.breadcrumbs(&mut conn, actor, &village.code).await?;
        breadcrumbs.push(village.clone());
        let members = store::roster::household_members(&mut conn, &scope, id)
            .await?
            .iter()
            .map(|m| self.member_row(m))
            .collect();
        Ok(HouseholdView {
            household,
            village,
            breadcrumbs,
            members,
        })
    }

    pub async fn member_view(&self, actor: &Actor, id: i64) -> AppResult<MemberView> {
        let scope = actor.scope();
        let mut conn = self.db.acquire().await?;
        let m = store::roster::get_member(&mut conn, &scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let household = store::roster::get_household(&mut conn, &scope, m.household_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let village = store::regions::get(&mut conn, &scope, &m.village_code)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut breadcrumbs = self.breadcrumbs(&mut conn, actor, &village.code).await?;
        breadcrumbs.push(village.clone());
        let statuses = store::roster::member_statuses(&mut conn, id)
            .await?
            .into_iter()
            .map(|s| StatusRow {
                label: SpecialStatus::from_code(&s.status)
                    .map(SpecialStatus::label_zh)
                    .unwrap_or("其他"),
                since: s.since,
                until: s.until,
            })
            .collect();
        Ok(MemberView {
            member: self.member_row(&m),
            statuses,
            household,
            village,
            breadcrumbs,
        })
    }

    /// Shows a member's full ID number and phone to roles that need them (`PiiRevealer`).
    /// Always audited (who, when, whose, from where).
    pub async fn reveal_member(&self, actor: &Actor, id: i64) -> AppResult<Revealed> {
        let revealer = actor.pii_revealer().ok_or(AppError::Forbidden)?;
        let mut tx = self.db.begin_write().await?;
        let m = store::roster::get_member(&mut tx, revealer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let revealed = Revealed {
            id_number: self.keys.decrypt(&m.id_cipher)?,
            phone: m
                .phone_cipher
                .as_deref()
                .map(|c| self.keys.decrypt(c))
                .transpose()?,
        };
        self.audit(
            &mut tx,
            actor,
            &m.village_code,
            AuditAction::MemberReveal,
            &format!("member:{id}"),
            &m.id_masked,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(revealed)
    }

    /// Finds members by full ID number, mobile number, or name (prefix), inside the scope.
    pub async fn search_members(
        &self,
        actor: &Actor,
        query: &str,
        limit: i64,
    ) -> AppResult<Vec<MemberRow>> {
        let q = query.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        let scope = actor.scope();
        let mut conn = self.db.acquire().await?;
        let members = if let Ok(id) = ResidentIdNumber::parse(q) {
            let h = self.keys.hash(HashKind::IdNumber, id.as_str());
            store::roster::search(&mut conn, &scope, SearchKey::IdHash(&h), limit).await?
        } else if let Ok(p) = Phone::parse(q) {
            let h = self.keys.hash(HashKind::Phone, p.as_str());
            store::roster::search(&mut conn, &scope, SearchKey::PhoneHash(&h), limit).await?
        } else if q
            .chars()
            .all(|c| c.is_ascii_digit() || c == 'x' || c == 'X')
        {
            return Err(AppError::Invalid(
                "请输入完整的18位身份证号或11位手机号；按姓名查找请输入姓名".into(),
            ));
        } else {
            store::roster::search(&mut conn, &scope, SearchKey::NamePrefix(q), limit).await?
        };
        Ok(members.iter().map(|m| self.member_row(m)).collect())
    }

    /// Village names by code inside the scope (for showing where search results live).
    pub async fn village_names(&self, actor: &Actor) -> AppResult<HashMap<String, String>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::regions::villages(&mut conn, &actor.scope())
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect())
    }
}

impl App {
    /// Virtual villages (e.g. 幸福社区) inside the placer's area.
    pub async fn virtual_villages(
        &self,
        placer: &crate::VirtualVillagePlacer,
    ) -> AppResult<Vec<Region>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::regions::villages(&mut conn, placer.scope())
            .await?
            .into_iter()
            .filter(|r| r.is_virtual)
            .collect())
    }

    /// Places a poverty-alleviated or poverty-monitored member in a virtual village as a household
    /// of their own. A head who still has household members must first hand over the headship,
    /// so that no household is left without a head.
    pub async fn place_in_virtual_village(
        &self,
        placer: &crate::VirtualVillagePlacer,
        actor: &Actor,
        member_id: i64,
        village_code: &str,
    ) -> AppResult<()> {
        let scope = placer.scope();
        let mut tx = self.db.begin_write().await?;
        let m = store::roster::get_member(&mut tx, scope, member_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let target = store::regions::get(&mut tx, scope, village_code)
            .await?
            .filter(|r| r.is_virtual)
            .ok_or_else(|| AppError::Invalid("请选择本辖区内的虚拟村（如幸福社区）".into()))?;
        let current = store::regions::get_unscoped(&mut tx, &m.village_code).await?;
        if current.is_some_and(|r| r.is_virtual) {
            return Err(AppError::Invalid("该成员已在虚拟村中".into()));
        }
        let statuses = store::roster::member_statuses(&mut tx, member_id).await?;
        let eligible = statuses.iter().any(|s| {
            s.until.is_none()
                && matches!(
                    SpecialStatus::from_code(&s.status),
                    Some(SpecialStatus::PovertyAlleviated | SpecialStatus::PovertyMonitored)
                )
        });
        if !eligible {
            return Err(AppError::Invalid(
                "只有脱贫享受政策人口和防返贫监测对象可以划入虚拟村".into(),
            ));
        }
        let others =
            store::roster::household_members(&mut tx, &store::Scope::all(), m.household_id)
                .await?
                .len()
                - 1;
        if m.relation == Relation::Head.code() && others > 0 {
            return Err(AppError::Invalid(
                "该成员是户主且户内还有其他成员，请先变更户主".into(),
            ));
        }
        let now = self.now_text();
        let household = store::roster::insert_household(
            &mut tx,
            &target.code,
            &format!("XF{member_id:07}"),
            None,
            &now,
        )
        .await?;
        store::roster::move_member(
            &mut tx,
            member_id,
            household,
            &target.code,
            Relation::Head.code(),
            &now,
        )
        .await?;
        store::roster::delete_household_if_empty(&mut tx, m.household_id).await?;
        let detail = format!("由{}划入{}", m.village_code, target.name);
        self.audit(
            &mut tx,
            actor,
            &m.village_code,
            AuditAction::MemberPlaceVirtual,
            &format!("member:{member_id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }
}
