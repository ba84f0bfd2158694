//! Staff roles. What a role may do is decided in `app`; this only names them.

crate::coded_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum Role {
        /// 系统管理员: the whole installation.
        SystemAdmin => ("system_admin", "系统管理员"),
        /// 县级管理员
        CountyAdmin => ("county_admin", "县级管理员"),
        /// 乡镇管理员
        TownAdmin => ("town_admin", "乡镇管理员"),
        /// 村级经办员
        VillageClerk => ("village_clerk", "村级经办员"),
        /// 平台编码员
        Coder => ("coder", "平台编码员"),
        /// 平台审核员
        Reviewer => ("reviewer", "平台审核员"),
        /// 审计员: reads everything in scope, changes nothing.
        Auditor => ("auditor", "审计员"),
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    /// The codes and labels as they were written by hand before the macro: stored in `users.role`
    /// and shown on every staff page, so they must not move.
    #[test]
    fn codes_labels_and_order_are_unchanged() {
        let expected = [
            (Role::SystemAdmin, "system_admin", "系统管理员"),
            (Role::CountyAdmin, "county_admin", "县级管理员"),
            (Role::TownAdmin, "town_admin", "乡镇管理员"),
            (Role::VillageClerk, "village_clerk", "村级经办员"),
            (Role::Coder, "coder", "平台编码员"),
            (Role::Reviewer, "reviewer", "平台审核员"),
            (Role::Auditor, "auditor", "审计员"),
        ];
        assert_eq!(Role::ALL, expected.map(|(r, _, _)| r));
        for (role, code, label) in expected {
            assert_eq!(role.code(), code);
            assert_eq!(role.label_zh(), label);
            assert_eq!(Role::from_code(code), Some(role));
        }
        assert_eq!(Role::from_code("admin"), None);
        assert_eq!(Role::from_code("System_Admin"), None);
    }
}
