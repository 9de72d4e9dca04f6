"""Forecast outlooks kept on disk between processes, beside the engine's result store.

A KR's forecast (`forecast.project`: the simulation of its reading at the period's end, and the
probability of landing) is a function of its arguments alone: the history read, the horizon, the
`ForecastOptions`, the target and the direction (the simulation's seed is fixed). Fitting it costs
statsmodels' import and a second or more per KR, which is most of a scorecard after a server restart.
`StoredOutlooks` is an `Executor` for `score(..., executor=...)`: a forecast whose arguments it has
seen before is answered from the store; any other is handed to the wrapped executor (the dashboard's
worker process), or run here without one, and its outlook is stored when it arrives. A launch's
effect (`impact.effect_of`: the forecast from the days before against the days after) is kept the
same way, so the explorer's "Launch impact" panel after a restart reads it instead of fitting again.

The key is a hash of the arguments (as JSON: floats by `repr`, which reads back to the same float),
the function's name, the installed statsmodels, numpy and scipy, and a hash of forecast.py (and
impact.py for an effect); the
outlook is stored as JSON (`Outlook`, `Forecast`: a few numbers and a reason), in the result store's
folder (`metrics.engine.result_store`: atomic writes, bounded size, `NORTHSTAR_RESULT_STORE=off`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from concurrent.futures import Executor, Future
from importlib import metadata
from pathlib import Path
from typing import Any

from metrics.engine.result_store import ResultStore, key_of
from metrics.okrs import forecast
from metrics.okrs.forecast import Forecast, Outlook


@functools.cache
def _forecast_code(*also: str) -> str:
    digest = hashlib.sha256(Path(forecast.__file__).read_bytes())
    for file in also:  # another module's function of the forecast (a launch's effect)
        digest.update(Path(file).read_bytes())
    for package in ("statsmodels", "numpy", "scipy"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=missing".encode())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__type__": type(value).__qualname__,
            **{k: _plain(v) for k, v in dataclasses.asdict(value).items()},
        }
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot key a {type(value).__name__}")


def outlook_key(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The store key of a forecast call (`forecast.project`, or a launch's `impact.effect_of`), or
    None for any other call (or one that cannot be keyed)."""
    from metrics.okrs import impact

    if fn is forecast.project:
        kind, code = "outlook", _forecast_code()
    elif fn is impact.effect_of:
        kind, code = "effect", _forecast_code(impact.__file__)
    else:
        return None
    try:
        document = {kind: code, "args": _plain(list(args)), "kwargs": _plain(kwargs)}
    except (TypeError, OSError):
        return None
    return key_of(document)


def _to_json(outlook: Outlook) -> dict[str, Any]:
    f = outlook.forecast
    return {
        "forecast": None if f is None else [repr(f.value), repr(f.low), repr(f.high)],
        "probability": None if outlook.probability is None else repr(outlook.probability),
        "reason": outlook.reason,
    }


def _effect_to_json(found: Any) -> dict[str, Any]:
    """A launch's effect (`impact.Effect`, floats by `repr`), or why there is none (a string)."""
    if isinstance(found, str):
        return {"effect": None, "reason": found}
    return {"effect": {k: repr(v) for k, v in dataclasses.asdict(found).items()}, "reason": None}


def _effect_from_json(document: Any) -> Any:
    from metrics.okrs.impact import Effect

    if document["effect"] is None:
        reason = document["reason"]
        if not isinstance(reason, str):
            raise TypeError("reason")
        return reason
    return Effect(**{k: float(v) for k, v in document["effect"].items()})


def _from_json(document: Any) -> Outlook:
    f = document["forecast"]
    probability = document["probability"]
    reason = document["reason"]
    if reason is not None and not isinstance(reason, str):
        raise TypeError("reason")
    return Outlook(
        None if f is None else Forecast(float(f[0]), float(f[1]), float(f[2])),
        None if probability is None else float(probability),
        reason,
    )


class StoredOutlooks(Executor):
    """Answers forecast calls (and launches' effects) from the store; hands the rest to `inner`
    (None: runs them here)."""

    def __init__(self, store: ResultStore, inner: Executor | None = None) -> None:
        self.store = store
        self.inner = inner
        self.hits = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        key = outlook_key(fn, args, kwargs)
        if key is not None:
            document = self.store.get_json(key)
            if document is not None:
                try:
                    outlook = _effect_from_json(document) if "effect" in document else _from_json(document)
                except (KeyError, TypeError, ValueError, IndexError):
                    outlook = None
                if outlook is not None:
                    self.hits += 1
                    done: Future[Any] = Future()
                    done.set_result(outlook)
                    return done
        if self.inner is not None:
            future = self.inner.submit(fn, *args, **kwargs)
        else:
            future = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except Exception as exc:
                future.set_exception(exc)
        if key is not None:
            future.add_done_callback(lambda f: self._keep(key, f))
        return future

    def _keep(self, key: str, future: Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        result = future.result()
        if isinstance(result, Outlook):
            self.store.put_json(key, _to_json(result))
            return
        from metrics.okrs.impact import Effect

        if isinstance(result, Effect | str):
            self.store.put_json(key, _effect_to_json(result))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The wrapped executor belongs to whoever made it (the dashboard's shared worker): left running."""


__all__ = ["StoredOutlooks", "outlook_key"]
