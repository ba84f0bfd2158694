//! The application form (申请补助) for a member, filing it with the three documents, and adding
//! documents to a claim (补交材料). Refusals come back on the form with what was typed kept; files
//! cannot be kept by a browser, so the page says to choose them again.

use super::claim_id;
use crate::error::{WebError, WebResult};
use crate::forms::parse_money;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::claims::{StayInput, Upload};
use app::roster::MemberView;
use app::AppError;
use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{DocumentRole, Fen, InsuranceType};
use std::collections::HashMap;

/// The form's fields as typed.
#[derive(Default, Clone)]
pub struct ClaimForm {
    pub hospital: String,
    pub admission: String,
    pub discharge: String,
    pub insurance: String,
    pub total: String,
    pub basic: String,
    pub serious: String,
    pub assistance: String,
    pub settlement_no: String,
}

impl ClaimForm {
    fn from_fields(f: &HashMap<String, String>) -> ClaimForm {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        ClaimForm {
            hospital: get("hospital"),
            admission: get("admission"),
            discharge: get("discharge"),
            insurance: get("insurance"),
            total: get("total"),
            basic: get("basic"),
            serious: get("serious"),
            assistance: get("assistance"),
            settlement_no: get("settlement_no"),
        }
    }

    /// The stay, or every problem with the fields at once.
    fn parse(&self) -> Result<StayInput, Vec<String>> {
        let mut problems = Vec::new();
        let mut take = |r: WebResult<Fen>| match r {
            Ok(v) => v,
            Err(WebError::App(AppError::Invalid(m))) => {
                problems.push(m);
                Fen::ZERO
            }
            Err(_) => Fen::ZERO,
        };
        let money = |field: &str, s: &str| {
            if s.trim().is_empty() {
                Ok(Fen::ZERO)
            } else {
                parse_money(field, s)
            }
        };
        let total = take(parse_money("住院总费用", &self.total));
        let basic = take(money("基本医保统筹支付", &self.basic));
        let serious = take(money("大病保险支付", &self.serious));
        let assistance = take(money("医疗救助支付", &self.assistance));
        let date = |field: &str, s: &str, problems: &mut Vec<String>| {
            match chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(format!("“{field}”应为日期，格式如 2025-01-31"));
                    None
                }
            }
        };
        let admission = date("入院日期", &self.admission, &mut problems);
        let discharge = date("出院日期", &self.discharge, &mut problems);
        let hospital_id = self.hospital.trim().parse::<i64>().ok();
        if hospital_id.is_none() {
            problems.push("请从医院名录中选择住院医院".into());
        }
        let insurance = match self.insurance.trim() {
            "" => None,
            s => {
                let t = InsuranceType::from_code(s);
                if t.is_none() {
                    problems.push("请选择医保类型".into());
                }
                t
            }
        };
        let settlement_no = self.settlement_no.trim().to_string();
        if settlement_no.chars().count() > 64
            || settlement_no
                .chars()
                .any(|c| c.is_control() || domain::text::is_hidden(c))
        {
            problems.push("医保结算单号最多 64 个字符，且不能含有不可见字符".into());
        }
        match (admission, discharge, hospital_id, problems.is_empty()) {
            (Some(admission), Some(discharge), Some(hospital_id), true) => Ok(StayInput {
                hospital_id,
                admission,
                discharge,
                insurance,
                total,
                basic,
                serious,
                assistance,
                settlement_no,
            }),
            _ => Err(problems),
        }
    }
}

pub struct HospitalChoice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

pub struct InsuranceChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "claim_new.html")]
struct NewClaimPage {
    nav: Option<Nav>,
    csrf: String,
    view: MemberView,
    form: ClaimForm,
    hospitals: Vec<HospitalChoice>,
    insurances: Vec<InsuranceChoice>,
    error: Option<String>,
    /// Out of pocket as the submitted amounts give it.
    out_of_pocket: Option<String>,
}

async fn new_page(
    state: &AppState,
    staff: &Staff,
    view: MemberView,
    form: ClaimForm,
    error: Option<String>,
) -> WebResult<NewClaimPage> {
    let county = domain::RegionCode::parse(&view.member.village_code[..6])
        .map_err(|e| AppError::Internal(anyhow::anyhow!("village code: {e}")))?;
    let hospitals = state
        .app
        .hospitals(staff.actor(), &county)
        .await?
        .into_iter()
        .filter(|h| h.active)
        .map(|h| HospitalChoice {
            id: h.id.get(),
            selected: form.hospital.trim() == h.id.get().to_string(),
            label: format!("{}（{}）", h.name, h.level.label_zh()),
        })
        .collect();
    let insurances = std::iter::once(("", "按参保登记"))
        .chain(InsuranceType::ALL.map(|t| (t.code(), t.label_zh())))
        .map(|(code, label)| InsuranceChoice {
            code,
            label,
            selected: form.insurance.trim() == code,
        })
        .collect();
    let out_of_pocket = form
        .parse()
        .ok()
        .and_then(|s| s.out_of_pocket())
        .map(|f| f.to_string());
    Ok(NewClaimPage {
        nav: Nav::of(staff),
        csrf: staff.csrf().to_string(),
        view,
        form,
        hospitals,
        insurances,
        error,
        out_of_pocket,
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(member): Path<String>,
) -> WebResult<Response> {
    let view = state
        .app
        .member_view(staff.actor(), parse_id(&member)?)
        .await?;
    staff.actor().claim_intake().ok_or(AppError::Forbidden)?;
    let page = new_page(&state, &staff, view, ClaimForm::default(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// A multipart body read into its text fields and its files (empty file inputs skipped).
pub(crate) struct Parts {
    pub fields: HashMap<String, String>,
    pub uploads: Vec<Upload>,
}

pub(crate) async fn read_parts(state: &AppState, request: Request) -> WebResult<Parts> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::Invalid("请通过页面上的表单提交申请材料".into()))?;
    let broken = |_| WebError::BadRequest("上传中断或文件过大（合计不超过 60 MB），请重试".into());
    let mut fields = HashMap::new();
    let mut uploads = Vec::new();
    while let Some(field) = form.next_field().await.map_err(broken)? {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        if let Some(role) = DocumentRole::from_code(&name) {
            let bytes = field.bytes().await.map_err(broken)?;
            // The body limit bounds what is held here; the app refuses too many files.
            if !bytes.is_empty() {
                uploads.push(Upload {
                    role,
                    bytes: bytes.to_vec(),
                });
            }
        } else if fields.len() < 32 {
            let text = field.text().await.map_err(broken)?;
            fields.insert(name, text.chars().take(200).collect());
        }
    }
    Ok(Parts { fields, uploads })
}

pub async fn file(
    State(state): State<AppState>,
    staff: Staff,
    Path(member): Path<String>,
    request: Request,
) -> WebResult<Response> {
    let member_id = parse_id(&member)?;
    // The member first, the body after: outside the area the answer is 404 whatever was sent.
    let view = state.app.member_view(staff.actor(), member_id).await?;
    let intake = staff.actor().claim_intake().ok_or(AppError::Forbidden)?;
    let parts = read_parts(&state, request).await?;
    staff.check_csrf(parts.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    let form = ClaimForm::from_fields(&parts.fields);
    let result = match form.parse() {
        Ok(stay) => state
            .app
            .file_claim(&intake, staff.actor(), member_id, stay, parts.uploads)
            .await
            .map_err(WebError::from),
        Err(problems) => Err(AppError::Invalid(problems.join("；")).into()),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/claims/{id}?notice=filed")).into_response()),
        Err(WebError::App(AppError::Invalid(message))) => {
            let error =
                format!("{message}。已填写的内容已保留；出于安全原因，材料文件需要重新选择。");
            let page = new_page(&state, &staff, view, form, Some(error)).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e),
    }
}

/// 补交材料: files added to a claim that is not decided yet.
pub async fn add_documents(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    request: Request,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let current = state.app.claim_revision(staff.actor(), id).await?;
    let intake = staff.actor().claim_intake().ok_or(AppError::Forbidden)?;
    let parts = read_parts(&state, request).await?;
    staff.check_csrf(parts.fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    super::actions::check_revision(current, parts.fields.get("revision"))?;
    match state
        .app
        .add_claim_documents(&intake, staff.actor(), id, parts.uploads)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/claims/{id}?notice=documents")).into_response()),
        Err(AppError::Invalid(m)) => super::page::page_with_error(&state, &staff, id, m).await,
        Err(e) => Err(e.into()),
    }
}
