//! Staff roles. What a role may do is decided in `app`; this only names them.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// 系统管理员: the whole installation.
    SystemAdmin,
    /// 县级管理员
    CountyAdmin,
    /// 乡镇管理员
    TownAdmin,
    /// 村级经办员
    VillageClerk,
    /// 平台编码员
    Coder,
    /// 平台审核员
    Reviewer,
    /// 审计员: reads everything in scope, changes nothing.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Self::SystemAdmin,
        Self::CountyAdmin,
        Self::TownAdmin,
        Self::VillageClerk,
        Self::Coder,
        Self::Reviewer,
        Self::Auditor,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Self::SystemAdmin => "system_admin",
            Self::CountyAdmin => "county_admin",
            Self::TownAdmin => "town_admin",
            Self::VillageClerk => "village_clerk",
            Self::Coder => "coder",
            Self::Reviewer => "reviewer",
            Self::Auditor => "auditor",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::SystemAdmin => "系统管理员",
            Self::CountyAdmin => "县级管理员",
            Self::TownAdmin => "乡镇管理员",
            Self::VillageClerk => "村级经办员",
            Self::Coder => "平台编码员",
            Self::Reviewer => "平台审核员",
            Self::Auditor => "审计员",
        }
    }
    pub fn from_code(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.code() == s)
    }
}
