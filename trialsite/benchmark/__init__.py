"""The scale benchmark behind ``manage.py bench``: a cohort of the given size built through the
real import in a throwaway database, then the figures issue 15 asks for, printed as tables.

- ``cohort``: the participants.csv and visits.csv of the cohort (fixed seed);
- ``database``: the throwaway database, made as the test runner makes its own;
- ``measure``: timings and their percentiles, pages, commands, raw reads, saves;
- ``raw_reads``: the one SELECT of each export's data, to set the export's time beside;
- ``run``: one run per size (import, full recompute, pages, exports, saves);
- ``table``: the tables.
"""
