//! In-memory form of a loaded pack. Codes are interned to dense ids once at load so that
//! grouping a stay is a handful of hash lookups followed by integer work only.

use crate::pack::{bad, field, FxMap, Manifest, PackError, RawTables};

pub(crate) const DX_DICT: u8 = 1;
pub(crate) const DX_INVALID_PDX: u8 = 2;
pub(crate) const GREY: u8 = 4;
pub(crate) const PROC_DICT: u8 = 1;
pub(crate) const PROC_OR: u8 = 8;
pub(crate) const PROC_EXCLUDED: u8 = 16;

pub(crate) struct CodeInfo {
    /// Code and name as spans of `CodeTable::text` (one allocation for all of them).
    code: (u32, u16),
    name: (u32, u16),
    pub sets: (u32, u32),
    pub flags: u8,
    /// Bit i set: code is in the principal-diagnosis table of MDC i.
    pub mdc_mask: u32,
    /// Bit i set: code is in MDCZ body region i.
    pub region_mask: u16,
    pub mcc: u16,
    pub cc: u16,
    pub cce: u16,
}

/// Hasher of packed code keys: the slot hash, already well mixed in every bit.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    #[inline]
    fn write_u128(&mut self, k: u128) {
        self.0 ^= slot_hash(k) as u64;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = std::collections::HashMap<u128, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// Codes (or other strings) to ids: by packed key, or by the string itself for the rare
/// code without a key; no allocation per code with a key.
#[derive(Default)]
pub(crate) struct CodeMap {
    keyed: KeyMap<u32>,
    other: FxMap<Box<str>, u32>,
}

impl CodeMap {
    #[inline]
    pub fn get(&self, code: &str) -> Option<u32> {
        match code_key(code) {
            Some(k) => self.keyed.get(&k).copied(),
            None => self.other.get(code).copied(),
        }
    }
    fn insert(&mut self, code: &str, id: u32) {
        match code_key(code) {
            Some(k) => self.keyed.insert(k, id),
            None => self.other.insert(code.into(), id),
        };
    }
    fn contains_key(&self, code: &str) -> bool {
        self.get(code).is_some()
    }
}

/// Flag set in [`Slot::flags`] only: the code is found directly (a 医保版 dictionary code or a
/// code of some rule table), not only through the edition maps.
pub(crate) const DIRECT: u8 = 128;
/// Flag set in [`Slot::flags`] only: the role lists did not fit in the slot; see
/// [`Slot::roles`].
const SPILLED: u8 = 64;
const INLINE_ROLES: usize = 14;

/// One code of a table: key and everything grouping reads, in exactly one cache line, so a
/// lookup costs one memory access (which the fast path issues early, for all codes of a stay
/// at once).
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
pub(crate) struct Slot {
    /// [`code_key`] of the code; 0 marks an empty slot.
    pub key: u128,
    pub id: u32,
    /// Bit i set: code is in the principal-diagnosis table of MDC i.
    pub mdc_mask: u32,
    /// Bit i set: code is in MDCZ body region i.
    pub region_mask: u16,
    pub mcc: u16,
    pub cc: u16,
    pub cce: u16,
    /// `DX_*` / `PROC_*` / `GREY` flags, plus [`DIRECT`] and [`SPILLED`].
    pub flags: u8,
    /// Lengths of the two role lists (see [`Slot::roles`]).
    n_first: u8,
    n_second: u8,
    /// The role lists end to end, or (when [`SPILLED`]) the start of them in
    /// `CodeTable::role_sets` as two halves of a u32.
    inline: [u16; INLINE_ROLES],
}

impl Slot {
    /// The code's tables as the fast path numbers them (`fast::Program::roles`): those
    /// tested on the code as principal diagnosis / principal procedure, and those tested
    /// on it as secondary diagnosis / any procedure. Only tables some rule tests in the
    /// role are listed.
    #[inline(always)]
    pub fn roles<'a>(&'a self, t: &'a CodeTable) -> (&'a [u16], &'a [u16]) {
        let (a, b) = (self.n_first as usize, self.n_second as usize);
        let all = if self.flags & SPILLED == 0 {
            &self.inline[..a + b]
        } else {
            let start = self.inline[0] as usize | (self.inline[1] as usize) << 16;
            &t.role_sets[start..start + a + b]
        };
        all.split_at(a)
    }
}

/// Slot hash of a key: one folded 64×64→128-bit multiply (as in wyhash/ahash).
#[inline]
pub(crate) fn slot_hash(key: u128) -> usize {
    let (lo, hi) = (key as u64, (key >> 64) as u64);
    let m = ((lo ^ 0x243f_6a88_85a3_08d3) as u128) * ((hi ^ 0x1319_8a2e_0370_7344) as u128);
    ((m as u64) ^ ((m >> 64) as u64)) as usize
}

/// Longest code with a packed key; longer ones are looked up by string.
const MAX_KEY_CHARS: usize = 18;

/// Injective key of a code (never 0), `None` for codes longer than 18 bytes, which are then
/// looked up by string. Codes of up to 15 bytes (all but a few hundred dagger/asterisk
/// codes) are their bytes with the length in the top byte, read with a few word loads;
/// codes of 16 to 18 printable ASCII characters (no space) are 7-bit digits with the top
/// bit set (bit 127 is never set by the first form, whose top byte is at most 15).
#[inline]
pub(crate) fn code_key(code: &str) -> Option<u128> {
    let b = code.as_bytes();
    let n = b.len();
    if n == 0 {
        return None;
    }
    if n <= 15 {
        let (lo, hi) = if n >= 8 {
            let lo = u64::from_le_bytes(b[..8].try_into().unwrap());
            let tail = u64::from_le_bytes(b[n - 8..].try_into().unwrap());
            (lo, tail.checked_shr(8 * (16 - n) as u32).unwrap_or(0))
        } else if n >= 4 {
            let head = u32::from_le_bytes(b[..4].try_into().unwrap()) as u64;
            let tail = u32::from_le_bytes(b[n - 4..].try_into().unwrap()) as u64;
            (head | tail << (8 * (n - 4)), 0)
        } else {
            let mut lo = 0u64;
            for (i, &c) in b.iter().enumerate() {
                lo |= (c as u64) << (8 * i);
            }
            (lo, 0)
        };
        return Some((lo as u128) | (hi as u128) << 64 | (n as u128) << 120);
    }
    if n > MAX_KEY_CHARS {
        return None;
    }
    let mut k: u128 = 0;
    for &c in b {
        if !(0x21..0x7f).contains(&c) {
            return None;
        }
        k = (k << 7) | c as u128;
    }
    Some(k | 1 << 127)
}

/// A code's grouping data as the traced engine reads it.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Hot {
    pub sets: (u32, u32),
    pub mdc_mask: u32,
    pub region_mask: u16,
    pub mcc: u16,
    pub cc: u16,
    pub cce: u16,
    pub flags: u8,
}

pub(crate) struct CodeTable {
    /// Code → id: while loading every code; once loaded only the codes without a packed key
    /// (two malformed ones in the national packs), the others being found through `slots`.
    pub index: CodeMap,
    /// Open-addressing table (linear probing) of the codes with a packed key, in
    /// `slots[..=slot_mask]`; codes without a key follow it, at `slot_mask + 1..`.
    pub slots: Vec<Slot>,
    pub slot_mask: usize,
    /// Code id → its slot.
    pub slot_of: Vec<u32>,
    pub info: Vec<CodeInfo>,
    /// Codes and names of `info`, end to end.
    text: String,
    pub set_ids: Vec<u32>,
    /// Role lists that do not fit in their slot.
    pub role_sets: Vec<u16>,
    /// Clinical-edition / 医保版 1.0 code (or dagger part) → 医保版 2.0 code id.
    pub map: CodeMap,
}

impl CodeTable {
    fn new() -> Self {
        CodeTable {
            index: CodeMap::default(),
            slots: Vec::new(),
            slot_mask: 0,
            slot_of: Vec::new(),
            info: Vec::new(),
            text: String::new(),
            set_ids: Vec::new(),
            role_sets: Vec::new(),
            map: CodeMap::default(),
        }
    }

    fn span(&mut self, s: &str) -> (u32, u16) {
        let s = &s[..s.floor_char_boundary(u16::MAX as usize)];
        let at = self.text.len() as u32;
        self.text.push_str(s);
        (at, s.len() as u16)
    }

    fn intern(&mut self, code: &str) -> u32 {
        if let Some(i) = self.index.get(code) {
            return i;
        }
        let id = self.info.len() as u32;
        let code_span = self.span(code);
        self.info.push(CodeInfo {
            code: code_span,
            name: (0, 0),
            sets: (0, 0),
            flags: 0,
            mdc_mask: 0,
            region_mask: 0,
            mcc: 0,
            cc: 0,
            cce: 0,
        });
        self.index.insert(code, id);
        id
    }

    fn set_name(&mut self, id: u32, name: &str) {
        self.info[id as usize].name = self.span(name);
    }

    /// The code of an id.
    pub fn code(&self, id: u32) -> &str {
        let (a, n) = self.info[id as usize].code;
        &self.text[a as usize..a as usize + n as usize]
    }

    /// The name of an id ("" when the pack gives none).
    pub fn name(&self, id: u32) -> &str {
        let (a, n) = self.info[id as usize].name;
        &self.text[a as usize..a as usize + n as usize]
    }

    #[inline]
    pub fn in_range(&self, (a, b): (u32, u32), set: u32) -> bool {
        self.set_ids[a as usize..b as usize].contains(&set)
    }

    /// Index of the home slot of a packed key.
    #[inline]
    pub fn home_index(&self, key: u128) -> usize {
        slot_hash(key) & self.slot_mask
    }

    #[inline]
    pub fn find_key(&self, key: u128) -> Option<&Slot> {
        self.find_from(key, self.home_index(key))
    }

    /// [`CodeTable::find_key`] given the key's home index.
    #[inline]
    pub fn find_from(&self, key: u128, mut i: usize) -> Option<&Slot> {
        loop {
            let s = &self.slots[i];
            if s.key == key {
                return Some(s);
            }
            if s.key == 0 {
                return None;
            }
            i = (i + 1) & self.slot_mask;
        }
    }

    /// The slot of a code given as text (exact match).
    #[inline]
    pub fn find_slot(&self, code: &str) -> Option<&Slot> {
        match code_key(code) {
            Some(k) => self.find_key(k),
            None => self.index.get(code).map(|id| self.slot_by_id(id)),
        }
    }

    #[inline]
    pub fn slot_by_id(&self, id: u32) -> &Slot {
        &self.slots[self.slot_of[id as usize] as usize]
    }

    /// The code's grouping data, by id.
    pub fn hot(&self, id: u32) -> Hot {
        let s = self.slot_by_id(id);
        Hot {
            sets: self.info[id as usize].sets,
            mdc_mask: s.mdc_mask,
            region_mask: s.region_mask,
            mcc: s.mcc,
            cc: s.cc,
            cce: s.cce,
            flags: s.flags & !(DIRECT | SPILLED),
        }
    }

    /// The code's id and grouping data.
    #[inline]
    pub fn find(&self, code: &str) -> Option<(u32, Hot)> {
        self.find_slot(code).map(|s| (s.id, self.hot(s.id)))
    }

    /// Builds the slots. Returns false when a code is in more than 255 tables of one role
    /// (the fast path then cannot be used).
    fn freeze(&mut self, program: &crate::fast::Program) -> bool {
        let mut fits = true;
        self.text.shrink_to_fit();
        let keyed = (0..self.info.len() as u32)
            .filter(|&id| code_key(self.code(id)).is_some())
            .count();
        // At most half full: short probe runs, and most lookups touch only the home slot.
        let cap = (keyed + keyed / 4).next_power_of_two().max(16);
        self.slots = vec![Slot::default(); cap];
        self.slot_mask = cap - 1;
        self.slot_of = vec![0; self.info.len()];
        let mut index = CodeMap::default();
        for (id, info) in self.info.iter().enumerate() {
            let code = {
                let (a, n) = info.code;
                &self.text[a as usize..a as usize + n as usize]
            };
            let sets = &self.set_ids[info.sets.0 as usize..info.sets.1 as usize];
            let role = |k: usize| {
                sets.iter()
                    .map(move |&s| program.roles(s)[k])
                    .filter(|&r| r != crate::fast::UNUSED)
            };
            let (first, second): (Vec<u16>, Vec<u16>) = (role(0).collect(), role(1).collect());
            fits &= first.len() <= u8::MAX as usize && second.len() <= u8::MAX as usize;
            let mut slot = Slot {
                key: 0,
                id: id as u32,
                mdc_mask: info.mdc_mask,
                region_mask: info.region_mask,
                mcc: info.mcc,
                cc: info.cc,
                cce: info.cce,
                flags: info.flags,
                n_first: first.len() as u8,
                n_second: second.len() as u8,
                inline: [0; INLINE_ROLES],
            };
            if info.flags & (DX_DICT | PROC_DICT) != 0 || !sets.is_empty() {
                slot.flags |= DIRECT;
            }
            if first.len() + second.len() <= INLINE_ROLES {
                for (d, &r) in slot.inline.iter_mut().zip(first.iter().chain(&second)) {
                    *d = r;
                }
            } else {
                slot.flags |= SPILLED;
                let start = self.role_sets.len();
                slot.inline[0] = start as u16;
                slot.inline[1] = (start >> 16) as u16;
                self.role_sets.extend(first.iter().chain(&second));
            }
            match code_key(code) {
                Some(k) => {
                    slot.key = k;
                    let mut i = slot_hash(k) & self.slot_mask;
                    while self.slots[i].key != 0 {
                        i = (i + 1) & self.slot_mask;
                    }
                    self.slots[i] = slot;
                    self.slot_of[id] = i as u32;
                }
                None => {
                    self.slot_of[id] = self.slots.len() as u32;
                    self.slots.push(slot);
                    index.insert(code, id as u32);
                }
            }
        }
        self.slots.shrink_to_fit();
        self.index = index;
        fits
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumField {
    AgeYears,
    AgeDays,
    BirthWeight,
    Los,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// One test of a rule. Sets are numbered as in the pack's `@set` section.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Atom {
    Pdx(u32),
    Sdx(u32),
    AnyDx(u32),
    MainProc(u32),
    AnyProc(u32),
    OrProc,
    NoOrProc,
    Num(NumField, Cmp, i64),
    Sex(u8),
    Regions(u8),
    Mcc,
    Cc,
    True,
}

/// AND of clauses, each an OR of atoms: every rule of the official tables fits this shape.
#[derive(Clone, Debug)]
pub struct Expr {
    pub clauses: Vec<Vec<Atom>>,
    pub text: String,
    /// The same rule in the model's flat atom array, where evaluation reads it: one
    /// contiguous run instead of three levels of heap pointers.
    pub span: (u32, u32),
}

/// An atom of the flat array; `clause_end` closes an OR-clause.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlatAtom {
    pub atom: Atom,
    pub clause_end: bool,
}

fn flatten(atoms: &mut Vec<FlatAtom>, e: &mut Expr) {
    let start = atoms.len() as u32;
    for clause in &e.clauses {
        for (i, a) in clause.iter().enumerate() {
            atoms.push(FlatAtom {
                atom: *a,
                clause_end: i + 1 == clause.len(),
            });
        }
    }
    e.span = (start, atoms.len() as u32);
}

pub(crate) struct CodeSet {
    pub label: String,
    pub is_proc: bool,
    pub len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdrgKind {
    PreMdc,
    Surgical,
    NonOr,
    Medical,
}

pub(crate) struct AdrgData {
    pub branches: Vec<Expr>,
    pub splits: Vec<(Expr, u16)>,
}

pub(crate) struct Model {
    pub manifest: Manifest,
    pub catalog: crate::Catalog,
    pub dx: CodeTable,
    pub proc: CodeTable,
    pub sets: Vec<CodeSet>,
    pub adrg: Vec<AdrgData>,
    /// ADRG ids per MDC in evaluation order, split by kind.
    pub mdc_adrgs: Vec<[Vec<u16>; 4]>,
    pub mdc_sex: Vec<Option<u8>>,
    /// Bit i set: the diagnosis table of MDC i is read on any diagnosis (its title says
    /// "包含以下诊断"), not on the principal diagnosis only ("包含以下主要诊断"). Only entry-rule
    /// MDCs can be entered that way; see [`crate::engine`] for the guard it implies.
    pub mdc_any_dx: u32,
    pub entries: Vec<(u16, Expr)>,
    pub entry_mdc_mask: u32,
    pub atoms: Vec<FlatAtom>,
    /// Per ADRG, the range of its OR-branches in `branch_spans`.
    pub adrg_branches: Vec<(u32, u32)>,
    pub branch_spans: Vec<(u32, u32)>,
    pub regions: Vec<String>,
    pub pre_mdc: Option<u16>,
    /// The rules compiled for the untraced path.
    pub program: crate::fast::Program,
}

fn parse_num<T: std::str::FromStr>(s: &str, line: usize) -> Result<T, PackError> {
    s.parse()
        .map_err(|_| bad(line, format!("not a number: `{s}`")))
}

impl Model {
    pub fn load(manifest: Manifest, tables: &RawTables<'_>) -> Result<Model, PackError> {
        use crate::{AdrgEntry, Catalog, DrgEntry, MdcEntry};
        let mut catalog = Catalog::default();
        let mut mdc_sex = Vec::new();
        let mut mdc_idx: FxMap<String, u16> = FxMap::default();
        for row in tables.section("mdc") {
            let code = field(&row, 0)?.to_string();
            let sex = match row.get(2) {
                "" => None,
                s => Some(parse_num::<u8>(s, row.line)?),
            };
            mdc_idx.insert(code.clone(), catalog.mdcs.len() as u16);
            catalog.mdcs.push(MdcEntry {
                code,
                name: field(&row, 1)?.to_string(),
            });
            mdc_sex.push(sex);
        }
        if catalog.mdcs.len() > 32 {
            return Err(bad(0, "more than 32 MDCs are not supported"));
        }
        let mut adrg_idx: FxMap<String, u16> = FxMap::default();
        let mut mdc_adrgs: Vec<[Vec<u16>; 4]> = vec![Default::default(); catalog.mdcs.len()];
        let mut pre_mdc = None;
        for row in tables.section("adrg") {
            let code = field(&row, 0)?.to_string();
            let mdc = field(&row, 1)?;
            let &m = mdc_idx
                .get(mdc)
                .ok_or_else(|| bad(row.line, format!("unknown MDC {mdc}")))?;
            let kind = match field(&row, 2)? {
                "pre" => AdrgKind::PreMdc,
                "surgical" => AdrgKind::Surgical,
                "nonor" => AdrgKind::NonOr,
                "medical" => AdrgKind::Medical,
                k => return Err(bad(row.line, format!("unknown ADRG kind {k}"))),
            };
            if kind == AdrgKind::PreMdc {
                pre_mdc = Some(m);
            }
            let id = catalog.adrgs.len() as u16;
            adrg_idx.insert(code.clone(), id);
            catalog.adrgs.push(AdrgEntry {
                code,
                mdc: catalog.mdcs[m as usize].code.clone(),
                name: field(&row, 3)?.to_string(),
                kind,
            });
        }
        let mut drg_idx: FxMap<String, u16> = FxMap::default();
        for row in tables.section("drg") {
            let code = field(&row, 0)?.to_string();
            let adrg = field(&row, 1)?;
            let &a = adrg_idx
                .get(adrg)
                .ok_or_else(|| bad(row.line, format!("unknown ADRG {adrg}")))?;
            drg_idx.insert(code.clone(), catalog.drgs.len() as u16);
            catalog.drgs.push(DrgEntry {
                code,
                adrg: adrg.to_string(),
                mdc: catalog.adrgs[a as usize].mdc.clone(),
                suffix: parse_num(field(&row, 2)?, row.line)?,
                name: field(&row, 3)?.to_string(),
            });
        }

        let mut dx = CodeTable::new();
        let mut proc = CodeTable::new();
        for (sec, table, dict_flag) in [("dx", &mut dx, DX_DICT), ("proc", &mut proc, PROC_DICT)] {
            for row in tables.section(sec) {
                let id = table.intern(field(&row, 0)?);
                table.set_name(id, field(&row, 1)?);
                let info = &mut table.info[id as usize];
                let flags = row.get(2);
                for c in flags.chars() {
                    info.flags |= match c {
                        'D' => dict_flag,
                        'I' => DX_INVALID_PDX,
                        'G' => GREY,
                        'O' => PROC_OR,
                        'X' => PROC_EXCLUDED,
                        _ => return Err(bad(row.line, format!("unknown flag {c}"))),
                    };
                }
            }
        }

        let mut sets = Vec::new();
        // (code, table) memberships, one vector per code kind.
        let mut dx_members: Vec<(u32, u32)> = Vec::new();
        let mut proc_members: Vec<(u32, u32)> = Vec::new();
        for row in tables.section("set") {
            let id: usize = parse_num(field(&row, 0)?, row.line)?;
            if id != sets.len() {
                return Err(bad(row.line, "set ids must be dense and in order"));
            }
            let is_proc = match field(&row, 1)? {
                "dx" => false,
                "proc" => true,
                k => return Err(bad(row.line, format!("unknown set kind {k}"))),
            };
            let (table, members) = if is_proc {
                (&mut proc, &mut proc_members)
            } else {
                (&mut dx, &mut dx_members)
            };
            let mut len = 0;
            for code in field(&row, 3)?.split(' ').filter(|c| !c.is_empty()) {
                members.push((table.intern(code), id as u32));
                len += 1;
            }
            sets.push(CodeSet {
                label: field(&row, 2)?.to_string(),
                is_proc,
                len,
            });
        }
        for (table, mut members) in [(&mut dx, dx_members), (&mut proc, proc_members)] {
            members.sort_unstable();
            members.dedup();
            table.set_ids = members.iter().map(|&(_, s)| s).collect();
            let mut i = 0;
            while i < members.len() {
                let cid = members[i].0;
                let start = i;
                while i < members.len() && members[i].0 == cid {
                    i += 1;
                }
                table.info[cid as usize].sets = (start as u32, i as u32);
            }
        }

        let set_of = |s: &str, line: usize, want_proc: bool| -> Result<u32, PackError> {
            let id: u32 = parse_num(s, line)?;
            match sets.get(id as usize) {
                Some(set) if set.is_proc == want_proc => Ok(id),
                Some(_) => Err(bad(line, format!("set {id} is of the wrong kind"))),
                None => Err(bad(line, format!("unknown set {id}"))),
            }
        };

        // MDC principal-diagnosis tables and body regions, as bits per table, then per code.
        let mut set_mdcs = vec![0u32; sets.len()];
        let mut mdc_any_dx = 0u32;
        for row in tables.section("mdcdx") {
            let m = *mdc_idx
                .get(field(&row, 0)?)
                .ok_or_else(|| bad(row.line, "unknown MDC"))?;
            let s = set_of(field(&row, 1)?, row.line, false)?;
            set_mdcs[s as usize] |= 1 << m;
            // The table's role; packs of format 1 have none (principal diagnosis).
            match row.get(2) {
                "" | "pdx" => {}
                "dx" => mdc_any_dx |= 1 << m,
                r => return Err(bad(row.line, format!("unknown table role {r}"))),
            }
        }
        let mut regions = Vec::new();
        let mut set_regions = vec![0u16; sets.len()];
        for row in tables.section("region") {
            let s = set_of(field(&row, 1)?, row.line, false)?;
            let bit = regions.len();
            if bit >= 16 {
                return Err(bad(row.line, "at most 16 body regions"));
            }
            regions.push(field(&row, 0)?.to_string());
            set_regions[s as usize] |= 1 << bit;
        }
        for info in dx.info.iter_mut() {
            for &s in &dx.set_ids[info.sets.0 as usize..info.sets.1 as usize] {
                info.mdc_mask |= set_mdcs[s as usize];
                info.region_mask |= set_regions[s as usize];
            }
        }
        for (sec, is_mcc) in [("mcc", true), ("cc", false)] {
            for row in tables.section(sec) {
                let cid = dx.intern(field(&row, 0)?) as usize;
                let t: u16 = parse_num(field(&row, 1)?, row.line)?;
                if is_mcc {
                    dx.info[cid].mcc = t;
                } else {
                    dx.info[cid].cc = t;
                }
            }
        }
        for row in tables.section("cce") {
            let t: u16 = parse_num(field(&row, 0)?, row.line)?;
            for code in field(&row, 1)?.split(' ').filter(|c| !c.is_empty()) {
                let cid = dx.intern(code) as usize;
                dx.info[cid].cce = t;
            }
        }
        for (sec, table) in [("map_dx", &mut dx), ("map_proc", &mut proc)] {
            for row in tables.section(sec) {
                let from = field(&row, 0)?;
                let to = table.intern(field(&row, 1)?);
                table.map.insert(from, to);
            }
        }

        // Dagger-asterisk codes ("A01.002+G01*") are also found by their dagger part, which
        // is what some hospital systems put on the settlement list.
        for id in 0..dx.info.len() as u32 {
            if let Some((dagger, _)) = dx.code(id).split_once('+') {
                if !dx.index.contains_key(dagger) && !dx.map.contains_key(dagger) {
                    let dagger = dagger.to_string();
                    dx.map.insert(&dagger, id);
                }
            }
        }
        let parse = |text: &str, line: usize| -> Result<Expr, PackError> {
            parse_expr(text, line, &|s, l, p| set_of(s, l, p))
        };
        let mut entries = Vec::new();
        let mut entry_mdc_mask = 0u32;
        for row in tables.section("entry") {
            let m = *mdc_idx
                .get(field(&row, 0)?)
                .ok_or_else(|| bad(row.line, "unknown MDC"))?;
            entry_mdc_mask |= 1 << m;
            entries.push((m, parse(field(&row, 1)?, row.line)?));
        }
        let mut adrg: Vec<AdrgData> = (0..catalog.adrgs.len())
            .map(|_| AdrgData {
                branches: Vec::new(),
                splits: Vec::new(),
            })
            .collect();
        let mut seen = vec![false; catalog.adrgs.len()];
        for row in tables.section("rule") {
            let code = field(&row, 0)?;
            let &a = adrg_idx
                .get(code)
                .ok_or_else(|| bad(row.line, format!("rule for unknown ADRG {code}")))?;
            adrg[a as usize]
                .branches
                .push(parse(field(&row, 1)?, row.line)?);
            if !seen[a as usize] {
                seen[a as usize] = true;
                let entry = &catalog.adrgs[a as usize];
                let m = mdc_idx[&entry.mdc] as usize;
                mdc_adrgs[m][entry.kind as usize].push(a);
            }
        }
        for row in tables.section("split") {
            let code = field(&row, 0)?;
            let &a = adrg_idx
                .get(code)
                .ok_or_else(|| bad(row.line, format!("split for unknown ADRG {code}")))?;
            let drg = field(&row, 1)?;
            let &d = drg_idx
                .get(drg)
                .ok_or_else(|| bad(row.line, format!("split to unknown DRG {drg}")))?;
            adrg[a as usize]
                .splits
                .push((parse(field(&row, 2)?, row.line)?, d));
        }
        for (i, a) in catalog.adrgs.iter().enumerate() {
            if adrg[i].splits.is_empty() {
                return Err(bad(0, format!("ADRG {} has no DRG split", a.code)));
            }
        }
        let mut atoms = Vec::new();
        let mut adrg_branches = Vec::new();
        let mut branch_spans = Vec::new();
        for (_, e) in entries.iter_mut() {
            flatten(&mut atoms, e);
        }
        for a in adrg.iter_mut() {
            let first = branch_spans.len() as u32;
            for e in a.branches.iter_mut() {
                flatten(&mut atoms, e);
                branch_spans.push(e.span);
            }
            adrg_branches.push((first, branch_spans.len() as u32));
            for (e, _) in a.splits.iter_mut() {
                flatten(&mut atoms, e);
            }
        }
        catalog.version = manifest.version.clone();
        let mut program = crate::fast::Program::compile(&sets, &entries, &adrg, &mdc_adrgs);
        if !(dx.freeze(&program) & proc.freeze(&program)) {
            program.words = usize::MAX;
        }
        Ok(Model {
            program,
            atoms,
            adrg_branches,
            branch_spans,
            manifest,
            catalog,
            dx,
            proc,
            sets,
            adrg,
            mdc_adrgs,
            mdc_sex,
            mdc_any_dx,
            entries,
            entry_mdc_mask,
            regions,
            pre_mdc,
        })
    }
}

type SetResolver<'a> = dyn Fn(&str, usize, bool) -> Result<u32, PackError> + 'a;

pub(crate) fn parse_expr(text: &str, line: usize, set: &SetResolver) -> Result<Expr, PackError> {
    let mut clauses = Vec::new();
    for clause in text.split(" & ") {
        let mut atoms = Vec::new();
        for atom in clause.split(" | ") {
            atoms.push(parse_atom(atom.trim(), line, set)?);
        }
        clauses.push(atoms);
    }
    Ok(Expr {
        clauses,
        text: text.to_string(),
        span: (0, 0),
    })
}

fn parse_atom(a: &str, line: usize, set: &SetResolver) -> Result<Atom, PackError> {
    if let Some((kind, id)) = a.split_once(':') {
        return Ok(match kind {
            "pdx" => Atom::Pdx(set(id, line, false)?),
            "sdx" => Atom::Sdx(set(id, line, false)?),
            "dx" => Atom::AnyDx(set(id, line, false)?),
            "pproc" => Atom::MainProc(set(id, line, true)?),
            "proc" => Atom::AnyProc(set(id, line, true)?),
            _ => return Err(bad(line, format!("unknown atom {a}"))),
        });
    }
    match a {
        "orproc" => return Ok(Atom::OrProc),
        "noorproc" => return Ok(Atom::NoOrProc),
        "mcc" => return Ok(Atom::Mcc),
        "cc" => return Ok(Atom::Cc),
        "true" => return Ok(Atom::True),
        _ => {}
    }
    for (op, cmp) in [
        ("<=", Cmp::Le),
        (">=", Cmp::Ge),
        ("<", Cmp::Lt),
        (">", Cmp::Gt),
        ("=", Cmp::Eq),
    ] {
        if let Some((lhs, rhs)) = a.split_once(op) {
            let v: i64 = parse_num(rhs, line)?;
            let f = match lhs {
                "age_years" => NumField::AgeYears,
                "age_days" => NumField::AgeDays,
                "bw" => NumField::BirthWeight,
                "los" => NumField::Los,
                "sex" if cmp == Cmp::Eq => return Ok(Atom::Sex(v as u8)),
                "regions" if cmp == Cmp::Ge => return Ok(Atom::Regions(v as u8)),
                _ => return Err(bad(line, format!("unknown field in {a}"))),
            };
            return Ok(Atom::Num(f, cmp, v));
        }
    }
    Err(bad(line, format!("unknown atom {a}")))
}
