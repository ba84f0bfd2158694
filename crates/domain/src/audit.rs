//! What the audit log records: one code per kind of action. The codes are stored in
//! `audit_log.action`, so they never change; the labels are what the audit page shows.

crate::coded_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AuditAction {
        Login => ("login", "登录"),
        LoginFailed => ("login.failed", "登录失败"),
        Logout => ("logout", "退出"),
        LogoutEverywhere => ("logout.everywhere", "退出所有登录"),
        /// An administrator ending another user's session.
        SessionEnd => ("session.end", "结束登录会话"),
        /// Showing a member's full resident ID number.
        MemberReveal => ("member.reveal", "查看完整证件号"),
        MemberPlaceVirtual => ("member.place_virtual", "划入虚拟村"),
        RosterImport => ("roster.import", "导入花名册"),
        UserCreate => ("user.create", "创建账号"),
        DemoLoad => ("demo.load", "载入演示数据"),
        YearOpen => ("year.open", "开启互助年度"),
        YearRules => ("year.rules", "修改年度规则"),
        YearClose => ("year.close", "年度结转关闭"),
        EnrolHousehold => ("enrol.household", "登记参保"),
        EnrolBulk => ("enrol.bulk", "批量参保"),
        EnrolReverse => ("enrol.reverse", "冲正参保登记"),
        FundReceipt => ("fund.receipt", "登记收款"),
        /// A large receipt held for a second person's review.
        FundReceiptHeld => ("fund.receipt_held", "大额到账待复核"),
        FundReceiptConfirm => ("fund.receipt_confirm", "复核入账"),
        FundReceiptReject => ("fund.receipt_reject", "退回大额到账"),
        FundReward => ("fund.reward", "计提政府奖补"),
        FundServiceFee => ("fund.service_fee", "支付服务费"),
        DesignRun => ("design.run", "一键设计"),
        DesignSubmit => ("design.submit", "提交设计方案"),
        DesignApprove => ("design.approve", "批准发布补助标准"),
        DesignReject => ("design.reject", "退回设计方案"),
        HospitalAdded => ("hospital.add", "新增医院"),
        HospitalChanged => ("hospital.change", "修改医院信息"),
        ClaimReceive => ("claim.receive", "受理补助申请"),
        ClaimCode => ("claim.code", "保存编码"),
        ClaimRequestDocuments => ("claim.request_documents", "要求补交材料"),
        ClaimAddDocuments => ("claim.add_documents", "补交申请材料"),
        ClaimPropose => ("claim.propose", "提交审核"),
        ClaimReturn => ("claim.return", "退回编码"),
        ClaimApprove => ("claim.approve", "核准补助"),
        ClaimRefuse => ("claim.refuse", "不予补助"),
        ClaimReopen => ("claim.reopen", "重新打开申请"),
        /// Opening a document of a claim at full size (health data).
        ClaimDocumentView => ("claim.document_view", "查看申请材料原件"),
        ClaimExport => ("claim.export", "导出补助申请"),
        BankCardRecord => ("bank_card.record", "登记银行卡"),
        BankCardConfirm => ("bank_card.confirm", "审核银行卡变更"),
        BankCardReveal => ("bank_card.reveal", "查看完整银行卡号"),
        PayoutBatchCreate => ("payout.batch_create", "生成发放批次并公示"),
        PayoutBatchApprove => ("payout.batch_approve", "审批发放批次"),
        PayoutFileDownload => ("payout.file_download", "下载银行代发文件"),
        PayoutResults => ("payout.results", "登记银行发放结果"),
        ObjectionDecide => ("payout.objection_decide", "处理公示异议"),
        RecoveryCreate => ("recovery.create", "认定违规并追回"),
        RecoveryReceipt => ("recovery.receipt", "登记追回款到账"),
        /// A staff member puts their own phone on the account (for the 风险预警 SMS).
        AccountPhone => ("account.phone", "设置本人手机号"),
    }
}

#[cfg(test)]
mod tests {
    use super::AuditAction;
    use std::collections::HashSet;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut seen = HashSet::new();
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::from_code(a.code()), Some(a), "{a:?}");
            assert!(seen.insert(a.code()), "code {} given twice", a.code());
        }
        assert_eq!(seen.len(), AuditAction::ALL.len());
        assert_eq!(AuditAction::from_code("no.such.action"), None);
    }

    #[test]
    fn every_label_is_chinese() {
        let mut seen = HashSet::new();
        for a in AuditAction::ALL {
            let label = a.label_zh();
            assert!(!label.trim().is_empty(), "{a:?} has no label");
            assert!(
                !label.chars().any(|c| c.is_ascii_alphabetic()),
                "{a:?} label {label:?} has ASCII letters"
            );
            assert!(seen.insert(label), "label {label} given twice");
        }
    }

    /// The codes already in stored rows: changing one would orphan its history.
    #[test]
    fn stored_codes_are_unchanged() {
        let codes: Vec<&str> = AuditAction::ALL.iter().map(|a| a.code()).collect();
        // New actions are appended; the ones before them never move or change.
        let stored = [
            "login",
            "login.failed",
            "logout",
            "logout.everywhere",
            "session.end",
            "member.reveal",
            "member.place_virtual",
            "roster.import",
            "user.create",
            "demo.load",
            "year.open",
            "year.rules",
            "year.close",
            "enrol.household",
            "enrol.bulk",
            "enrol.reverse",
            "fund.receipt",
            "fund.receipt_held",
            "fund.receipt_confirm",
            "fund.receipt_reject",
            "fund.reward",
            "fund.service_fee",
            "design.run",
            "design.submit",
            "design.approve",
            "design.reject",
            "hospital.add",
            "hospital.change",
        ];
        assert_eq!(&codes[..stored.len()], stored);
    }
}
