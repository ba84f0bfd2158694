//! The county hospital register (医院名录): county and system administrators keep it; every
//! staff member whose area overlaps the county reads it (the claim form picks from it).

use crate::access::{Actor, HospitalKeeper};
use crate::error::{AppError, AppResult};
use crate::App;
use domain::{
    AuditAction, Hospital, HospitalId, HospitalLevel, HospitalLocation, HospitalName, RegionCode,
    RegionLevel,
};
use store::hospitals::HospitalFields;

/// The most hospitals a name search returns (the claim form's pick list).
pub const SEARCH_LIMIT: i64 = 20;

/// A hospital as a keeper typed it, already parsed at the edge.
#[derive(Debug, Clone)]
pub struct HospitalInput {
    pub name: HospitalName,
    pub level: HospitalLevel,
    pub designated: bool,
    pub location: HospitalLocation,
    pub active: bool,
}

impl HospitalInput {
    fn fields(&self) -> HospitalFields<'_> {
        HospitalFields {
            name: &self.name,
            level: self.level,
            designated: self.designated,
            location: self.location,
            active: self.active,
        }
    }
}

/// The county whose register `actor` works with by default: the county their area lies in.
/// `None` for the system administrator, who picks one.
pub fn home_county(actor: &Actor) -> Option<RegionCode> {
    let r = actor.region.as_ref()?;
    match r.level() {
        RegionLevel::County => Some(r.clone()),
        _ => RegionCode::parse(&r.as_str()[..6]).ok(),
    }
}

fn county_only(code: &RegionCode) -> AppResult<()> {
    if code.level() == RegionLevel::County {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The message shown when the county's register already has the name.
fn duplicate(name: &HospitalName) -> AppError {
    AppError::Conflict(format!("本县医院名录中已有“{name}”，请勿重复添加"))
}

fn map_conflict(e: store::StoreError, name: &HospitalName) -> AppError {
    match e {
        store::StoreError::Conflict(_) => duplicate(name),
        other => other.into(),
    }
}

impl App {
    /// Adds a hospital to `county`'s register. The county must be inside the keeper's area
    /// (otherwise `NotFound`, as for any other area); a name already on it is a `Conflict`.
    pub async fn add_hospital(
        &self,
        keeper: &HospitalKeeper,
        actor: &Actor,
        county: &RegionCode,
        input: &HospitalInput,
    ) -> AppResult<HospitalId> {
        county_only(county)?;
        if !keeper.scope().contains(county.as_str()) {
            return Err(AppError::NotFound);
        }
        let mut tx = self.db.begin_write().await?;
        store::regions::get(&mut tx, keeper.scope(), county.as_str())
            .await?
            .filter(|r| r.level == "county")
            .ok_or(AppError::NotFound)?;
        let id = store::hospitals::insert(&mut tx, county, &input.fields(), &self.now_text())
            .await
            .map_err(|e| map_conflict(e, &input.name))?;
        self.audit(
            &mut tx,
            actor,
            county.as_str(),
            AuditAction::HospitalAdded,
            &format!("hospital:{id}"),
            &describe(input),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Changes a hospital of a county inside the keeper's area (`NotFound` elsewhere).
    pub async fn update_hospital(
        &self,
        keeper: &HospitalKeeper,
        actor: &Actor,
        id: HospitalId,
        input: &HospitalInput,
    ) -> AppResult<Hospital> {
        let mut tx = self.db.begin_write().await?;
        let before = store::hospitals::get(&mut tx, keeper.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !keeper.scope().contains(before.county_code.as_str()) {
            return Err(AppError::NotFound);
        }
        let now = self.now_text();
        let changed =
            store::hospitals::update(&mut tx, &before.county_code, id, &input.fields(), &now)
                .await
                .map_err(|e| map_conflict(e, &input.name))?;
        if !changed {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut tx,
            actor,
            before.county_code.as_str(),
            AuditAction::HospitalChanged,
            &format!("hospital:{id}"),
            &format!("{} → {}", describe_stored(&before), describe(input)),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(Hospital {
            name: input.name.clone(),
            level: input.level,
            designated: input.designated,
            location: input.location,
            active: input.active,
            updated_at: now,
            ..before
        })
    }

    /// The name of a county whose register the actor may read: one inside their area or the
    /// one their area lies in. `NotFound` otherwise.
    pub async fn hospital_county_name(
        &self,
        actor: &Actor,
        county: &RegionCode,
    ) -> AppResult<String> {
        county_only(county)?;
        let scope = actor.scope();
        if !(scope.contains(county.as_str()) || scope.prefix().starts_with(county.as_str())) {
            return Err(AppError::NotFound);
        }
        let mut conn = self.db.acquire().await?;
        store::regions::get_unscoped(&mut conn, county.as_str())
            .await?
            .filter(|r| r.level == "county")
            .map(|r| r.name)
            .ok_or(AppError::NotFound)
    }

    /// The counties inside the actor's area (a system administrator picks one of them).
    pub async fn hospital_counties(&self, actor: &Actor) -> AppResult<Vec<(RegionCode, String)>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::regions::pools(&mut conn, &actor.scope())
            .await?
            .into_iter()
            .filter(|r| r.level == "county")
            .filter_map(|r| Some((RegionCode::parse(&r.code).ok()?, r.name)))
            .collect())
    }

    /// A county's register (active first, by name); empty if the county is outside the
    /// actor's area.
    pub async fn hospitals(&self, actor: &Actor, county: &RegionCode) -> AppResult<Vec<Hospital>> {
        county_only(county)?;
        let mut conn = self.db.acquire().await?;
        Ok(store::hospitals::list(&mut conn, &actor.scope(), county).await?)
    }

    /// One hospital, if its county overlaps the actor's area; `NotFound` otherwise.
    pub async fn hospital(&self, actor: &Actor, id: HospitalId) -> AppResult<Hospital> {
        let mut conn = self.db.acquire().await?;
        store::hospitals::get(&mut conn, &actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Active hospitals of the county whose name contains `query` (prefix matches first), at
    /// most [`SEARCH_LIMIT`]. An empty query lists the first ones by name.
    pub async fn search_hospitals(
        &self,
        actor: &Actor,
        county: &RegionCode,
        query: &str,
    ) -> AppResult<Vec<Hospital>> {
        county_only(county)?;
        let query = domain::Line::parse_optional(query, HospitalName::MAX)
            .map_err(|e| AppError::Invalid(format!("医院名称{e}")))?;
        let query = query.as_ref().map(|q| q.as_str()).unwrap_or("");
        let mut conn = self.db.acquire().await?;
        Ok(
            store::hospitals::search(&mut conn, &actor.scope(), county, query, SEARCH_LIMIT)
                .await?,
        )
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "是"
    } else {
        "否"
    }
}

fn describe(h: &HospitalInput) -> String {
    format!(
        "{}，{}，医保定点：{}，{}，{}",
        h.name,
        h.level.label_zh(),
        yes_no(h.designated),
        h.location.label_zh(),
        if h.active { "启用" } else { "停用" }
    )
}

fn describe_stored(h: &Hospital) -> String {
    describe(&HospitalInput {
        name: h.name.clone(),
        level: h.level,
        designated: h.designated,
        location: h.location,
        active: h.active,
    })
}

/// The demo county's register: its own hospitals, the township health centres, the city and
/// provincial hospitals its residents are referred to, one out of the province and one private
/// clinic that the insurance does not cover.
const DEMO_HOSPITALS: [(&str, HospitalLevel, bool, HospitalLocation); 13] = {
    use HospitalLevel::*;
    use HospitalLocation::*;
    [
        ("沂源县人民医院", Secondary, true, InProvince),
        ("沂源县中医医院", Secondary, true, InProvince),
        ("沂源县妇幼保健院", Secondary, true, InProvince),
        ("沂源县南麻街道社区卫生服务中心", Primary, true, InProvince),
        ("大张庄镇卫生院", Township, true, InProvince),
        ("中庄镇卫生院", Township, true, InProvince),
        ("鲁村镇中心卫生院", Township, true, InProvince),
        ("燕崖镇卫生院", Township, true, InProvince),
        ("淄博市中心医院", Tertiary, true, InProvince),
        ("山东省立医院", Tertiary, true, InProvince),
        ("山东大学齐鲁医院", Tertiary, true, InProvince),
        ("北京协和医院", Tertiary, true, OutOfProvince),
        ("沂源康宁诊所", PrivateClinic, false, InProvince),
    ]
};

/// Writes the demo county's register inside the demo load's transaction.
pub(crate) async fn insert_demo_hospitals(
    conn: &mut store::Conn,
    county: &RegionCode,
    now: &str,
) -> AppResult<()> {
    for (name, level, designated, location) in DEMO_HOSPITALS {
        let name = HospitalName::parse(name).expect("demo names are valid");
        store::hospitals::insert(
            conn,
            county,
            &HospitalFields {
                name: &name,
                level,
                designated,
                location,
                active: true,
            },
            now,
        )
        .await?;
    }
    Ok(())
}
