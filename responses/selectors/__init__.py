"""Report queries: per-visit response rows and the cohort analysis sets of an endpoint, the
response matrix, the baseline characteristics and the data behind the plots.

Each selector runs a fixed number of queries whatever the cohort size and reads the stored
results (responses.models), never recomputing them; the rules they apply live in
responses.scoring. ``participants`` restricts a report to a Participant queryset (a user's
sites, report filters); it is used as a subquery. ``as_of`` is the data cut
(clinical-rules.md section 4a): only participants enrolled and visits dated on or before it count.

- ``common``: the data cut, the study and its follow-up visits, the study day read by the
  database, rates shown as percents;
- ``rows``: responses.csv;
- ``cohort``: the observed and infused (mITT) tables, the not evaluable, the not infused;
- ``matrix``, ``baseline``, ``trajectories``: the other report pages;
- ``raw_reads``: the one SELECT of each report's data, which the benchmark sets the report's
  time beside (the site never calls them).
"""
