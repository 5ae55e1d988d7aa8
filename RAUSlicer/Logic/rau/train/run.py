"""What SFT and GRPO share: settings, trainer arguments, held-out evaluation and logging callbacks, saving.

Layout of an output folder::

    OUT/adapter_config.json, adapter_model.safetensors   the LoRA adapter (rau segment --vlm-adapter OUT)
    OUT/rau_adapter.json                                  base model, stage, pairs card, final metrics
    OUT/log.jsonl                                         one line per logged step (loss, rewards, eval_*)
    OUT/rau_run.json                                      what the run is trained from (checked by --resume)
    OUT/checkpoints/checkpoint-N/                         for --resume, or --adapter (with its rau_adapter.json, no metrics)
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from rau.errors import InputError, OptionError, WriteError, failure_reason
from rau.extras import require
from rau.io.atomic import OutputExistsError, new_folders_removed_on_error
from rau.io.outputs import WRITE_CHECK, try_writing_in
from rau.io.json_text import parse_json, read_json_object
from rau.models.inference import fixed_threads, inference_threads
from rau.models.loader import VLM_MODULES, ModelSource, fingerprint, option_named, resolve
from rau.train.dataset import check_images, family_of_card, load_split, read_card, read_records
from rau.train.model import adapter_lora, check_family, load_trainable
from rau.train.settings import LEARNING_RATES, RUN_DEFAULTS, LoraSettings
from rau.user_warnings import ignore_deprecated_checkpointing_reads
from rau.vlm.local import ADAPTER_WEIGHTS, DESCRIPTION, described_base


RUN_FILE = "rau_run.json"
"""The settings a run in ``OUT`` is trained from (:func:`run_settings`), checked by ``--resume``."""
SAVING = ".saving"
"""The folder in ``OUT`` where a finishing run saves its adapter before moving it into ``OUT``."""
LOG = "log.jsonl"
TRAIN_MODULES = (*VLM_MODULES, "peft", "trl", "accelerate", "datasets")
"""The optional packages a training run needs (:func:`rau.extras.require`), checked before its output folder is made."""


@dataclass
class FineTuneSettings:
    """One fine-tuning run. ``learning_rate`` None takes the stage's default; ``epochs``, ``batch_size``, ``grad_accum``,
    ``train_limit`` and ``seed`` None, and a stage's own settings (``stage_settings``: GRPO's) None, are filled in by
    :func:`with_run_defaults`."""

    model: str
    data: str
    out: str
    adapter: str | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    epochs: float | None = None
    max_steps: int = -1
    batch_size: int | None = None
    grad_accum: int | None = None
    learning_rate: float | None = None
    eval_steps: int = 100
    eval_limit: int = 32
    save_steps: int = 100
    logging_steps: int = 10
    train_limit: int | None = None
    gradient_checkpointing: bool = False
    resume: bool = False
    device: str | None = None
    seed: int | None = None
    overwrite: bool = False
    stage_settings: dict = field(default_factory=dict)


def with_run_defaults(settings: FineTuneSettings, stage: str, stage_defaults: dict | None = None) -> FineTuneSettings:
    """``settings`` with the :data:`~rau.train.settings.RUN_DEFAULTS` settings, and the ``stage_defaults`` ones of
    ``settings.stage_settings``, not given (None) taken, with ``--resume``, from the run in ``OUT`` (its ``rau_run.json``, as the learning rate is),
    else from those defaults. With ``--resume``, a run of another stage there is refused first (:func:`_check_stage`),
    then one recorded before a setting left out was (:func:`_check_recorded`), then other settings (:func:`_check_same_run`)."""
    recorded = _recorded_run(settings) if settings.resume else {}
    _check_stage(settings, recorded, stage)
    own = {key: settings.stage_settings.get(key) for key in stage_defaults or {}}
    _check_recorded(settings, recorded, stage, [key for key in RUN_DEFAULTS if getattr(settings, key) is None]
                    + [key for key, given in own.items() if given is None])

    def taken(given, key, default):
        return recorded.get(key, default) if given is None else given

    filled = replace(settings, stage_settings={key: taken(own[key], key, default) for key, default in (stage_defaults or {}).items()},
                     **{key: taken(getattr(settings, key), key, defaults[stage]) for key, defaults in RUN_DEFAULTS.items()})
    if recorded:
        _check_same_run(filled, recorded, stage)
    return filled


def prepare(settings: FineTuneSettings, stage: str):
    """(model, processor, family, train dataset, validation records) for a ``stage`` ("sft", "grpo") run after checking
    the output folder (:func:`check_out`) and that the pairs fit the model. A fresh run starts a new log and checkpoints
    (``overwrite`` allowed replacing them); the folders made here for ``OUT`` go again when the model or pairs are
    refused. A package of an extra not installed is refused before anything is made."""
    out = Path(settings.out)
    inference_threads()  # a bad RAU_TORCH_THREADS is refused before any work
    require(*TRAIN_MODULES)
    with new_folders_removed_on_error(out):  # nothing was written into them yet
        check_out(settings)
        kept_log = _log_up_to(out / LOG, _step(Path(resume_checkpoint(settings)))) if settings.resume else []
        loaded = _load(settings)
    if settings.resume:
        (out / LOG).write_text("".join(f"{line}\n" for line in kept_log), encoding="utf-8")
    else:
        (out / LOG).unlink(missing_ok=True)
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        _write_json(out / RUN_FILE, run_settings(settings, stage))
    return loaded


def _load(settings: FineTuneSettings):
    """(model, processor, family, train dataset, validation records), checked to fit each other."""
    card = read_card(settings.data)
    from transformers import set_seed

    set_seed(settings.seed)  # the new LoRA weights are drawn here: the same --seed, the same adapter
    model, processor, family = load_trainable(settings.model, settings.lora, settings.adapter, settings.device)
    check_family(family_of_card(card), family)
    train = load_split(settings.data, "train", settings.train_limit)
    val = read_records(settings.data, "val")[: settings.eval_limit] if "val" in card["splits"] else []
    check_images(settings.data, val)  # read at each evaluation: a missing one is named now, not after hours of training
    return model, processor, family, train, val


def run_settings(settings: FineTuneSettings, stage: str) -> dict:
    """What a ``stage`` run is trained from, which ``--resume`` must give again: a checkpoint goes on with its own stage,
    model, data, adapter, LoRA, learning rate, epochs, batch size, gradient accumulation, training questions, seed (the
    order its questions are drawn in) and the stage's own settings (GRPO's generations, their length and temperature,
    KL weight and reward weights), whatever is given. A run from an adapter keeps that adapter's LoRA settings
    (:func:`rau.train.model.adapter_lora`), whatever ``settings.lora`` says."""
    lora = adapter_lora(settings.adapter) if settings.adapter else settings.lora
    return {"stage": stage, "model": _absolute_if_local(settings.model), "data": _absolute_if_local(settings.data),
            "adapter": _absolute_if_local(settings.adapter) if settings.adapter else None,
            "lora": vars(lora), "learning_rate": settings.learning_rate, "epochs": settings.epochs, "batch_size": settings.batch_size,
            "grad_accum": settings.grad_accum, "train_limit": settings.train_limit, "seed": settings.seed, **settings.stage_settings}


def _check_same_run(settings: FineTuneSettings, recorded: dict, stage: str) -> None:
    """Refuse ``--resume`` with other :func:`run_settings` than the run in ``OUT`` ``recorded``, naming each option; a
    setting not given (no ``--learning-rate``) is the run's."""
    given = json.loads(json.dumps(run_settings(settings, stage)))  # as the record reads back (tuples as lists)
    recorded = {**recorded, "learning_rate": recorded.get("learning_rate") or LEARNING_RATES[stage]}  # None there: the default
    changed = {key for key in given if key in recorded and given[key] is not None and recorded[key] != given[key]}  # None: not given
    base = _checkpoint_base(settings)
    if base is not None and "model" in recorded:  # the checkpoint's fingerprint tells the model, whatever its folder or id
        changed = changed - {"model"} if base[1] else changed | {"model"}
    if changed:
        details = "; ".join(_change(key, recorded[key], given[key]) for key in given if key in changed)
        raise InputError(f"--resume: the run in {settings.out} was trained with other settings ({details}); "
                         "give the same ones, or start a new run")


def _change(key: str, recorded, given) -> str:
    """A :func:`run_settings` setting ``given`` now that is not the ``recorded`` one, for a message; the same ``--model``
    (folder or Hub id) as recorded is another model there now."""
    if key == "model" and recorded == given:
        return f"--model {_shown(given)}: the model there is not the one the run was trained on (its files changed since)"
    return f"{_option(key)} {_there(key, recorded)}, {_shown(given)} now"


def _checkpoint_base(settings: FineTuneSettings) -> tuple[str, bool] | None:
    """(the base model the last checkpoint of the run in ``OUT`` was trained on, whether ``--model`` is it), told as for
    ``--adapter`` (:func:`rau.vlm.local.described_base`: by its fingerprint, so the same model in another folder or as its
    Hub id is, and another model put in the same folder is not); None when the checkpoint does not say (then the folder
    or id the run recorded is compared)."""
    checkpoint = resume_checkpoint(settings)
    with option_named("--model", settings.model):
        return described_base(checkpoint, ModelSource(settings.model)) if checkpoint else None


def _check_recorded(settings: FineTuneSettings, recorded: dict, stage: str, left_out: list[str]) -> None:
    """Refuse ``--resume`` leaving out settings (``left_out``) that the run's record does not say, as it was written
    before they were recorded: their defaults may not be what the run was started with."""
    unsaid = [_option(key) for key in left_out if recorded and key not in recorded]
    if unsaid:
        raise InputError(f"--resume: {Path(settings.out) / RUN_FILE} does not say the run's {', '.join(unsaid)} (it was written "
                         f"before they were recorded); give {'them' if len(unsaid) > 1 else 'it'} as the run was started (one "
                         f"left out then: its default in `rau train {stage} --help`; all questions: a --train-limit of at least "
                         "their number), or start a new run")


RUN_OPTIONS = {"lora": "--lora-r/--lora-alpha/--lora-dropout/--train-vision", "reward_weights": "--reward-weight"}
"""The options of the :func:`run_settings` not named as the setting with dashes."""
NOT_GIVEN = {"adapter": "a new adapter", "train_limit": "all questions"}
"""What a :func:`run_settings` setting recorded as not given (None) means, where it is not the default."""


def _option(key: str) -> str:
    """The option that gives the :func:`run_settings` setting ``key``."""
    return RUN_OPTIONS.get(key, "--" + key.replace("_", "-"))


def _there(key: str, value) -> str:
    """A recorded setting, for a message: ``value``, or what not giving it meant."""
    return f"not given there ({NOT_GIVEN.get(key, 'the default')})" if value is None else f"{_shown(value)} there"


def _shown(value) -> str:
    """A setting as its options give it: a dict (LoRA, reward weights) as NAME=VALUE pairs."""
    return " ".join(f"{name}={item}" for name, item in value.items()) if isinstance(value, dict) else str(value)


def _check_stage(settings: FineTuneSettings, recorded: dict, stage: str) -> None:
    """Refuse ``--resume`` of a run that ``recorded`` says is another stage's."""
    if recorded.get("stage", stage) != stage:
        raise InputError(f"--resume: the run in {settings.out} is a `rau train {recorded['stage']}` run, which `rau train {stage}` cannot "
                         f"go on with; resume it with `rau train {recorded['stage']} --resume`, or give this run a new --out")


def _recorded_run(settings: FineTuneSettings) -> dict:
    """The settings the run in ``OUT`` recorded (its ``rau_run.json``; none for a run from before they were); one that
    cannot be read is refused, naming it."""
    path = Path(settings.out) / RUN_FILE
    if not path.exists():
        return {}
    try:
        return read_json_object(path)
    except (OSError, ValueError) as error:
        raise InputError(f"--resume: {path} is damaged or cut off ({error}), so the run's settings cannot be checked; "
                         "start a new run (--overwrite, or another --out)") from None


def _log_up_to(log: Path, step: int) -> list[str]:
    """The log's lines up to the checkpoint ``step`` a resumed run goes on from (it logs the later ones again). A damaged
    last line (a run killed while it logged) is dropped; damage elsewhere is refused, naming the line."""
    lines = log.read_text(encoding="utf-8").rstrip().splitlines() if log.is_file() else []
    kept = []
    for number, line in enumerate(lines, start=1):
        entry = _log_entry(line)
        if entry is None and number < len(lines) and line.strip():
            raise InputError(f"--resume: {log}, line {number}: not a whole log entry (damaged); delete that line, or start a new run")
        if entry is not None and entry.get("step", 0) <= step:
            kept.append(line)
    return kept


def _log_entry(line: str) -> dict | None:
    """One line of the log as its entry, or None when it is not a whole JSON object."""
    try:
        entry = parse_json(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def check_out(settings: FineTuneSettings) -> None:
    """``OUT`` is a folder apart from the inputs; ``resume`` needs a whole checkpoint in ``OUT/checkpoints``
    (:func:`resume_checkpoint`, :func:`check_checkpoint`; its settings are checked by :func:`with_run_defaults`) that has
    steps left to train, or only its finishing (:func:`only_finishing`); a fresh run does not
    replace an adapter, checkpoints or other files already in ``OUT`` unless ``overwrite`` and they are an earlier run's
    (:func:`_is_run`; what a run that failed before its first checkpoint left there excepted)."""
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file, not a folder; give a folder for the adapter")
    for option, given in (("--model", settings.model), ("--data", settings.data), ("--adapter", settings.adapter)):
        folder = Path(given).resolve() if given and Path(given).is_dir() else None
        if folder is not None and (out.resolve() == folder or folder in out.resolve().parents):
            raise InputError(f"--out {out} is {'the' if out.resolve() == folder else 'inside the'} {option} folder {given}; "
                             "write the adapter to a folder of its own (its files would change the input)")
        checkpoints = out.resolve() / "checkpoints"
        if folder is not None and (folder == checkpoints or checkpoints in folder.parents):
            raise InputError(f"{option} {given} lies in {out / 'checkpoints'}, which a run replaces; copy it elsewhere first")
    if settings.resume and settings.overwrite:
        raise OptionError("--resume goes on with the run in --out and --overwrite replaces it; give one of them")
    if settings.resume:
        checkpoint = resume_checkpoint(settings)
        if checkpoint is None:
            raise InputError(f"--resume: {out / 'checkpoints'} holds no complete checkpoint to continue from "
                             "(one interrupted while it was saved has no trainer_state.json)")
        check_checkpoint(Path(checkpoint))
        if only_finishing(settings):
            pass  # stopped while it finished: train_and_finish saves and evaluates the last checkpoint's adapter
        elif _ended(Path(checkpoint)):  # whatever --max-steps says: no step total makes a finished run go on
            raise OptionError(f"--resume: {checkpoint} is the last step of its run, whose learning-rate schedule has ended there; --resume "
                              "goes on with an interrupted run (with its --max-steps or --epochs). To train further, start a new run "
                              f"from its adapter: --adapter {checkpoint} --out NEW_FOLDER")
        elif 0 < settings.max_steps <= (done := _step(Path(checkpoint))):
            raise OptionError(f"--max-steps {settings.max_steps} counts every step of the run, and {checkpoint} has trained {done} "
                              f"already; give more than {done} to train on")
    held = [] if settings.resume else _held(out)  # a fresh run writes README.md, log.jsonl, checkpoints/ ... over what is there
    if held and not settings.overwrite:
        for existing in [out / "adapter_model.safetensors", *_checkpoints(out)[:1]]:
            if existing.exists():
                raise OutputExistsError(existing)
        raise InputError(f"--out {out} is not empty ({_names(held)}); give a new or empty folder, "
                         "--resume to go on with a run there, or --overwrite to replace it")
    if held and not _is_run(out):
        raise InputError(f"--out {out} is not empty ({_names(held)}) and holds no training run (no {RUN_FILE} or {DESCRIPTION}); "
                         "--overwrite replaces only an earlier run, so give a new or empty folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        try_writing_in(out)
    except OSError as error:
        raise WriteError(f"--out {out}: cannot write there ({error.strerror})") from None


def _names(names: list[str]) -> str:
    """The first few of ``names``, for a message."""
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def _is_run(out: Path) -> bool:
    """Whether ``OUT`` holds a training run: its settings, or the adapter description of a run from before they were kept."""
    return any((out / name).is_file() for name in (RUN_FILE, DESCRIPTION))


def _held(out: Path) -> list[str]:
    """The names in ``OUT`` a fresh run would replace, less what a run that failed before its first checkpoint left
    there (its settings, log and empty checkpoints folder): the same command can run again."""
    names = sorted(path.name for path in out.iterdir() if not path.name.startswith(WRITE_CHECK)) if out.is_dir() else []
    if RUN_FILE not in names:
        return names
    checkpoints = out / "checkpoints"
    left = {RUN_FILE, LOG, SAVING} | ({checkpoints.name} if checkpoints.is_dir() and not any(checkpoints.iterdir()) else set())
    return [name for name in names if name not in left]


def check_checkpoint(folder: Path) -> None:
    """Refuse a checkpoint whose files are cut off or damaged (:func:`_damage`)."""
    damage = _damage(folder)
    if damage:
        raise InputError(f"--resume: the checkpoint {folder} is damaged or cut off ({damage}); delete that folder to resume from the "
                         "checkpoint before it, or start a new run")


def _damage(folder: Path) -> str | None:
    """What is wrong with a checkpoint's files, or None; only headers and zip directories are read (quick at any size)."""
    from safetensors import SafetensorError, safe_open

    try:
        parse_json((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"trainer_state.json: {error}"
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(path), "pt"):
                pass
        except (OSError, SafetensorError) as error:
            return f"{path.name}: {error}"
    torch_files = sorted(path for path in folder.iterdir() if path.suffix in (".pt", ".pth", ".bin"))
    return next((f"{path.name}: not a whole PyTorch file" for path in torch_files if not zipfile.is_zipfile(path)), None)


def _ended(checkpoint: Path) -> bool:
    """Whether ``checkpoint`` is the last step of its run (its ``trainer_state.json``: ``global_step`` reached ``max_steps``),
    whose learning-rate schedule brought the rate down to 0 there: going on would raise it again."""
    state = parse_json((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    return isinstance(state, dict) and state.get("global_step", 0) >= state.get("max_steps", float("inf"))


def only_finishing(settings: FineTuneSettings) -> bool:
    """Whether ``--resume`` has only the finishing (:func:`finish`) left: the last checkpoint trained every step of the run
    (``--max-steps`` given again as that step, or not given), and ``OUT`` holds no adapter finished from it (a run stopped
    during its final evaluation; an earlier run's adapter, kept there until this one finishes, is another)."""
    checkpoint = resume_checkpoint(settings)
    if checkpoint is None or not _ended(Path(checkpoint)) or settings.max_steps not in (-1, _step(Path(checkpoint))):
        return False
    saved, trained = Path(settings.out) / ADAPTER_WEIGHTS[0], Path(checkpoint) / ADAPTER_WEIGHTS[0]
    finished = (Path(settings.out) / DESCRIPTION).is_file() and saved.is_file() and trained.is_file()
    return not (finished and filecmp.cmp(saved, trained, shallow=False))


def resume_checkpoint(settings: FineTuneSettings) -> str | None:
    """With ``resume``: the latest checkpoint that was saved whole (it has ``trainer_state.json``); else None."""
    complete = [folder for folder in _checkpoints(Path(settings.out)) if (folder / "trainer_state.json").is_file()]
    return str(complete[-1]) if settings.resume and complete else None


def _checkpoints(out: Path) -> list[Path]:
    """``OUT/checkpoints/checkpoint-N`` folders by step."""
    folders = [p for p in (out / "checkpoints").glob("checkpoint-*") if p.is_dir() and p.name.removeprefix("checkpoint-").isdigit()]
    return sorted(folders, key=_step)


def _step(checkpoint: Path) -> int:
    """The training step of a ``checkpoint-N`` folder."""
    return int(checkpoint.name.removeprefix("checkpoint-"))


def trainer_arguments(settings: FineTuneSettings, model, stage: str) -> dict:
    """Keyword arguments every TRL config here takes (bf16 only where the model is bf16 on a GPU)."""
    import torch

    on_gpu = next(model.parameters()).device.type == "cuda"
    return dict(
        output_dir=str(Path(settings.out) / "checkpoints"),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.learning_rate or LEARNING_RATES[stage],
        logging_steps=settings.logging_steps,
        save_steps=settings.save_steps,
        save_total_limit=2,
        bf16=on_gpu and model.dtype == torch.bfloat16,
        fp16=False,
        use_cpu=not on_gpu,
        activation_checkpointing=settings.gradient_checkpointing,
        report_to="none",
        seed=settings.seed,
        dataloader_num_workers=0,
    )


def callbacks(settings: FineTuneSettings, stage: str, processor, family, val_records: list[dict]) -> list:
    """Held-out VQA evaluation every ``eval_steps``, a JSON-lines log in the output folder, and each checkpoint's
    description (:func:`describe`)."""
    from transformers import TrainerCallback

    from rau.train.evaluation import evaluate
    from rau.vlm.local import TransformersBackend

    log_path = Path(settings.out) / LOG

    class Diverging(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **_):
            check_not_diverged(model, settings, stage, state.global_step)

    class ScheduleOfTheGivenTotal(TrainerCallback):
        def on_train_begin(self, args, state, control, lr_scheduler=None, **_):
            if state.global_step:  # resumed from a checkpoint
                follow_schedule(lr_scheduler)

    class HeldOutEvaluation(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **_):
            if val_records and settings.eval_steps > 0 and state.global_step % settings.eval_steps == 0:
                model.eval()
                metrics = evaluate(TransformersBackend(model, processor, family), settings.data, val_records)
                model.train()
                state.log_history.append({"step": state.global_step, **{f"eval_{k}": v for k, v in metrics.items()}})
                _append(log_path, state.log_history[-1])

    class JsonLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **_):
            if state.is_world_process_zero and logs:
                _append(log_path, {"step": state.global_step, **logs})

    class Described(TrainerCallback):
        def on_save(self, args, state, control, **_):
            if state.is_world_process_zero:
                checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                _write_json(checkpoint / DESCRIPTION, describe(settings, stage, family, state.global_step))

    return [Diverging(), ScheduleOfTheGivenTotal(), HeldOutEvaluation(), JsonLog(), Described()]


def check_not_diverged(model, settings: FineTuneSettings, stage: str, step: int) -> None:
    """Stop a run whose trained weights became NaN or infinite at ``step`` (a learning rate too high): an adapter that
    answers nothing is not saved as finished, and the steps after it would log a loss of 0."""
    from rau.models.loader import first_non_finite

    damaged = first_non_finite((name, weight) for name, weight in model.named_parameters() if weight.requires_grad)
    if damaged is not None:
        rate = settings.learning_rate or LEARNING_RATES[stage]
        raise OptionError(f"--learning-rate {rate:g}: training diverged: the adapter weights became NaN or infinite at step {step} "
                          f"(tensor {damaged} first), so no adapter is saved; start again with a lower --learning-rate "
                          f"(--overwrite replaces this run in {settings.out})")


def follow_schedule(lr_scheduler) -> None:
    """Set the learning rate of a resumed run's next step from the schedule of the total it is given now: the scheduler,
    made for that total, took over the checkpoint's step count, but the rate the checkpoint held (in its optimizer and
    scheduler) is its own total's. Stepping again to the same step sets the optimizer's rate and the logged one."""
    scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)  # accelerate may wrap it
    scheduler.last_epoch -= 1
    scheduler.step()


def describe(settings: FineTuneSettings, stage: str, family, steps: int) -> dict:
    """What an adapter trained ``steps`` steps by this run was trained on: base model (with its fingerprint, which
    :func:`rau.vlm.local.other_base` compares), stage, pairs, LoRA settings, family."""
    run = run_settings(settings, stage)
    return {"base_model": run["model"], "base_fingerprint": fingerprint(resolve(ModelSource(settings.model))), "stage": stage,
            "pairs": run["data"], "steps": steps, "lora": run["lora"], "family": family.name}


def train_and_finish(trainer, settings: FineTuneSettings, stage: str, processor, family, val_records) -> Path:
    """Train (or resume; only load the last checkpoint of a run stopped in its final evaluation: :func:`only_finishing`)
    and :func:`finish`, with torch on a fixed number of threads
    (:func:`rau.models.inference.fixed_threads`): the same run gives the same adapter whatever ``OMP_NUM_THREADS`` says."""
    ignore_deprecated_checkpointing_reads()
    with fixed_threads():
        if only_finishing(settings):
            _take_trained(trainer, resume_checkpoint(settings))
        else:
            trainer.train(resume_from_checkpoint=resume_checkpoint(settings))
        return finish(trainer, settings, stage, processor, family, val_records)


def _take_trained(trainer, checkpoint: str) -> None:
    """Give ``trainer`` the adapter weights and state of ``checkpoint``, the last step of a run stopped while it finished,
    as training left them."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import TrainerState

    print(f"{checkpoint} holds every step of the run; finishing it", file=sys.stderr, flush=True)
    set_peft_model_state_dict(trainer.model, load_file(str(Path(checkpoint) / ADAPTER_WEIGHTS[0])))
    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))


def finish(trainer, settings: FineTuneSettings, stage: str, processor, family, val_records) -> Path:
    """Save the adapter into a folder beside ``OUT``'s files, evaluate it once more on the held-out split (an evaluation
    that fails is recorded, the adapter kept), then move it into ``OUT`` with its description last: a run stopped while
    it finishes leaves the earlier adapter and its description in ``OUT``."""
    from rau.train.evaluation import evaluate
    from rau.vlm.local import TransformersBackend

    out = Path(settings.out)
    saving, main = out / SAVING, trainer.is_world_process_zero()  # every process takes part in saving; the main one writes
    if main:
        shutil.rmtree(saving, ignore_errors=True)
    try:
        trainer.save_model(str(saving))
        if not main:
            return out
        metrics = {}
        if val_records:
            trainer.model.eval()
            print(f"evaluating the adapter on {len(val_records)} held-out questions...", file=sys.stderr, flush=True)
            try:
                metrics = evaluate(TransformersBackend(trainer.model, processor, family), settings.data, val_records)
            except Exception as error:  # e.g. out of memory: the trained adapter is still worth keeping
                metrics = {"failed": failure_reason(error)}
                print(f"warning: the final held-out evaluation failed ({metrics['failed']}); the adapter is saved", file=sys.stderr)
        _write_json(saving / DESCRIPTION, {**describe(settings, stage, family, trainer.state.global_step), "eval": metrics})
        (out / DESCRIPTION).unlink(missing_ok=True)  # an adapter without its description is an unfinished one
        for path in sorted(saving.iterdir(), key=lambda path: path.name == DESCRIPTION):
            _clear(out / path.name)
            os.replace(path, out / path.name)
    finally:
        if main:
            shutil.rmtree(saving, ignore_errors=True)
    return out


def _clear(path: Path) -> None:
    """Remove a file or folder in the way of a saved one (a link is removed, not followed)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _absolute_if_local(given: str) -> str:
    """A local folder as an absolute path (the description is read from elsewhere); a model id as it is."""
    return str(Path(given).resolve()) if Path(given).exists() else str(given)


def _write_json(path: Path, entry: dict) -> None:
    path.write_text(json.dumps(entry, indent=2), encoding="utf-8")


def _append(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
