#!/usr/bin/env python3
"""Derives the small tables embedded in the `sim` crate from shared/data/drg.

Run from this folder: python3 prepare_tables.py ../../../../shared/data/drg
Outputs (committed, so the Rust build never reads shared/):
  drg_catalogue_2.0.csv, drg_catalogue_1.1.csv: every DRG of the version with a relative weight,
      the median over the city payment tables that list it (fallback: median of its ADRG, then of
      its MDC, then 1.0), and how many cities gave it.
  stay_mix.csv: the intended ADRG mix (stay_mix_source.csv, hand-written from the calibration
      README) with, for each row, a CC and an MCC secondary diagnosis that the grouping tables
      accept for that principal diagnosis (not in the CC exclusion table of that diagnosis).
"""
import csv, glob, os, statistics, sys, collections

src = sys.argv[1] if len(sys.argv) > 1 else '../../../../shared/data/drg'

def weights_from_cities():
    per = collections.defaultdict(list)
    for f in sorted(glob.glob(os.path.join(src, 'payment', '*.csv'))):
        rows = list(csv.reader(open(f, encoding='utf-8')))
        head = rows[0]
        wi = [i for i, c in enumerate(head) if c in ('RW', '权重', '初始权重')]
        if not wi:
            continue
        for r in rows[1:]:
            try:
                w = float(r[wi[0]])
            except (ValueError, IndexError):
                continue
            if w > 0:
                per[r[0].strip()].append(w)
    return per

def catalogue(version, per):
    d = os.path.join(src, f'chs-drg-{version}')
    adrg_mdc = {r['adrg_code']: r['mdc_code'] for r in csv.DictReader(open(os.path.join(d, 'adrg.csv'), encoding='utf-8'))}
    drgs = list(csv.DictReader(open(os.path.join(d, 'drg.csv'), encoding='utf-8')))
    med = {r['drg_code']: statistics.median(per[r['drg_code']]) for r in drgs if per.get(r['drg_code'])}
    by_adrg = collections.defaultdict(list); by_mdc = collections.defaultdict(list)
    for r in drgs:
        if r['drg_code'] in med:
            by_adrg[r['adrg_code']].append(med[r['drg_code']])
            by_mdc[adrg_mdc.get(r['adrg_code'], '')].append(med[r['drg_code']])
    out = []
    for r in drgs:
        c = r['drg_code']; a = r['adrg_code']; m = adrg_mdc.get(a, '')
        if c in med:
            w, n = med[c], len(per[c])
        elif by_adrg.get(a):
            w, n = statistics.median(by_adrg[a]), 0
        elif by_mdc.get(m):
            w, n = statistics.median(by_mdc[m]), 0
        else:
            w, n = 1.0, 0
        out.append((c, a, m, r['drg_name'], round(w, 4), n))
    with open(f'drg_catalogue_{version}.csv', 'w', encoding='utf-8', newline='') as f:
        wr = csv.writer(f, lineterminator='\n')
        wr.writerow(['drg_code', 'adrg_code', 'mdc_code', 'drg_name', 'weight', 'cities'])
        wr.writerows(out)

def mix():
    d = os.path.join(src, 'chs-drg-2.0')
    excl = collections.defaultdict(set)
    for r in csv.DictReader(open(os.path.join(d, 'cc_exclusion.csv'), encoding='utf-8')):
        excl[r['exclusion_table']].add(r['pdx_code'])
    def load(name):
        return {r['dx_code']: (r['dx_name'], r['exclusion_table']) for r in csv.DictReader(open(os.path.join(d, name), encoding='utf-8'))}
    cc, mcc = load('cc.csv'), load('mcc.csv')
    cc_cand = ['E87.600', 'I48.900x004', 'E77.801']
    mcc_cand = ['J96.000', 'N17.900', 'A41.900', 'I50.900']
    rows = list(csv.DictReader(open('stay_mix_source.csv', encoding='utf-8')))
    with open('stay_mix.csv', 'w', encoding='utf-8', newline='') as f:
        wr = csv.writer(f, lineterminator='\n')
        wr.writerow(list(rows[0].keys()) + ['cc_dx', 'cc_name', 'mcc_dx', 'mcc_name'])
        for r in rows:
            def pick(table, cands):
                for c in cands:
                    if c != r['pdx'] and r['pdx'] not in excl[table[c][1]]:
                        return c, table[c][0]
                return '', ''
            wr.writerow(list(r.values()) + list(pick(cc, cc_cand)) + list(pick(mcc, mcc_cand)))

per = weights_from_cities()
catalogue('2.0', per)
catalogue('1.1', per)
mix()
