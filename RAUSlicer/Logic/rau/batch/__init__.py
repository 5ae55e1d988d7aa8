"""``rau batch``: a cohort manifest -> outputs per target, resumable, on local worker processes or a Ray cluster.

:mod:`~rau.batch.items` turns a manifest into work items and tells which are already done;
:mod:`~rau.batch.worker` holds a warm engine and runs one item; :mod:`~rau.batch.pool` (local
processes) and :mod:`~rau.batch.ray_backend` (Ray actors) distribute items; :mod:`~rau.batch.run`
drives a run with progress and the summary CSV.
"""
