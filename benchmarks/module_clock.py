"""Seconds a torch model spends inside its top-level modules: what the benchmarks count as model time."""

from __future__ import annotations

import time


class ModuleClock:
    """Seconds spent inside each of the model's top-level modules (image encoder, memory attention, ...): wall
    seconds in ``modules``, CPU seconds of all threads in ``cpu_modules``."""

    def __init__(self, model):
        self.modules: dict[str, float] = {}
        self.cpu_modules: dict[str, float] = {}
        self._depth, self._started = 0, (0.0, 0.0)
        for name, module in model.named_children():
            module.register_forward_pre_hook(self._enter)
            module.register_forward_hook(lambda module, args, output, name=name: self._leave(name))

    @property
    def seconds(self) -> float:
        """Wall seconds inside the modules, all together."""
        return sum(self.modules.values())

    def _enter(self, module, args):
        if self._depth == 0:
            self._started = (time.perf_counter(), time.process_time())
        self._depth += 1

    def _leave(self, name: str):
        self._depth -= 1
        if self._depth == 0:
            self.modules[name] = self.modules.get(name, 0.0) + time.perf_counter() - self._started[0]
            self.cpu_modules[name] = self.cpu_modules.get(name, 0.0) + time.process_time() - self._started[1]
