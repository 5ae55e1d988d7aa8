"""A registration fits its starting poses side by side on its process's share of the CPUs (:mod:`rau.cpu_share`): every
usable CPU in a process alone, an equal part of them in each worker process of a pool (``rau evaluate --jobs``, ``rau
batch``), the CPUs it holds in a Ray actor; the answer is the same bit for bit on any number of threads."""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

from rau import cpu_share, registration
from rau.batch.worker import WarmWorker
from rau.engines import Request, create_engine
from rau.engines.base import Reference
from rau.image import Image
from rau.labels import LabelSet, Segmentation, Structure
from rau.options import EngineOptions
from rau.process_pools import stopped_at_once, worker_pool


@pytest.fixture(autouse=True)
def alone(monkeypatch):
    """This process as it is outside any pool, put back after each test."""
    monkeypatch.setattr(cpu_share, "_share", None)


def test_each_worker_of_a_pool_fits_on_its_share_of_the_machines_cpus():
    """Before: each of N workers started one thread per CPU (N x CPUs threads on CPUs cores)."""
    with stopped_at_once(worker_pool(2, multiprocessing.get_context("spawn"), os.getpid, ())) as pool:
        assert pool.submit(cpu_share.fit_threads).result() == max(1, cpu_share.usable_cpus() // 2)
    assert cpu_share.fit_threads() == cpu_share.usable_cpus()  # the process that started the pool keeps them all


@pytest.mark.parametrize(("cpus", "threads"), [(0.5, 1), (1.0, 1), (2.5, 2)])
def test_a_ray_actor_fits_on_the_cpus_it_holds(cpus, threads):
    WarmWorker("registration", EngineOptions(), cpu_share.share_of(cpus))  # as run_on_ray builds its actors
    assert cpu_share.fit_threads() == threads


def ellipse_pair() -> tuple[Reference, Image]:
    """A 48 x 48 picture of a bright ellipse labelled 1 and a target with the ellipse moved and turned."""
    j, i = np.mgrid[:48, :48]

    def picture(x: float, y: float, angle: float) -> np.ndarray:
        u, v = (i - x) * np.cos(angle) + (j - y) * np.sin(angle), (j - y) * np.cos(angle) - (i - x) * np.sin(angle)
        return ((u / 14) ** 2 + (v / 8) ** 2 <= 1)[None]

    noise = np.random.default_rng(0).normal(0, 2, (1, 48, 48))
    reference = Image((picture(24, 24, 0.0) * 100 + noise).astype(np.float32), spacing=(1.0, 1.0, 1.0), ndim=2)
    labels = Segmentation.from_label_map(reference.with_array(picture(24, 24, 0.0).astype(np.uint8)), LabelSet((Structure("ellipse", 1),)))
    target = Image((picture(26, 22, 0.4) * 100 + noise[:, ::-1]).astype(np.float32), spacing=(1.0, 1.0, 1.0), ndim=2)
    return Reference(reference, labels), target


def test_a_registration_answers_the_same_on_one_thread_and_on_two(monkeypatch):
    used = []
    pool = registration.ThreadPoolExecutor
    monkeypatch.setattr(registration, "ThreadPoolExecutor", lambda max_workers: used.append(max_workers) or pool(max_workers))
    reference, target = ellipse_pair()
    answers = []
    for threads in (1, 2):
        cpu_share.take_share(threads)
        result = create_engine("registration", {"deformable": False}).run(Request([reference], target))
        answers.append(result.to_segmentation().to_label_map().array)
    half = len(used) // 2
    assert used and used == [1] * half + [2] * half  # the fits ran on the share: several starts each
    assert answers[0].any()
    np.testing.assert_array_equal(answers[1], answers[0])
