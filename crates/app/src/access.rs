//! Who may do what, where. Staff see and change only their own region subtree; the types here
//! make that a compile-time matter: every roster query needs a `store::Scope`, which only an
//! `Actor` hands out, and every write needs a capability value that only roles allowed to write
//! can obtain. A handler that forgets a check does not compile.

use domain::{RegionCode, Role};
use store::Scope;

/// A signed-in staff member (or the command line, acting as the system).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// `None` only for system administrators and command-line jobs: the whole installation.
    pub region: Option<RegionCode>,
    /// Client address, recorded in the audit log.
    pub ip: String,
}

/// Proof that the holder may change the roster (register, import, correct) inside `scope`.
#[derive(Debug)]
pub struct RosterWriter {
    scope: Scope,
}

/// Proof that the holder may read the audit log inside `scope`.
#[derive(Debug)]
pub struct AuditReader {
    scope: Scope,
}

/// Proof that the holder may place poverty-monitored people in a virtual village: a county
/// decision in the programmes' rules (e.g. 沂源: "统一划入幸福社区").
#[derive(Debug)]
pub struct VirtualVillagePlacer {
    scope: Scope,
}

/// Proof that the holder may run a scheme year of a pool inside `scope`: open it, change its
/// rules, record money, run the design (town and county administrators).
#[derive(Debug)]
pub struct SchemeManager {
    scope: Scope,
    username: String,
}

/// Proof that the holder may enrol households inside `scope` (village clerks and the
/// administrators above them).
#[derive(Debug)]
pub struct Enroller {
    scope: Scope,
}

/// Proof that the holder may approve a submitted design, making it the published table. The
/// rules want two people on every table: approval by the one who submitted is refused in `app`.
#[derive(Debug)]
pub struct DesignApprover {
    scope: Scope,
}

/// Proof that the holder may read a fund's books (journal, trial balance) inside `scope`:
/// administrators and auditors; clerks see their village's enrolments, not the books.
#[derive(Debug)]
pub struct FundReader {
    scope: Scope,
}

/// Proof that the holder may unmask identifiers (always audited) inside `scope`.
#[derive(Debug)]
pub struct PiiRevealer {
    scope: Scope,
}

/// Proof that the holder may file a claim for a member inside `scope`, or add documents to it
/// (village clerks and the administrators above them; residents' own phones later call the same
/// use case with their own proof).
#[derive(Debug)]
pub struct ClaimIntake {
    scope: Scope,
}

/// Proof that the holder may code claims inside `scope` and propose decisions (平台编码员).
#[derive(Debug)]
pub struct ClaimCoder {
    scope: Scope,
}

/// Proof that the holder may decide claims inside `scope` (平台审核员); never a claim they coded,
/// which `app` checks.
#[derive(Debug)]
pub struct ClaimReviewer {
    scope: Scope,
}

/// Proof that the holder may re-open a decided claim inside `scope` (reviewers and county
/// administrators), always with a recorded reason.
#[derive(Debug)]
pub struct ClaimReopener {
    scope: Scope,
}

impl ClaimIntake {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
impl ClaimCoder {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
impl ClaimReviewer {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
impl ClaimReopener {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl PiiRevealer {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl FundReader {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl SchemeManager {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
    pub fn username(&self) -> &str {
        &self.username
    }
}
impl Enroller {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
impl DesignApprover {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl VirtualVillagePlacer {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl RosterWriter {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
impl AuditReader {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl Actor {
    /// The command line acting on the whole installation (demo load, CLI import).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            username: "system".into(),
            display_name: "系统".into(),
            role: Role::SystemAdmin,
            region: None,
            ip: "local".into(),
        }
    }

    /// What this actor may see. A staff account other than the system administrator without a
    /// region sees nothing (an empty-prefix scope would be everything, so use an impossible one).
    pub fn scope(&self) -> Scope {
        match (&self.region, self.role) {
            (Some(r), _) => Scope::region(r),
            (None, Role::SystemAdmin) => Scope::all(),
            (None, _) => Scope::region(&RegionCode::parse("000000").expect("valid code")),
        }
    }

    pub fn roster_writer(&self) -> Option<RosterWriter> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::VillageClerk
        )
        .then(|| RosterWriter {
            scope: self.scope(),
        })
    }

    pub fn virtual_village_placer(&self) -> Option<VirtualVillagePlacer> {
        matches!(self.role, Role::SystemAdmin | Role::CountyAdmin).then(|| VirtualVillagePlacer {
            scope: self.scope(),
        })
    }

    pub fn scheme_manager(&self) -> Option<SchemeManager> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin
        )
        .then(|| SchemeManager {
            scope: self.scope(),
            username: self.username.clone(),
        })
    }

    pub fn enroller(&self) -> Option<Enroller> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::VillageClerk
        )
        .then(|| Enroller {
            scope: self.scope(),
        })
    }

    /// Who may see a member's full ID number and phone: those who must identify or call a
    /// resident (admins, clerks). Coders, reviewers and auditors work from the masked forms.
    pub fn pii_revealer(&self) -> Option<PiiRevealer> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::VillageClerk
        )
        .then(|| PiiRevealer {
            scope: self.scope(),
        })
    }

    pub fn claim_intake(&self) -> Option<ClaimIntake> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::VillageClerk
        )
        .then(|| ClaimIntake {
            scope: self.scope(),
        })
    }

    pub fn claim_coder(&self) -> Option<ClaimCoder> {
        (self.role == Role::Coder).then(|| ClaimCoder {
            scope: self.scope(),
        })
    }

    pub fn claim_reviewer(&self) -> Option<ClaimReviewer> {
        (self.role == Role::Reviewer).then(|| ClaimReviewer {
            scope: self.scope(),
        })
    }

    pub fn claim_reopener(&self) -> Option<ClaimReopener> {
        matches!(self.role, Role::Reviewer | Role::CountyAdmin).then(|| ClaimReopener {
            scope: self.scope(),
        })
    }

    pub fn fund_reader(&self) -> Option<FundReader> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::Auditor
        )
        .then(|| FundReader {
            scope: self.scope(),
        })
    }

    pub fn design_approver(&self) -> Option<DesignApprover> {
        matches!(self.role, Role::SystemAdmin | Role::CountyAdmin).then(|| DesignApprover {
            scope: self.scope(),
        })
    }

    pub fn audit_reader(&self) -> Option<AuditReader> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::Auditor
        )
        .then(|| AuditReader {
            scope: self.scope(),
        })
    }

    /// The region code audit entries about this actor's own actions are filed under.
    pub fn audit_region(&self) -> String {
        self.region
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }
}

/// Proof that the holder may keep the hospital register (医院名录) of the counties inside
/// `scope`: county and system administrators.
#[derive(Debug)]
pub struct HospitalKeeper {
    scope: Scope,
}

impl HospitalKeeper {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl Actor {
    pub fn hospital_keeper(&self) -> Option<HospitalKeeper> {
        matches!(self.role, Role::SystemAdmin | Role::CountyAdmin).then(|| HospitalKeeper {
            scope: self.scope(),
        })
    }
}

/// Proof that the holder may run a pool's monthly payout inside `scope`: gather the batch, approve
/// another officer's batch, download the bank file, record the bank's results and recovered
/// money (town, county and system administrators — the finance officers of the rules). Holding
/// it is not managing a pool: [`PayoutOfficer::manages`] asks whether the pool is inside the
/// holder's area (a town admin sees the county pool's batches but does not run them).
#[derive(Debug)]
pub struct PayoutOfficer {
    scope: Scope,
    username: String,
}

impl PayoutOfficer {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
    pub fn username(&self) -> &str {
        &self.username
    }
    /// The pool lies inside the officer's area.
    pub fn manages(&self, pool_code: &str) -> bool {
        self.scope.contains(pool_code)
    }
}

/// Proof that the holder may record a member's bank card inside `scope` (clerks and admins, who
/// see the card and the member in person).
#[derive(Debug)]
pub struct CardKeeper {
    scope: Scope,
}

impl CardKeeper {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl Actor {
    pub fn payout_officer(&self) -> Option<PayoutOfficer> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin
        )
        .then(|| PayoutOfficer {
            scope: self.scope(),
            username: self.username.clone(),
        })
    }

    pub fn card_keeper(&self) -> Option<CardKeeper> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin | Role::VillageClerk
        )
        .then(|| CardKeeper {
            scope: self.scope(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_pays() {
        let town = actor(Role::TownAdmin, Some("370323104"));
        let officer = town.payout_officer().unwrap();
        assert!(officer.manages("370323104"));
        assert!(
            !officer.manages("370323"),
            "a town admin does not run the county pool"
        );
        for role in [
            Role::VillageClerk,
            Role::Coder,
            Role::Reviewer,
            Role::Auditor,
        ] {
            assert!(
                actor(role, Some("370323")).payout_officer().is_none(),
                "{role:?}"
            );
        }
        assert!(actor(Role::VillageClerk, Some("370323104201"))
            .card_keeper()
            .is_some());
        assert!(actor(Role::Coder, Some("370323")).card_keeper().is_none());
    }

    fn actor(role: Role, region: Option<&str>) -> Actor {
        Actor {
            user_id: Some(1),
            username: "u".into(),
            display_name: "u".into(),
            role,
            region: region.map(|r| RegionCode::parse(r).unwrap()),
            ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn auditors_coders_and_reviewers_cannot_write_the_roster() {
        for role in [Role::Auditor, Role::Coder, Role::Reviewer] {
            assert!(
                actor(role, Some("320982")).roster_writer().is_none(),
                "{role:?}"
            );
        }
        for role in [
            Role::SystemAdmin,
            Role::CountyAdmin,
            Role::TownAdmin,
            Role::VillageClerk,
        ] {
            assert!(
                actor(role, Some("320982")).roster_writer().is_some(),
                "{role:?}"
            );
        }
    }

    #[test]
    fn who_runs_the_money() {
        let clerk = actor(Role::VillageClerk, Some("370323104201"));
        assert!(clerk.enroller().is_some());
        assert!(clerk.scheme_manager().is_none());
        assert!(clerk.design_approver().is_none());
        let town = actor(Role::TownAdmin, Some("370323104"));
        assert!(town.scheme_manager().is_some());
        assert!(town.design_approver().is_none());
        assert!(actor(Role::CountyAdmin, Some("370323"))
            .design_approver()
            .is_some());
        for role in [Role::Auditor, Role::Coder, Role::Reviewer] {
            let a = actor(role, Some("370323"));
            assert!(
                a.enroller().is_none() && a.scheme_manager().is_none(),
                "{role:?}"
            );
        }
    }

    #[test]
    fn only_admins_and_auditors_read_the_audit_log() {
        assert!(actor(Role::VillageClerk, Some("320982106201"))
            .audit_reader()
            .is_none());
        assert!(actor(Role::Coder, Some("320982")).audit_reader().is_none());
        assert!(actor(Role::Auditor, Some("320982"))
            .audit_reader()
            .is_some());
        assert!(actor(Role::TownAdmin, Some("320982106"))
            .audit_reader()
            .is_some());
    }

    #[test]
    fn scope_follows_the_region_and_regionless_staff_see_nothing() {
        let town = actor(Role::TownAdmin, Some("320982106"));
        assert!(town.scope().contains("320982106201"));
        assert!(!town.scope().contains("320982107201"));
        assert!(actor(Role::SystemAdmin, None)
            .scope()
            .contains("320982107201"));
        assert!(!actor(Role::TownAdmin, None)
            .scope()
            .contains("320982107201"));
    }
}
