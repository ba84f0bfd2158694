//! The vocabulary of a claim (补助申请): its id, its life cycle, its documents and what can be
//! flagged about it. The payout and the residents' app build on the same states, so the life
//! cycle is written down here once, not as strings in each layer.

use std::fmt;
use std::str::FromStr;

/// A claim's database id, typed so that it cannot be mixed up with a member's or a year's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ClaimId(pub i64);

impl fmt::Display for ClaimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ClaimId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<i64>().map(ClaimId)
    }
}

impl<'de> serde::Deserialize<'de> for ClaimId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

crate::coded_enum! {
    /// Where a claim is in its life cycle.
    ///
    /// ```text
    /// received ──propose──▶ proposed ──approve──▶ approved   (payout: batch, notice, paid)
    ///    ▲  │                  │  └────refuse───▶ refused
    ///    │  └─request docs─▶ awaiting_documents ──docs arrive──▶ received
    ///    └────── return to coder ◀┘      decided ──reopen (recorded)──▶ received
    ///
    /// approved ──monthly batch──▶ in_batch ──bank: paid──▶ paid ──fraud──▶ recovered
    ///    ▲                          │  │
    ///    └──── bank: failed ────────┘  └──objection upheld──▶ proposed
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum ClaimStatus {
        /// With the coder (new, returned by the reviewer, or re-opened).
        Received => ("received", "待编码"),
        /// The coder asked for more documents; the deadline clock is stopped.
        AwaitingDocuments => ("awaiting_documents", "待补件"),
        /// The coder proposed a decision; with a reviewer.
        Proposed => ("proposed", "待审核"),
        /// Subsidy approved; waits for the month's payout batch.
        Approved => ("approved", "已核准"),
        /// Not subsidised (ineligible, or refused by the reviewer).
        Refused => ("refused", "不予补助"),
        /// A line of a monthly payout batch: on public notice, then sent to the bank. An upheld
        /// objection sends it back to review; a failed payment back to approved.
        InBatch => ("in_batch", "待发放"),
        /// The bank reported the money on the member's card.
        Paid => ("paid", "已发放"),
        /// Paid, then found obtained by fraud: the money is being recovered.
        Recovered => ("recovered", "已追回"),
    }
}

impl ClaimStatus {
    /// Decided claims change only through a recorded re-opening.
    pub fn is_decided(self) -> bool {
        matches!(self, ClaimStatus::Approved | ClaimStatus::Refused)
    }
    /// States in which the five-working-day clock runs.
    pub fn clock_runs(self) -> bool {
        matches!(self, ClaimStatus::Received | ClaimStatus::Proposed)
    }
}

crate::coded_enum! {
    /// The three documents every rule asks for (and anything else the coder asks for).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
    pub enum DocumentRole {
        DischargeRecord => ("discharge_record", "出院记录"),
        CostList => ("cost_list", "住院费用清单"),
        Settlement => ("settlement", "医保结算单"),
        Other => ("other", "其他材料"),
    }
}

impl DocumentRole {
    /// The three that an application must carry.
    pub const REQUIRED: [DocumentRole; 3] = [
        DocumentRole::DischargeRecord,
        DocumentRole::CostList,
        DocumentRole::Settlement,
    ];
}

crate::coded_enum! {
    /// A possible duplicate, flagged to the coder at intake (never dropped silently).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum DuplicateKind {
        OverlappingStay => ("overlapping_stay", "同一成员住院时间重叠"),
        SameSettlementNo => ("same_settlement_no", "结算单号相同"),
        SameDocument => ("same_document", "相同的材料文件已在本统筹区上传过"),
        /// The member had a paid subsidy recovered as obtained by fraud.
        PriorRecovery => ("prior_recovery", "该成员曾有补助因违规被追回"),
    }
}

crate::coded_enum! {
    /// How an application came in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum ClaimChannel {
        Staff => ("staff", "经办员代办"),
        Resident => ("resident", "本人手机申请"),
    }
}

crate::coded_enum! {
    /// What happened to a claim, in its history (who, when, why).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum ClaimEventKind {
        Received => ("received", "受理"),
        Coded => ("coded", "保存编码"),
        DocumentsRequested => ("documents_requested", "要求补件"),
        DocumentsAdded => ("documents_added", "补交材料"),
        Proposed => ("proposed", "提交审核"),
        Returned => ("returned", "退回编码员"),
        Approved => ("approved", "核准补助"),
        Refused => ("refused", "不予补助"),
        Reopened => ("reopened", "重新打开"),
        Batched => ("batched", "列入发放批次"),
        ObjectionUpheld => ("objection_upheld", "异议成立，撤出批次"),
        PaymentSent => ("payment_sent", "批次审批，送银行代发"),
        PaymentSucceeded => ("payment_succeeded", "银行发放成功"),
        PaymentFailed => ("payment_failed", "银行发放失败"),
        Recovered => ("recovered", "认定骗保，追回补助"),
    }
}

crate::coded_enum! {
    /// The coder's proposal: subsidise as computed, or refuse.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum Proposal {
        Subsidy => ("subsidy", "按病组定额补助"),
        Refusal => ("refusal", "不予补助"),
    }
}

/// Declares a typed database id: `Display`, `FromStr` and a `Deserialize` from the path's text,
/// so that a batch's id cannot be passed where a line's is wanted.
macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<i64>().map($name)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// A monthly payout batch (发放批次).
    BatchId
);
typed_id!(
    /// One line of a payout batch.
    LineId
);
typed_id!(
    /// A member's bank card record.
    CardId
);
typed_id!(
    /// An objection to a line of a public notice.
    ObjectionId
);
typed_id!(
    /// A recovery of a subsidy obtained by fraud.
    RecoveryId
);

crate::coded_enum! {
    /// Where a monthly payout batch (发放批次) is.
    ///
    /// ```text
    /// noticed (公示中) ──approve (after the notice, four eyes)──▶ approved ──every line resulted──▶ closed
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum BatchStatus {
        Noticed => ("noticed", "公示中"),
        Approved => ("approved", "已审批，待银行回盘"),
        Closed => ("closed", "已完成"),
    }
}

crate::coded_enum! {
    /// A line of a batch: one claim's subsidy to one card.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum LineState {
        Pending => ("pending", "待发放"),
        /// Taken out after an upheld objection.
        Removed => ("removed", "已撤出"),
        Paid => ("paid", "已发放"),
        Failed => ("failed", "发放失败"),
    }
}

crate::coded_enum! {
    /// An objection (异议) to a line of a public notice.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum ObjectionStatus {
        Open => ("open", "待处理"),
        Upheld => ("upheld", "异议成立"),
        Dismissed => ("dismissed", "异议不成立"),
    }
}

crate::coded_enum! {
    /// A member's bank card record: in force, waiting for a reviewer (a change after money was
    /// sent), replaced by a newer one, or refused by the reviewer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum CardStatus {
        Active => ("active", "有效"),
        Pending => ("pending", "待审核"),
        Replaced => ("replaced", "已更换"),
        Rejected => ("rejected", "未通过"),
    }
}

crate::coded_enum! {
    /// Why the card's holder is not the member.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum HolderReason {
        /// The member's own card.
        Own => ("own", "本人"),
        Minor => ("minor", "未成年，由家庭成员代领"),
        Deceased => ("deceased", "已故，由家庭成员代领"),
        Incapacitated => ("incapacitated", "无民事行为能力，由家庭成员代领"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::from_code(s.code()), Some(s));
        }
        for r in DocumentRole::ALL {
            assert_eq!(DocumentRole::from_code(r.code()), Some(r));
        }
        assert_eq!("42".parse::<ClaimId>().unwrap(), ClaimId(42));
        assert!("x".parse::<ClaimId>().is_err());
    }

    #[test]
    fn only_approved_and_refused_are_decided() {
        let decided: Vec<_> = ClaimStatus::ALL
            .into_iter()
            .filter(|s| s.is_decided())
            .collect();
        assert_eq!(decided, [ClaimStatus::Approved, ClaimStatus::Refused]);
    }
}
