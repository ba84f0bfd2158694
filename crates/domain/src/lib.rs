//! Shouwang's programme vocabulary as types.
//!
//! Everything that arrives from outside (forms, spreadsheets, CLI flags) is parsed into one of
//! these types at the edge, so the rest of the system can never hold an ID number with a bad
//! check digit or a sum of money in floating point.

pub mod audit;
pub mod claim;
pub mod coded;
pub mod hospital;
pub mod id_number;
pub mod money;
pub mod person;
pub mod phone;
pub mod region;
pub mod role;
pub mod text;

pub use audit::AuditAction;
pub use claim::{
    BatchId, BatchStatus, CardId, CardStatus, ClaimChannel, ClaimEventKind, ClaimId, ClaimStatus,
    DocumentRole, DuplicateKind, HolderReason, LineId, LineState, ObjectionId, ObjectionStatus,
    Proposal, RecoveryId,
};
pub use hospital::{Hospital, HospitalId, HospitalLevel, HospitalLocation, HospitalName};
pub use id_number::{IdNumberError, ResidentIdNumber, Sex};
pub use money::Fen;
pub use person::{InsuranceType, PersonName, Relation, SpecialStatus};
pub use phone::{Phone, PhoneError};
pub use region::{RegionCode, RegionLevel};
pub use role::Role;
pub use text::{Line, TextError};
