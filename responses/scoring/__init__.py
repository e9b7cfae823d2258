"""Score SLEDAI-2K, PGA, BILAG-2004, SRI-X, BICLA, LLDAS and DORIS remission, and place
participants in the analysis sets, for the pediatric lupus CAR-T trial: every clinical rule of
the site, one module per instrument.

Pure Python (no Django) so the rules can be tested without a database. Every number comes from
``/work/shared/spec/clinical-rules.md``; the source of each threshold is named beside it
(Gladman 2002: SLEDAI-2K; Furie 2009: SRI-X; Isenberg 2005, Yee 2010: BILAG-2004; Wallace 2014:
BICLA; Franklyn 2016: LLDAS; van Vollenhoven 2021: DORIS).

- ``common``: outcomes, and ``gettext_noop`` for the strings Django's makemessages extracts;
- ``sledai``, ``labs``, ``pga``, ``bilag``: the instruments;
- ``sri``: SRI-X against baseline (O1-O7) and treatment failure;
- ``bicla``: BICLA against baseline, in SRI's order of outcomes;
- ``lldas``, ``doris``: states at a visit, sharing their order of outcomes in ``visit_state``;
- ``analysis``: the observed and infused (mITT) analysis sets;
- ``statistics``: the exact interval and percents rounded once.
"""
