//! Demo claims: the year covering the last weeks gets a published subsidy table and about `n`
//! claims in every state, filed, coded and decided through the real use cases (the same checks,
//! documents, history and SMS as a clerk's), from simulated stays with generated document
//! images, so that a newcomer sees a live queue.

use crate::access::Actor;
use crate::claims::{CodingInput, ReviewDecision, StayInput, Upload};
use crate::demo::{COUNTY, TOWNS};
use crate::{App, AppResult};
use chrono::Days;
use domain::{ClaimId, DocumentRole, Fen, Proposal, RegionCode, Role};

fn staff(username: &str, role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: username.into(),
        display_name: role.label_zh().into(),
        role,
        region: RegionCode::parse(region).ok(),
        ip: "demo".into(),
    }
}

/// Three page-like grey images (one per document), drawn once; each claim gets them with its
/// own PNG comment chunk, so that the bytes differ (the duplicate check looks at the upload's
/// SHA-256) while nothing is drawn or compressed again. The intake strips the comment.
struct DemoPages([Vec<u8>; 3]);

impl DemoPages {
    fn new() -> DemoPages {
        DemoPages([0u64, 1, 2].map(page_image))
    }

    fn for_claim(&self, town: &str, i: usize) -> Vec<Upload> {
        DocumentRole::REQUIRED
            .into_iter()
            .zip(&self.0)
            .map(|(role, png)| Upload {
                role,
                bytes: with_comment(png, &format!("demo {town} {i} {}", role.code())),
            })
            .collect()
    }
}

fn page_image(seed: u64) -> Vec<u8> {
    let (w, h) = (300u32, 400u32);
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        let line = u64::from(y / 16);
        let len = 50 + ((seed.wrapping_mul(31).wrapping_add(line * 17)) % 200) as u32;
        let ink = y % 16 < 7 && x > 25 && x < 25 + len && y > 36;
        image::Luma([if ink { 60 } else { 235 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG encoding of an in-memory image");
    out.into_inner()
}

/// The PNG with a `tEXt` chunk inserted before its last chunk (IEND).
fn with_comment(png: &[u8], text: &str) -> Vec<u8> {
    let mut data = b"Comment\0".to_vec();
    data.extend_from_slice(text.as_bytes());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut typed = b"tEXt".to_vec();
    typed.extend_from_slice(&data);
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32(&typed).to_be_bytes());
    let iend = png.len().saturating_sub(12);
    let mut out = png[..iend].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[iend..]);
    out
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Simulated stays whose out-of-pocket reaches the highest threshold, without procedures (the
/// demo's coder codes diagnoses only).
pub(crate) async fn demo_stays() -> AppResult<Vec<sim::Stay>> {
    let started = std::time::Instant::now();
    let stays = tokio::task::spawn_blocking(|| {
        let p = sim::simulate_programme(
            &sim::ProgrammeSpec::new(5, 6_000, 1),
            &sim::StayModel::new(),
        );
        p.stays
    })
    .await
    .map_err(|e| crate::AppError::Internal(e.into()))?;
    let stays: Vec<_> = stays
        .into_iter()
        .filter(|s| s.out_of_pocket >= Fen::from_yuan(2_600) && s.procedure.is_none())
        .collect();
    tracing::info!(
        "demo claims: {} stays simulated in {:?}",
        stays.len(),
        started.elapsed()
    );
    Ok(stays)
}

impl App {
    /// Loads the demo claims once (nothing when any claim exists); returns how many were filed.
    pub async fn load_demo_claims(&self, n: usize) -> AppResult<usize> {
        let mut conn = self.db.acquire().await?;
        if store::claims::any(&mut conn).await? {
            return Ok(0);
        }
        drop(conn);
        let stays = demo_stays().await?;
        let mut filed = 0;
        for (t, (town, _)) in TOWNS.iter().enumerate() {
            let part =
                &stays[(t * stays.len() / TOWNS.len())..((t + 1) * stays.len() / TOWNS.len())];
            filed += self
                .demo_claims_for_town(town, part, n / TOWNS.len(), 0)
                .await?;
        }
        Ok(filed)
    }

    /// Files about `n` claims of the town's members after the first `skip` (so that a second
    /// round of demo claims, e.g. last month's, is about other people).
    pub(crate) async fn demo_claims_for_town(
        &self,
        town: &str,
        stays: &[sim::Stay],
        n: usize,
        skip: usize,
    ) -> AppResult<usize> {
        let today = self.today();
        let mut conn = self.db.acquire().await?;
        let Some((year_id, _)) =
            store::claims::year_covering(&mut conn, &format!("{town}201"), today - Days::new(40))
                .await?
        else {
            return Ok(0);
        };
        let members: Vec<_> =
            store::claims::enrolled_members(&mut conn, year_id, (skip + n * 3 / 2) as i64)
                .await?
                .into_iter()
                .skip(skip)
                .collect();
        drop(conn);
        let started = std::time::Instant::now();
        self.publish_demo_table(year_id).await?;
        tracing::info!(
            "demo claims: table of {town} published in {:?}",
            started.elapsed()
        );
        let system = Actor::system();
        let hospitals: Vec<_> = self
            .hospitals(&system, &RegionCode::parse(COUNTY.0).expect("demo code"))
            .await?
            .into_iter()
            .filter(|h| h.active && h.designated)
            .collect();
        if hospitals.is_empty() || stays.is_empty() {
            return Ok(0);
        }
        let intake = system.claim_intake().expect("the system files claims");
        let pages = tokio::task::spawn_blocking(DemoPages::new)
            .await
            .map_err(|e| crate::AppError::Internal(e.into()))?;
        let mut filed = 0;
        for (i, member_id) in members.into_iter().enumerate() {
            // Members of a village below the participation threshold are refused at intake.
            if filed == n {
                break;
            }
            let s = &stays[i % stays.len()];
            let los = (s.discharge - s.admission).num_days().clamp(1, 20) as u64;
            let discharge = today - Days::new(3 + (i as u64 * 7) % 30);
            let stay = StayInput {
                hospital_id: hospitals[i % hospitals.len()].id.get(),
                admission: discharge - Days::new(los),
                discharge,
                insurance: None,
                total: s.total,
                basic: s.reimbursement,
                serious: Fen::ZERO,
                assistance: Fen::ZERO,
                settlement_no: format!("JS{}{:05}", town, i),
            };
            let docs = pages.for_claim(town, i);
            let Ok(id) = self
                .file_claim(&intake, &system, member_id, stay, docs)
                .await
            else {
                continue;
            };
            filed += 1;
            if let Err(e) = self.advance_demo_claim(id, s, i).await {
                tracing::debug!("demo claim {id} stays where it is: {e}");
            }
        }
        tracing::info!(
            "demo claims: {filed} claims of {town} in {:?}",
            started.elapsed()
        );
        Ok(filed)
    }

    /// Moves a demo claim on to a state chosen by its number: one in five waits for coding, then
    /// coded, awaiting documents, proposed, approved (most) and refused.
    async fn advance_demo_claim(&self, id: ClaimId, s: &sim::Stay, i: usize) -> AppResult<()> {
        let coder = staff("coder", Role::Coder, COUNTY.0);
        let reviewer = staff("reviewer", Role::Reviewer, COUNTY.0);
        let (c, r) = (
            coder.claim_coder().expect("coder"),
            reviewer.claim_reviewer().expect("reviewer"),
        );
        let stage = i % 10;
        if stage < 2 {
            return Ok(());
        }
        let rev = |app: &App| {
            let coder = coder.clone();
            let app = app.clone();
            async move { app.claim(&coder, id).await.map(|v| v.claim.revision) }
        };
        if stage == 3 {
            return self
                .request_claim_documents(
                    &c,
                    &coder,
                    id,
                    rev(self).await?,
                    "请补交加盖医院公章的住院费用清单",
                )
                .await;
        }
        let secondary: Vec<&str> = s.secondary_dx.iter().map(|(c, _)| c.as_str()).collect();
        let coding = CodingInput::parse(&s.principal_dx.0, &secondary.join(" "), "", "1", &[])?;
        let eval = self
            .code_claim(&c, &coder, id, rev(self).await?, &coding)
            .await?;
        if stage == 2 {
            return Ok(());
        }
        let (proposal, note) = if eval.is_subsidy() && stage != 9 {
            (Proposal::Subsidy, "")
        } else {
            (Proposal::Refusal, "第三方责任导致的住院，由责任方承担")
        };
        self.propose_claim(&c, &coder, id, rev(self).await?, proposal, note)
            .await?;
        if stage < 6 {
            return Ok(());
        }
        self.review_claim(&r, &reviewer, id, rev(self).await?, ReviewDecision::Approve)
            .await
            .map(|_| ())
    }

    /// Runs and publishes the year's design (approved by a county administrator other than the
    /// system that ran it) unless a table is published.
    async fn publish_demo_table(&self, year_id: i64) -> AppResult<()> {
        let system = Actor::system();
        if self.current_table(&system, year_id).await?.is_some() {
            return Ok(());
        }
        let mgr = system.scheme_manager().expect("system manages");
        let design = self
            .run_design(
                &mgr,
                &system,
                year_id,
                crate::design::DesignParams::default(),
            )
            .await?;
        self.submit_design(&mgr, &system, year_id, design).await?;
        let county = staff("county", Role::CountyAdmin, COUNTY.0);
        let approver = county.design_approver().expect("county approves");
        self.decide_design(&approver, &county, year_id, design, true, "演示数据")
            .await?;
        Ok(())
    }
}
